import assert from "node:assert/strict";
import fc from "fast-check";
import { PipelineError } from "../errors/mod.ts";
import { loadVssCatalog } from "../vss/mod.ts";
import { VissDataError } from "../viss/mod.ts";
import {
  AvroContainerWriter,
  avroDatatype,
  avroIngestRequest,
  AvroReader,
  avroTypeForSchema,
  avroTypes,
  AvroWriter,
  catalogFromMap,
  datapointToSample,
  decodeAvro,
  decodeAvroPayload,
  decodeAvroToDatapoints,
  encodeAvro,
  encodeDatapointsAvro,
  formatFloat32,
  formatTs,
  groupSamples,
  loadDatatypeCatalog,
  type MessageInput,
  MessageSequencer,
  parseTs,
  readAvroContainer,
  SCHEMA_NAMES,
  SCHEMAS,
  toAvroValue,
  writeMessageSequence,
  writeTimeSeries,
  writeTimeStampedRecord,
  writeValue,
} from "./mod.ts";

const catalog = catalogFromMap({
  "Vehicle.Speed": "float",
  "Vehicle.Gear": "int8",
  "Vehicle.Rpm": "uint16",
  "Vehicle.Odo": "uint32",
  "Vehicle.Big": "uint64",
  "Vehicle.Lat": "double",
  "Vehicle.Vin": "string",
  "Vehicle.Parked": "boolean",
  "Vehicle.Codes": "string[]",
  "Vehicle.Bytes": "uint8[]",
});

