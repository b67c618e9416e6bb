/**
 * `deno task bench:decode`: run `core/can/decode_bench.ts` once and print frames/s, signal values/s and the ratios
 * WASM batch : WASM per-frame : TS reference for each case, then time the whole `decode` command (log piped into stdin,
 * NDJSON out to /dev/null) over about a million frames (the bundled demo drive repeated; `--cli-frames 10000000`
 * for the flat-RSS check: the summary reports the peak RSS).
 *
 * Figures are given for the fastest iteration (`min`, the least disturbed by other processes on a shared machine)
 * and the mean (`avg`). Goals from issue 3: WASM batch ≥ 100M signal values/s and ≥ 3× the TS reference; the decode
 * command ≥ 1M frames/s.
 *
 * ```
 * deno task bench:decode [--cli-frames N] [--no-cli]
 * ```
 * @module
 */
import { parseArgs } from "node:util";

interface BenchResult {
  name: string;
  group?: string;
  results: { ok?: { min: number; avg: number; n: number } }[];
}

const HELP = `Usage: deno task bench:decode [--cli-frames N] [--no-cli]

Runs core/can/decode_bench.ts once and prints throughput and ratios, then times the decode command.

Options:
  --cli-frames N   frames in the log the decode command is timed on (default 1000000)
  --no-cli         skip the decode command timing
  -h, --help       show this help`;

const root = new URL("../", import.meta.url).pathname;
const fmtRate = (x: number) =>
  x >= 1e6 ? `${(x / 1e6).toFixed(1)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0);

async function benches(): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["bench", "-A", "--json", `${root}core/can/decode_bench.ts`],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (out.code !== 0) throw new Error(`deno bench exited with ${out.code}`);
  const json = JSON.parse(new TextDecoder().decode(out.stdout)) as { cpu: string; benches: BenchResult[] };
  console.log(`CPU: ${json.cpu}; one run of core/can/decode_bench.ts\n`);
  const rows = json.benches.map((b) => {
    const m = b.name.match(/^(.*) (wasm batch|wasm per-frame|ts reference) \[(\d+) frames, (\d+) values\]$/);
    if (!m || !b.results[0]?.ok) throw new Error(`unexpected bench ${b.name}`);
    const r = b.results[0].ok;
    return { label: m[1], variant: m[2], frames: +m[3], values: +m[4], minNs: r.min, avgNs: r.avg };
  });
  console.log(
    "case                  variant          frames/s (min / avg)   values/s (min / avg)   batch speed-up (min / avg)",
  );
  const goals: string[] = [];
  for (const label of [...new Set(rows.map((r) => r.label))]) {
    const of = (v: string) => rows.find((r) => r.label === label && r.variant === v)!;
    const batch = of("wasm batch");
    for (const r of rows.filter((x) => x.label === label)) {
      const fps = (ns: number) => r.frames / (ns / 1e9);
      const vps = (ns: number) => r.values / (ns / 1e9);
      const up = r === batch ? "—" : `${(r.minNs / batch.minNs).toFixed(1)}× / ${(r.avgNs / batch.avgNs).toFixed(1)}×`;
      console.log(
        `${label.padEnd(22)}${r.variant.padEnd(17)}${
          `${fmtRate(fps(r.minNs))} / ${fmtRate(fps(r.avgNs))}`.padEnd(23)
        }` +
          `${`${fmtRate(vps(r.minNs))} / ${fmtRate(vps(r.avgNs))}`.padEnd(23)}${up}`,
      );
    }
    const vps = batch.values / (batch.minNs / 1e9);
    const ratio = of("ts reference").minNs / batch.minNs;
    goals.push(
      `${label}: WASM batch ${fmtRate(vps)} values/s (goal ≥ 100M: ${vps >= 1e8 ? "met" : "MISSED"}), ` +
        `${ratio.toFixed(0)}× the TS reference (goal ≥ 3×: ${ratio >= 3 ? "met" : "MISSED"})`,
    );
  }
  console.log(`\n${goals.join("\n")}`);
}

async function cli(frames: number): Promise<void> {
  const demo = await Deno.readFile(`${root}assets/demo/model3_drive.log`);
  const perCopy = demo.reduce((n, b) => n + (b === 10 ? 1 : 0), 0);
  const copies = Math.max(1, Math.round(frames / perCopy));
  // The log is piped into the command's stdin (no temporary file, however many frames).
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", `${root}tools/decode.ts`, "--dbc", `${root}assets/dbc/Model3CAN.dbc`, "--log", "-"],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  for (let i = 0; i < copies; i++) await w.write(demo);
  await w.close();
  const out = await child.output();
  const summary = new TextDecoder().decode(out.stderr).trim();
  if (out.code !== 0) throw new Error(`decode exited with ${out.code}: ${summary}`);
  const n = Number(summary.match(/frames=(\d+)/)?.[1]);
  const wall = Number(summary.match(/seconds=([\d.]+)/)?.[1]);
  const cpu = Number(summary.match(/cpu=([\d.]+)/)?.[1]);
  console.log(`\ndecode command, ${n} frames of the demo drive on stdin → NDJSON on /dev/null:\n  ${summary}`);
  console.log(
    `  ${fmtRate(n / wall)} frames/s wall clock, ${fmtRate(n / cpu)} frames per CPU-second ` +
      `(goal ≥ 1M frames/s: ${n / wall >= 1e6 ? "met" : n / cpu >= 1e6 ? "met in CPU time only" : "MISSED"})`,
  );
}

if (import.meta.main) {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      strict: true,
      options: {
        "cli-frames": { type: "string", default: "1000000" },
        "no-cli": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    console.error(`bench_decode: ${(e as Error).message.split("\n")[0]}`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(HELP);
    Deno.exit(0);
  }
  const frames = Number(values["cli-frames"]);
  if (!Number.isInteger(frames) || frames < 1) {
    console.error(`bench_decode: --cli-frames must be a positive integer, not ${values["cli-frames"]}`);
    Deno.exit(2);
  }
  try {
    await benches();
    if (!values["no-cli"]) await cli(frames);
  } catch (e) {
    console.error(`bench_decode: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`);
    Deno.exit(1);
  }
}
