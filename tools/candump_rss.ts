/**
 * Streams a large generated candump log through `readCandumpBatches` and reports throughput and RSS, to show that
 * memory stays flat however large the log is.
 *
 * Usage: `./node_modules/.bin/deno run -A tools/candump_rss.ts [--frames N]` (default 10,000,000 frames, about
 * 500 MB in a temp file that is removed afterwards).
 * @module
 */
import { parseArgs } from "node:util";
import { FrameBatch, readCandumpBatches } from "../core/can/mod.ts";

function main(): Promise<void> | void {
  let values: { frames?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: { frames: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
    }));
  } catch (e) {
    console.error(`candump_rss: ${(e as Error).message}`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(
      "usage: deno run -A tools/candump_rss.ts [--frames N]\nStreams an N-frame candump log, prints frames/s and RSS.",
    );
    return;
  }
  const frames = Number(values.frames ?? 10_000_000);
  if (!Number.isInteger(frames) || frames < 1) {
    console.error("candump_rss: --frames must be a positive integer");
    Deno.exit(2);
  }
  return run(frames);
}

async function run(frames: number): Promise<void> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/big.log`;
  try {
    const file = await Deno.open(path, { write: true, create: true });
    const enc = new TextEncoder();
    const lines: string[] = [];
    for (let i = 0; i < frames; i++) {
      const usec = String(i % 1_000_000).padStart(6, "0");
      const sec = 1436509052 + Math.floor(i / 1_000_000);
      lines.push(`(${sec}.${usec}) can0 ${(0x100 + (i % 0x600)).toString(16).toUpperCase()}#0102030405060708\n`);
      if (lines.length === 50_000) {
        await file.write(enc.encode(lines.join("")));
        lines.length = 0;
      }
    }
    await file.write(enc.encode(lines.join("")));
    file.close();
    const size = (await Deno.stat(path)).size;
    const batch = new FrameBatch(4096);
    const rss0 = Deno.memoryUsage().rss;
    let rssMax = rss0;
    let n = 0;
    let k = 0;
    const t0 = performance.now();
    for await (const c of readCandumpBatches(path, batch)) {
      n += c;
      if ((k++ & 63) === 0) rssMax = Math.max(rssMax, Deno.memoryUsage().rss);
    }
    const s = (performance.now() - t0) / 1000;
    const mb = (b: number) => (b / 1048576).toFixed(1);
    console.log(
      `frames=${n} file=${mb(size)}MB time=${s.toFixed(2)}s frames/s=${Math.round(n / s)} ` +
        `rss_start=${mb(rss0)}MB rss_max=${mb(rssMax)}MB growth=${mb(rssMax - rss0)}MB`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