const T0 = Date.parse("2026-11-23T10:30:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

Deno.test("embedded schemas equal the files in assets/avro/vss-tools/schemas", async () => {
  for (const name of SCHEMA_NAMES) {
    const file = JSON.parse(
      await Deno.readTextFile(new URL(`../../assets/avro/vss-tools/schemas/${name}.avsc`, import.meta.url)),
    );
    assert.deepEqual(SCHEMAS[name], file, name);
  }
});

Deno.test("Value branch follows the VSS datatype, not the JS value", () => {
  assert.equal(avroDatatype("int8").branch, "int");
  assert.equal(avroDatatype("uint16").branch, "int");
  assert.equal(avroDatatype("int32").branch, "int");
  assert.equal(avroDatatype("uint32").branch, "long");
  assert.equal(avroDatatype("int64").branch, "long");
  assert.equal(avroDatatype("float").branch, "float");
  assert.equal(avroDatatype("double").branch, "double");
  assert.equal(avroDatatype("string[]").branch, "array");
  assert.equal(avroDatatype("string[]").element, "string");
  // A float signal with an integral value stays float; an int8 signal stays int.
  assert.deepEqual(toAvroValue("7", avroDatatype("float")), { item: { float: 7 } });
  assert.deepEqual(toAvroValue("7", avroDatatype("int8")), { item: { int: 7 } });
  assert.deepEqual(toAvroValue("7", avroDatatype("double")), { item: { double: 7 } });
  assert.deepEqual(toAvroValue(" -Infinity", avroDatatype("double")), { item: { double: -Infinity } });
  assert.deepEqual(toAvroValue("1e3", avroDatatype("int16")), { item: { int: 1000 } });
  assert.deepEqual(toAvroValue("7", avroDatatype("uint32")), { item: { long: 7 } });
  assert.deepEqual(toAvroValue('["1","2"]', avroDatatype("uint8[]")), { item: { array: [{ int: 1 }, { int: 2 }] } });
  const bytes = encodeAvro("Value", toAvroValue("7", avroDatatype("float")));
  assert.deepEqual([...bytes], [4, 0, 0, 0xe0, 0x40]); // branch 2 (float), 7.0f
});

Deno.test("the shipped VSS catalog resolves real signals", () => {
  const cat = loadDatatypeCatalog();
  assert.equal(cat.datatypeOf("Vehicle.Speed"), "float");
  assert.equal(cat.datatypeOf("Vehicle.Nope"), undefined);
});

Deno.test("values that do not fit the datatype are rejected naming signal, field and value", () => {
  const bad = (dp: { path: string; value: string | string[]; ts: string }, re: RegExp, code: string) => {
    assert.throws(() => datapointToSample(dp, catalog), (e: unknown) => {
      assert.ok(e instanceof PipelineError);
      assert.equal(e.code, code);
      assert.match(e.message, re);
      return true;
    });
  };
  const ts = iso(T0);
  bad(
    { path: "Vehicle.Gear", value: "300", ts },
    /Vehicle\.Gear: value "300" is out of range for VSS datatype int8/,
    "codec.value",
  );
  bad({ path: "Vehicle.Gear", value: "1.5", ts }, /value "1\.5" is not an integer/, "codec.value");
  bad({ path: "Vehicle.Speed", value: "fast", ts }, /Vehicle\.Speed: value "fast" is not a number/, "codec.value");
  bad({ path: "Vehicle.Speed", value: "", ts }, /is not a number/, "codec.value");
  bad({ path: "Vehicle.Speed", value: "  ", ts }, /is not a number/, "codec.value");
  bad({ path: "Vehicle.Gear", value: "0x10", ts }, /value "0x10" is not an integer/, "codec.value");
  bad({ path: "Vehicle.Speed", value: "1e39", ts }, /out of range for VSS datatype float/, "codec.value");
  bad({ path: "Vehicle.Parked", value: "yes", ts }, /value "yes" is not a boolean/, "codec.value");
  bad({ path: "Vehicle.Bytes", value: ["1", "256"], ts }, /value\[1\] "256" is out of range/, "codec.value");
  bad({ path: "Vehicle.Codes", value: "P0100", ts }, /is not an array/, "codec.value");
  bad(
    { path: "Vehicle.Big", value: "18446744073709551615", ts },
    /out of range for VSS datatype uint64/,
    "codec.value",
  );
  bad({ path: "Vehicle.Nope", value: "1", ts }, /Vehicle\.Nope: not in the VSS catalog/, "codec.unknown_path");
  bad({ path: "Vehicle.Speed", value: "1", ts: "yesterday" }, /ts "yesterday" is not an ISO 8601/, "codec.ts");
  assert.throws(
    () =>
      encodeDatapointsAvro([{ path: "Vehicle.Speed", value: "1", ts }, { path: "Vehicle.Gear", value: "x", ts }], {
        catalog,
      }),
    /datapoint 1: Vehicle\.Gear: value "x"/,
  );
});

Deno.test("encodeAvro reports the field and value that do not fit the schema", () => {
  assert.throws(
    () => encodeAvro("TimeStampedRecord", { ts: "now", value: { item: { float: 1 } } }),
    /TimeStampedRecord: field ts = "now" does not fit the schema/,
  );
});

Deno.test("datapoints round-trip through binary and container framings", () => {
  const dps = [
    { path: "Vehicle.Speed", value: "23.45", ts: iso(T0) },
    { path: "Vehicle.Speed", value: "-26.88", ts: iso(T0 + 1000) },
    { path: "Vehicle.Gear", value: "-3", ts: iso(T0 + 5) },
    { path: "Vehicle.Odo", value: "4294967295", ts: iso(T0 + 6) },
    { path: "Vehicle.Big", value: "9007199254740991", ts: iso(T0 + 6) },
    { path: "Vehicle.Lat", value: "48.137154", ts: iso(T0 + 7) },
    { path: "Vehicle.Vin", value: "WVWZZZ1JZXW000001 ÄÖ", ts: iso(T0 + 8) },
    { path: "Vehicle.Parked", value: "false", ts: iso(T0 + 9) },
    { path: "Vehicle.Codes", value: '["P0100","U0001"]', ts: iso(T0 + 10) },
    { path: "Vehicle.Bytes", value: "[]", ts: iso(T0 + 11) },
  ];
  for (const framing of ["binary", "container"] as const) {
    const bytes = encodeDatapointsAvro(dps, { catalog, framing });
    const back = decodeAvroToDatapoints(bytes);
    const key = (d: { path: string; ts: string }) => `${d.path}@${d.ts}`;
    assert.deepEqual(
      back.toSorted((a, b) => key(a).localeCompare(key(b))),
      dps.toSorted((a, b) => key(a).localeCompare(key(b))),
      framing,
    );
  }
  // Repeated signals became a TimeSeries, the rest one Snapshot.
  // (avsc itself only handles longs up to 2^52 exactly, so leave Vehicle.Big out here.)
  const small = dps.filter((d) => d.path !== "Vehicle.Big");
  const seq = decodeAvro("MessageSequence", encodeDatapointsAvro(small, { catalog })) as {
    seq: Array<{ item: Record<string, unknown> }>;
  };
  assert.deepEqual(seq.seq.map((m) => Object.keys(m.item)[0]), ["TimeSeries", "Snapshot"]);
});

Deno.test("hand-written writer matches avsc byte for byte (property)", () => {
  const types = avroTypes();
  // avsc is exact for |n| < 2^52 only (its writer doubles in floating point).
  const long52 = fc.integer({ min: -(2 ** 52) + 1, max: 2 ** 52 - 1 });
  const scalar = {
    int8: fc.integer({ min: -128, max: 127 }),
    uint16: fc.integer({ min: 0, max: 65535 }),
    int32: fc.integer({ min: -2147483648, max: 2147483647 }),
    int64: long52,
    float: fc.float({ noNaN: true }),
    double: fc.double({ noNaN: true }),
    string: fc.string({ unit: "grapheme", maxLength: 40 }),
    boolean: fc.boolean(),
  } as Record<string, fc.Arbitrary<number | string | boolean>>;
  const w = new AvroWriter(16);
  for (const [vss, arb] of Object.entries(scalar)) {
    const dt = avroDatatype(vss);
    const arrDt = avroDatatype(`${vss}[]`);
    fc.assert(
      fc.property(
        fc.string({ maxLength: 80 }),
        fc.array(fc.tuple(long52, arb), { maxLength: 20 }),
        fc.array(arb, { maxLength: 5 }),
        (path, pts, arr) => {
          const series = {
            path,
            datatype: dt,
            count: pts.length,
            ts: pts.map((p) => p[0]),
            values: pts.map((p) => p[1]),
          };
          w.reset();
          writeTimeSeries(w, series);
          const expected = types.TimeSeries.toBuffer({
            signal_identifier: path,
            count: pts.length,
            items: pts.map(([ts, v]) => ({ ts, value: { item: { [dt.branch]: v } } })),
          });
          assert.deepEqual([...w.view()], [...expected]);
          if (pts.length > 0) {
            w.reset();
            writeTimeStampedRecord(w, dt, { ts: pts[0][0], value: pts[0][1] });
            assert.deepEqual(
              [...w.view()],
              [...types.TimeStampedRecord.toBuffer({ ts: pts[0][0], value: { item: { [dt.branch]: pts[0][1] } } })],
            );
          }
          w.reset();
          writeValue(w, arrDt, arr);
          assert.deepEqual(
            [...w.view()],
            [...types.Value.toBuffer({ item: { array: arr.map((v) => ({ [dt.element]: v })) } })],
          );
        },
      ),
      { numRuns: 60 },
    );
  }
});

Deno.test("AvroReader reads longs across the whole safe range", () => {
  const w = new AvroWriter(8);
  fc.assert(
    fc.property(fc.array(fc.maxSafeInteger(), { maxLength: 50 }), (ns) => {
      w.reset();
      for (const n of ns) w.long(n);
      const r = new AvroReader(w.view());
      for (const n of ns) assert.equal(r.long(), n);
      assert.ok(r.done);
    }),
  );
});

Deno.test("formatTs equals Date#toISOString over the whole date range", () => {
  fc.assert(fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => {
    assert.equal(formatTs(ms), new Date(ms).toISOString());
  }));
  assert.equal(formatTs(T0 + 1), "2026-11-23T10:30:00.001Z");
  assert.throws(() => formatTs(9e15), /outside the range of dates/);
});

