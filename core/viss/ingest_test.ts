import assert from "node:assert/strict";
import fc from "fast-check";
import { type Datapoint, DatapointValidator, formatTime, parseTime } from "../datapoint/mod.ts";
import { PipelineError } from "../errors/mod.ts";
import {
  encodeVissIngest,
  MAX_LISTED_REFUSALS,
  parseVissData,
  parseVissIngest,
  readRefusals,
  refusedBody,
  VissDataError,
  vissDataObjects,
  VissRefusedError,
} from "./mod.ts";

const SCHEMA = new Map([
  ["Vehicle.Speed", { datatype: "float", min: 0 }],
  ["Vehicle.IsMoving", { datatype: "boolean" }],
  ["Vehicle.TraveledDistanceHighRes", { datatype: "uint64" }],
  ["Vehicle.Body.Lights.Mask", { datatype: "uint8[]" }],
  ["Vehicle.LowVoltageSystemState", { datatype: "string", allowed: ["ON", "OFF"] }],
]);
const validator = new DatapointValidator(SCHEMA);
const T1 = "2020-04-15T13:00:00Z";
const T1_MS = Date.UTC(2020, 3, 15, 13);
const T2 = "2020-04-15T13:37:00.125Z";

function body(data: unknown, vin: unknown = "VIN1"): string {
  return JSON.stringify({ vin, data });
}

Deno.test("parseVissIngest: the four VISSv2 forms, typed values, flattened order", () => {
  const one = parseVissIngest(body({ path: "Vehicle.Speed", dp: { value: "55.0", ts: T1 } }), validator);
  assert.deepEqual(one, {
    vin: "VIN1",
    datapoints: [{ path: "Vehicle.Speed", value: 55, tsMs: T1_MS }],
    refusals: [],
    count: 1,
  });
  const arr = parseVissIngest(
    body({ path: "Vehicle.Speed", dp: [{ value: "1", ts: T1 }, { value: 2, ts: T2 }] }),
    validator,
  );
  assert.deepEqual(arr.datapoints.map((d) => d.value), [1, 2]);
  const many = parseVissIngest(
    body([
      { path: "Vehicle.IsMoving", dp: { value: "true", ts: T1 } },
      { path: "Vehicle.Body.Lights.Mask", dp: [{ value: '["1","2"]', ts: T1 }, { value: [3, "4"], ts: T2 }] },
      { path: "Vehicle.Unknown.Thing", dp: { value: "x", ts: T1 } },
    ]),
    validator,
  );
  assert.deepEqual(many.datapoints.map((d) => d.value), [true, [1, 2], [3, 4], "x"]);
  assert.equal(many.count, 4);
  // bytes and parsed values are accepted too
  const bytes = new TextEncoder().encode(body({ path: "Vehicle.Speed", dp: { value: "5", ts: T1 } }));
  assert.equal(parseVissIngest(bytes, validator).datapoints[0].value, 5);
  assert.equal(parseVissIngest(JSON.parse(body({ path: "A.B", dp: { value: 1, ts: T1 } })), validator).count, 1);
});

Deno.test("parseVissIngest: RFC 3339 offsets and fraction digits give one tsMs", () => {
  const forms = [
    "2024-01-01T00:00:00Z",
    "2024-01-01T00:00:00.000Z",
    "2024-01-01T00:00:00.000000000Z",
    "2024-01-01T01:00:00+01:00",
    "2023-12-31T19:30:00.0-04:30",
    "2024-01-01t00:00:00z",
  ];
  const r = parseVissIngest(body({ path: "Vehicle.Speed", dp: forms.map((ts) => ({ value: "1", ts })) }), validator);
  assert.deepEqual(r.refusals, []);
  assert.deepEqual(new Set(r.datapoints.map((d) => d.tsMs)), new Set([Date.UTC(2024, 0, 1)]));
});

Deno.test("parseVissIngest: integers beyond 2^53 keep their digits", () => {
  const text = '{"vin":"V","data":{"path":"Vehicle.TraveledDistanceHighRes","dp":[' +
    '{"value":9007199254740993,"ts":"2024-01-01T00:00:00Z"},{"value":"18446744073709551615","ts":"2024-01-01T00:00:00Z"},' +
    '{"value":12,"ts":"2024-01-01T00:00:00Z"}]}}';
  const r = parseVissIngest(text, validator);
  assert.deepEqual(r.datapoints.map((d) => d.value), [9007199254740993n, 18446744073709551615n, 12]);
  // unknown path: the bigint passes as it is, large floats stay numbers
  const u = parseVissIngest(
    '{"vin":"V","data":{"path":"A.B","dp":[{"value":12345678901234567890,"ts":"2024-01-01T00:00:00Z"},' +
      '{"value":1.2345678901234567e30,"ts":"2024-01-01T00:00:00Z"}]}}',
    validator,
  );
  assert.deepEqual(u.datapoints.map((d) => d.value), [12345678901234567890n, 1.2345678901234567e30]);
});

