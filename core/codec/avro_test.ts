import assert from "node:assert/strict";
import fc from "fast-check";
import { PipelineError } from "../errors/mod.ts";
import { loadVssCatalog } from "../vss/mod.ts";
import { VissDataError } from "../viss/mod.ts";
import { type Datapoint, DatapointValidator, formatTime } from "../datapoint/mod.ts";
import {
  AvroContainerWriter,
  avroDatatype,
  AvroReader,
  avroTypeForSchema,
  avroTypes,
  AvroWriter,
  catalogFromMap,
  catalogSchema,
  datapointToSample,
  decodeAvro,
  decodeAvroPayload,
  decodeAvroToDatapoints,
  encodeAvro,
  encodeDatapointsAvro,
  fromAvroValue,
  groupSamples,
  loadDatatypeCatalog,
  type MessageInput,
  MessageSequencer,
  parseAvroIngest,
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
const validator = new DatapointValidator(catalogSchema(catalog));

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
  assert.deepEqual(toAvroValue(7, avroDatatype("float")), { item: { float: 7 } });
  assert.deepEqual(toAvroValue(7, avroDatatype("int8")), { item: { int: 7 } });
  assert.deepEqual(toAvroValue(7, avroDatatype("double")), { item: { double: 7 } });
  assert.deepEqual(toAvroValue(7, avroDatatype("uint32")), { item: { long: 7 } });
  assert.deepEqual(toAvroValue([1, 2], avroDatatype("uint8[]")), { item: { array: [{ int: 1 }, { int: 2 }] } });
  assert.deepEqual(fromAvroValue({ item: { float: Math.fround(0.3) } }), 0.3);
  assert.deepEqual(fromAvroValue({ item: { array: [{ int: 1 }, { int: 2 }] } }), [1, 2]);
  const bytes = encodeAvro("Value", toAvroValue(7, avroDatatype("float")));
  assert.deepEqual([...bytes], [4, 0, 0, 0xe0, 0x40]); // branch 2 (float), 7.0f
});

Deno.test("the shipped VSS catalog resolves real signals", () => {
  const cat = loadDatatypeCatalog();
  assert.equal(cat.datatypeOf("Vehicle.Speed"), "float");
  assert.equal(cat.datatypeOf("Vehicle.Nope"), undefined);
});

Deno.test("typed values that do not fit the datatype are rejected naming signal and value", () => {
  const bad = (dp: Datapoint, re: RegExp, code: string) => {
    assert.throws(() => datapointToSample(dp, catalog), (e: unknown) => {
      assert.ok(e instanceof PipelineError);
      assert.equal(e.code, code);
      assert.match(e.message, re);
      return true;
    });
  };
  const tsMs = T0;
  bad({ path: "Vehicle.Gear", value: 300, tsMs }, /Vehicle\.Gear: 300 is not a int8 \(-128\.\.127\)/, "codec.value");
  bad({ path: "Vehicle.Gear", value: 1.5, tsMs }, /1\.5 is not a int8/, "codec.value");
  bad({ path: "Vehicle.Gear", value: "1", tsMs }, /"1" is not a int8/, "codec.value");
  bad({ path: "Vehicle.Speed", value: "fast", tsMs }, /Vehicle\.Speed: "fast" is not a finite float32/, "codec.value");
  bad({ path: "Vehicle.Speed", value: NaN, tsMs }, /not a finite float32/, "codec.value");
  bad({ path: "Vehicle.Speed", value: 1e39, tsMs }, /not a finite float32/, "codec.value");
  bad({ path: "Vehicle.Lat", value: Infinity, tsMs }, /not a finite double/, "codec.value");
  bad({ path: "Vehicle.Parked", value: "true", tsMs }, /"true" is not a boolean/, "codec.value");
  bad({ path: "Vehicle.Vin", value: 5, tsMs }, /5 is not a string/, "codec.value");
  bad({ path: "Vehicle.Bytes", value: [1, 256], tsMs }, /element 1: 256 is not a uint8/, "codec.value");
  bad({ path: "Vehicle.Codes", value: "P0100", tsMs }, /is not an array/, "codec.value");
  bad({ path: "Vehicle.Speed", value: [1], tsMs }, /an array is not a float/, "codec.value");
  bad({ path: "Vehicle.Big", value: 2n ** 64n - 1n, tsMs }, /no AVRO long form/, "codec.value");
  bad({ path: "Vehicle.Big", value: -1, tsMs }, /-1 is below 0/, "codec.value");
  bad({ path: "Vehicle.Odo", value: 2 ** 32, tsMs }, /above 4294967295/, "codec.value");
  bad({ path: "Vehicle.Nope", value: 1, tsMs }, /Vehicle\.Nope: not in the VSS catalog/, "codec.unknown_path");
  bad({ path: "Vehicle.Speed", value: 1, tsMs: NaN }, /ts NaN is not an integer ms/, "codec.ts");
  bad({ path: "Vehicle.Speed", value: 1, tsMs: 1e16 }, /ts 10000000000000000 is not an integer ms/, "codec.ts");
  assert.throws(
    () =>
      encodeDatapointsAvro(
        [{ path: "Vehicle.Speed", value: 1, tsMs }, { path: "Vehicle.Gear", value: "x", tsMs }],
        catalog,
      ),
    /datapoint 1: Vehicle\.Gear: "x"/,
  );
});