Deno.test("formatFloat32 gives the shortest text that reads back as the same float32", () => {
  assert.equal(formatFloat32(Math.fround(23.45)), "23.45");
  assert.equal(formatFloat32(Math.fround(-26.88)), "-26.88");
  assert.equal(formatFloat32(Math.fround(0.1)), "0.1");
  assert.equal(formatFloat32(-0), "-0");
  assert.equal(formatFloat32(Math.fround(1e-20)), "1e-20");
  assert.equal(formatFloat32(Math.fround(3.4e38)), "3.4e+38");
  assert.equal(formatFloat32(Math.fround(16777216)), "16777216");
  fc.assert(fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (f) => {
    assert.ok(Object.is(Math.fround(Number(formatFloat32(f))), Math.fround(f)), String(f));
  }));
});

Deno.test("malformed AVRO is rejected with a codec error, not a crash", () => {
  const good = encodeDatapointsAvro([{ path: "Vehicle.Speed", value: "1", ts: iso(T0) }], { catalog });
  assert.throws(() => decodeAvroToDatapoints(good.subarray(0, good.length - 2)), /codec|ends early/);
  assert.throws(() => decodeAvroToDatapoints(new Uint8Array([...good, 0])), /unexpected bytes/);
  assert.throws(() => decodeAvroToDatapoints(new Uint8Array([2, 14])), /Message union index 7/);
  const file = encodeDatapointsAvro([{ path: "Vehicle.Speed", value: "1", ts: iso(T0) }], {
    catalog,
    framing: "container",
  });
  const broken = file.slice();
  broken[broken.length - 1] ^= 0xff;
  assert.throws(() => decodeAvroToDatapoints(broken, { source: "x.avro" }), /x\.avro: sync marker mismatch/);
  assert.throws(() => readAvroContainer(new Uint8Array([1, 2, 3])), /not an AVRO object container/);
});

