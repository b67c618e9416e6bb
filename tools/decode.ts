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
import { cpuUsage } from "node:process";
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

/** A growable byte buffer the formatters append to; flushed to the sink after every batch. */
class ByteOut {
  buf = new Uint8Array(1 << 21);
  len = 0;
  readonly #enc = new TextEncoder();

  /** Make room for `n` more bytes. */
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** Append an ASCII string (numbers). */
  ascii(s: string): void {
    this.reserve(s.length);
    const buf = this.buf;
    let at = this.len;
    for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i);
    this.len = at;
  }

  /** Append any text. */
  text(s: string): void {
    this.reserve(s.length * 3);
    this.len += this.#enc.encodeInto(s, this.buf.subarray(this.len)).written;
  }

  /** Append a number as JSON writes it (non-finite → null). */
  num(v: number): void {
    if (v === (v | 0)) {
      if (v === 0) {
        this.reserve(1);
        this.buf[this.len++] = 48;
        return;
      }
      this.reserve(11);
      const buf = this.buf;
      let n = v;
      if (n < 0) {
        buf[this.len++] = 45;
        n = -n;
      }
      let digits = 0;
      for (let t = n; t > 0; t = (t / 10) | 0) digits++;
      let at = this.len + digits;
      this.len = at;
      while (n > 0) {
        const q = (n / 10) | 0;
        buf[--at] = 48 + n - q * 10;
        n = q;
      }
      return;
    }
    this.ascii(Number.isFinite(v) ? String(v) : "null");
  }

  async flush(sink: { write(p: Uint8Array): Promise<number> }): Promise<void> {
    let off = 0;
    while (off < this.len) off += await sink.write(this.buf.subarray(off, this.len));
    this.len = 0;
  }
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/** Formats the decoded values of one batch. */
interface Formatter {
  header(out: ByteOut): void;
  batch(out: ByteOut, d: WasmDecoder, frames: number, values: number): void;
}

function choiceTables(plan: DecodePlan, quote: (s: string) => string): (Map<number, Uint8Array> | undefined)[] {
  return plan.signalDefs.map((s) => {
    if (!s.choices || s.choices.size === 0 || s.valueType !== "integer") return undefined;
    return new Map([...s.choices].map(([k, label]) => [k, utf8(quote(label))]));
  });
}

/** The raw integer of output `i` as a number (exact up to 2^53). */
function rawNumber(d: WasmDecoder, i: number): number {
  const lo = d.rawWords[i * 2];
  const hi = d.rawWords[i * 2 + 1];
  return hi === (lo >> 31) ? lo : hi * 4294967296 + (lo >>> 0);
}

/** Copy `b` into `buf` at `at` (a loop: faster than `set` for the short pieces written here). */
function put(buf: Uint8Array, at: number, b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) buf[at++] = b[i];
  return at;
}

/** Write a number as JSON writes it (non-finite → null) into `buf` at `at`; needs 25 bytes of room. */
function putNum(buf: Uint8Array, at: number, v: number): number {
  if (v === (v | 0)) {
    let n = v;
    if (n < 0) {
      buf[at++] = 45;
      n = -n;
    } else if (n === 0) {
      buf[at++] = 48;
      return at;
    }
    let end = at;
    for (let t = n; t > 0; t = (t / 10) | 0) end++;
    for (let k = end; n > 0;) {
      const q = (n / 10) | 0;
      buf[--k] = 48 + n - q * 10;
      n = q;
    }
    return end;
  }
  const s = Number.isFinite(v) ? String(v) : "null";
  for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i);
  return at;
}

