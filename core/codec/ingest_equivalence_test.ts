/**
 * Issue 18, "one datapoint": the same typed datapoints travel as VISSv2 JSON (HTTP), AVRO (HTTP, container) and MQTT
 * payloads (JSON and AVRO), and every ingest path gives back identical datapoints and identical OVDS texts
 * (`formatValue` / `formatTime`), through the one `DatapointValidator` on the shipped VSS 4.0 catalog.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Datapoint,
  DatapointValidator,
  formatTime,
  formatValue,
  MAX_TS_MS,
  MIN_TS_MS,
  parseTime,
  type ScalarValue,
} from "../datapoint/mod.ts";
import { avroDecoder, avroEncoder, jsonDecoder, jsonEncoder, type PayloadEncoder } from "../mqtt/mod.ts";
import { encodeVissIngest, parseVissIngest } from "../viss/mod.ts";
import { loadVssCatalog, type VssLeaf } from "../vss/mod.ts";
import { encodeDatapointsAvro, parseAvroIngest } from "./mod.ts";

const vss = loadVssCatalog(new URL("../../assets/vss/vss_release_4.0.json", import.meta.url));
// VSS 4.0 has no 64-bit signals: two extra leaves carry int64/uint64 values beyond 2^53 through every path.
const EXTRA: Record<string, VssLeaf> = {
  "Vehicle.Test.Int64": { path: "Vehicle.Test.Int64", datatype: "int64", type: "sensor" },
  "Vehicle.Test.Uint64": { path: "Vehicle.Test.Uint64", datatype: "uint64", type: "sensor" },
  "Vehicle.Test.Int64Array": { path: "Vehicle.Test.Int64Array", datatype: "int64[]", type: "sensor" },
};
const catalog = { get: (path: string): VssLeaf | undefined => EXTRA[path] ?? vss.get(path) };
const validator = new DatapointValidator(catalog);
const utf8 = new TextEncoder();

const INT_RANGES: Record<string, [bigint, bigint]> = {
  int8: [-128n, 127n],
  uint8: [0n, 255n],
  int16: [-32768n, 32767n],
  uint16: [0n, 65535n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  // AVRO long carries 0..2^63-1 of uint64 (beyond is refused by the AVRO encoder, tested in avro_test.ts)
  uint64: [0n, 2n ** 63n - 1n],
};

function bound(leaf: VssLeaf, lo: number, hi: number): [number, number] {
  return [Math.max(lo, leaf.min ?? lo), Math.min(hi, leaf.max ?? hi)];
}

/** Values of one scalar datatype (within the leaf's min/max), as a sender would give them. */
function scalarArb(leaf: VssLeaf, dt: string): fc.Arbitrary<ScalarValue> {
  const ints = INT_RANGES[dt];
  if (ints) {
    const min = leaf.min !== undefined && BigInt(Math.ceil(leaf.min)) > ints[0] ? BigInt(Math.ceil(leaf.min)) : ints[0];
    const max = leaf.max !== undefined && BigInt(Math.floor(leaf.max)) < ints[1]
      ? BigInt(Math.floor(leaf.max))
      : ints[1];
    return fc.bigInt({ min, max }).map((b) => (Number.isSafeInteger(Number(b)) ? Number(b) : b));
  }
  switch (dt) {
    case "float": {
      const [min, max] = bound(leaf, -3.4e38, 3.4e38);
      return fc.float({ min: Math.fround(min), max: Math.fround(max), noNaN: true, noDefaultInfinity: true });
    }
    case "double": {
      const [min, max] = bound(leaf, -Number.MAX_VALUE, Number.MAX_VALUE);
      return fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
    }
    case "boolean":
      return fc.boolean();
    default:
      return fc.string({ unit: "grapheme", maxLength: 40 });
  }
}

const leaves = [...vss.paths(), ...Object.keys(EXTRA)].map((p) => catalog.get(p)!).filter((l) =>
  /^(u?int(8|16|32|64)|float|double|boolean|string)(\[\])?$/.test(l.datatype)
);

