/**
 * Kuksa `vss_dbc.json` mapping compiler and the per-datapoint mapper (DBC signal → VSS datapoint).
 * @module
 */

import type { Datapoint, ScalarValue } from "../datapoint/mod.ts";
import { canonicalFloat32, isVssPath, MAX_VALUE_CHARS } from "../datapoint/mod.ts";
import { PipelineError } from "../errors/mod.ts";
import {
  type JsonInput,
  readJsonInput,
  VSS_INTEGER_RANGES,
  VSS_SCALAR_DATATYPES,
  type VssCatalog,
  type VssLeaf,
  walkVssTree,
} from "./catalog.ts";
import { compileMath, type MathFn } from "./math.ts";

/** A scalar VSS value as the mapper emits it (DBC signals feed scalar leaves only). */
type MappedValue = ScalarValue;

/** The parts of a DBC signal definition {@link physicalChoices} needs (structurally a `core/can` `SignalDef`). */
export interface ChoiceSource {
  /** `VAL_` table: raw value → label. */
  readonly choices?: ReadonlyMap<number, string>;
  /** Scale factor. */
  readonly factor: number;
  /** Offset. */
  readonly offset: number;
}

/**
 * Turn raw-keyed `VAL_` tables into tables keyed by the physical value the decoder emits (`raw * factor + offset`,
 * computed the same way as the decoder), ready for {@link CompileVssMappingOptions.choices}.
 *
 * @param defs signal definitions by global signal id (e.g. a decode plan's `signalDefs`)
 */
export function physicalChoices(defs: readonly ChoiceSource[]): (Map<number, string> | undefined)[] {
  return defs.map((d) => {
    if (!d.choices || d.choices.size === 0) return undefined;
    const table = new Map<number, string>();
    for (const [raw, label] of d.choices) {
      const v = raw * d.factor + d.offset;
      if (!table.has(v)) table.set(v, label);
    }
    return table;
  });
}

/** Options for {@link compileVssMapping}. */
export interface CompileVssMappingOptions {
  /** The VSS catalog the mapping is checked against (paths, datatypes, min/max, allowed). */
  catalog: VssCatalog;
  /** `signals[i]` is the DBC signal name of global signal id `i`. Names may repeat (same signal in several messages). */
  signals: readonly string[];
  /**
   * Optional value tables: `choices[i]` maps a value of signal `i` *as the decoder emits it* (physical) to its `VAL_`
   * label; build it with {@link physicalChoices}. With it, `mapping` entries whose `from` is a label are resolved at
   * compile time and `push` needs no label.
   */
  choices?: readonly (ReadonlyMap<number, string> | undefined)[];
  /**
   * Optional DBC units by signal id (e.g. `plan.signalDefs.map((d) => d.unit)`). An entry without a transform whose
   * DBC unit and VSS unit are both recognised and differ (say `C` vs `percent`) adds a warning.
   */
  units?: readonly (string | undefined)[];
  /** Called for every emitted datapoint (with the reused datapoint object), in addition to filling `out`. */
  onDatapoint?: (dp: Datapoint) => void;
  /** Name of the mapping source for messages; defaults to the file path or `<object>`. */
  source?: string;
}

/** A compiled `dbc2vss` (or `dbc`) entry. */
export interface Dbc2VssEntry {
  /** VSS path. */
  readonly path: string;
  /** DBC signal name. */
  readonly signal: string;
  /** Global signal ids carrying that name. */
  readonly signalIds: readonly number[];
  /** Minimum interval between emissions, milliseconds (0 = none). */
  readonly intervalMs: number;
  /** Emit only when the VSS value changed. */
  readonly onChange: boolean;
  /** Kind of transform. */
  readonly transform: "none" | "mapping" | "math";
  /** The catalog leaf. */
  readonly leaf: VssLeaf;
}

/** A compiled `vss2dbc` entry (VSS target value → DBC signal value). */
export interface Vss2DbcEntry {
  /** VSS path (an actuator). */
  readonly path: string;
  /** DBC signal name. */
  readonly signal: string;
  /** Global signal ids carrying that name. */
  readonly signalIds: readonly number[];
  /** Kind of transform. */
  readonly transform: "none" | "mapping" | "math";
  /** Transform a VSS value into the DBC value; undefined when there is no mapping for it or the math fails. */
  toDbc(value: ScalarValue): number | string | undefined;
}

