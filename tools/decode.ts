/**
 * `deno task decode`: decode a candump log with a DBC file and print the signals.
 *
 * ```
 * deno task decode --dbc FILE.dbc [--log FILE.log | -] [--format ndjson|csv] [--choices] [--lenient]
 * ```
 *
 * - NDJSON (default), one line per decoded frame:
 *   `{"ts":1436509052.249713,"iface":"can0","id":291,"extended":false,"message":"Msg","signals":{"Sig":12.5}}`.
 *   `signals` holds physical values; with `--choices`, value-table labels where defined. Non-finite values are `null`.
 * - CSV: a header `ts,iface,id,extended,message,signal,value`, then one row per decoded signal value.
 *
 * Frames whose ID is not in the DBC (and RTR/error frames) are skipped and counted as unknown. Malformed log lines
 * stop the run with the line number, or with `--lenient` are skipped and counted as errors. A summary (frames,
 * decoded, unknown, errors, values, frames/s) goes to stderr at the end.
 *
 * The log is read in batches straight into the WASM decoder's memory (`readCandumpBatches`), decoded in one call per
 * batch, and the output is written in large buffered chunks.
 * @module
 */
import { parseArgs } from "node:util";
import {
  compileDecodePlan,
  type DecodePlan,
  FRAME_OFF_IFACE,
  FRAME_OFF_TS,
  FRAME_RECORD_SIZE,
  loadDbc,
  readCandumpBatches,
} from "../core/can/mod.ts";
import { PipelineError } from "../core/errors/mod.ts";
import { createWasmDecoder, type WasmDecoder } from "../wasm/mod.ts";

const HELP = `Usage: deno task decode --dbc FILE.dbc [--log FILE.log | -] [--format ndjson|csv] [--choices] [--lenient]

Decode a candump log (candump -L format) with a DBC file.

Options:
  --dbc FILE          DBC file (required)
  --log FILE | -      candump log to read; "-" or absent reads stdin
  --format F          ndjson (default, one line per frame) or csv (one row per signal value)
  --choices           print value-table labels instead of numbers where the DBC defines them
  --lenient           skip malformed log lines (counted as errors) instead of stopping
  --batch N           frames per batch (default 8192)
  -h, --help          show this help

A summary (frames, decoded, unknown, errors, frames/s) goes to stderr.`;

/** Formats the decoded values of one batch into text. */
interface Formatter {
  header(): string;
  batch(d: WasmDecoder, frames: number, values: number): string;
}

/** JSON text of a number as JSON.stringify would write it (non-finite → null). */
function num(v: number): string {
  return Number.isFinite(v) ? String(v) : "null";
}

function choiceTables(plan: DecodePlan, quote: (s: string) => string): (Map<number, string> | undefined)[] {
  return plan.signalDefs.map((s) => {
    if (!s.choices || s.choices.size === 0 || s.valueType !== "integer") return undefined;
    return new Map([...s.choices].map(([k, label]) => [k, quote(label)]));
  });
}

/** The raw integer of output `i` as a number (exact up to 2^53). */
function rawNumber(d: WasmDecoder, i: number): number {
  const lo = d.rawWords[i * 2];
  const hi = d.rawWords[i * 2 + 1];
  return hi === (lo >> 31) ? lo : hi * 4294967296 + (lo >>> 0);
}