Deno.test("empty input encodes to an empty MessageSequence", () => {
  const bytes = encodeDatapointsAvro([], { catalog });
  assert.deepEqual([...bytes], [0]);
  assert.deepEqual(decodeAvroToDatapoints(bytes), []);
  const w = new AvroWriter();
  writeMessageSequence(w, [] as MessageInput[]);
  assert.deepEqual([...w.view()], [0]);
});

Deno.test("containers whose writer schema differs from ours are resolved (namespace, extra field, field order)", () => {
  // A writer that put the records in a namespace, added a `unit` field and swapped ts/signal_identifier.
  const writerSchema = {
    type: "record",
    name: "vss.Message",
    fields: [{
      name: "item",
      type: [{
        type: "record",
        name: "SpecifiedTimeStampedRecord",
        fields: [
          { name: "ts", type: "long" },
          { name: "signal_identifier", type: "string" },
          { name: "unit", type: "string" },
          { name: "value", type: SCHEMAS.Value },
        ],
      }],
    }],
  };
  const writerType = avroTypeForSchema(writerSchema);
  const cw = new AvroContainerWriter({ schema: writerSchema, codec: "null" });
  cw.datum.raw(
    writerType.toBuffer({
      item: {
        "vss.SpecifiedTimeStampedRecord": {
          ts: T0,
          signal_identifier: "Vehicle.Speed",
          unit: "km/h",
          value: { item: { float: 1.5 } },
        },
      },
    }),
  );
  cw.commit();
  assert.deepEqual(decodeAvroToDatapoints(cw.finish()), [{ path: "Vehicle.Speed", value: "1.5", ts: iso(T0) }]);
});

Deno.test("deflate bombs are refused beyond maxBlockBytes", () => {
  const dps = Array.from(
    { length: 2000 },
    (_, i) => ({ path: "Vehicle.Vin", value: "x".repeat(200), ts: iso(T0 + i) }),
  );
  const file = encodeDatapointsAvro(dps, { catalog, framing: "container" });
  assert.equal(decodeAvroToDatapoints(file).length, 2000);
  assert.throws(() => decodeAvroToDatapoints(file, { maxBlockBytes: 100_000 }), /block cannot be inflated/);
});

Deno.test("parseTs agrees with Date.parse on ISO 8601 variants (fast path property)", () => {
  const year100 = Date.UTC(100, 0, 1), year9999 = Date.UTC(9999, 11, 31);
  fc.assert(
    fc.property(fc.integer({ min: year100, max: year9999 }), fc.constantFrom(0, 1, 2, 3, 6, 9), (ms, digits) => {
      const base = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
      const text = digits === 0
        ? base.slice(0, 19) + "Z"
        : base.slice(0, 20) + (base.slice(20, 23) + "987654").slice(0, digits) + "Z";
      assert.equal(parseTs(text), Date.parse(text), text);
    }),
  );
  for (const t of ["2026-11-23T10:00:00+01:00", "2026-11-23T10:00Z", "2024-02-29T00:00:00Z"]) {
    assert.equal(parseTs(t), Date.parse(t), t);
  }
  for (const t of ["2026-02-30T00:00:00Z", "2026-11-23T24:00:01Z", "2026-11-23T10:00:00.Z", "2026-11-23 10:00:00Z"]) {
    assert.throws(() => parseTs(t), /is not an ISO 8601/, t);
  }
});