/** Counters kept by a {@link VssMapper}. */
export interface VssMapperStats {
  /** Pushes for a signal that has at least one mapping. */
  received: number;
  /** Pushes for a signal with no mapping (ignored). */
  unmapped: number;
  /** Entry evaluations skipped by `interval_ms`. */
  throttled: number;
  /** Values dropped because a math transform failed (non-finite result, or a labelled value as Kuksa does). */
  transformFailed: number;
  /** Values with no matching `from` in a value mapping. */
  noMatch: number;
  /** Values dropped by `on_change` because they did not change. */
  unchanged: number;
  /** Values outside the datatype range (float32 for `float`), the catalog min/max or its allowed list. */
  outOfRange: number;
  /** Values that cannot be converted to the VSS datatype (NaN, an infinite number, a non-numeric string for an int). */
  typeMismatch: number;
  /** Datapoints emitted. */
  emitted: number;
}

/** A batch of decoded signal values (struct of arrays), as the decoder produces them. */
export interface SignalBatch {
  /** Global signal ids. */
  readonly ids: ArrayLike<number>;
  /** Physical values. */
  readonly values: ArrayLike<number>;
  /** Times in integer ms since the epoch: one per value, or one per frame when `frameIndex` is given. */
  readonly tsMs: ArrayLike<number>;
  /** Frame record of each value (the WASM decoder's `frameIndex`): value k's time is then `tsMs[frameIndex[k]]`. */
  readonly frameIndex?: ArrayLike<number>;
  /** Number of valid entries (defaults to `ids.length`). */
  readonly count?: number;
}

/** The compiled DBC → VSS mapper. */
export interface VssMapper {
  /** Compiled dbc2vss entries, in mapping-file order. */
  readonly dbc2vss: readonly Dbc2VssEntry[];
  /** Compiled vss2dbc entries. */
  readonly vss2dbc: readonly Vss2DbcEntry[];
  /** Sorted ids of the signals that have at least one dbc2vss entry (e.g. for frame filters). */
  readonly mappedSignalIds: readonly number[];
  /** Compile-time warnings (e.g. a `from` label that the signal's value table does not have). */
  readonly warnings: readonly string[];
  /** Reusable output buffer: after `push` returns `n`, `out[0..n)` are the emitted datapoints. Entries past `n` are stale. */
  readonly out: readonly Datapoint[];
  /** Counters. */
  readonly stats: Readonly<VssMapperStats>;
  /**
   * Map one decoded signal value. Emits into `out` (and `onDatapoint`) and returns how many datapoints were emitted.
   *
   * A time that is NaN (the frame's time is outside what RFC 3339 can carry, see `tsMsFromSeconds`) neither passes
   * nor updates the `interval_ms` and `on_change` state: the value is transformed and emitted with `tsMs` NaN, so
   * that the caller refuses exactly that datapoint.
   *
   * @param signalId global signal id (index into `signals`)
   * @param value physical value from the decoder
   * @param tsMs observation time, integer ms since the epoch (or NaN, see above)
   * @param choiceLabel the value's `VAL_` label, if the caller has it (overrides the `choices` table)
   */
  push(signalId: number, value: number, tsMs: number, choiceLabel?: string): number;
  /** Map a batch; every emitted datapoint goes to `sink` (the reused object). Returns the number emitted. */
  pushBatch(batch: SignalBatch, sink: (dp: Datapoint) => void): number;
  /** Whether a signal id has a dbc2vss entry. */
  isMapped(signalId: number): boolean;
  /** Copies of the last datapoint emitted with a valid time for each VSS path (status APIs; allocates). */
  latest(): Datapoint[];
  /** Forget throttling/on-change state and zero the counters. */
  reset(): void;
}

const enum Kind {
  None,
  Mapping,
  Math,
}

const enum Dt {
  Bool,
  Str,
  Int,
  /** `float`: float32 range, canonical float32 value. */
  Float,
  Double,
}

/** Mutable datapoint reused by an entry. */
class Dp implements Datapoint {
  value: MappedValue = 0;
  tsMs = 0;
  constructor(readonly path: string) {}
}

type Coerced = MappedValue | typeof DROP_RANGE | typeof DROP_TYPE;
const DROP_RANGE = Symbol("range");
const DROP_TYPE = Symbol("type");

/** Largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12];

/**
 * `core/datapoint`'s `canonicalFloat32` (the shortest double that reads back as the same float32) without its
 * string round trip for the usual values: the decimal candidates are tried as numbers, and only values that need
 * more than 12 fraction digits or exceed 2^24 take the general path. Same result for every input.
 */
function float32(v: number): number {
  const target = Math.fround(v);
  if (target === 0) return Object.is(v, -0) ? -0 : 0;
  if (Math.abs(target) < 16777216) {
    for (let k = 0; k < POW10.length; k++) {
      const c = Math.round(target * POW10[k]) / POW10[k];
      if (Math.fround(c) === target) return c;
    }
  }
  return canonicalFloat32(v);
}

/**
 * Value checks and conversion for one VSS leaf: the same rules as `core/datapoint`'s `DatapointValidator`
 * (datatype, its range, float32 for `float`, min/max, allowed, string length), so that every datapoint the mapper
 * emits is one the CESC accepts.
 */
class Coercer {
  readonly dt: Dt;
  readonly lo: number;
  readonly hi: number;
  readonly allowed: ReadonlySet<MappedValue> | undefined;

  constructor(leaf: VssLeaf) {
    const d = leaf.datatype;
    if (d === "boolean") this.dt = Dt.Bool;
    else if (d === "string") this.dt = Dt.Str;
    else if (d === "float") this.dt = Dt.Float;
    else if (d === "double") this.dt = Dt.Double;
    else this.dt = Dt.Int;
    const range = VSS_INTEGER_RANGES[d] ?? (d === "float" ? [-FLOAT32_MAX, FLOAT32_MAX] : undefined);
    this.lo = Math.max(range ? range[0] : -Infinity, leaf.min ?? -Infinity);
    this.hi = Math.min(range ? range[1] : Infinity, leaf.max ?? Infinity);
    this.allowed = leaf.allowed ? new Set(leaf.allowed) : undefined;
  }

  number(v: number): Coerced {
    let out: MappedValue;
    switch (this.dt) {
      case Dt.Bool:
        if (Number.isNaN(v)) return DROP_TYPE;
        out = v !== 0;
        break;
      case Dt.Str:
        out = String(v);
        break;
      case Dt.Int:
        if (!Number.isFinite(v)) return DROP_TYPE;
        out = Math.trunc(v) + 0; // + 0: no -0
        if (out < this.lo || out > this.hi) return DROP_RANGE;
        break;
      case Dt.Float:
        if (!Number.isFinite(v)) return DROP_TYPE;
        if (v < -FLOAT32_MAX || v > FLOAT32_MAX) return DROP_RANGE;
        out = float32(v);
        if (out < this.lo || out > this.hi) return DROP_RANGE;
        break;
      default:
        if (!Number.isFinite(v)) return DROP_TYPE;
        if (v < this.lo || v > this.hi) return DROP_RANGE;
        out = v;
    }
    if (this.allowed !== undefined && !this.allowed.has(out)) return DROP_RANGE;
    return out;
  }

  any(v: MappedValue): Coerced {
    if (typeof v === "number") return this.number(v);
    if (typeof v === "bigint") return this.number(Number(v));
    let out: MappedValue;
    if (typeof v === "boolean") {
      if (this.dt === Dt.Bool) out = v;
      else if (this.dt === Dt.Str) out = v ? "true" : "false";
      else return this.number(v ? 1 : 0);
    } else {
      if (this.dt === Dt.Str) {
        if (v.length > MAX_VALUE_CHARS) return DROP_RANGE;
        out = v;
      } else if (this.dt === Dt.Bool) {
        if (v === "true") out = true;
        else if (v === "false") out = false;
        else return DROP_TYPE;
      } else {
        const n = v.trim() === "" ? NaN : Number(v);
        if (Number.isNaN(n)) return DROP_TYPE;
        return this.number(n);
      }
    }
    if (this.allowed !== undefined && !this.allowed.has(out)) return DROP_RANGE;
    return out;
  }
}

/** Runtime state of one dbc2vss entry. */
class Entry implements Dbc2VssEntry {
  readonly dp: Dp;
  hasTime = false;
  lastTime = 0;
  hasLast = false;
  lastValue: MappedValue = 0;
  /** Last emitted value and time with a valid time, for {@link VssMapper.latest}. */
  latestValue: MappedValue = 0;
  latestTsMs = 0;
  readonly transform: "none" | "mapping" | "math";
  /** `byNumber` as an array when all its keys are small non-negative integers (the usual value tables). */
  readonly dense: readonly (Coerced | typeof NO_MATCH)[] | undefined;

