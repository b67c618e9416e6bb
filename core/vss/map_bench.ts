/**
 * Throughput of the DBC → VSS mapper: every bench iteration pushes {@link N} decoded values,
 * so datapoints/s = N / (time per iteration).
 *
 *   ./node_modules/.bin/deno bench -A core/vss/map_bench.ts
 *   ./node_modules/.bin/deno task bench:vss     (prints values/s and frames/s)
 */
import type { Datapoint } from "../datapoint/mod.ts";
import { compileMath, compileVssMapping, loadVssCatalog, physicalChoices } from "./mod.ts";
import { parseDbc } from "../can/mod.ts";

const ASSETS = new URL("../../assets/", import.meta.url);
const catalog = loadVssCatalog(new URL("vss/vss_release_4.0.json", ASSETS));
const mappingJson = JSON.parse(Deno.readTextFileSync(new URL("vss/vss_dbc_4.0.json", ASSETS)));
const defs = parseDbc(Deno.readTextFileSync(new URL("dbc/Model3CAN.dbc", ASSETS))).messages.flatMap((m) => m.signals);
const dbc = { names: defs.map((s) => s.name), choices: physicalChoices(defs) };

/** Values pushed per bench iteration. */
const N = 100_000;

// The shipped mapping with its real intervals (100-3000 ms): most pushes are throttled, as in a vehicle.
const shipped = compileVssMapping(mappingJson, { catalog, signals: dbc.names, choices: dbc.choices });
// The same mapping with every interval forced to 0: every push runs transform, checks and emission.
const unthrottledJson = structuredClone(mappingJson);
(function zero(node: Record<string, unknown>) {
  for (const v of Object.values(node)) {
    if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (o.dbc2vss && typeof o.dbc2vss === "object") (o.dbc2vss as Record<string, unknown>).interval_ms = 0;
      zero(o);
    }
  }
})(unthrottledJson);
const unthrottled = compileVssMapping(unthrottledJson, { catalog, signals: dbc.names, choices: dbc.choices });

// Inputs: mapped signal ids in rotation, with values valid for each (labels → their raw values).
const mapped = shipped.mappedSignalIds;
const ids = new Int32Array(N);
const values = new Float64Array(N);
const ts = new Float64Array(N);
for (let i = 0; i < N; i++) {
  const id = mapped[i % mapped.length];
  ids[i] = id;
  const table = dbc.choices[id];
  const keys = table ? [...table.keys()] : [0, 1, 2, 3];
  values[i] = keys[(i >> 3) % keys.length] + (table ? 0 : (i % 7) * 0.25);
  ts[i] = 1_700_000_000_000 + Math.floor(i / 10); // integer ms: 10,000 values per second of vehicle time
}
// Mixed stream as the decoder produces it: every signal of every frame, mapped or not.
const all = new Int32Array(N);
for (let i = 0; i < N; i++) all[i] = (i * 7919) % dbc.names.length;

let sink = 0;
const consume = (dp: Datapoint) => {
  sink += dp.tsMs;
};
let base = 0;

Deno.bench(
  `push: shipped mapping (real intervals), mapped signals (${N} values)`,
  { group: "push", baseline: true },
  () => {
    base += 1_000_000; // keep vehicle time moving forward across iterations (ms)
    for (let i = 0; i < N; i++) shipped.push(ids[i], values[i], ts[i] + base);
  },
);

Deno.bench(`push: intervals 0, every value transformed, checked, emitted (${N} values)`, { group: "push" }, () => {
  for (let i = 0; i < N; i++) {
    const n = unthrottled.push(ids[i], values[i], ts[i]);
    for (let k = 0; k < n; k++) sink += unthrottled.out[k].tsMs;
  }
});

Deno.bench(`pushBatch: intervals 0, mapped signals (${N} values)`, { group: "push" }, () => {
  unthrottled.pushBatch({ ids, values, tsMs: ts }, consume);
});

Deno.bench(`pushBatch: all Model3 signals, mostly unmapped (${N} values)`, { group: "push" }, () => {
  unthrottled.pushBatch({ ids: all, values, tsMs: ts }, consume);
});

const pan = compileMath("floor((x*40)-100)");
Deno.bench(`math: floor((x*40)-100) (${N} values)`, { group: "math" }, () => {
  for (let i = 0; i < N; i++) sink += pan(values[i]);
});

globalThis.addEventListener("unload", () => {
  if (sink === 42) console.log(sink);
});