Deno.test("a core/vss VssCatalog works as the catalog; VIN and sequence travel in container metadata", () => {
  const vss = loadVssCatalog(new URL("../../assets/vss/vss_release_4.0.json", import.meta.url));
  const dps = [
    { path: "Vehicle.Speed", value: "88.5", ts: iso(T0) },
    { path: "Vehicle.Powertrain.Transmission.CurrentGear", value: "4", ts: iso(T0) },
  ];
  const file = encodeDatapointsAvro(dps, { catalog: vss, framing: "container", vin: "WVWZZZ1JZXW000001" });
  const payload = decodeAvroPayload(file);
  assert.equal(payload.vin, "WVWZZZ1JZXW000001");
  assert.deepEqual(payload.datapoints, dps);
  assert.equal(payload.metadata["vss.ts_unit"], "ms");
  assert.throws(() => encodeDatapointsAvro(dps, { catalog: vss, vin: "X" }), /container framing/);
  const raw = decodeAvroPayload(encodeDatapointsAvro(dps, { catalog: vss }));
  assert.deepEqual([raw.vin, raw.sequence, raw.datapoints.length], [undefined, undefined, 2]);
  const frame = new MessageSequencer({ first: 5 }).frame([]);
  assert.equal(decodeAvroPayload(frame.bytes).sequence, 5);
});

Deno.test("avroIngestRequest gives the JSON ingest's {vin, datapoints} with the same validation", () => {
  const dps = [
    { path: "Vehicle.Speed", value: "88.5", ts: iso(T0) },
    { path: "Vehicle.Speed", value: "89", ts: iso(T0 + 1000) },
    { path: "Vehicle.Gear", value: "4", ts: iso(T0) },
  ];
  const file = encodeDatapointsAvro(dps, { catalog, framing: "container", vin: "VIN0001" });
  const req = avroIngestRequest(file);
  assert.equal(req.vin, "VIN0001");
  assert.deepEqual(req.datapoints, dps);
  const raw = encodeDatapointsAvro(dps, { catalog });
  assert.equal(avroIngestRequest(raw, { vin: "FROMHEADER" }).vin, "FROMHEADER");
  assert.throws(() => avroIngestRequest(raw), (e: unknown) => e instanceof VissDataError && e.code === "viss.vin");
  assert.throws(() => avroIngestRequest(raw, { vin: "bad vin" }), (e: unknown) => e instanceof VissDataError);
  assert.throws(() => avroIngestRequest(raw, { vin: "V", maxDatapoints: 2 }), /more than 2 datapoints/);
  // A path the JSON ingest refuses is refused here too.
  const w = new AvroWriter();
  writeMessageSequence(w, [{
    kind: "record",
    sample: { path: "not a path!", datatype: avroDatatype("float"), ts: T0, value: 1 },
  }]);
  assert.throws(() => avroIngestRequest(w.toBytes(), { vin: "V" }), (e: unknown) => e instanceof VissDataError);
});

Deno.test("encodeDatapointsAvro equals avsc's encoding of the grouped messages (property)", () => {
  const paths = ["Vehicle.Speed", "Vehicle.Gear", "Vehicle.Odo", "Vehicle.Vin", "Vehicle.Codes"];
  const valueFor = (p: string, n: number) =>
    p === "Vehicle.Vin" ? `v${n}` : p === "Vehicle.Codes" ? JSON.stringify([`c${n}`]) : String(n % 100);
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.constantFrom(...paths), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1e6 })),
      ),
      (rows) => {
        const dps = rows.map(([path, n, dt]) => ({ path, value: valueFor(path, n), ts: iso(T0 + dt) }));
        const bytes = encodeDatapointsAvro(dps, { catalog });
        const messages = groupSamples(dps.map((d) => datapointToSample(d, catalog)));
        const w = new AvroWriter();
        writeMessageSequence(w, messages);
        assert.deepEqual([...bytes], [...w.view()]);
        const obj = decodeAvro("MessageSequence", bytes);
        assert.deepEqual([...avroTypes().MessageSequence.toBuffer(obj)], [...bytes]);
      },
    ),
    { numRuns: 50 },
  );
});
