import assert from "node:assert/strict";
import { ParseError, PipelineError } from "../errors/mod.ts";
import fc from "fast-check";
import { canonicalFloat32, coerceValue, type Datapoint, DatapointValidator } from "../datapoint/mod.ts";
import { compileVssMapping, loadVssCatalog, physicalChoices, type VssMapper } from "./mod.ts";
import { parseDbc } from "../can/mod.ts";

const ASSETS = new URL("../../assets/", import.meta.url);
const RELEASE = new URL("vss/vss_release_4.0.json", ASSETS);
const MAPPING = new URL("vss/vss_dbc_4.0.json", ASSETS);
const MODEL3 = new URL("dbc/Model3CAN.dbc", ASSETS);
const FIXTURE = new URL("../../testdata/kuksa/test_mapping_transform/test.json", import.meta.url);

const catalog = loadVssCatalog(RELEASE);
const model3Defs = parseDbc(Deno.readTextFileSync(MODEL3)).messages.flatMap((m) => m.signals);
const model3 = { names: model3Defs.map((s) => s.name), choices: physicalChoices(model3Defs) };

/** Push (time in seconds, given to the mapper as integer ms) and return copies of what was emitted. */
function push(m: VssMapper, id: number, value: number, ts: number, label?: string): [string, unknown][] {
  const n = m.push(id, value, Math.round(ts * 1000), label);
  const out: [string, unknown][] = [];
  for (let i = 0; i < n; i++) out.push([m.out[i].path, m.out[i].value]);
  return out;
}

function idOf(name: string): number {
  const id = model3.names.indexOf(name);
  assert.ok(id >= 0, name);
  return id;
}

// ---------------------------------------------------------------- the shipped mapping against Model3CAN.dbc

Deno.test("mapping: the shipped Kuksa VSS 4.0 mapping compiles against Model3CAN.dbc", () => {
  assert.equal(model3.names.length, 2752);
  const m = compileVssMapping(MAPPING, { catalog, signals: model3.names, choices: model3.choices });
  assert.equal(m.dbc2vss.length, 32);
  assert.equal(m.vss2dbc.length, 3);
  assert.deepEqual(m.warnings, []);
  const speed = m.dbc2vss.find((e) => e.path === "Vehicle.Speed")!;
  assert.equal(speed.signal, "DI_uiSpeed");
  assert.equal(speed.intervalMs, 100);
  assert.equal(speed.onChange, false);
  assert.equal(speed.transform, "none");
  assert.equal(speed.leaf.unit, "km/h");
  // CP_hvChargeStatus is defined in two messages: both ids feed the entry
  const charging = m.dbc2vss.find((e) => e.path === "Vehicle.Powertrain.TractionBattery.Charging.IsCharging")!;
  assert.equal(charging.signalIds.length, 2);
  assert.ok(charging.signalIds.every((id) => m.isMapped(id)));
  assert.ok(m.mappedSignalIds.includes(idOf("DI_gear")));
  assert.equal(m.isMapped(idOf("DI_gear") + 1), m.mappedSignalIds.includes(idOf("DI_gear") + 1));
});

