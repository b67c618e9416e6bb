/**
 * Ratio script: bytes per datapoint and encode/decode rates of AVRO (VSS vss-tools schemas) versus VISSv2 JSON for
 * 1 Hz TimeSeries of numeric signals. Goals (issue 9): ≥ 5× fewer bytes than VISSv2 JSON for 60-sample bundles,
 * encode ≥ 1 million datapoints/s.
 *
 * `--baseline DIR` also times `encodeDatapointsAvro` / `decodeAvroToDatapoints` of another checkout (e.g. the code
 * before issue 18, which encoded from VISSv2 strings), alternating old and new in one run.
 *
 * Usage: deno task bench:avro [--signals N] [--samples N] [--rounds N] [--baseline DIR]
 * @module
 */
import { deflateRawSync } from "node:zlib";
import { parseArgs } from "node:util";
import { canonicalFloat32, formatFloat32, formatTime } from "../core/datapoint/mod.ts";
import { encodeVissIngest, vissDataObjects } from "../core/viss/mod.ts";
import {
  avroDatatype,
  AvroWriter,
  catalogFromMap,
  CONTAINER_METADATA,
  type Datapoint,
  decodeAvroToDatapoints,
  encodeDatapointsAvro,
  MessageSequencer,
  readDatapoints,
  TimeSeriesBundler,
  writeMessageSequence,
  writeTimeSeries,
} from "../core/codec/mod.ts";