  constructor(
    readonly path: string,
    readonly signal: string,
    readonly signalIds: readonly number[],
    readonly intervalMs: number,
    readonly onChange: boolean,
    readonly leaf: VssLeaf,
    readonly kind: Kind,
    readonly coercer: Coercer,
    readonly math: MathFn | undefined,
    /** mapping: numeric value → coerced VSS value (labels already resolved through the choices table). */
    readonly byNumber: ReadonlyMap<number, Coerced> | undefined,
    /** mapping: label → coerced VSS value. */
    readonly byLabel: ReadonlyMap<string, Coerced> | undefined,
    /** Value table of the signal (for label-as-value and Kuksa's "math on a labelled value fails"). */
    readonly table: ReadonlyMap<number, string> | undefined,
  ) {
    this.dp = new Dp(path);
    this.dense = denseTable(byNumber);
    this.transform = kind === Kind.None ? "none" : kind === Kind.Mapping ? "mapping" : "math";
  }
}

/** Spellings of units found in DBC files and VSS, mapped to the VSS unit. */
const UNIT_ALIASES: Readonly<Record<string, string>> = {
  "c": "celsius",
  "degc": "celsius",
  "°c": "celsius",
  "celsius": "celsius",
  "%": "percent",
  "percent": "percent",
  "kph": "km/h",
  "km/h": "km/h",
  "kmh": "km/h",
  "deg": "degrees",
  "degrees": "degrees",
  "°": "degrees",
  "deg/s": "degrees/s",
  "degrees/s": "degrees/s",
  "rpm": "rpm",
  "nm": "Nm",
  "kw": "kW",
  "kwh": "kWh",
  "w": "W",
  "v": "V",
  "a": "A",
  "ah": "Ah",
  "s": "s",
  "sec": "s",
  "min": "min",
  "h": "h",
  "m": "m",
  "km": "km",
  "cm": "cm",
  "mm": "mm",
  "pa": "Pa",
  "kpa": "kPa",
  "m/s^2": "m/s^2",
  "kg": "kg",
  "l": "l",
};

/** The VSS unit a DBC or VSS unit spelling stands for, or undefined when not recognised. */
export function canonicalUnit(unit: string | undefined): string | undefined {
  if (unit === undefined) return undefined;
  const key = unit.trim().toLowerCase();
  return Object.hasOwn(UNIT_ALIASES, key) ? UNIT_ALIASES[key] : undefined;
}

const NO_MATCH = Symbol("no match");
const DENSE_LIMIT = 1024;

function denseTable(byNumber: ReadonlyMap<number, Coerced> | undefined): (Coerced | typeof NO_MATCH)[] | undefined {
  if (byNumber === undefined) return undefined;
  let size = 0;
  for (const k of byNumber.keys()) {
    if (!Number.isInteger(k) || k < 0 || k >= DENSE_LIMIT) return undefined;
    if (k + 1 > size) size = k + 1;
  }
  const dense = new Array<Coerced | typeof NO_MATCH>(size).fill(NO_MATCH);
  for (const [k, v] of byNumber) dense[k] = v;
  return dense;
}

const SCALARS: ReadonlySet<string> = new Set(VSS_SCALAR_DATATYPES);

