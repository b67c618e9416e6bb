/**
 * Runs the VSS mapping benches (`core/vss/*_bench.ts`) and prints throughput: each bench name ends with
 * `(N values)` or `(N frames)`, the work of one iteration, so rate = N / average iteration time.
 *
 * Usage: `deno task bench:vss [--json]` (the task builds the WASM first).
 * @module
 */
import { parseArgs } from "node:util";

const HELP = `Usage: bench_vss [--json] [--help]

Run core/vss/map_bench.ts and core/vss/pipeline_bench.ts and print values/s and frames/s per bench.
  --json   print the rows as JSON instead of a table
  --help   show this help`;

/** One result row. */
export interface BenchRate {
  /** Bench name. */
  name: string;
  /** Average time per iteration, nanoseconds. */
  avgNs: number;
  /** Work items per iteration. */
  count: number;
  /** `values` or `frames`. */
  unit: string;
  /** Items per second at the average iteration time. */
  perSecond: number;
  /** Items per second at the fastest iteration (less disturbed by other load on the machine). */
  bestPerSecond: number;
}

/** Turn `deno bench --json` output into rates. */
export function benchRates(report: {
  benches: { name: string; results: { ok?: { avg: number; min: number } }[] }[];
}): BenchRate[] {
  const rows: BenchRate[] = [];
  for (const b of report.benches) {
    const m = /\((\d+) (values|frames)\)$/.exec(b.name);
    const ok = b.results[0]?.ok;
    if (!m || !ok) continue;
    const count = Number(m[1]);
    rows.push({
      name: b.name,
      avgNs: ok.avg,
      count,
      unit: m[2],
      perSecond: count / (ok.avg / 1e9),
      bestPerSecond: count / (ok.min / 1e9),
    });
  }
  return rows;
}

async function main(): Promise<number> {
  let json = false;
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: { json: { type: "boolean" }, help: { type: "boolean" } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    json = values.json ?? false;
  } catch (e) {
    console.error(`bench_vss: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  const root = new URL("../", import.meta.url);
  const files = ["core/vss/map_bench.ts", "core/vss/pipeline_bench.ts"].map((f) => new URL(f, root).pathname);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["bench", "-A", "--json", ...files],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").pop();
    console.error(`bench_vss: deno bench failed: ${err}`);
    return 1;
  }
  const rows = benchRates(JSON.parse(new TextDecoder().decode(out.stdout)));
  if (json) {
    console.log(JSON.stringify(rows, null, 2));
    return 0;
  }
  const fmt = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : `${(v / 1e3).toFixed(1)} k`).padStart(9);
  console.log(`${"avg".padStart(9)} ${"best".padStart(9)}  unit/s     µs/iter  bench`);
  for (const r of rows) {
    const unit = `${r.unit}/s`.padEnd(9);
    console.log(
      `${fmt(r.perSecond)} ${fmt(r.bestPerSecond)}  ${unit} ${(r.avgNs / 1e3).toFixed(1).padStart(8)}  ${r.name}`,
    );
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