Deno.test("mapping: Model3 values map like Kuksa's dbcfeeder", () => {
  const m = compileVssMapping(MAPPING, { catalog, signals: model3.names, choices: model3.choices });
  const gear = idOf("DI_gear");
  // VAL_ 280 DI_gear 4 "DI_GEAR_D" 0 "DI_GEAR_INVALID" 3 "DI_GEAR_N" 1 "DI_GEAR_P" 2 "DI_GEAR_R" 7 "DI_GEAR_SNA"
  assert.deepEqual(push(m, gear, 4, 100), [
    ["Vehicle.Powertrain.Transmission.CurrentGear", 1],
    ["Vehicle.Powertrain.Transmission.IsParkLockEngaged", false],
  ]);
  assert.deepEqual(push(m, gear, 1, 100.2), [
    ["Vehicle.Powertrain.Transmission.CurrentGear", 0],
    ["Vehicle.Powertrain.Transmission.IsParkLockEngaged", true],
  ]);
  // DI_GEAR_N has no mapping entry: ignored
  assert.deepEqual(push(m, gear, 3, 100.4), []);
  assert.equal(m.stats.noMatch, 2);
  // the label given by the caller works as well (no choices table needed)
  const bare = compileVssMapping(MAPPING, { catalog, signals: model3.names });
  assert.deepEqual(push(bare, gear, 2, 1, "DI_GEAR_R"), [
    ["Vehicle.Powertrain.Transmission.CurrentGear", -1],
    ["Vehicle.Powertrain.Transmission.IsParkLockEngaged", false],
  ]);

  // string leaf with allowed values
  const brake = idOf("VCRIGHT_brakeLightStatus");
  assert.deepEqual(push(m, brake, 1, 5), [
    ["Vehicle.Body.Lights.Brake.IsActive", "ACTIVE"],
    ["Vehicle.Body.Lights.Fog.Rear.IsOn", true],
  ]);

  // math + int8 min/max: 2 V -> -20 %, 5.1 V -> 104 % is out of range and dropped
  const tiltX = idOf("VCLEFT_mirrorTiltXPosition");
  assert.deepEqual(push(m, tiltX, 2, 10), [["Vehicle.Body.Mirrors.DriverSide.Pan", -20]]);
  assert.deepEqual(push(m, tiltX, 5.1, 11), []);
  assert.equal(m.stats.outOfRange, 1);

  // no transform, float leaf
  assert.deepEqual(push(m, idOf("DI_uiSpeed"), 88, 10), [["Vehicle.OBD.Speed", 88], ["Vehicle.Speed", 88]]);

  // steering: floor(x+0.5) into int16
  assert.deepEqual(push(m, idOf("SteeringAngle129"), -12.6, 10), [["Vehicle.Chassis.SteeringWheel.Angle", -13]]);

  // signals without a mapping are counted and ignored
  const unmappedId = model3.names.findIndex((_, i) => !m.isMapped(i));
  assert.equal(m.push(unmappedId, 1, 1), 0);
  assert.equal(m.stats.unmapped, 1);
});

Deno.test("mapping: vss2dbc entries transform VSS targets back to DBC values", () => {
  const m = compileVssMapping(MAPPING, { catalog, signals: model3.names, choices: model3.choices });
  const pan = m.vss2dbc.find((e) => e.path === "Vehicle.Body.Mirrors.DriverSide.Pan")!;
  assert.equal(pan.signal, "VCLEFT_mirrorTiltXPosition");
  assert.equal(pan.transform, "math");
  assert.equal(pan.toDbc(-20), 2);
  const trunk = m.vss2dbc.find((e) => e.path === "Vehicle.Body.Trunk.Rear.IsOpen")!;
  assert.equal(trunk.toDbc(true), "LATCH_OPENED");
  assert.equal(trunk.toDbc(false), "LATCH_CLOSED");
  assert.equal(trunk.toDbc("maybe"), undefined);
});

// ---------------------------------------------------------------- Kuksa's transform fixtures

const S = ["S1", "S2", "S3", "S4", "S5", "S6"];

function fixture(): VssMapper {
  return compileVssMapping(FIXTURE, { catalog: loadVssCatalog(FIXTURE), signals: S });
}

function paths(m: VssMapper, id: number, value: number, ts: number, label?: string): string[] {
  return push(m, id, value, ts, label).map(([p]) => p).sort();
}

