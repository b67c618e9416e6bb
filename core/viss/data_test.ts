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

Deno.test("isVissTimestamp: agrees with the ISO 8601 regular expression on near-miss strings", async () => {
  const fc = (await import("fast-check")).default;
  // The reference: the pattern and calendar check the character-by-character version replaced.
  const TS_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?Z$/;
  const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  const reference = (ts: string) => {
    const m = TS_RE.exec(ts);
    if (!m) return false;
    const year = +m[1], month = +m[2], day = +m[3];
    if (month < 1 || month > 12 || day < 1 || day > DAYS[month - 1]) return false;
    if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return false;
    return +m[4] <= 23 && +m[5] <= 59 && +m[6] <= 60;
  };
  const valid = fc.date({ min: new Date(0), max: new Date("2999-12-31T23:59:59.999Z"), noInvalidDate: true })
    .chain((d) =>
      fc.integer({ min: 0, max: 10 }).map((f) => {
        const base = d.toISOString().slice(0, 19);
        return f === 0 ? `${base}Z` : `${base}.${"1234567890".slice(0, f)}Z`;
      })
    );
  // Valid timestamps with one character replaced, inserted or removed.
  const nearMiss = fc.tuple(valid, fc.nat(), fc.constantFrom(..."0123456789-:TZ. x/\u0660"), fc.constantFrom(0, 1, 2))
    .map(([ts, at, ch, op]) => {
      const i = at % (ts.length + 1);
      return op === 0
        ? ts.slice(0, i) + ch + ts.slice(i + 1)
        : op === 1
        ? ts.slice(0, i) + ch + ts.slice(i)
        : ts.slice(0, i) + ts.slice(i + 1);
    });
  fc.assert(
    fc.property(fc.oneof(valid, nearMiss, fc.string({ maxLength: 32 })), (ts) => {
      assert.equal(isVissTimestamp(ts), reference(ts), JSON.stringify(ts));
    }),
    { numRuns: 20_000 },
  );
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