Deno.test("encodeDatapointsAvro with refusals leaves out what it cannot encode and lists it", () => {
  const refusals: import("../datapoint/mod.ts").Refusal[] = [];
  const dps: Datapoint[] = [
    { path: "Vehicle.Speed", value: 1, tsMs: T0 },
    { path: "Vehicle.Nope", value: 1, tsMs: T0 },
    { path: "Vehicle.Speed", value: "x", tsMs: T0 + 1 },
    { path: "Vehicle.Speed", value: 2, tsMs: T0 + 2 },
    { path: "Vehicle.Big", value: 2n ** 63n, tsMs: T0 },
    { path: "Vehicle.Nope", value: 2, tsMs: T0 },
  ];
  const bytes = encodeDatapointsAvro(dps, catalog, { refusals });
  assert.deepEqual(refusals.map((r) => [r.index, r.path, r.code]), [
    [1, "Vehicle.Nope", "codec.unknown_path"],
    [2, "Vehicle.Speed", "codec.value"],
    [4, "Vehicle.Big", "codec.value"],
    [5, "Vehicle.Nope", "codec.unknown_path"],
  ]);
  assert.deepEqual(decodeAvroToDatapoints(bytes), [dps[0], dps[3]]);
});

Deno.test("encodeAvro reports the field and value that do not fit the schema", () => {
  assert.throws(
    () => encodeAvro("TimeStampedRecord", { ts: "now", value: { item: { float: 1 } } }),
    /TimeStampedRecord: field ts = "now" does not fit the schema/,
  );
});