function ndjson(plan: DecodePlan, ifaces: string[], choices: boolean): Formatter {
  const msgPrefix = plan.messageDefs.map((m) =>
    `,"id":${m.id},"extended":${m.extended},"message":${JSON.stringify(m.name)},"signals":{`
  );
  const sigKey = plan.signalNames.map((n) => `${JSON.stringify(n)}:`);
  const labels = choices ? choiceTables(plan, (s) => JSON.stringify(s)) : [];
  const ifaceJson: string[] = [];
  return {
    header: () => "",
    batch(d, frames, values) {
      const view = d.batch.view;
      const fm = d.frameMessage;
      let out = "";
      let v = 0;
      for (let f = 0; f < frames; f++) {
        const m = fm[f];
        if (m < 0) continue;
        const o = f * FRAME_RECORD_SIZE;
        const ii = view.getUint16(o + FRAME_OFF_IFACE, true);
        const iface = ifaceJson[ii] ??= JSON.stringify(ifaces[ii] ?? "");
        out += `{"ts":${view.getFloat64(o + FRAME_OFF_TS, true)},"iface":${iface}${msgPrefix[m]}`;
        let first = true;
        while (v < values && d.frameIndex[v] === f) {
          const g = d.signalId[v];
          const table = labels[g];
          const label = table === undefined ? undefined : table.get(rawNumber(d, v));
          out += (first ? "" : ",") + sigKey[g] + (label ?? num(d.value[v]));
          first = false;
          v++;
        }
        out += "}}\n";
      }
      return out;
    },
  };
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function csv(plan: DecodePlan, ifaces: string[], choices: boolean): Formatter {
  const msgCols = plan.messageDefs.map((m) => `,${m.id},${m.extended},${csvField(m.name)},`);
  const sigCol = plan.signalNames.map((n) => `${csvField(n)},`);
  const labels = choices ? choiceTables(plan, csvField) : [];
  const ifaceCsv: string[] = [];
  return {
    header: () => "ts,iface,id,extended,message,signal,value\n",
    batch(d, _frames, values) {
      const view = d.batch.view;
      let out = "";
      let lastFrame = -1;
      let prefix = "";
      for (let v = 0; v < values; v++) {
        const f = d.frameIndex[v];
        if (f !== lastFrame) {
          const o = f * FRAME_RECORD_SIZE;
          const ii = view.getUint16(o + FRAME_OFF_IFACE, true);
          const iface = ifaceCsv[ii] ??= csvField(ifaces[ii] ?? "");
          prefix = `${view.getFloat64(o + FRAME_OFF_TS, true)},${iface}${msgCols[d.frameMessage[f]]}`;
          lastFrame = f;
        }
        const g = d.signalId[v];
        const table = labels[g];
        const label = table === undefined ? undefined : table.get(rawNumber(d, v));
        const value = d.value[v];
        out += prefix + sigCol[g] + (label ?? (Number.isFinite(value) ? String(value) : String(value))) + "\n";
      }
      return out;
    },
  };
}

/** Buffered writer over a byte sink; flushes in large chunks. */
class Output {
  readonly #enc = new TextEncoder();
  #buf = new Uint8Array(1 << 20);
  #len = 0;
  constructor(readonly sink: { write(p: Uint8Array): Promise<number> }) {}

  async write(text: string): Promise<void> {
    if (text.length === 0) return;
    const need = text.length * 3;
    if (this.#len + need > this.#buf.length) await this.flush();
    if (need > this.#buf.length) this.#buf = new Uint8Array(need);
    this.#len += this.#enc.encodeInto(text, this.#buf.subarray(this.#len)).written;
  }

  async flush(): Promise<void> {
    let off = 0;
    while (off < this.#len) off += await this.sink.write(this.#buf.subarray(off, this.#len));
    this.#len = 0;
  }
}

function usageError(message: string): never {
  console.error(`decode: ${message}`);
  Deno.exit(2);
}

async function main(args: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        dbc: { type: "string" },
        log: { type: "string" },
        format: { type: "string", default: "ndjson" },
        choices: { type: "boolean", default: false },
        lenient: { type: "boolean", default: false },
        batch: { type: "string", default: "8192" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    usageError((e as Error).message.split("\n")[0]);
  }
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (!values.dbc) usageError("--dbc FILE.dbc is required (see --help)");
  if (values.format !== "ndjson" && values.format !== "csv") {
    usageError(`--format must be ndjson or csv, not ${JSON.stringify(values.format)}`);
  }
  const batchSize = Number(values.batch);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1 << 20) {
    usageError(`--batch must be an integer 1-1048576, not ${JSON.stringify(values.batch)}`);
  }

  const t0 = performance.now();
  const plan = compileDecodePlan(await loadDbc(values.dbc));
  const decoder = await createWasmDecoder(plan, { maxFrames: batchSize });
  const ifaces = decoder.batch.ifaces;
  const fmt = values.format === "csv" ? csv(plan, ifaces, values.choices) : ndjson(plan, ifaces, values.choices);
  const out = new Output(Deno.stdout);
  const stats = { lines: 0, frames: 0, skipped: 0 };
  const fromStdin = values.log === undefined || values.log === "-";
  const source = fromStdin ? Deno.stdin.readable : values.log!;
  let decoded = 0;
  let count = 0;
  let valueCount = 0;
  await out.write(fmt.header());
  for await (const n of readCandumpBatches(source, decoder.batch, { lenient: values.lenient, stats })) {
    const k = decoder.decode();
    count += n;
    decoded += decoder.matched;
    valueCount += k;
    await out.write(fmt.batch(decoder, n, k));
  }
  await out.flush();
  const seconds = (performance.now() - t0) / 1000;
  console.error(
    `decode: frames=${count} decoded=${decoded} unknown=${count - decoded} errors=${stats.skipped} ` +
      `values=${valueCount} seconds=${seconds.toFixed(3)} frames/s=${Math.round(count / seconds)}`,
  );
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    if (e instanceof Deno.errors.BrokenPipe) Deno.exit(0);
    const msg = e instanceof PipelineError ? e.message : e instanceof Error ? e.message : String(e);
    console.error(`decode: ${msg.split("\n")[0]}`);
    Deno.exit(1);
  }
}
