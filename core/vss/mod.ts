/**
 * VSS side of the vehicle pipeline: the VSS catalog, Kuksa `vss_dbc.json` mappings, safe math transforms, and
 * the per-datapoint mapper that turns decoded DBC signal values into VSS datapoints.
 *
 * - {@link loadVssCatalog} flattens a VSS JSON release (`assets/vss/vss_release_4.0.json`) to its leaves.
 * - {@link compileVssMapping} checks a Kuksa mapping (`assets/vss/vss_dbc_4.0.json`) against the catalog and the
 *   decoder's signal list (unknown paths or signals fail here, naming the entry) and returns a {@link VssMapper}.
 * - `VssMapper#push(signalId, value, tsMs)` applies Kuksa's rules: `interval_ms` throttling, `on_change`,
 *   value-table `mapping`, `math`, then datatype conversion and min/max/allowed checks (the rules of
 *   `core/datapoint`'s validator: a `float` is a canonical float32). It emits `core/datapoint` `Datapoint`s
 *   (`{path, value, tsMs}`, typed values, integer ms). Dropped values are counted in `mapper.stats`, never thrown.
 *   Emitted datapoints are reused objects: copy them if you keep them.
 * - {@link physicalChoices} turns a DBC's raw-keyed `VAL_` tables into the physical-keyed `choices` option, so
 *   label mappings (`from: "DI_GEAR_D"`) resolve at compile time and `push` needs no label.
 * - {@link compileMath} compiles py_expression_eval formulas (`floor((x*40)-100)`) without `eval`.
 *
 * Wiring with the decoder: `signals` is the decode plan's `signalNames` (global signal id = index) and
 * `choices` is `physicalChoices(plan.signalDefs)`.
 *
 * @example
 * ```ts
 * import { compileVssMapping, loadVssCatalog } from "./mod.ts";
 *
 * const catalog = loadVssCatalog("assets/vss/vss_release_4.0.json");
 * const signals = ["DI_uiSpeed", "DI_gear"]; // signal id = index, as the decoder numbers them
 * const mapping = {
 *   Vehicle: {
 *     type: "branch",
 *     children: {
 *       Speed: { type: "sensor", datatype: "float", dbc2vss: { signal: "DI_uiSpeed", interval_ms: 100 } },
 *     },
 *   },
 * };
 * const mapper = compileVssMapping(mapping, { catalog, signals });
 * const n = mapper.push(0, 88.5, 1_700_000_000_000); // time: integer ms since the epoch
 * for (let i = 0; i < n; i++) console.log(mapper.out[i].path, mapper.out[i].value); // Vehicle.Speed 88.5
 * mapper.push(0, 90, 1_700_000_000_050); // 0: throttled by interval_ms
 * ```
 * @module
 */

export {
  type JsonInput,
  loadVssCatalog,
  VSS_INTEGER_RANGES,
  VSS_SCALAR_DATATYPES,
  type VssCatalog,
  type VssDatatype,
  type VssLeaf,
  type VssLeafType,
  type VssScalarDatatype,
  walkVssTree,
} from "./catalog.ts";
export {
  compileMath,
  type MathBinaryOp,
  type MathFn,
  type MathFunction,
  type MathNode,
  type MathOptions,
  parseMath,
} from "./math.ts";
export {
  canonicalUnit,
  type ChoiceSource,
  compileVssMapping,
  type CompileVssMappingOptions,
  type Dbc2VssEntry,
  physicalChoices,
  type SignalBatch,
  type Vss2DbcEntry,
  type VssMapper,
  type VssMapperStats,
} from "./mapping.ts";
