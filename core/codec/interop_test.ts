/**
 * Interoperability with the Apache Avro reference implementation (Debian python3-avro): it reads our files, we read
 * its files. Skipped, with a visible message, when python3-avro is not installed.
 */
import assert from "node:assert/strict";
import {
  avroTypes,
  catalogFromMap,
  type Datapoint,
  datapointToSample,
  decodeAvroToDatapoints,
  encodeDatapointsAvro,
  MessageSequencer,
  SCHEMA_NAMES,
  SCHEMAS,
} from "./mod.ts";

const PYTHON = "/usr/bin/python3";

async function python(script: string, args: string[] = []): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(PYTHON, { args: ["-c", script, ...args], stdout: "piped", stderr: "piped" })
    .output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout), err: new TextDecoder().decode(r.stderr) };
}

async function havePythonAvro(): Promise<boolean> {
  try {
    return (await python("import avro.datafile")).code === 0;
  } catch {
    return false;
  }
}

const available = await havePythonAvro();
if (!available) {
  console.warn(
    "SKIP core/codec/interop_test.ts: python3-avro is not installed (apt-get install -y python3-avro); " +
      "AVRO interoperability with the reference implementation is NOT tested",
  );
}

const catalog = catalogFromMap({
  "Vehicle.Speed": "float",
  "Vehicle.Gear": "int8",
  "Vehicle.Odo": "uint32",
  "Vehicle.Lat": "double",
  "Vehicle.Vin": "string",
  "Vehicle.Parked": "boolean",
  "Vehicle.Codes": "string[]",
});
const T0 = Date.parse("2026-11-23T10:30:00.000Z");
const DPS: Datapoint[] = [
  { path: "Vehicle.Speed", value: 7, tsMs: T0 },
  { path: "Vehicle.Speed", value: -26.88, tsMs: T0 + 1000 },
  { path: "Vehicle.Gear", value: 7, tsMs: T0 + 1 },
  { path: "Vehicle.Odo", value: 4000000000, tsMs: T0 + 2 },
  { path: "Vehicle.Lat", value: 48.137154, tsMs: T0 + 3 },
  { path: "Vehicle.Vin", value: "WVW ÄÖÜ", tsMs: T0 + 4 },
  { path: "Vehicle.Parked", value: true, tsMs: T0 + 5 },
  { path: "Vehicle.Codes", value: ["P0100", "U0001"], tsMs: T0 + 6 },
];

// Reads a container and prints one JSON line per datapoint with the Python type of the value, plus the metadata.
const READ_PY = `
import sys, json
from avro.datafile import DataFileReader
from avro.io import DatumReader
out = []
def tname(v):
    return [tname(x) for x in v] if isinstance(v, list) else type(v).__name__
def rec(r):
    out.append([r["signal_identifier"], r["ts"], r["value"]["item"], tname(r["value"]["item"])])
def ts(s):
    for it in s["items"]:
        out.append([s["signal_identifier"], it["ts"], it["value"]["item"], tname(it["value"]["item"])])
def msg(m):
    i = m["item"]
    if "items" in i: ts(i)
    elif "values" in i:
        for r in i["values"]: rec(r)
    else: rec(i)
with open(sys.argv[1], "rb") as f:
    rd = DataFileReader(f, DatumReader())
    meta = {k: v.decode() for k, v in rd.meta.items() if not k.startswith("avro.schema")}
    for d in rd:
        if "seq" in d:
            for m in d["seq"]: msg(m)
        else: msg(d)
    rd.close()
print(json.dumps({"meta": meta, "dps": out}))
`;