Deno.test("mapping fixture: defaults and explicit interval_ms / on_change (Kuksa semantics)", () => {
  const m = fixture();
  const get = (p: string) => m.dbc2vss.find((e) => e.path === p)!;
  assert.equal(get("A.NoTransformDefault").intervalMs, 1000);
  assert.equal(get("A.NoTransformDefault").onChange, false);
  assert.equal(get("A.NoTransformOnChangeFalse").intervalMs, 1000);
  assert.equal(get("A.NoTransformOnChangeTrue").intervalMs, 0);
  assert.equal(get("A.NoTransformOnChangeTrue").onChange, true);
  assert.equal(get("A.NoTransformOnChangeInterval500").intervalMs, 500);
  assert.equal(get("A.NoTransformAlways").intervalMs, 0);

  const all = [
    "A.NoTransformAlways",
    "A.NoTransformDefault",
    "A.NoTransformInterval500",
    "A.NoTransformOnChangeFalse",
    "A.NoTransformOnChangeInterval500",
    "A.NoTransformOnChangeTrue",
  ];
  // the first value always passes
  assert.deepEqual(paths(m, 0, 10, 1000.0), all);
  // same value 0.1 s later: only "always" (interval 0, no on_change)
  assert.deepEqual(paths(m, 0, 10, 1000.1), ["A.NoTransformAlways"]);
  // new value 0.2 s later: always + on-change (interval 0)
  assert.deepEqual(paths(m, 0, 11, 1000.2), ["A.NoTransformAlways", "A.NoTransformOnChangeTrue"]);
  // 0.5 s after the first: the 500 ms ones pass (diff is not < 500); on-change+500 sees a change (10 -> 12)
  assert.deepEqual(paths(m, 0, 12, 1000.5), [
    "A.NoTransformAlways",
    "A.NoTransformInterval500",
    "A.NoTransformOnChangeInterval500",
    "A.NoTransformOnChangeTrue",
  ]);
  // 1.0 s after the first, same value 12: defaults pass; on-change+500 passes time but not change
  assert.deepEqual(paths(m, 0, 12, 1001.0), [
    "A.NoTransformAlways",
    "A.NoTransformDefault",
    "A.NoTransformInterval500",
    "A.NoTransformOnChangeFalse",
  ]);
  // the time is recorded when the interval check passes even if on_change then drops the value:
  // 0.3 s later with a new value, OnChangeInterval500 is still throttled
  assert.deepEqual(paths(m, 0, 13, 1001.3), ["A.NoTransformAlways", "A.NoTransformOnChangeTrue"]);
  assert.ok(m.stats.throttled > 0);
  assert.ok(m.stats.unchanged > 0);

  // reset forgets the state
  m.reset();
  assert.equal(m.stats.emitted, 0);
  assert.deepEqual(paths(m, 0, 13, 1001.4), all);
});

Deno.test("mapping fixture: math transform with on_change", () => {
  const m = fixture();
  assert.deepEqual(push(m, 1, -23, 1), [["A.Math", 4]]);
  assert.deepEqual(push(m, 1, 24, 2), []); // floor(abs(24/5)) = 4: unchanged
  assert.deepEqual(push(m, 1, 25, 3), [["A.Math", 5]]);
  // a labelled value cannot go through math (Kuksa: transformation fails, value ignored)
  assert.deepEqual(push(m, 1, 30, 4, "SNA"), []);
  assert.equal(m.stats.transformFailed, 1);
});

