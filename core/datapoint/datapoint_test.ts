import assert from "node:assert/strict";
import fc from "fast-check";
import {
  coerceValue,
  DatapointValidator,
  formatTime,
  formatValue,
  MAX_TS_MS,
  MIN_TS_MS,
  parseTime,
  RefusalLog,
  tsMsFromSeconds,
} from "./mod.ts";

Deno.test("time: formatTime and parseTime round-trip every ms RFC 3339 can carry; text order is time order", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: MIN_TS_MS, max: MAX_TS_MS }),
      fc.integer({ min: MIN_TS_MS, max: MAX_TS_MS }),
      (a, b) => {
        const ta = formatTime(a), tb = formatTime(b);
        assert.equal(parseTime(ta), a);
        assert.equal(ta < tb, a < b);
        assert.equal(ta.length, 24);
      },
    ),
    { numRuns: 20_000 },
  );
});

Deno.test("time: one instant in several textual forms parses to one ms", () => {
  const forms = [
    "2024-01-01T00:00:00Z",
    "2024-01-01T00:00:00.000Z",
    "2024-01-01T00:00:00.0Z",
    "2024-01-01t00:00:00.000000000z",
    "2024-01-01T01:00:00+01:00",
    "2023-12-31T19:30:00.0004-04:30",
  ];
  for (const f of forms) assert.equal(parseTime(f), Date.UTC(2024, 0, 1), f);
  assert.equal(formatTime(parseTime("2024-01-01T00:00:00.6Z")), "2024-01-01T00:00:00.600Z");
  assert.equal(parseTime("2024-01-01T00:00:00.1239Z") % 1000, 123);
});

