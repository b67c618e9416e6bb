import assert from "node:assert/strict";
import { isVissTimestamp, normalizeVissData, parseIngestBody, toVissData, VissDataError } from "./mod.ts";

const T1 = "2020-04-15T13:00:00Z";
const T2 = "2020-04-15T13:37:00.125Z";

Deno.test("normalizeVissData: the four VISSv2 forms", () => {
  assert.deepEqual(normalizeVissData({ path: "Vehicle.Speed", dp: { value: "55.0", ts: T1 } }), [
    { path: "Vehicle.Speed", value: "55.0", ts: T1 },
  ]);
  assert.deepEqual(
    normalizeVissData({
      path: "Vehicle.Acceleration.Longitudinal",
      dp: [{ value: "0.1", ts: T1 }, { value: "0.2", ts: T2 }],
    }),
    [
      { path: "Vehicle.Acceleration.Longitudinal", value: "0.1", ts: T1 },
      { path: "Vehicle.Acceleration.Longitudinal", value: "0.2", ts: T2 },
    ],
  );
  assert.deepEqual(
    normalizeVissData([
      { path: "Vehicle.CurrentLocation.Latitude", dp: { value: "56.02", ts: T1 } },
      { path: "Vehicle.CurrentLocation.Longitude", dp: { value: "12.59", ts: T1 } },
    ]).map((d) => d.path),
    ["Vehicle.CurrentLocation.Latitude", "Vehicle.CurrentLocation.Longitude"],
  );
  assert.deepEqual(
    normalizeVissData([
      { path: "Vehicle.Speed", dp: [{ value: "50", ts: T1 }, { value: "52", ts: T2 }] },
      { path: "Vehicle.LowVoltageSystemState", dp: { value: "ON", ts: T1 } },
    ]).length,
    3,
  );
});

Deno.test("normalizeVissData: numbers and booleans become strings", () => {
  const dps = normalizeVissData([
    { path: "Vehicle.Speed", dp: { value: 55.5, ts: T1 } },
    { path: "Vehicle.IsMoving", dp: { value: false, ts: T1 } },
  ]);
  assert.deepEqual(dps.map((d) => d.value), ["55.5", "false"]);
});

Deno.test("normalizeVissData: errors carry the JSON path of the first problem", () => {
  const cases: [unknown, string, string][] = [
    [
      [{ path: "A.B", dp: { value: "1", ts: T1 } }, {}, { path: "A.B", dp: [{ value: "1", ts: "yesterday" }] }],
      "data[1].path",
      "viss.path",
    ],
    [
      [{ path: "A.B", dp: { value: "1", ts: T1 } }, {
        path: "A.C",
        dp: [{ value: "1", ts: T1 }, { value: "1", ts: "2020-13-01T00:00:00Z" }],
      }],
      "data[1].dp[1].ts",
      "viss.ts",
    ],
    [{ path: "A.B", dp: { value: null, ts: T1 } }, "data.dp.value", "viss.type"],
    [{ path: "A.B", dp: { ts: T1 } }, "data.dp.value", "viss.value"],
    [{ path: "A..B", dp: { value: "1", ts: T1 } }, "data.path", "viss.path"],
    [{ path: "A.B", dp: [] }, "data.dp", "viss.empty"],
    [[], "data", "viss.empty"],
    [null, "data", "viss.type"],
    [{ path: "A.B", dp: { value: "1", ts: "2020-04-15T13:00:00+02:00" } }, "data.dp.ts", "viss.ts"],
  ];
  for (const [input, path, code] of cases) {
    assert.throws(() => normalizeVissData(input), (e: unknown) => {
      assert.ok(e instanceof VissDataError);
      assert.equal(e.path, path, JSON.stringify(input));
      assert.equal(e.code, code);
      return true;
    });
  }
});

Deno.test("isVissTimestamp: calendar ranges", () => {
  assert.ok(isVissTimestamp("2024-02-29T23:59:59.123456Z"));
  assert.ok(!isVissTimestamp("2023-02-29T00:00:00Z"));
  assert.ok(!isVissTimestamp("2023-04-31T00:00:00Z"));
  assert.ok(!isVissTimestamp("2023-04-30T24:00:00Z"));
  assert.ok(!isVissTimestamp("2023-04-30 10:00:00Z"));
});

Deno.test("parseIngestBody: vin and JSON errors", () => {
  const ok = parseIngestBody(`{"vin":"ULF001","data":{"path":"Vehicle.Speed","dp":{"value":"55.0","ts":"${T1}"}}}`);
  assert.equal(ok.vin, "ULF001");
  assert.equal(ok.datapoints.length, 1);
  for (
    const [body, path, code] of [
      ["{", "$", "viss.json"],
      ['{"data":[]}', "vin", "viss.vin"],
      ['{"vin":""}', "vin", "viss.vin"],
      ['{"vin":7}', "vin", "viss.vin"],
      ["[1]", "$", "viss.type"],
    ]
  ) {
    assert.throws(
      () => parseIngestBody(body),
      (e: unknown) => e instanceof VissDataError && e.path === path && e.code === code,
    );
  }
  assert.throws(
    () =>
      parseIngestBody({ vin: "V", data: { path: "A.B", dp: [{ value: "1", ts: T1 }, { value: "2", ts: T2 }] } }, {
        maxDatapoints: 1,
      }),
    (e: unknown) => e instanceof VissDataError && e.code === "viss.too_many",
  );
});

Deno.test("toVissData groups per path and round-trips", () => {
  const dps = [
    { path: "Vehicle.Speed", value: "1", ts: T1 },
    { path: "Vehicle.Other", value: "x", ts: T1 },
    { path: "Vehicle.Speed", value: "2", ts: T2 },
  ];
  const body = toVissData("VIN1", dps);
  assert.deepEqual(body, {
    vin: "VIN1",
    data: [
      { path: "Vehicle.Speed", dp: [{ value: "1", ts: T1 }, { value: "2", ts: T2 }] },
      { path: "Vehicle.Other", dp: [{ value: "x", ts: T1 }] },
    ],
  });
  const back = parseIngestBody(JSON.stringify(body));
  assert.equal(back.datapoints.length, 3);
});