Deno.test("mapping fixture: value mappings (labels, numbers, strings, booleans, duplicates)", () => {
  const m = fixture();
  // S3: labels -> int8
  assert.deepEqual(push(m, 2, 4, 1, "DI_GEAR_D"), [["A.MappingStringInt", 1]]);
  assert.deepEqual(push(m, 2, 2, 2, "DI_GEAR_R"), [["A.MappingStringInt", -1]]);
  assert.deepEqual(push(m, 2, 3, 3, "DI_GEAR_N"), []); // no mapping: ignored
  assert.deepEqual(push(m, 2, 2, 4), []); // a numeric value never matches a string `from`
  // S4: string -> string
  assert.deepEqual(push(m, 3, 0, 1, "schwarz"), [["A.MappingStringString", "black"]]);
  assert.deepEqual(push(m, 3, 1, 2, "weiss"), [["A.MappingStringString", "white"]]);
  // S5: int -> string leaf: 3 -> "7"; the duplicate `from: 3` keeps the first entry
  assert.deepEqual(push(m, 4, 3, 1), [["A.MappingIntInt", "7"], ["A.MappingIntIntDuplicate", "7"]]);
  assert.deepEqual(push(m, 4, 4, 2), [["A.MappingIntInt", "4"], ["A.MappingIntIntDuplicate", "4"]]);
  assert.deepEqual(push(m, 4, 5, 3), []);
  // S6: int -> boolean with on_change
  assert.deepEqual(push(m, 5, 1, 1), [["A.IsMappingBool", true]]);
  assert.deepEqual(push(m, 5, 2, 2), []); // still true
  assert.deepEqual(push(m, 5, 3, 3), [["A.IsMappingBool", false]]);
  assert.deepEqual(push(m, 5, 4, 4), [["A.IsMappingBool", true]]);
});

Deno.test("mapping: labels resolved through a choices table behave like Kuksa's NamedSignalValue", () => {
  const choices = [undefined, undefined, new Map([[4, "DI_GEAR_D"], [2, "DI_GEAR_R"]]), undefined, new Map([[3, "X"]])];
  const m = compileVssMapping(FIXTURE, { catalog: loadVssCatalog(FIXTURE), signals: S, choices });
  assert.deepEqual(push(m, 2, 4, 1), [["A.MappingStringInt", 1]]);
  // S5: 3 has a label now, so the numeric `from: 3` no longer matches it (cantools NamedSignalValue != 3)
  assert.deepEqual(push(m, 4, 3, 1), []);
  assert.deepEqual(push(m, 4, 4, 2), [["A.MappingIntInt", "4"], ["A.MappingIntIntDuplicate", "4"]]);
  // S3: DI_GEAR_P / DI_GEAR_INVALID are not labels of this table: reported as warnings
  assert.equal(m.warnings.length, 2);
  assert.match(m.warnings[0], /A\.MappingStringInt: mapping from "DI_GEAR_P" is not a value label of DBC signal S3/);
});

Deno.test("mapping: string leaves without transform take the label, others the number", () => {
  const cat = loadVssCatalog({
    V: {
      type: "branch",
      children: {
        Str: { type: "sensor", datatype: "string" },
        Num: { type: "sensor", datatype: "uint8" },
        Flag: { type: "sensor", datatype: "boolean" },
      },
    },
  });
  const mapping = {
    V: {
      type: "branch",
      children: {
        Str: { type: "sensor", datatype: "string", dbc2vss: { signal: "A", interval_ms: 0 } },
        Num: { type: "sensor", datatype: "uint8", dbc2vss: { signal: "A", interval_ms: 0 } },
        Flag: { type: "sensor", datatype: "boolean", dbc2vss: { signal: "B", interval_ms: 0 } },
      },
    },
  };
  const m = compileVssMapping(mapping, { catalog: cat, signals: ["A", "B"], choices: [new Map([[1, "ONE"]])] });
  assert.deepEqual(push(m, 0, 1, 1), [["V.Str", "ONE"], ["V.Num", 1]]);
  assert.deepEqual(push(m, 0, 2, 2), [["V.Str", "2"], ["V.Num", 2]]);
  assert.deepEqual(push(m, 0, 300, 3), [["V.Str", "300"]]); // 300 does not fit uint8
  assert.deepEqual(push(m, 0, 2.7, 4), [["V.Str", "2.7"], ["V.Num", 2]]); // ints truncate like Python int()
  assert.deepEqual(push(m, 1, 0, 1), [["V.Flag", false]]);
  assert.deepEqual(push(m, 1, 7, 2), [["V.Flag", true]]);
  assert.deepEqual(push(m, 1, NaN, 3), []);
  assert.equal(m.stats.outOfRange, 1);
  assert.equal(m.stats.typeMismatch, 1);
});