function ndjson(plan: DecodePlan, ifaces: string[], choices: boolean): Formatter {
  const msgPrefix = plan.messageDefs.map((m) =>
    utf8(`,"id":${m.id},"extended":${m.extended},"message":${JSON.stringify(m.name)},"signals":{`)
  );
  const sigKey = plan.signalNames.map((n) => utf8(`${JSON.stringify(n)}:`));
  const sigKeyComma = plan.signalNames.map((n) => utf8(`,${JSON.stringify(n)}:`));
  const labels = choices ? choiceTables(plan, (s) => JSON.stringify(s)) : [];
  // Most bytes one frame of each message can take (ts and iface counted separately).
  const maxBytes = plan.messageDefs.map((_, m) => {
    let n = msgPrefix[m].length + 64;
    for (let g = 0; g < plan.signalCount; g++) {
      if (plan.signalMessage[g] !== m) continue;
      const longest = Math.max(25, ...[...(labels[g]?.values() ?? [])].map((l) => l.length));
      n += sigKeyComma[g].length + longest;
    }
    return n;
  });
  const ifaceJson: Uint8Array[] = [];
  const open = utf8(`{"ts":`);
  const ifaceKey = utf8(`,"iface":`);
  return {
    header: () => {},
    batch(out, d, frames, values) {
      const view = d.batch.view;
      const fm = d.frameMessage;
      const frameIndex = d.frameIndex;
      const signalId = d.signalId;
      const value = d.value;
      let v = 0;
      for (let f = 0; f < frames; f++) {
        const m = fm[f];
        if (m < 0) continue;
        const o = f * FRAME_RECORD_SIZE;
        const ii = view.getUint16(o + FRAME_OFF_IFACE, true);
        const iface = ifaceJson[ii] ??= utf8(JSON.stringify(ifaces[ii] ?? ""));
        out.reserve(maxBytes[m] + iface.length);
        const buf = out.buf;
        let at = put(buf, out.len, open);
        at = putNum(buf, at, view.getFloat64(o + FRAME_OFF_TS, true));
        at = put(buf, at, ifaceKey);
        at = put(buf, at, iface);
        at = put(buf, at, msgPrefix[m]);
        let first = true;
        while (v < values && frameIndex[v] === f) {
          const g = signalId[v];
          at = put(buf, at, first ? sigKey[g] : sigKeyComma[g]);
          const table = labels[g];
          const label = table === undefined ? undefined : table.get(rawNumber(d, v));
          at = label !== undefined ? put(buf, at, label) : putNum(buf, at, value[v]);
          first = false;
          v++;
        }
        buf[at++] = 125; // }
        buf[at++] = 125;
        buf[at++] = 10;
        out.len = at;
      }
    },
  };
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function csv(plan: DecodePlan, ifaces: string[], choices: boolean): Formatter {
  const msgCols = plan.messageDefs.map((m) => utf8(`,${m.id},${m.extended},${csvField(m.name)},`));
  const sigCol = plan.signalNames.map((n) => utf8(`${csvField(n)},`));
  const labels = choices ? choiceTables(plan, csvField) : [];
  const ifaceCsv: Uint8Array[] = [];
  const comma = utf8(",");
  return {
    header: (out) => out.text("ts,iface,id,extended,message,signal,value\n"),
    batch(out, d, _frames, values) {
      const view = d.batch.view;
      for (let v = 0; v < values; v++) {
        const f = d.frameIndex[v];
        const o = f * FRAME_RECORD_SIZE;
        const ii = view.getUint16(o + FRAME_OFF_IFACE, true);
        out.num(view.getFloat64(o + FRAME_OFF_TS, true));
        out.bytes(comma);
        out.bytes(ifaceCsv[ii] ??= utf8(csvField(ifaces[ii] ?? "")));
        out.bytes(msgCols[d.frameMessage[f]]);
        const g = d.signalId[v];
        out.bytes(sigCol[g]);
        const table = labels[g];
        const label = table === undefined ? undefined : table.get(rawNumber(d, v));
        if (label !== undefined) out.bytes(label);
        else if (Number.isFinite(d.value[v])) out.num(d.value[v]);
        else out.ascii(String(d.value[v]));
        out.ascii("\n");
      }
    },
  };
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
  const out = new ByteOut();
  const stats = { lines: 0, frames: 0, skipped: 0 };
  const fromStdin = values.log === undefined || values.log === "-";
  const source = fromStdin ? Deno.stdin.readable : values.log!;
  let decoded = 0;
  let count = 0;
  let valueCount = 0;
  fmt.header(out);
  for await (const n of readCandumpBatches(source, decoder.batch, { lenient: values.lenient, stats })) {
    const k = decoder.decode();
    count += n;
    decoded += decoder.matched;
    valueCount += k;
    fmt.batch(out, decoder, n, k);
    await out.flush(Deno.stdout);
  }
  await out.flush(Deno.stdout);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuUsage();
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  // frames/s is wall-clock over the whole run (DBC load included); cpu= is this process's CPU time, the figure to
  // look at on a busy machine.
  console.error(
    `decode: frames=${count} decoded=${decoded} unknown=${count - decoded} errors=${stats.skipped} ` +
      `values=${valueCount} seconds=${seconds.toFixed(3)} cpu=${cpuSeconds.toFixed(3)} ` +
      `frames/s=${Math.round(count / seconds)}`,
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