function describeValue(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

/**
 * Compile a Kuksa `vss_dbc.json` mapping against a VSS catalog and the decoder's signal list.
 *
 * Semantics follow Kuksa's dbcfeeder (`dbcfeederlib/dbc2vssmapper.py`):
 * - defaults: no `interval_ms`/`on_change` → 1000 ms, not on-change; only `on_change: true` → 0 ms, on-change;
 * - the interval check runs first and records the time even if the value is later dropped;
 * - `mapping` picks the first `from` equal to the value (a string `from` matches the value's `VAL_` label, a
 *   number or boolean `from` matches an unlabelled value); no match → dropped;
 * - `math` runs on the numeric value; a labelled value or a failed evaluation → dropped;
 * - no transform: a labelled value becomes its label for `string` leaves, else the number;
 * - the transformed value is converted to the leaf's datatype (ints truncate toward zero like Python `int()`,
 *   numbers become strings for `string` leaves, non-zero is `true` for `boolean`) and checked against the datatype
 *   range, `min`/`max` and `allowed`; failures are dropped and counted in `stats` (never thrown);
 * - on-change compares the converted value with the last emitted one; the first value always passes.
 * `mapping` targets (`to`) are converted and checked at compile time, so a bad target fails start-up.
 *
 * @param mappingJson the mapping: parsed object, JSON text, or a file path/URL
 * @throws {PipelineError} `vss.mapping.unknown_path` / `vss.mapping.unknown_signal` naming the VSS path and the DBC
 *   signal, `vss.mapping.invalid`, `vss.mapping.datatype_mismatch`; ParseError `vss.math.syntax`.
 */
export function compileVssMapping(mappingJson: JsonInput, options: CompileVssMappingOptions): VssMapper {
  const { json, source: readSource } = readJsonInput(mappingJson, "vss.mapping");
  const source = options.source ?? readSource;
  const { catalog, signals, choices } = options;

  const idsByName = new Map<string, number[]>();
  for (let i = 0; i < signals.length; i++) {
    const list = idsByName.get(signals[i]);
    if (list) list.push(i);
    else idsByName.set(signals[i], [i]);
  }

  const entries: Entry[] = [];
  const vss2dbc: Vss2DbcEntry[] = [];
  const warnings: string[] = [];

  const invalid = (where: string, msg: string) =>
    new PipelineError("vss.mapping.invalid", `${source}: ${where}: ${msg}`, { path: where });

  const resolveLeaf = (path: string, node: Record<string, unknown>, signal: string, key: string): VssLeaf => {
    const leaf = catalog.get(path);
    if (!leaf) {
      throw new PipelineError(
        "vss.mapping.unknown_path",
        `${source}: VSS path ${path} (mapped ${key === "vss2dbc" ? "to" : "from"} DBC signal ${signal}) is not in ` +
          `the VSS catalog; fix the path or use the catalog of the VSS release the mapping was made for`,
        { path },
      );
    }
    if (!isVssPath(path)) {
      throw invalid(path, "is not a VSS path the uplink accepts (letters, digits, _ and - between dots)");
    }
    if (typeof node.datatype === "string" && node.datatype !== leaf.datatype) {
      throw new PipelineError(
        "vss.mapping.datatype_mismatch",
        `${source}: ${path} (DBC signal ${signal}): the mapping says datatype ${node.datatype} but the VSS catalog ` +
          `says ${leaf.datatype}; regenerate the mapping from the same VSS release`,
        { path },
      );
    }
    if (!SCALARS.has(leaf.datatype)) {
      throw new PipelineError(
        "vss.mapping.unsupported_datatype",
        `${source}: ${path} (DBC signal ${signal}): array datatype ${leaf.datatype} cannot be fed from one DBC signal`,
        { path },
      );
    }
    return leaf;
  };

  const resolveSignal = (path: string, def: Record<string, unknown>, key: string): [string, number[]] => {
    const signal = def.signal;
    if (typeof signal !== "string" || signal === "") {
      throw invalid(`${path}.${key}`, `"signal" must be a non-empty string naming a DBC signal`);
    }
    const ids = idsByName.get(signal);
    if (!ids) {
      throw new PipelineError(
        "vss.mapping.unknown_signal",
        `${source}: ${path}: DBC signal ${signal} (${key}.signal) is not defined in the DBC; ` +
          `fix the signal name or load the DBC that defines it`,
        { path: `${path}.${key}.signal` },
      );
    }
    return [signal, ids];
  };

  type Transform = { kind: Kind; math?: MathFn; pairs?: { from: unknown; to: unknown }[] };
  const parseTransform = (path: string, def: Record<string, unknown>, key: string): Transform => {
    if (!("transform" in def)) return { kind: Kind.None };
    const where = `${path}.${key}.transform`;
    const t = def.transform;
    if (t === null || typeof t !== "object" || Array.isArray(t)) throw invalid(where, "must be an object");
    const tr = t as Record<string, unknown>;
    if ("mapping" in tr && "math" in tr) throw invalid(where, `cannot have both "mapping" and "math"`);
    if ("math" in tr) {
      if (typeof tr.math !== "string") throw invalid(`${where}.math`, "must be a string");
      return { kind: Kind.Math, math: compileMath(tr.math, { source: `${source}: ${where}.math` }) };
    }
    if ("mapping" in tr) {
      if (!Array.isArray(tr.mapping)) throw invalid(`${where}.mapping`, "must be a list of {from, to}");
      const pairs = tr.mapping.map((item, i) => {
        if (item === null || typeof item !== "object" || !("from" in item) || !("to" in item)) {
          throw invalid(`${where}.mapping[${i}]`, `must have both "from" and "to"`);
        }
        const { from, to } = item as { from: unknown; to: unknown };
        for (const [k, v] of [["from", from], ["to", to]] as const) {
          if (typeof v !== "number" && typeof v !== "string" && typeof v !== "boolean") {
            throw invalid(`${where}.mapping[${i}].${k}`, `must be a number, string or boolean`);
          }
        }
        return { from, to };
      });
      return { kind: Kind.Mapping, pairs };
    }
    throw invalid(where, `unsupported transform; use "mapping" or "math"`);
  };

  const addDbc2Vss = (path: string, node: Record<string, unknown>, def: unknown, key: string) => {
    if (def === null || typeof def !== "object" || Array.isArray(def)) {
      throw invalid(`${path}.${key}`, "must be an object");
    }
    const d = def as Record<string, unknown>;
    const [signal, ids] = resolveSignal(path, d, key);
    const leaf = resolveLeaf(path, node, signal, key);
    let onChange = false;
    if ("on_change" in d) {
      if (typeof d.on_change !== "boolean") throw invalid(`${path}.${key}.on_change`, "must be true or false");
      onChange = d.on_change;
    }
    let intervalMs: number;
    if ("interval_ms" in d) {
      const iv = d.interval_ms;
      if (typeof iv !== "number" || !Number.isInteger(iv) || iv < 0) {
        throw invalid(`${path}.${key}.interval_ms`, `must be a non-negative integer, got ${describeValue(iv)}`);
      }
      intervalMs = iv;
    } else intervalMs = onChange ? 0 : 1000;

    if ("multiplexer" in d) {
      throw new PipelineError(
        "vss.mapping.unsupported",
        `${source}: ${path}.${key}.multiplexer: multiplexer conditions are not supported; the decoder already emits ` +
          `only the signals active for a frame's multiplexer value, so remove the condition`,
        { path: `${path}.${key}.multiplexer` },
      );
    }
    const tr = parseTransform(path, d, key);
    if (tr.kind === Kind.None && options.units) {
      const dbcUnit = ids.map((i) => options.units![i]).find((u) => u !== undefined && u !== "");
      const a = canonicalUnit(dbcUnit);
      const b = canonicalUnit(leaf.unit);
      if (a !== undefined && b !== undefined && a !== b) {
        warnings.push(
          `${path}: DBC signal ${signal} is in "${dbcUnit}" but the VSS leaf is in "${leaf.unit}" and there is no ` +
            `transform; add a math transform`,
        );
      }
    }
    const coercer = new Coercer(leaf);
    // One value table for the name: ambiguous signals share a name and, in practice, a table.
    const table = choices ? ids.map((i) => choices[i]).find((t) => t !== undefined) : undefined;
    let byNumber: Map<number, Coerced> | undefined;
    let byLabel: Map<string, Coerced> | undefined;
    if (tr.kind === Kind.Mapping) {
      byNumber = new Map();
      byLabel = new Map();
      const labels = table ? new Set(table.values()) : undefined;
      tr.pairs!.forEach(({ from, to }, i) => {
        const c = coercer.any(to as MappedValue);
        if (typeof c === "symbol") {
          throw invalid(
            `${path}.${key}.transform.mapping[${i}].to`,
            `${describeValue(to)} is not a valid ${leaf.datatype} value for this VSS leaf` +
              (leaf.allowed ? ` (allowed: ${leaf.allowed.join(", ")})` : "") +
              (leaf.min !== undefined || leaf.max !== undefined ? ` (range ${leaf.min ?? ""}..${leaf.max ?? ""})` : ""),
          );
        }
        if (typeof from === "string") {
          if (!byLabel!.has(from)) byLabel!.set(from, c);
          if (labels && !labels.has(from)) {
            warnings.push(`${path}: mapping from "${from}" is not a value label of DBC signal ${signal}`);
          }
        } else {
          const n = typeof from === "boolean" ? (from ? 1 : 0) : from as number;
          // Kuksa: a numeric `from` only matches values that have no label.
          if (!(table && table.has(n)) && !byNumber!.has(n)) byNumber!.set(n, c);
        }
      });
      if (table) {
        for (const [n, label] of table) {
          const c = byLabel.get(label);
          if (c !== undefined && !byNumber.has(n)) byNumber.set(n, c);
        }
      }
    }
    entries.push(
      new Entry(path, signal, ids, intervalMs, onChange, leaf, tr.kind, coercer, tr.math, byNumber, byLabel, table),
    );
  };

  const addVss2Dbc = (path: string, node: Record<string, unknown>, def: unknown) => {
    if (def === null || typeof def !== "object" || Array.isArray(def)) {
      throw invalid(`${path}.vss2dbc`, "must be an object");
    }
    const d = def as Record<string, unknown>;
    const [signal, ids] = resolveSignal(path, d, "vss2dbc");
    const leaf = resolveLeaf(path, node, signal, "vss2dbc");
    if (leaf.type !== "actuator") {
      throw invalid(`${path}.vss2dbc`, `vss2dbc is only allowed for actuators, but ${path} is a ${leaf.type}`);
    }
    const tr = parseTransform(path, d, "vss2dbc");
    let toDbc: (v: ScalarValue) => number | string | undefined;
    if (tr.kind === Kind.Math) {
      const f = tr.math!;
      toDbc = (v) => {
        const x = typeof v === "boolean" ? (v ? 1 : 0) : typeof v === "number" ? v : Number(v);
        const r = f(x);
        return Number.isFinite(r) ? r : undefined;
      };
    } else if (tr.kind === Kind.Mapping) {
      const pairs = tr.pairs!;
      toDbc = (v) => {
        for (const p of pairs) {
          if (p.from === v) return typeof p.to === "boolean" ? (p.to ? 1 : 0) : p.to as number | string;
        }
        return undefined;
      };
    } else {
      toDbc = (v) => (typeof v === "boolean" ? (v ? 1 : 0) : typeof v === "bigint" ? Number(v) : v);
    }
    const transform = tr.kind === Kind.None ? "none" : tr.kind === Kind.Mapping ? "mapping" : "math";
    vss2dbc.push({ path, signal, signalIds: ids, transform, toDbc });
  };

  walkVssTree(json, (path, node) => {
    if ("dbc" in node && "dbc2vss" in node) {
      throw invalid(path, `has both "dbc" and "dbc2vss"; keep one ("dbc" is the old name of "dbc2vss")`);
    }
    if ("dbc" in node) addDbc2Vss(path, node, node.dbc, "dbc");
    else if ("dbc2vss" in node) addDbc2Vss(path, node, node.dbc2vss, "dbc2vss");
    if ("vss2dbc" in node) addVss2Dbc(path, node, node.vss2dbc);
  });

  return new Mapper(entries, vss2dbc, warnings, signals.length, options.onDatapoint);
}

function zeroStats(): VssMapperStats {
  return {
    received: 0,
    unmapped: 0,
    throttled: 0,
    transformFailed: 0,
    noMatch: 0,
    unchanged: 0,
    outOfRange: 0,
    typeMismatch: 0,
    emitted: 0,
  };
}

class Mapper implements VssMapper {
  readonly out: Dp[];
  readonly stats: VssMapperStats = zeroStats();
  readonly mappedSignalIds: readonly number[];
  readonly #bySignal: (Entry[] | undefined)[];

  constructor(
    readonly dbc2vss: readonly Entry[],
    readonly vss2dbc: readonly Vss2DbcEntry[],
    readonly warnings: readonly string[],
    signalCount: number,
    readonly onDatapoint: ((dp: Datapoint) => void) | undefined,
  ) {
    this.#bySignal = new Array(signalCount).fill(undefined);
    let maxFan = 0;
    for (const e of dbc2vss) {
      for (const id of e.signalIds) {
        const list = this.#bySignal[id] ?? (this.#bySignal[id] = []);
        list.push(e);
        if (list.length > maxFan) maxFan = list.length;
      }
    }
    this.mappedSignalIds = this.#bySignal.flatMap((l, i) => (l ? [i] : []));
    this.out = new Array(maxFan).fill(dbc2vss[0]?.dp);
  }

  isMapped(signalId: number): boolean {
    return this.#bySignal[signalId] !== undefined;
  }

  latest(): Datapoint[] {
    const out: Datapoint[] = [];
    for (const e of this.dbc2vss) {
      if (e.hasLast) out.push({ path: e.path, value: e.latestValue, tsMs: e.latestTsMs });
    }
    return out;
  }

  push(signalId: number, value: number, tsMs: number, choiceLabel?: string): number {
    const list = this.#bySignal[signalId];
    const stats = this.stats;
    if (list === undefined) {
      stats.unmapped++;
      return 0;
    }
    stats.received++;
    let n = 0;
    for (let i = 0; i < list.length; i++) {
      const dp = this.#evaluate(list[i], value, tsMs, choiceLabel);
      if (dp !== undefined) {
        this.out[n++] = dp;
        if (this.onDatapoint !== undefined) this.onDatapoint(dp);
      }
    }
    return n;
  }

  pushBatch(batch: SignalBatch, sink: (dp: Datapoint) => void): number {
    const { ids, values, tsMs, frameIndex } = batch;
    const count = batch.count ?? ids.length;
    const stats = this.stats;
    let total = 0;
    for (let k = 0; k < count; k++) {
      const list = this.#bySignal[ids[k]];
      if (list === undefined) {
        stats.unmapped++;
        continue;
      }
      stats.received++;
      const value = values[k];
      const t = frameIndex === undefined ? tsMs[k] : tsMs[frameIndex[k]];
      for (let i = 0; i < list.length; i++) {
        const dp = this.#evaluate(list[i], value, t, undefined);
        if (dp !== undefined) {
          total++;
          sink(dp);
          if (this.onDatapoint !== undefined) this.onDatapoint(dp);
        }
      }
    }
    return total;
  }

  #evaluate(e: Entry, value: number, tsMs: number, label: string | undefined): Dp | undefined {
    const stats = this.stats;
    // A NaN time (outside RFC 3339) bypasses and keeps the time and change state: the caller refuses the datapoint.
    const timed = tsMs === tsMs;
    // 1. time condition (Kuksa: first always passes; the time is recorded before transform/on-change)
    if (timed) {
      if (e.intervalMs > 0 && e.hasTime && tsMs - e.lastTime < e.intervalMs) {
        stats.throttled++;
        return undefined;
      }
      e.hasTime = true;
      e.lastTime = tsMs;
    }

    // 2. transform
    let c: Coerced;
    switch (e.kind) {
      case Kind.Mapping: {
        let hit: Coerced | typeof NO_MATCH | undefined;
        if (label !== undefined) hit = e.byLabel!.get(label);
        else if (e.dense !== undefined) {
          const dense = e.dense;
          hit = value >= 0 && value < dense.length && (value | 0) === value ? dense[value] : NO_MATCH;
        } else hit = e.byNumber!.get(value);
        if (hit === undefined || hit === NO_MATCH) {
          stats.noMatch++;
          return undefined;
        }
        c = hit;
        break;
      }
      case Kind.Math: {
        if (label !== undefined || (e.table !== undefined && e.table.has(value))) {
          stats.transformFailed++;
          return undefined;
        }
        const r = e.math!(value);
        if (!Number.isFinite(r)) {
          stats.transformFailed++;
          return undefined;
        }
        c = e.coercer.number(r);
        break;
      }
      default: {
        if (e.coercer.dt === Dt.Str) {
          const l = label ?? e.table?.get(value);
          c = l !== undefined ? e.coercer.any(l) : e.coercer.number(value);
        } else c = e.coercer.number(value);
      }
    }
    if (c === DROP_RANGE) {
      stats.outOfRange++;
      return undefined;
    }
    if (c === DROP_TYPE) {
      stats.typeMismatch++;
      return undefined;
    }

    // 3. change condition
    if (timed) {
      if (e.onChange && e.hasLast && e.lastValue === c) {
        stats.unchanged++;
        return undefined;
      }
      e.hasLast = true;
      e.lastValue = c;
      e.latestValue = c;
      e.latestTsMs = tsMs;
    }

    const dp = e.dp;
    dp.value = c;
    dp.tsMs = tsMs;
    stats.emitted++;
    return dp;
  }

  reset(): void {
    for (const e of this.dbc2vss) {
      e.hasTime = false;
      e.lastTime = 0;
      e.hasLast = false;
      e.lastValue = 0;
      e.latestValue = 0;
      e.latestTsMs = 0;
    }
    Object.assign(this.stats, zeroStats());
  }
}