Deno.test("mapping: pushBatch, onDatapoint and the reused output objects", () => {
  const seen: Datapoint[] = [];
  const m = compileVssMapping(FIXTURE, {
    catalog: loadVssCatalog(FIXTURE),
    signals: S,
    onDatapoint: (dp) => seen.push({ ...dp }),
  });
  const got: Datapoint[] = [];
  const n = m.pushBatch(
    {
      ids: Int32Array.of(1, 5, 1, 9, 5),
      values: Float64Array.of(10, 1, 10, 0, 3),
      tsMs: Float64Array.of(1000, 1000, 2000, 2000, 3000),
    },
    (dp) => got.push({ ...dp }),
  );
  assert.equal(n, 3);
  assert.deepEqual(got, [
    { path: "A.Math", value: 2, tsMs: 1000 },
    { path: "A.IsMappingBool", value: true, tsMs: 1000 },
    { path: "A.IsMappingBool", value: false, tsMs: 3000 },
  ]);
  assert.deepEqual(seen, got);
  assert.equal(m.stats.unmapped, 1); // id 9 is not a signal of the mapping
  // in mapping-file order
  assert.deepEqual(m.latest(), [
    { path: "A.IsMappingBool", value: false, tsMs: 3000 },
    { path: "A.Math", value: 2, tsMs: 1000 },
  ]);
  // the same object is reused for the same path
  m.push(1, 100, 5000);
  const first = m.out[0];
  m.push(1, 200, 6000);
  assert.equal(m.out[0], first);
  assert.equal(first.value, 40);
});

// ---------------------------------------------------------------- compile-time errors

function mappingWith(node: Record<string, unknown>, path = ["Vehicle", "Speed"]): Record<string, unknown> {
  let tree: Record<string, unknown> = node;
  for (let i = path.length - 1; i > 0; i--) tree = { type: "branch", children: { [path[i]]: tree } };
  return { [path[0]]: tree };
}

function compileError(mapping: Record<string, unknown>, signals = ["DI_uiSpeed", "DI_gear"]): PipelineError {
  try {
    compileVssMapping(mapping, { catalog, signals, source: "my_mapping.json" });
  } catch (e) {
    assert.ok(e instanceof PipelineError, String(e));
    return e;
  }
  throw new Error("expected a compile error");
}