Deno.test("parseVissIngest: every per-datapoint problem is a refusal with index, path and JSON path", () => {
  const r = parseVissIngest(
    body([
      {
        path: "Vehicle.Speed",
        dp: [{ value: "1", ts: T1 }, { value: "-1", ts: T1 }, { value: "2", ts: "10000-01-01T00:00:00Z" }],
      },
      { dp: { value: "1", ts: T1 } },
      { path: "not a path", dp: [{ value: "1", ts: T1 }, { value: "2", ts: T1 }] },
      { path: "Vehicle.IsMoving", dp: [{ ts: T1 }, { value: "yes", ts: T1 }, { value: "true" }] },
      { path: "A.B", dp: { value: { a: 1 }, ts: T1 } },
      { path: "A.C", dp: { value: [1, 2, 3], ts: T1 } },
      { path: "A.D", dp: { value: null, ts: T1 } },
      { path: "Vehicle.LowVoltageSystemState", dp: { value: "MAYBE", ts: T1 } },
      { path: "A.E", dp: { value: "x".repeat(5000), ts: T1 } },
      { path: "Vehicle.Speed", dp: { value: "3", ts: 1 } },
    ]),
    validator,
  );
  assert.equal(r.count, 15);
  assert.deepEqual(r.datapoints.map((d) => [d.path, d.value, d.tsMs]), [
    ["Vehicle.Speed", 1, T1_MS],
    ["Vehicle.Speed", 3, 1],
  ]);
  assert.deepEqual(r.refusals.map((x) => [x.index, x.path, x.code, x.at]), [
    [1, "Vehicle.Speed", "datapoint.range", "data[0].dp[1].value"],
    [2, "Vehicle.Speed", "datapoint.ts", "data[0].dp[2].ts"],
    [3, "", "datapoint.path", "data[1].path"],
    [4, "not a path", "datapoint.path", "data[2].path"],
    [5, "not a path", "datapoint.path", "data[2].path"],
    [6, "Vehicle.IsMoving", "datapoint.type", "data[3].dp[0].value"],
    [7, "Vehicle.IsMoving", "datapoint.type", "data[3].dp[1].value"],
    [8, "Vehicle.IsMoving", "datapoint.ts", "data[3].dp[2].ts"],
    [9, "A.B", "datapoint.type", "data[4].dp.value"],
    [10, "A.C", "datapoint.type", "data[5].dp.value"],
    [11, "A.D", "datapoint.type", "data[6].dp.value"],
    [12, "Vehicle.LowVoltageSystemState", "datapoint.range", "data[7].dp.value"],
    [13, "A.E", "datapoint.too_long", "data[8].dp.value"],
  ]);
  assert.match(r.refusals[2].reason, /missing "path"/);
  assert.match(r.refusals[5].reason, /missing "value"/);
  assert.match(r.refusals[7].reason, /missing "ts"/);
});

Deno.test("parseVissIngest: structural problems throw VissDataError with the JSON path", () => {
  const cases: [string, string, string][] = [
    ["{", "$", "viss.json"],
    ["[]", "$", "viss.type"],
    [JSON.stringify({ data: [] }), "vin", "viss.vin"],
    [body({ path: "A.B", dp: { value: 1, ts: T1 } }, 7), "vin", "viss.vin"],
    [body({ path: "A.B", dp: { value: 1, ts: T1 } }, "has space"), "vin", "viss.vin"],
    [JSON.stringify({ vin: "V" }), "data", "viss.type"],
    [body([]), "data", "viss.empty"],
    [body([{ path: "A.B", dp: { value: 1, ts: T1 } }, 5]), "data[1]", "viss.type"],
    [body({ path: "A.B", dp: [] }), "data.dp", "viss.empty"],
    [body({ path: "A.B" }), "data.dp", "viss.type"],
    [body({ path: "A.B", dp: "x" }), "data.dp", "viss.type"],
    [body({ path: "A.B", dp: [{ value: 1, ts: T1 }, 3] }), "data.dp[1]", "viss.type"],
  ];
  for (const [text, path, code] of cases) {
    assert.throws(
      () => parseVissIngest(text, validator),
      (e) => e instanceof VissDataError && e.code === code && e.path === path,
      text,
    );
  }
  const three = body({ path: "A.B", dp: [{ value: 1, ts: T1 }, { value: 2, ts: T1 }, { value: 3, ts: T1 }] });
  assert.equal(parseVissIngest(three, validator, { maxDatapoints: 3 }).count, 3);
  assert.throws(
    () => parseVissIngest(three, validator, { maxDatapoints: 2 }),
    (e) => e instanceof VissDataError && e.code === "viss.too_many" && e.path === "data.dp[2]",
  );
  assert.equal(parseVissData({ path: "A.B", dp: { value: 1, ts: T1 } }, validator, { at: "x" }).count, 1);
});