Deno.test("typed datapoints round-trip through binary and container framings, 64-bit integers exactly", () => {
  const dps: Datapoint[] = [
    { path: "Vehicle.Speed", value: 23.45, tsMs: T0 },
    { path: "Vehicle.Speed", value: -26.88, tsMs: T0 + 1000 },
    { path: "Vehicle.Gear", value: -3, tsMs: T0 + 5 },
    { path: "Vehicle.Odo", value: 4294967295, tsMs: T0 + 6 },
    { path: "Vehicle.Big", value: 9007199254740993n, tsMs: -62_167_219_200_000 },
    { path: "Vehicle.Lat", value: 48.137154, tsMs: T0 + 7 },
    { path: "Vehicle.Vin", value: "WVWZZZ1JZXW000001 ÄÖ", tsMs: T0 + 8 },
    { path: "Vehicle.Parked", value: false, tsMs: T0 + 9 },
    { path: "Vehicle.Codes", value: ["P0100", "U0001"], tsMs: T0 + 10 },
    { path: "Vehicle.Bytes", value: [], tsMs: 253_402_300_799_999 },
    { path: "Vehicle.Big", value: 2n ** 63n - 1n, tsMs: T0 + 12 },
  ];
  for (const framing of ["binary", "container"] as const) {
    const back = decodeAvroToDatapoints(encodeDatapointsAvro(dps, catalog, { framing }));
    const key = (d: Datapoint) => `${d.path}@${d.tsMs}`;
    assert.deepEqual(
      back.toSorted((a, b) => key(a).localeCompare(key(b))),
      dps.toSorted((a, b) => key(a).localeCompare(key(b))),
      framing,
    );
  }
  // Repeated signals became a TimeSeries, the rest one Snapshot.
  // (avsc itself only handles longs up to 2^52 exactly, so leave Vehicle.Big out here.)
  const small = dps.filter((d) => d.path !== "Vehicle.Big");
  const seq = decodeAvro("MessageSequence", encodeDatapointsAvro(small, catalog)) as {
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

Deno.test("AvroWriter.longBig / AvroReader.longValue carry every 64-bit integer exactly", () => {
  const w = new AvroWriter(8);
  fc.assert(
    fc.property(fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { maxLength: 30 }), (ns) => {
      w.reset();
      for (const n of ns) w.longBig(n);
      const r = new AvroReader(w.view());
      for (const n of ns) {
        const v = r.longValue();
        assert.equal(BigInt(v), n);
        assert.equal(typeof v, Number.isSafeInteger(Number(n)) ? "number" : "bigint");
      }
      assert.ok(r.done);
      // the number writer and the bigint writer agree on safe integers
      const safe = ns.filter((n) => Number.isSafeInteger(Number(n)));
      w.reset();
      for (const n of safe) w.long(Number(n));
      const a = [...w.view()];
      w.reset();
      for (const n of safe) w.longBig(n);
      assert.deepEqual([...w.view()], a);
    }),
  );
  const bad = new Uint8Array(12).fill(0xff);
  bad[11] = 1;
  assert.throws(() => new AvroReader(bad).longValue(), (e) => e instanceof PipelineError && e.code === "codec.varint");
});

Deno.test("malformed AVRO is rejected with a codec error, not a crash", () => {
  const good = encodeDatapointsAvro([{ path: "Vehicle.Speed", value: 1, tsMs: T0 }], catalog);
  assert.throws(() => decodeAvroToDatapoints(good.subarray(0, good.length - 2)), /codec|ends early/);
  assert.throws(() => decodeAvroToDatapoints(new Uint8Array([...good, 0])), /unexpected bytes/);
  assert.throws(() => decodeAvroToDatapoints(new Uint8Array([2, 14])), /Message union index 7/);
  const file = encodeDatapointsAvro([{ path: "Vehicle.Speed", value: 1, tsMs: T0 }], catalog, { framing: "container" });
  const broken = file.slice();
  broken[broken.length - 1] ^= 0xff;
  assert.throws(() => decodeAvroToDatapoints(broken, { source: "x.avro" }), /x\.avro: sync marker mismatch/);
  assert.throws(() => readAvroContainer(new Uint8Array([1, 2, 3])), /not an AVRO object container/);
});

Deno.test("empty input encodes to an empty MessageSequence", () => {
  const bytes = encodeDatapointsAvro([], catalog);
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
  assert.deepEqual(decodeAvroToDatapoints(cw.finish()), [{ path: "Vehicle.Speed", value: 1.5, tsMs: T0 }]);
});

Deno.test("deflate bombs are refused beyond maxBlockBytes", () => {
  const dps = Array.from(
    { length: 2000 },
    (_, i) => ({ path: "Vehicle.Vin", value: "x".repeat(200), tsMs: T0 + i }),
  );
  const file = encodeDatapointsAvro(dps, catalog, { framing: "container" });
  assert.equal(decodeAvroToDatapoints(file).length, 2000);
  assert.throws(() => decodeAvroToDatapoints(file, { maxBlockBytes: 100_000 }), /block cannot be inflated/);
});

Deno.test("a core/vss VssCatalog works as the catalog; VIN and sequence travel in container metadata", () => {
  const vss = loadVssCatalog(new URL("../../assets/vss/vss_release_4.0.json", import.meta.url));
  const dps: Datapoint[] = [
    { path: "Vehicle.Speed", value: 88.5, tsMs: T0 },
    { path: "Vehicle.Powertrain.Transmission.CurrentGear", value: 4, tsMs: T0 },
  ];
  const file = encodeDatapointsAvro(dps, vss, { framing: "container", vin: "WVWZZZ1JZXW000001" });
  const payload = decodeAvroPayload(file);
  assert.equal(payload.vin, "WVWZZZ1JZXW000001");
  assert.deepEqual(payload.datapoints, dps);
  assert.equal(payload.metadata["vss.ts_unit"], "ms");
  assert.throws(() => encodeDatapointsAvro(dps, vss, { vin: "X" }), /container framing/);
  const raw = decodeAvroPayload(encodeDatapointsAvro(dps, vss));
  assert.deepEqual([raw.vin, raw.sequence, raw.datapoints.length], [undefined, undefined, 2]);
  const frame = new MessageSequencer({ first: 5 }).frame([]);
  assert.equal(decodeAvroPayload(frame.bytes).sequence, 5);
});

Deno.test("parseAvroIngest gives the JSON ingest's {vin, datapoints, refusals, count} with the same validation", () => {
  const dps: Datapoint[] = [
    { path: "Vehicle.Speed", value: 88.5, tsMs: T0 },
    { path: "Vehicle.Speed", value: 89, tsMs: T0 + 1000 },
    { path: "Vehicle.Gear", value: 4, tsMs: T0 },
  ];
  const file = encodeDatapointsAvro(dps, catalog, { framing: "container", vin: "VIN0001" });
  const req = parseAvroIngest(file, validator);
  assert.deepEqual(req, { vin: "VIN0001", datapoints: dps, refusals: [], count: 3 });
  const raw = encodeDatapointsAvro(dps, catalog);
  assert.equal(parseAvroIngest(raw, validator, { vin: "FROMHEADER" }).vin, "FROMHEADER");
  assert.throws(
    () => parseAvroIngest(raw, validator),
    (e: unknown) => e instanceof VissDataError && e.code === "viss.vin",
  );
  assert.throws(() => parseAvroIngest(raw, validator, { vin: "bad vin" }), (e: unknown) => e instanceof VissDataError);
  assert.throws(
    () => parseAvroIngest(raw, validator, { vin: "V", maxDatapoints: 2 }),
    (e: unknown) => e instanceof PipelineError && e.code === "codec.too_many",
  );
  // What the JSON ingest refuses is refused here too, per datapoint: a bad path, a time out of range, a value
  // outside the datatype (the AVRO int branch carries 300 for an int8 signal).
  const w = new AvroWriter();
  const float = avroDatatype("float"), int = avroDatatype("int8");
  writeMessageSequence(w, [{
    kind: "snapshot",
    start: T0,
    end: T0,
    samples: [
      { path: "not a path!", datatype: float, ts: T0, value: 1 },
      { path: "Vehicle.Speed", datatype: float, ts: 1e16, value: 1 },
      { path: "Vehicle.Gear", datatype: int, ts: T0, value: 300 },
      { path: "Vehicle.Gear", datatype: int, ts: T0, value: 3 },
    ],
  }]);
  const r = parseAvroIngest(w.toBytes(), validator, { vin: "V" });
  assert.equal(r.count, 4);
  assert.deepEqual(r.datapoints, [{ path: "Vehicle.Gear", value: 3, tsMs: T0 }]);
  assert.deepEqual(r.refusals.map((x) => [x.index, x.code]), [[0, "datapoint.path"], [1, "datapoint.ts"], [
    2,
    "datapoint.range",
  ]]);
  // malformed bodies: codec.avro
  for (
    const body of [new Uint8Array([2, 14]), file.subarray(0, file.length - 3), new Uint8Array([0x4f, 0x62, 0x6a, 1])]
  ) {
    assert.throws(
      () => parseAvroIngest(body, validator, { vin: "V" }),
      (e: unknown) => e instanceof PipelineError && e.code === "codec.avro",
    );
  }
  assert.equal(formatTime(r.datapoints[0].tsMs), "2026-11-23T10:30:00.000Z");
});

Deno.test("encodeDatapointsAvro equals avsc's encoding of the grouped messages (property)", () => {
  const paths = ["Vehicle.Speed", "Vehicle.Gear", "Vehicle.Odo", "Vehicle.Vin", "Vehicle.Codes"];
  const valueFor = (p: string, n: number) =>
    p === "Vehicle.Vin" ? `v${n}` : p === "Vehicle.Codes" ? [`c${n}`] : n % 100;
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.constantFrom(...paths), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1e6 })),
      ),
      (rows) => {
        const dps = rows.map(([path, n, dt]) => ({ path, value: valueFor(path, n), tsMs: T0 + dt }));
        const bytes = encodeDatapointsAvro(dps, catalog);
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