Deno.test("mapping errors: unknown VSS path and unknown DBC signal name the entry", () => {
  let e = compileError(
    mappingWith({ type: "sensor", datatype: "float", dbc2vss: { signal: "DI_uiSpeed" } }, ["Vehicle", "Speeed"]),
  );
  assert.equal(e.code, "vss.mapping.unknown_path");
  assert.match(e.message, /my_mapping\.json: VSS path Vehicle\.Speeed \(mapped from DBC signal DI_uiSpeed\)/);
  assert.equal(e.path, "Vehicle.Speeed");

  e = compileError(mappingWith({ type: "sensor", datatype: "float", dbc2vss: { signal: "DI_uiSpeedd" } }));
  assert.equal(e.code, "vss.mapping.unknown_signal");
  assert.match(e.message, /Vehicle\.Speed: DBC signal DI_uiSpeedd \(dbc2vss\.signal\) is not defined in the DBC/);
  assert.equal(e.path, "Vehicle.Speed.dbc2vss.signal");

  // the whole shipped mapping against a DBC lacking one signal
  const names = model3.names.map((n) => (n === "DI_gear" ? "DI_gearX" : n));
  assert.throws(() => compileVssMapping(MAPPING, { catalog, signals: names }), /DBC signal DI_gear \(dbc2vss/);
});

Deno.test("mapping errors: malformed entries", () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ type: "sensor", datatype: "float", dbc2vss: {} }, "vss.mapping.invalid", /"signal" must be a non-empty string/],
    [
      { type: "sensor", datatype: "float", dbc2vss: { signal: "DI_uiSpeed", interval_ms: -5 } },
      "vss.mapping.invalid",
      /Vehicle\.Speed\.dbc2vss\.interval_ms: must be a non-negative integer, got -5/,
    ],
    [
      { type: "sensor", datatype: "float", dbc2vss: { signal: "DI_uiSpeed", interval_ms: 1.5 } },
      "vss.mapping.invalid",
      /interval_ms/,
    ],
    [
      { type: "sensor", datatype: "float", dbc2vss: { signal: "DI_uiSpeed", on_change: "yes" } },
      "vss.mapping.invalid",
      /on_change: must be true or false/,
    ],
    [
      { type: "sensor", datatype: "float", dbc2vss: { signal: "DI_uiSpeed", transform: { math: "x", mapping: [] } } },
      "vss.mapping.invalid",
      /cannot have both "mapping" and "math"/,
    ],
    [
      { type: "sensor", datatype: "float", dbc2vss: { signal: "DI_uiSpeed", transform: { scale: 2 } } },
      "vss.mapping.invalid",
      /unsupported transform/,
    ],
    [
      { type: "sensor", datatype: "float", dbc2vss: { signal: "DI_uiSpeed", transform: { mapping: [{ from: 1 }] } } },
      "vss.mapping.invalid",
      /mapping\[0\]: must have both "from" and "to"/,
    ],
    [
      {
        type: "sensor",
        datatype: "float",
        dbc2vss: { signal: "DI_uiSpeed", transform: { mapping: [{ from: 1, to: "fast" }] } },
      },
      "vss.mapping.invalid",
      /mapping\[0\]\.to: "fast" is not a valid float value/,
    ],
    [
      { type: "sensor", datatype: "int8", dbc2vss: { signal: "DI_uiSpeed" } },
      "vss.mapping.datatype_mismatch",
      /mapping says datatype int8 but the VSS catalog says float/,
    ],
    [
      { type: "sensor", datatype: "float", dbc: { signal: "DI_uiSpeed" }, dbc2vss: { signal: "DI_uiSpeed" } },
      "vss.mapping.invalid",
      /both "dbc" and "dbc2vss"/,
    ],
    [
      { type: "sensor", datatype: "float", vss2dbc: { signal: "DI_uiSpeed" } },
      "vss.mapping.invalid",
      /vss2dbc is only allowed for actuators, but Vehicle\.Speed is a sensor/,
    ],
  ];
  for (const [node, code, re] of cases) {
    const e = compileError(mappingWith(node));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
  }
  // allowed values are checked for mapping targets
  const brake = mappingWith(
    {
      type: "actuator",
      datatype: "string",
      dbc2vss: { signal: "DI_gear", transform: { mapping: [{ from: "X", to: "ACTIVE" }, { from: "Y", to: "ON" }] } },
    },
    ["Vehicle", "Body", "Lights", "Brake", "IsActive"],
  );
  const e = compileError(brake);
  assert.match(e.message, /mapping\[1\]\.to: "ON" is not a valid string value .*allowed: INACTIVE, ACTIVE, ADAPTIVE/);
});

Deno.test("mapping errors: a bad math expression is a ParseError with the entry and column", () => {
  const e = compileError(
    mappingWith({
      type: "sensor",
      datatype: "float",
      dbc2vss: { signal: "DI_uiSpeed", transform: { math: "x * (2 +" } },
    }),
  );
  assert.ok(e instanceof ParseError);
  assert.equal(e.code, "vss.math.syntax");
  assert.equal(e.column, 9);
  assert.match(e.message, /^my_mapping\.json: Vehicle\.Speed\.dbc2vss\.transform\.math:1:9: /);
});