Deno.test("encodeVissIngest: array form grouped by path, canonical text, equal to vissDataObjects", () => {
  const dps: Datapoint[] = [
    { path: "Vehicle.Speed", value: 55.5, tsMs: T1_MS },
    { path: "Vehicle.IsMoving", value: false, tsMs: T1_MS },
    { path: "Vehicle.Speed", value: -0, tsMs: T1_MS + 1 },
    { path: "A.Str", value: 'say "hi"\n', tsMs: 0 },
    { path: "A.Big", value: 18446744073709551615n, tsMs: -62_167_219_200_000 },
    { path: "A.Arr", value: ["a", 1, true], tsMs: 253_402_300_799_999 },
  ];
  const text = encodeVissIngest("VIN1", dps);
  assert.deepEqual(JSON.parse(text), { vin: "VIN1", data: vissDataObjects(dps) });
  assert.deepEqual(vissDataObjects(dps), [
    {
      path: "Vehicle.Speed",
      dp: [{ value: "55.5", ts: "2020-04-15T13:00:00.000Z" }, { value: "-0", ts: "2020-04-15T13:00:00.001Z" }],
    },
    { path: "Vehicle.IsMoving", dp: [{ value: "false", ts: "2020-04-15T13:00:00.000Z" }] },
    { path: "A.Str", dp: [{ value: 'say "hi"\n', ts: "1970-01-01T00:00:00.000Z" }] },
    { path: "A.Big", dp: [{ value: "18446744073709551615", ts: "0000-01-01T00:00:00.000Z" }] },
    { path: "A.Arr", dp: [{ value: '["a","1","true"]', ts: "9999-12-31T23:59:59.999Z" }] },
  ]);
  assert.equal(encodeVissIngest("V", []), '{"vin":"V","data":[]}');
  for (const tsMs of [NaN, 1.5, 1e16]) {
    assert.throws(
      () => encodeVissIngest("V", [{ path: "A.B", value: 1, tsMs }]),
      (e) => e instanceof PipelineError && e.code === "viss.encode" && e.path === "datapoints[0]",
    );
  }
});

Deno.test("encodeVissIngest then parseVissIngest gives the same datapoints (random, whole time range)", () => {
  const v = new DatapointValidator();
  const value = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
  );
  const dp = fc.record({
    path: fc.constantFrom("A.B", "A.C", "Vehicle.Speed"),
    value,
    tsMs: fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }),
  });
  fc.assert(fc.property(fc.array(dp, { minLength: 1, maxLength: 20 }), (dps) => {
    const r = parseVissIngest(encodeVissIngest("V", dps), v);
    assert.deepEqual(r.refusals, []);
    // grouped by path: compare per path in order
    const by = (list: readonly Datapoint[]) => {
      const m = new Map<string, string[]>();
      for (const d of list) m.set(d.path, [...(m.get(d.path) ?? []), `${formatTime(d.tsMs)} ${String(d.value)}`]);
      return m;
    };
    // VISSv2 values are strings: untyped paths keep the text form
    const expected = dps.map((d) => ({ ...d, value: Object.is(d.value, -0) ? "-0" : String(d.value) }));
    assert.deepEqual(by(r.datapoints), by(expected));
    for (const d of r.datapoints) assert.equal(parseTime(formatTime(d.tsMs)), d.tsMs);
  }));
});

Deno.test("refusedBody, VissRefusedError and readRefusals", () => {
  const r = parseVissIngest(
    body({ path: "Vehicle.Speed", dp: [{ value: "1", ts: T1 }, { value: "x", ts: T1 }, { value: "2", ts: "no" }] }),
    validator,
  );
  const b = refusedBody(r.refusals, r.count);
  assert.equal(b.error.code, "viss.refused");
  assert.equal(b.error.message, "2 of 3 datapoints refused; nothing stored");
  assert.equal(b.error.path, "data.dp[1].value");
  assert.equal(b.error.refused, 2);
  assert.deepEqual(b.error.datapoints.map((d) => Object.keys(d)), [
    ["index", "path", "code", "reason", "at"],
    ["index", "path", "code", "reason", "at"],
  ]);
  const e = new VissRefusedError(r.refusals, r.count);
  assert.equal(e.code, "viss.refused");
  assert.deepEqual(JSON.parse(JSON.stringify(e)), JSON.parse(JSON.stringify(b)));
  assert.deepEqual(readRefusals(JSON.stringify(b)), r.refusals);
  assert.deepEqual(readRefusals(JSON.parse(JSON.stringify(b))), r.refusals);
  for (const other of [null, "nope", { error: { code: "viss.json" } }, { error: { code: "viss.refused" } }, 5]) {
    assert.equal(readRefusals(other), undefined);
  }
  assert.deepEqual(readRefusals({ error: { code: "viss.refused", datapoints: [{ index: -1 }, { index: 2 }, "x"] } }), [
    { index: 2, path: "", code: "datapoint.refused", reason: "" },
  ]);
  const many = Array.from({ length: 1500 }, (_, i) => ({ index: i, path: "A.B", code: "datapoint.ts", reason: "r" }));
  const capped = refusedBody(many, 2000);
  assert.equal(capped.error.datapoints.length, MAX_LISTED_REFUSALS);
  assert.equal(capped.error.refused, 1500);
  assert.equal(capped.error.path, "A.B");
});
