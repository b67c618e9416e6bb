import { canonicalFloat32 } from "../datapoint/mod.ts";
import { vissDataObjects } from "../viss/mod.ts";
import {
  avroDatatype,
  avroTypes,
  AvroWriter,
  catalogFromMap,
  type Datapoint,
  decodeAvroToDatapoints,
  encodeDatapointsAvro,
  readDatapoints,
  TimeSeriesBundler,
  writeTimeSeries,
} from "./mod.ts";

// 10 float signals at 1 Hz, 60-sample windows (one minute).
const SIGNALS = 10, N = 60, T0 = Date.parse("2026-11-23T10:00:00.000Z");
const float = avroDatatype("float");
const paths = Array.from({ length: SIGNALS }, (_, i) => `Vehicle.Powertrain.Signal${i}`);
const ts = new Float64Array(N).map((_, i) => T0 + i * 1000);
const values = paths.map((_, s) => new Float64Array(N).map((_, i) => Math.fround(20 + s + Math.sin(i / 7) * 5)));
const dps: Datapoint[] = paths.flatMap((path, s) =>
  Array.from({ length: N }, (_, i) => ({ path, value: canonicalFloat32(values[s][i]), tsMs: ts[i] }))
);
const catalog = catalogFromMap(Object.fromEntries(paths.map((p) => [p, "float"])));
const w = new AvroWriter(64 * 1024);
const binary = encodeDatapointsAvro(dps, catalog);
const json = JSON.stringify(vissDataObjects(dps));
const tsObj = {
  signal_identifier: paths[0],
  count: N,
  items: Array.from({ length: N }, (_, i) => ({ ts: ts[i], value: { item: { float: values[0][i] } } })),
};
let sink = 0;

Deno.bench("encode TimeSeries 10×60 float, hand writer (per 600 dp)", { group: "encode", baseline: true }, () => {
  w.reset();
  for (let s = 0; s < SIGNALS; s++) {
    writeTimeSeries(w, { path: paths[s], datatype: float, count: N, ts, values: values[s] });
  }
  sink += w.pos;
});

const bundler = new TimeSeriesBundler({
  maxCount: N,
  onBundle: (series) => writeTimeSeries(w, series),
});
Deno.bench("encode via TimeSeriesBundler 10×60 float (per 600 dp)", { group: "encode" }, () => {
  w.reset();
  for (let i = 0; i < N; i++) {
    for (let s = 0; s < SIGNALS; s++) bundler.addNumber(paths[s], float, ts[i], values[s][i]);
  }
  sink += w.pos;
});

Deno.bench("encode TimeSeries 10×60 float, avsc toBuffer (per 600 dp)", { group: "encode" }, () => {
  for (let s = 0; s < SIGNALS; s++) sink += avroTypes().TimeSeries.toBuffer(tsObj).length;
});

Deno.bench("encodeDatapointsAvro from typed datapoints (per 600 dp)", { group: "encode" }, () => {
  sink += encodeDatapointsAvro(dps, catalog).length;
});

Deno.bench("JSON.stringify VISSv2 data objects (per 600 dp)", { group: "encode" }, () => {
  sink += JSON.stringify(vissDataObjects(dps)).length;
});

Deno.bench("readDatapoints (streaming, per 600 dp)", { group: "decode", baseline: true }, () => {
  readDatapoints(binary, (_p, t) => (sink += t));
});

Deno.bench("decodeAvroToDatapoints (per 600 dp)", { group: "decode" }, () => {
  sink += decodeAvroToDatapoints(binary).length;
});

Deno.bench("JSON.parse VISSv2 (per 600 dp)", { group: "decode" }, () => {
  sink += (JSON.parse(json) as unknown[]).length;
});

globalThis.addEventListener("unload", () => {
  if (sink === 0.5) console.log(sink);
});