Deno.test({
  name: "python3-avro reads our container files with the branch chosen from the VSS datatype",
  ignore: !available,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "avro_interop_" });
    try {
      const file = `${dir}/ours.avro`;
      await Deno.writeFile(file, encodeDatapointsAvro(DPS, catalog, { framing: "container" }));
      const r = await python(READ_PY, [file]);
      assert.equal(r.code, 0, r.err);
      const got = JSON.parse(r.out) as { meta: Record<string, string>; dps: [string, number, unknown, unknown][] };
      assert.equal(got.meta["avro.codec"], "deflate");
      assert.equal(got.meta["vss.ts_unit"], "ms");
      const by = new Map(got.dps.map((d) => [`${d[0]}@${d[1]}`, d]));
      const at = (path: string, ms: number) => by.get(`${path}@${T0 + ms}`)!;
      assert.deepEqual(at("Vehicle.Speed", 0).slice(2), [7, "float"]); // a float signal stays float
      assert.equal(at("Vehicle.Gear", 1)[3], "int"); // an int8 stays int
      assert.deepEqual(at("Vehicle.Odo", 2).slice(2), [4000000000, "int"]);
      assert.equal(at("Vehicle.Lat", 3)[2], 48.137154);
      assert.deepEqual(at("Vehicle.Vin", 4).slice(2), ["WVW ÄÖÜ", "str"]);
      assert.deepEqual(at("Vehicle.Parked", 5).slice(2), [true, "bool"]);
      assert.deepEqual(at("Vehicle.Codes", 6).slice(2), [["P0100", "U0001"], ["str", "str"]]);
      assert.ok(Math.abs((at("Vehicle.Speed", 1000)[2] as number) + 26.88) < 1e-5);
      assert.equal(got.dps.length, DPS.length);

      // A numbered MessageSequence frame, too.
      const frame = new MessageSequencer({ first: 7 }).frame([
        { kind: "record", sample: datapointToSample(DPS[2], catalog) },
      ]);
      await Deno.writeFile(`${dir}/frame.avro`, frame.bytes);
      const f = await python(READ_PY, [`${dir}/frame.avro`]);
      assert.equal(f.code, 0, f.err);
      const fr = JSON.parse(f.out);
      assert.equal(fr.meta["vss.sequence"], "7");
      assert.deepEqual(fr.dps, [["Vehicle.Gear", T0 + 1, 7, "int"]]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// Writes Message datums with python3-avro from the .avsc files (parsed in order into one Names table).
const WRITE_PY = `
import sys, json
import avro.schema
from avro.datafile import DataFileWriter
from avro.io import DatumWriter
schemas = json.loads(sys.argv[2])
names = avro.schema.Names()
parsed = {}
for n in ${JSON.stringify(SCHEMA_NAMES)}:
    parsed[n] = avro.schema.make_avsc_object(schemas[n], names)
which = sys.argv[3]
with open(sys.argv[1], "wb") as f:
    w = DataFileWriter(f, DatumWriter(), parsed[which], codec="deflate")
    w.set_meta("vss.ts_unit", b"ms")
    v = lambda x: {"item": x}
    ts = {"signal_identifier": "Vehicle.Speed", "count": 2, "items": [
        {"ts": ${T0}, "value": v(12.5)}, {"ts": ${T0 + 1000}, "value": v(13.25)}]}
    snap = {"count": 2, "timeperiod": {"start": ${T0}, "end": ${T0 + 5}}, "values": [
        {"signal_identifier": "Vehicle.Vin", "ts": ${T0}, "value": v("WVW ÄÖÜ")},
        {"signal_identifier": "Vehicle.Codes", "ts": ${T0 + 5}, "value": v(["P0100", "U0001"])}]}
    rec = {"signal_identifier": "Vehicle.Parked", "ts": ${T0 + 7}, "value": v(False)}
    msgs = [{"item": ts}, {"item": snap}, {"item": rec}]
    if which == "Message":
        for m in msgs: w.append(m)
    else:
        w.append({"seq": msgs})
    w.close()
`;

Deno.test({
  name: "we read container files written by python3-avro (Message and MessageSequence datums)",
  ignore: !available,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "avro_interop_" });
    try {
      for (const which of ["Message", "MessageSequence"]) {
        const file = `${dir}/py_${which}.avro`;
        const r = await python(WRITE_PY, [file, JSON.stringify(SCHEMAS), which]);
        assert.equal(r.code, 0, r.err);
        const dps = decodeAvroToDatapoints(await Deno.readFile(file), { source: file });
        assert.deepEqual(dps, [
          { path: "Vehicle.Speed", value: 12.5, tsMs: T0 },
          { path: "Vehicle.Speed", value: 13.25, tsMs: T0 + 1000 },
          { path: "Vehicle.Vin", value: "WVW ÄÖÜ", tsMs: T0 },
          { path: "Vehicle.Codes", value: ["P0100", "U0001"], tsMs: T0 + 5 },
          { path: "Vehicle.Parked", value: false, tsMs: T0 + 7 },
        ], which);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "python3-avro parses the embedded schema set (the schema our files carry)",
  ignore: !available,
  fn: async () => {
    const r = await python(
      "import sys, avro.schema; s = avro.schema.parse(sys.argv[1]); print(s.fullname)",
      [JSON.stringify(avroTypes().MessageSequence.schema())],
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), "MessageSequence");
  },
});