Deno.test("time: parseTime agrees with Date.parse on valid text and refuses what is not RFC 3339", () => {
  fc.assert(
    fc.property(
      fc.date({
        min: new Date("0100-01-01T00:00:00Z"),
        max: new Date("9998-12-31T23:59:59.999Z"),
        noInvalidDate: true,
      }),
      fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
      (d, off) => {
        const local = new Date(d.getTime() + off * 60_000).toISOString().slice(0, 23);
        const sign = off < 0 ? "-" : "+";
        const a = Math.abs(off);
        const text = `${local}${sign}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
        const ms = parseTime(text);
        if (d.getTime() >= MIN_TS_MS && d.getTime() <= MAX_TS_MS) assert.equal(ms, d.getTime(), text);
      },
    ),
    { numRuns: 5000 },
  );
  for (
    const bad of [
      "",
      "2024-02-30T00:00:00Z",
      "2023-02-29T00:00:00Z",
      "2024-01-01 00:00:00Z",
      "2024-01-01T24:00:00Z",
      "2024-01-01T00:00:00.Z",
      "2024-01-01T00:00:00.1234567890Z",
      "2024-01-01T00:00:00+1:00",
      "2024-01-01T00:00:00",
      "+012024-01-01T00:00:00Z",
      "2024-01-01T00:00:00Zjunk",
    ]
  ) assert.ok(Number.isNaN(parseTime(bad)), bad);
  assert.ok(Number.isNaN(parseTime("0000-01-01T00:00:00+00:01")), "before year 0000");
  assert.ok(Number.isNaN(parseTime("9999-12-31T23:59:59.999-00:01")), "after year 9999");
});

Deno.test("time: seconds from the bus become integer ms; outside RFC 3339 is NaN, never a throw", () => {
  assert.equal(tsMsFromSeconds(1700000000.123456), 1700000000123);
  assert.equal(tsMsFromSeconds(1.001), 1001);
  assert.ok(Number.isNaN(tsMsFromSeconds(1e13)));
  assert.ok(Number.isNaN(tsMsFromSeconds(9999999999999999999999.0)));
  assert.ok(Number.isNaN(tsMsFromSeconds(NaN)));
  assert.throws(() => formatTime(1e16), RangeError);
});

Deno.test("value: coercion by datatype and the one text form", () => {
  const ok = (input: unknown, dt?: string) => {
    const c = coerceValue(input, dt);
    assert.ok(c.ok, `${String(input)} as ${dt}: ${!c.ok && c.reason}`);
    return c.value;
  };
  assert.equal(ok("55.0", "float"), 55);
  assert.equal(ok(Math.fround(0.3), "float"), 0.3);
  assert.equal(ok("0.30000000000000004", "float"), 0.3);
  assert.equal(ok("true", "boolean"), true);
  assert.equal(ok("255", "uint8"), 255);
  assert.equal(ok("9007199254740993", "uint64"), 9007199254740993n);
  assert.equal(ok(9007199254740993n), 9007199254740993n);
  assert.deepEqual(ok('["1","2"]', "uint8[]"), [1, 2]);
  assert.deepEqual(ok([true, "false"], "boolean[]"), [true, false]);
  for (const [input, dt] of [["256", "uint8"], ["1.5", "int8"], ["0x10", "uint8"], ["", "float"], ["x", "boolean"]]) {
    assert.equal(coerceValue(input, dt).ok, false, `${input} as ${dt}`);
  }
  assert.equal(coerceValue({ a: 1 }).ok, false);
  assert.equal(coerceValue([1, 2, 3]).ok, false);
  assert.equal(coerceValue(null).ok, false);
  assert.equal(coerceValue("x".repeat(5000)).ok, false);
  assert.equal(formatValue(0.30000000000000004, "float"), "0.3");
  assert.equal(formatValue(Math.fround(0.3), "float"), "0.3");
  assert.equal(formatValue(0.1 + 0.2, "double"), "0.30000000000000004");
  assert.equal(formatValue(9007199254740993n), "9007199254740993");
  assert.equal(formatValue([1, 2], "uint8[]"), '["1","2"]');
  assert.equal(formatValue(false), "false");
});

Deno.test("validator: typed values, schema ranges and allowed values, refusals with index and code", () => {
  const leaves: Record<string, { datatype: string; min?: number; max?: number; allowed?: string[] }> = {
    "Vehicle.Speed": { datatype: "float", min: -250, max: 250 },
    "Vehicle.Gear": { datatype: "string", allowed: ["P", "D"] },
  };
  const v = new DatapointValidator({ get: (p) => leaves[p] });
  const ts = "2024-01-01T00:00:00Z";
  const a = v.accept({ path: "Vehicle.Speed", value: "12.5", ts }, 0);
  assert.deepEqual(a, { ok: true, datapoint: { path: "Vehicle.Speed", value: 12.5, tsMs: Date.UTC(2024, 0, 1) } });
  const cases: [unknown, unknown, unknown, string][] = [
    ["Vehicle.Speed", 300, ts, "datapoint.range"],
    ["Vehicle.Gear", "R", ts, "datapoint.range"],
    ["Vehicle..Speed", 1, ts, "datapoint.path"],
    ["Vehicle.Speed", 1, "11476-01-01T00:00:00Z", "datapoint.ts"],
    ["Vehicle.Speed", 1, 1e16, "datapoint.ts"],
    ["Vehicle.Custom", { a: 1 }, ts, "datapoint.type"],
    ["Vehicle.Custom", "x".repeat(5000), ts, "datapoint.too_long"],
  ];
  for (const [i, [path, value, t, code]] of cases.entries()) {
    const r = v.accept({ path, value, ts: t }, i);
    assert.ok(!r.ok);
    assert.equal(r.refusal.code, code, JSON.stringify(r.refusal));
    assert.equal(r.refusal.index, i);
  }
  assert.equal(v.check({ path: "Vehicle.Speed", value: 1, tsMs: 0 }, 0), undefined);
});

Deno.test("refusal log: counts every refusal, logs the first of each code per interval", () => {
  const lines: Record<string, unknown>[] = [];
  let now = 0;
  const logger = { warn: (_m: string, f?: Record<string, unknown>) => lines.push(f ?? {}) };
  const log = new RefusalLog({ logger: logger as never, now: () => now });
  for (let i = 0; i < 10; i++) log.add({ index: i, path: "A", code: "datapoint.ts", reason: "r" });
  log.add({ index: 0, path: "A", code: "datapoint.range", reason: "r" });
  now = 60_000;
  log.add({ index: 0, path: "A", code: "datapoint.ts", reason: "r" });
  assert.equal(log.total, 12);
  assert.equal(log.counts().get("datapoint.ts"), 11);
  assert.deepEqual(lines.map((l) => [l.code, l.refused_since_last_log]), [
    ["datapoint.ts", 1],
    ["datapoint.range", 1],
    ["datapoint.ts", 10],
  ]);
});