/** A random valid typed datapoint: a random catalog leaf, a value of its datatype, a time anywhere in 0000..9999. */
const datapointArb: fc.Arbitrary<Datapoint> = fc.constantFrom(...leaves).chain((leaf) => {
  const dt = leaf.datatype;
  const value: fc.Arbitrary<unknown> = leaf.allowed
    ? (dt.endsWith("[]")
      ? fc.array(fc.constantFrom(...leaf.allowed), { maxLength: 4 })
      : fc.constantFrom(...leaf.allowed))
    : dt.endsWith("[]")
    ? fc.array(scalarArb(leaf, dt.slice(0, -2)), { maxLength: 4 })
    : scalarArb(leaf, dt);
  return fc.tuple(value, fc.integer({ min: MIN_TS_MS, max: MAX_TS_MS })).map(([v, tsMs]) => {
    const r = validator.accept({ path: leaf.path, value: v, ts: tsMs }, 0);
    if (!r.ok) throw new Error(`generator made an invalid datapoint: ${JSON.stringify(r.refusal)}`);
    return r.datapoint;
  });
});

/** What OVDS stores of each datapoint, grouped by path in order (every encoding groups by path, stably). */
function rows(dps: readonly Datapoint[]): string[] {
  return dps.map((d, i) => ({ d, i })).toSorted((
    a,
    b,
  ) => (a.d.path < b.d.path ? -1 : a.d.path > b.d.path ? 1 : a.i - b.i))
    .map(({ d }) => `${d.path}|${formatTime(d.tsMs)}|${formatValue(d.value)}`);
}

