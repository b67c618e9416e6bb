/**
 * `deno task bench:vec`: the VEC hot path, replay as fast as possible through candump parse → WASM decode → VSS map
 * → VISSv2 JSON encode into memory, on the bundled Model 3 DBC and Kuksa mapping. Prints frames/s, the ratio to
 * the goal (500,000 frames/s on one core) and RSS before and after (goal < 80 MB steady).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { buildModel3Log, createBenchPipeline } from "../testing/vec_fixture.ts";

const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: {
    frames: { type: "string", default: "1000000" },
    rounds: { type: "string", default: "3" },
    file: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log("Usage: deno task bench:vec [--frames N] [--rounds N] [--file LOG]");
  console.log("  --file LOG   stream a candump file from disk (one round) and report the peak RSS while it runs");
  Deno.exit(0);
}
const frames = Number(values.frames);
const rounds = Number(values.rounds);
const mb = (n: number) => (n / 1024 / 1024).toFixed(1);

if (values.file) {
  const { pipeline, sink } = await createBenchPipeline({ file: values.file });
  const rss0 = Deno.memoryUsage().rss;
  let peak = rss0;
  const timer = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 50);
  const t = performance.now();
  await pipeline.run();
  const s = (performance.now() - t) / 1000;
  clearInterval(timer);
  peak = Math.max(peak, Deno.memoryUsage().rss);
  console.log(
    `${values.file}: ${pipeline.stats.frames.toLocaleString("en-US")} frames in ${s.toFixed(2)} s = ` +
      `${Math.round(pipeline.stats.frames / s).toLocaleString("en-US")} frames/s → ` +
      `${sink.datapoints.toLocaleString("en-US")} datapoints, ${mb(sink.bytes)} MiB VISSv2 JSON`,
  );
  console.log(`RSS: ${mb(rss0)} MiB after start-up, peak ${mb(peak)} MiB while streaming`);
  Deno.exit(0);
}
const log = await buildModel3Log(frames);
console.log(`log: ${frames.toLocaleString("en-US")} frames, ${mb(log.length)} MiB of candump text`);
const rssStart = Deno.memoryUsage().rss;
let best = 0;
let last = { frames: 0, signals: 0, datapoints: 0, bytes: 0 };
const rssAfter: number[] = [];
for (let r = 0; r < rounds; r++) {
  const { pipeline, sink } = await createBenchPipeline(log);
  const t = performance.now();
  await pipeline.run();
  const s = (performance.now() - t) / 1000;
  const rate = pipeline.stats.frames / s;
  best = Math.max(best, rate);
  last = {
    frames: pipeline.stats.frames,
    signals: pipeline.stats.signals,
    datapoints: sink.datapoints,
    bytes: sink.bytes,
  };
  rssAfter.push(Deno.memoryUsage().rss);
  console.log(`round ${r + 1}: ${Math.round(rate).toLocaleString("en-US")} frames/s (${s.toFixed(2)} s)`);
}
console.log(
  `\nper run: ${last.frames.toLocaleString("en-US")} frames → ${
    last.signals.toLocaleString("en-US")
  } signal values → ` +
    `${last.datapoints.toLocaleString("en-US")} VSS datapoints → ${mb(last.bytes)} MiB VISSv2 JSON`,
);
console.log(
  `best: ${Math.round(best).toLocaleString("en-US")} frames/s = ${
    (best / 500_000).toFixed(2)
  }× the 500,000 frames/s goal`,
);
console.log(
  `RSS: ${mb(rssStart)} MiB with the log in memory, after each round ${rssAfter.map(mb).join(" / ")} MiB ` +
    `(the log text itself is ${mb(log.length * 2)} MiB as a JS string)`,
);