let flags;
try {
  flags = parseArgs({
    args: Deno.args,
    strict: true,
    options: {
      signals: { type: "string", default: "10" },
      samples: { type: "string", default: "60" },
      rounds: { type: "string", default: "2000" },
      baseline: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  }).values;
} catch (e) {
  console.error(`bench_avro: ${(e as Error).message.split("\n")[0]}`);
  Deno.exit(2);
}
if (flags.help) {
  console.log(
    "Usage: deno task bench:avro [--signals N (10)] [--samples N per bundle (60)] [--rounds N (2000)] " +
      "[--baseline DIR (another checkout, timed alternately)]",
  );
  Deno.exit(0);
}
const SIGNALS = Number(flags.signals), N = Number(flags.samples), ROUNDS = Number(flags.rounds);
if (![SIGNALS, N, ROUNDS].every((n) => Number.isInteger(n) && n > 0)) {
  console.error("bench_avro: --signals, --samples and --rounds must be positive integers");
  Deno.exit(2);
}

// Signals as a vehicle would report them: float32 sensor values with a few significant digits, 1 Hz.
const T0 = Date.parse("2026-11-23T10:00:00.000Z");
const float = avroDatatype("float");
const paths = Array.from(
  { length: SIGNALS },
  (_, i) =>
    [
      "Vehicle.Speed",
      "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current",
      "Vehicle.Exterior.AirTemperature",
    ][i % 3] +
    (i >= 3 ? `_${i}` : ""),
);
const ts = new Float64Array(N).map((_, i) => T0 + i * 1000);
const values = paths.map((_, s) =>
  new Float64Array(N).map((_, i) => Math.fround(Math.round((40 + s * 3 + Math.sin(i / 9 + s) * 25) * 100) / 100))
);
const dps: Datapoint[] = paths.flatMap((path, s) =>
  Array.from({ length: N }, (_, i) => ({ path, value: canonicalFloat32(values[s][i]), tsMs: ts[i] }))
);
const data = vissDataObjects(dps);
const catalog = catalogFromMap(Object.fromEntries(paths.map((p) => [p, "float"])));
const total = SIGNALS * N;

// --- sizes ---------------------------------------------------------------------------------------------------------
const enc = new TextEncoder();
const vissOne = (s: number) => JSON.stringify(data[s]);
const jsonPerSeries = paths.reduce((a, _, s) => a + enc.encode(vissOne(s)).length, 0);
const jsonAll = enc.encode(JSON.stringify({ action: "get", data: paths.map((_, s) => JSON.parse(vissOne(s))) })).length;
// A VISSv2 subscription notification per sample (what a 1 Hz subscription delivers without bundling).
const notifications = dps.reduce(
  (a, d) =>
    a +
    enc.encode(JSON.stringify({
      action: "subscription",
      subscriptionId: "1",
      data: { path: d.path, dp: { value: formatFloat32(d.value as number), ts: formatTime(d.tsMs) } },
      ts: formatTime(d.tsMs),
    })).length,
  0,
);
const ndjson = enc.encode(
  dps.map((d) => JSON.stringify({ path: d.path, value: d.value, ts: formatTime(d.tsMs) })).join("\n") + "\n",
).length;

const w = new AvroWriter(1 << 20);
let avroPerSeries = 0;
for (let s = 0; s < SIGNALS; s++) {
  w.reset();
  writeMessageSequence(w, [{
    kind: "timeseries",
    series: { path: paths[s], datatype: float, count: N, ts, values: values[s] },
  }]);
  avroPerSeries += w.pos;
}
const avroBinaryAll = encodeDatapointsAvro(dps, catalog).length;
const avroContainer = encodeDatapointsAvro(dps, catalog, { framing: "container" });
const schemaHeader = encodeDatapointsAvro([], catalog, { framing: "container" }).length;
const seqFrame = new MessageSequencer({ metadata: CONTAINER_METADATA }).frame(
  paths.map((path, s) => ({ kind: "timeseries", series: { path, datatype: float, count: N, ts, values: values[s] } })),
).bytes.length;
const oneSeriesFrame = new MessageSequencer().frame([{
  kind: "timeseries",
  series: { path: paths[0], datatype: float, count: N, ts, values: values[0] },
}]).bytes.length * SIGNALS;
const jsonDeflate = deflateRawSync(enc.encode(JSON.stringify({ data: paths.map((_, s) => JSON.parse(vissOne(s))) })))
  .length;

const row = (name: string, bytes: number) =>
  console.log(
    `${name.padEnd(62)} ${String(bytes).padStart(8)} B  ${(bytes / total).toFixed(2).padStart(7)} B/dp  ` +
      `${(jsonPerSeries / bytes).toFixed(2).padStart(6)}×`,
  );
console.log(`${SIGNALS} float signals × ${N} samples at 1 Hz = ${total} datapoints\n`);
console.log(`${"encoding".padEnd(62)} ${"size".padStart(10)}  ${"per dp".padStart(12)}  vs VISSv2 JSON`);
row("VISSv2 JSON, one {path, dp:[…]} per signal (reference)", jsonPerSeries);
row("VISSv2 JSON, one get response with all signals", jsonAll);
row("NDJSON {path,value,ts} per datapoint", ndjson);
row("VISSv2 subscription notification per sample (unbundled)", notifications);
row("VISSv2 JSON, deflated", jsonDeflate);
row("AVRO MessageSequence<TimeSeries> per signal (raw binary)", avroPerSeries);
row("AVRO MessageSequence, all signals (raw binary)", avroBinaryAll);
row("AVRO container file, deflate (incl. header)", avroContainer.length);
row("AVRO container file, deflate, excluding the schema header", avroContainer.length - schemaHeader);
row("AVRO numbered MessageSequence frame (container, deflate)", seqFrame);
row("AVRO one frame per signal (container header each time)", oneSeriesFrame);

// --- rates ---------------------------------------------------------------------------------------------------------
function rate(name: string, perRound: number, fn: () => void): number {
  for (let i = 0; i < Math.min(200, ROUNDS); i++) fn(); // warm-up
  const t = performance.now();
  for (let i = 0; i < ROUNDS; i++) fn();
  const s = (performance.now() - t) / 1000;
  const r = (perRound * ROUNDS) / s;
  console.log(`${name.padEnd(62)} ${(r / 1e6).toFixed(2).padStart(8)} M datapoints/s`);
  return r;
}
let sink = 0;
console.log("");
const encodeRate = rate("encode: writeTimeSeries (columns → AVRO, reused buffer)", total, () => {
  w.reset();
  for (let s = 0; s < SIGNALS; s++) {
    writeTimeSeries(w, { path: paths[s], datatype: float, count: N, ts, values: values[s] });
  }
  sink += w.pos;
});
const bundler = new TimeSeriesBundler({ maxCount: N, onBundle: (series) => writeTimeSeries(w, series) });
rate("encode: TimeSeriesBundler.addNumber + writeTimeSeries", total, () => {
  w.reset();
  for (let i = 0; i < N; i++) for (let s = 0; s < SIGNALS; s++) bundler.addNumber(paths[s], float, ts[i], values[s][i]);
  sink += w.pos;
});
const slow = Math.max(1, Math.floor(ROUNDS / 4));
const rateSlow = (name: string, fn: () => void) => {
  for (let i = 0; i < Math.min(200, slow); i++) fn(); // warm-up
  const t = performance.now();
  for (let i = 0; i < slow; i++) fn();
  const r = (total * slow) / ((performance.now() - t) / 1000);
  console.log(`${name.padEnd(62)} ${(r / 1e6).toFixed(2).padStart(8)} M datapoints/s`);
};
rateSlow("encode: encodeDatapointsAvro (typed datapoints → AVRO)", () => {
  sink += encodeDatapointsAvro(dps, catalog).length;
});
rateSlow("encode: encodeVissIngest (typed datapoints → VISSv2 JSON text)", () => {
  sink += encodeVissIngest("VIN", dps).length;
});
const bin = encodeDatapointsAvro(dps, catalog);
rateSlow("decode: readDatapoints (streaming, typed values)", () => readDatapoints(bin, (_p, t) => (sink += t)));
rateSlow("decode: decodeAvroToDatapoints (→ Datapoint objects)", () => {
  sink += decodeAvroToDatapoints(bin).length;
});
const jsonText = JSON.stringify({ data });
rateSlow("decode: JSON.parse VISSv2", () => {
  sink += (JSON.parse(jsonText).data as unknown[]).length;
});

if (flags.baseline) await compareBaseline(flags.baseline);

/** Times the baseline's string-based `encodeDatapointsAvro` against ours, alternating, per 600-datapoint batch. */
async function compareBaseline(dir: string): Promise<void> {
  const old = await import(new URL(`file://${Deno.realPathSync(dir)}/core/codec/mod.ts`).href);
  const textDps = dps.map((d) => ({ path: d.path, value: formatFloat32(d.value as number), ts: formatTime(d.tsMs) }));
  const oldBin: Uint8Array = old.encodeDatapointsAvro(textDps, { catalog });
  const same = oldBin.length === bin.length && oldBin.every((b, i) => b === bin[i]);
  const time = (fn: () => void) => {
    const t = performance.now();
    for (let i = 0; i < slow; i++) fn();
    return ((performance.now() - t) * 1000) / slow; // µs per batch
  };
  const cases: Array<[string, () => void, () => void]> = [
    [
      "encodeDatapointsAvro",
      () => (sink += old.encodeDatapointsAvro(textDps, { catalog }).length),
      () => (sink += encodeDatapointsAvro(dps, catalog).length),
    ],
    [
      "decodeAvroToDatapoints",
      () => (sink += old.decodeAvroToDatapoints(bin).length),
      () => (sink += decodeAvroToDatapoints(bin).length),
    ],
  ];
  console.log(`\nbaseline ${dir} vs this checkout, µs per ${total} datapoints (alternating, 5 rounds of ${slow}):`);
  console.log(`same bytes: ${same}`);
  for (const [name, a, b] of cases) {
    time(a), time(b); // warm-up
    const olds: number[] = [], news: number[] = [];
    for (let r = 0; r < 5; r++) {
      olds.push(time(a));
      news.push(time(b));
    }
    const med = (xs: number[]) => xs.toSorted((x, y) => x - y)[2];
    console.log(
      `${name.padEnd(24)} baseline ${med(olds).toFixed(1).padStart(8)} µs  new ${
        med(news).toFixed(1).padStart(8)
      } µs  ` +
        `(${(med(olds) / med(news)).toFixed(2)}× faster)  rounds old [${olds.map((x) => x.toFixed(1))}] new [${
          news.map((x) => x.toFixed(1))
        }]`,
    );
  }
}

const ratio = jsonPerSeries / avroPerSeries;
const ratioFile = jsonPerSeries / (avroContainer.length - schemaHeader);
console.log(`
goal ≥ 5× fewer bytes (raw binary TimeSeries, ${N} samples): ${ratio.toFixed(2)}× ${ratio >= 5 ? "MET" : "NOT MET"}
goal ≥ 5× fewer bytes (deflate container blocks):             ${ratioFile.toFixed(2)}× ${
  ratioFile >= 5 ? "MET" : "NOT MET"
}
goal ≥ 1 M datapoints/s encode:                               ${(encodeRate / 1e6).toFixed(2)} M/s ${
  encodeRate >= 1e6 ? "MET" : "NOT MET"
}`);
if (sink === 0.5) console.log(sink);