function byPath(dps: readonly Datapoint[]): Datapoint[] {
  return dps.toSorted((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function viaMqtt(dps: readonly Datapoint[], encoder: PayloadEncoder, decode: typeof jsonDecoder): Datapoint[] {
  return dps.map((dp) => {
    const body = encoder.encode(dp);
    const [raw, ...more] = decode(typeof body === "string" ? utf8.encode(body) : body, { receivedAt: 0 });
    assert.equal(more.length, 0);
    const r = validator.accept(raw, 0);
    if (!r.ok) assert.fail(`${r.refusal.path}: ${r.refusal.code} ${r.refusal.reason}`);
    return r.datapoint;
  });
}

Deno.test("HTTP JSON, HTTP AVRO, MQTT JSON and MQTT AVRO ingest give identical datapoints and OVDS texts", () => {
  const mqttAvro = avroEncoder({ catalog });
  fc.assert(
    fc.property(fc.array(datapointArb, { minLength: 1, maxLength: 30 }), (dps) => {
      const expected = rows(dps);
      const json = parseVissIngest(encodeVissIngest("VIN1", dps), validator);
      assert.deepEqual(json.refusals, []);
      assert.equal(json.count, dps.length);
      const avro = parseAvroIngest(
        encodeDatapointsAvro(dps, catalog, { framing: "container", vin: "VIN1" }),
        validator,
      );
      assert.deepEqual(avro.refusals, []);
      assert.equal(avro.vin, "VIN1");
      const mqttJson = viaMqtt(dps, jsonEncoder, jsonDecoder);
      const mqttBin = viaMqtt(dps, mqttAvro, avroDecoder);
      // identical typed datapoints (grouping by path is the only reordering an encoding does)
      assert.deepEqual(byPath(json.datapoints), byPath(dps));
      assert.deepEqual(byPath(avro.datapoints), byPath(dps));
      assert.deepEqual(mqttJson, dps);
      assert.deepEqual(mqttBin, dps);
      // identical rows
      for (const got of [json.datapoints, avro.datapoints, mqttJson, mqttBin]) assert.deepEqual(rows(got), expected);
    }),
    { numRuns: 300 },
  );
});

/** `tsMs` written with `offsetMin` minutes of UTC offset (`+01:00`), or undefined when that text leaves 0000..9999. */
function withOffset(tsMs: number, offsetMin: number): string | undefined {
  const local = tsMs + offsetMin * 60_000;
  if (local < MIN_TS_MS || local > MAX_TS_MS) return undefined;
  const a = Math.abs(offsetMin);
  const off = `${offsetMin < 0 ? "-" : "+"}${String(Math.floor(a / 60)).padStart(2, "0")}:${
    String(a % 60).padStart(2, "0")
  }`;
  return formatTime(local).slice(0, -1) + off;
}

Deno.test("the same instant in several textual forms is one tsMs and one canonical text, on every path", () => {
  const mqtt = (ts: string) => {
    const raw = jsonDecoder(utf8.encode(JSON.stringify({ path: "Vehicle.Speed", value: 1, ts })), { receivedAt: 0 });
    const r = validator.accept(raw[0], 0);
    return r.ok ? r.datapoint.tsMs : NaN;
  };
  fc.assert(
    fc.property(
      fc.integer({ min: MIN_TS_MS, max: MAX_TS_MS }),
      fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
      fc.integer({ min: 0, max: 999_999 }),
      (tsMs, offsetMin, subMs) => {
        const canonical = formatTime(tsMs);
        const forms = [
          canonical,
          canonical.slice(0, -1) + String(subMs).padStart(6, "0") + "Z", // 9 fraction digits, truncated to ms
          canonical.toLowerCase(),
          canonical.slice(0, -1) + "+00:00",
          withOffset(tsMs, offsetMin),
        ].filter((f): f is string => f !== undefined);
        if (tsMs % 1000 === 0) forms.push(canonical.slice(0, 19) + "Z");
        if (tsMs % 100 === 0) forms.push(canonical.slice(0, 21) + "Z");
        const body = JSON.stringify({
          vin: "V",
          data: { path: "Vehicle.Speed", dp: forms.map((ts) => ({ value: "1", ts })) },
        });
        const r = parseVissIngest(body, validator);
        assert.deepEqual(r.refusals, []);
        assert.deepEqual(new Set(r.datapoints.map((d) => formatTime(d.tsMs))), new Set([canonical]));
        for (const f of forms) {
          assert.equal(parseTime(f), tsMs, f);
          assert.equal(mqtt(f), tsMs, f);
        }
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("JSON numbers beyond 2^53 keep their digits on every path", () => {
  const u64 = "Vehicle.Test.Uint64";
  for (const digits of ["9007199254740993", "18446744073709551615", "9223372036854775807"]) {
    const json = parseVissIngest(
      `{"vin":"V","data":{"path":"${u64}","dp":{"value":${digits},"ts":"2024-01-01T00:00:00Z"}}}`,
      validator,
    );
    assert.equal(formatValue(json.datapoints[0].value), digits);
    const text = parseVissIngest(
      `{"vin":"V","data":{"path":"${u64}","dp":{"value":"${digits}","ts":"2024-01-01T00:00:00Z"}}}`,
      validator,
    );
    assert.deepEqual(text.datapoints, json.datapoints);
    const raw = jsonDecoder(utf8.encode(`{"path":"${u64}","value":${digits},"ts":"2024-01-01T00:00:00Z"}`), {
      receivedAt: 0,
    });
    const m = validator.accept(raw[0], 0);
    assert.ok(m.ok);
    assert.deepEqual(m.datapoint, json.datapoints[0]);
    assert.equal(
      jsonEncoder.encode(m.datapoint),
      `{"path":"${u64}","value":${digits},"ts":"2024-01-01T00:00:00.000Z"}`,
    );
    if (BigInt(digits) < 2n ** 63n) {
      const avro = parseAvroIngest(encodeDatapointsAvro([m.datapoint], catalog), validator, { vin: "V" });
      assert.deepEqual(avro.datapoints, json.datapoints);
    }
  }
});