Deno.test("mapping errors: unreadable or invalid mapping files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vss_mapping_" });
  try {
    assert.throws(() => compileVssMapping(`${dir}/missing.json`, { catalog, signals: [] }), (e: unknown) => {
      assert.ok(e instanceof PipelineError);
      assert.equal(e.code, "vss.mapping.read");
      return true;
    });
    await Deno.writeTextFile(`${dir}/bad.json`, '{"Vehicle": }');
    assert.throws(() => compileVssMapping(`${dir}/bad.json`, { catalog, signals: [] }), (e: unknown) => {
      assert.ok(e instanceof ParseError);
      assert.equal(e.code, "vss.mapping.json");
      assert.match(e.message, /bad\.json:1:\d+/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mapping: physicalChoices keys value tables by the decoded (scaled) value", () => {
  const t = physicalChoices([
    { choices: new Map([[0, "SNA"], [1, "ONE"]]), factor: 0.5, offset: -40 },
    { factor: 1, offset: 0 },
    { choices: new Map(), factor: 1, offset: 0 },
  ]);
  assert.deepEqual(t, [new Map([[-40, "SNA"], [-39.5, "ONE"]]), undefined, undefined]);
  // Model3: VAL_ 801 VCFRONT_tempAmbientFiltered 0 "SNA", scale (0.5,-40)
  const id = idOf("VCFRONT_tempAmbientFiltered");
  assert.deepEqual(model3.choices[id], new Map([[-40, "SNA"]]));
});

Deno.test("mapping: unit checks warn about entries without a transform whose units differ", () => {
  const defs = model3Defs;
  const m = compileVssMapping(MAPPING, {
    catalog,
    signals: model3.names,
    choices: model3.choices,
    units: defs.map((d) => d.unit),
  });
  // the shipped mapping is consistent: C→celsius, V→V, Nm→Nm; DI_uiSpeed has no unit in the DBC
  assert.deepEqual(m.warnings, []);
  const mapping = mappingWith({ type: "sensor", datatype: "float", dbc2vss: { signal: "T" } });
  const w = compileVssMapping(mapping, { catalog, signals: ["T"], units: ["C"] });
  assert.deepEqual(w.warnings, [
    `Vehicle.Speed: DBC signal T is in "C" but the VSS leaf is in "km/h" and there is no transform; add a math transform`,
  ]);
  assert.deepEqual(compileVssMapping(mapping, { catalog, signals: ["T"], units: ["kph"] }).warnings, []);
  assert.deepEqual(compileVssMapping(mapping, { catalog, signals: ["T"], units: ["furlong"] }).warnings, []);
});

Deno.test("mapping errors: Kuksa multiplexer conditions are rejected with a reason", () => {
  const e = compileError(
    mappingWith({
      type: "sensor",
      datatype: "float",
      dbc2vss: { signal: "DI_uiSpeed", multiplexer: [{ signal: "DI_gear", value: 1 }] },
    }),
  );
  assert.equal(e.code, "vss.mapping.unsupported");
  assert.match(e.message, /Vehicle\.Speed\.dbc2vss\.multiplexer: multiplexer conditions are not supported/);
});

// ---------------------------------------------------------------- the mapper's output is what the CESC accepts

Deno.test("mapping: a NaN time (outside RFC 3339) emits the value with tsMs NaN and keeps interval/on-change state", () => {
  const m = compileVssMapping(new URL("../../assets/vss/vss_dbc_4.0.json", import.meta.url), {
    catalog,
    signals: model3.names,
    choices: model3.choices,
  });
  const speed = idOf("DI_uiSpeed");
  assert.equal(m.push(speed, 10, 1_000), 2);
  assert.ok(Number.isNaN(m.push(speed, 11, NaN) && m.out[0].tsMs));
  assert.equal(m.out[0].value, 11);
  // the bad frame did not reset throttling: 50 ms after the first good one is still throttled
  assert.equal(m.push(speed, 12, 1_050), 0);
  assert.equal(m.push(speed, 12, 1_100), 2);
  assert.deepEqual(m.latest().filter((d) => d.path === "Vehicle.Speed"), [
    { path: "Vehicle.Speed", value: 12, tsMs: 1_100 },
  ]);
});

Deno.test("mapping: float leaves carry canonical float32 values; non-finite and float32 overflow are dropped", () => {
  const tree = (datatype: string) => ({
    A: {
      type: "branch",
      children: { X: { type: "sensor", datatype, dbc2vss: { signal: "S", interval_ms: 0 } } },
    },
  });
  const f = compileVssMapping(tree("float"), { catalog: loadVssCatalog(tree("float")), signals: ["S"] });
  const d = compileVssMapping(tree("double"), { catalog: loadVssCatalog(tree("double")), signals: ["S"] });
  const value = (m: VssMapper, v: number) => (m.push(0, v, 1) === 1 ? m.out[0].value : "dropped");
  assert.equal(value(f, 0.1 * 3), 0.3);
  assert.equal(value(f, 12.300000000000001), 12.3);
  assert.equal(value(f, Math.fround(0.1)), 0.1);
  assert.equal(value(d, 0.1 * 3), 0.30000000000000004);
  assert.ok(Object.is(value(f, -0), -0));
  for (const bad of [NaN, Infinity, -Infinity]) {
    assert.equal(value(f, bad), "dropped");
    assert.equal(value(d, bad), "dropped");
  }
  assert.equal(value(f, 1e39), "dropped");
  assert.equal(value(d, 1e39), 1e39);
  assert.equal(f.stats.typeMismatch, 3);
  assert.equal(f.stats.outOfRange, 1);
  // the mapper's allocation-free float32 canonicalisation is core/datapoint's canonicalFloat32
  fc.assert(
    fc.property(fc.double({ noNaN: true, min: -3.4e38, max: 3.4e38 }), (v) => {
      assert.ok(Object.is(value(f, v), canonicalFloat32(v)), String(v));
    }),
    { numRuns: 20_000 },
  );
});

Deno.test("mapping: property: every datapoint the mapper emits passes the CESC's DatapointValidator unchanged", () => {
  const validator = new DatapointValidator(catalog);
  const m = compileVssMapping(new URL("../../assets/vss/vss_dbc_4.0.json", import.meta.url), {
    catalog,
    signals: model3.names,
    choices: model3.choices,
  });
  const fx = fixture();
  const fxValidator = new DatapointValidator(loadVssCatalog(FIXTURE));
  const ids = m.mappedSignalIds;
  const anyNumber = fc.oneof(
    fc.double(),
    fc.integer({ min: -70000, max: 70000 }),
    fc.constantFrom(0, -0, 1, 255, 256, -1, 2 ** 53, 1e39, -1e39, NaN, Infinity, 0.1, 3.4028235e38),
  );
  let emitted = 0;
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 4_102_444_800_000 }),
      fc.array(fc.tuple(fc.nat(ids.length - 1), anyNumber, fc.integer({ min: 0, max: 3000 }))),
      (t0, pushes) => {
        m.reset();
        fx.reset();
        let t = t0;
        for (const [k, v, step] of pushes) {
          t += step;
          for (const [mapper, val, id] of [[m, validator, ids[k]], [fx, fxValidator, k % 6]] as const) {
            const n = mapper.push(id, v, t);
            for (let i = 0; i < n; i++) {
              const dp = mapper.out[i];
              emitted++;
              assert.equal(val.check(dp, 0), undefined, `${dp.path} ${String(dp.value)}`);
              const leaf = val.leaf(dp.path)!;
              const c = coerceValue(dp.value, leaf.datatype);
              assert.ok(c.ok && Object.is(c.value, dp.value), `${dp.path}: ${String(dp.value)} is not canonical`);
            }
          }
        }
      },
    ),
    { numRuns: 300 },
  );
  assert.ok(emitted > 1000, `only ${emitted} datapoints emitted`);
});
