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
 * The log is read in batches straight into the WASM decoder's memory (`CandumpBatchParser`, synchronous 1 MiB reads), decoded in one call per
 * batch, and the output is written in large buffered chunks.
 * @module
 */
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import {
  CandumpBatchParser,
  compileDecodePlan,
  type DecodePlan,
  FRAME_OFF_IFACE,
  FRAME_OFF_TS,
  FRAME_RECORD_SIZE,
  loadDbc,
} from "../core/can/mod.ts";
import { PipelineError } from "../core/errors/mod.ts";
import { createWasmDecoder, type WasmDecoder } from "../core/can/mod.ts";

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
  /** A view of `buf` for word-wise writes. */
  dv = new DataView(this.buf.buffer);
  len = 0;
  readonly #enc = new TextEncoder();

  /** Make room for `n` more bytes. */
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
    this.dv = new DataView(grown.buffer);
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

  flushSync(sink: { writeSync(p: Uint8Array): number }): void {
    let off = 0;
    while (off < this.len) off += sink.writeSync(this.buf.subarray(off, this.len));
    this.len = 0;
  }
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/** Formats the decoded values of one batch. */
interface Formatter {
  header(out: ByteOut): void;
  batch(out: ByteOut, d: WasmDecoder, frames: number, values: number): void;
}

/** Test hook: the timestamp writer. */
export function formatTimestamp(ts: number): string {
  const buf = new Uint8Array(64);
  return new TextDecoder().decode(buf.subarray(0, putTs(buf, 0, ts)));
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

/** A constant byte string stored as little-endian u32 words, copied four bytes at a time. */
interface Piece {
  len: number;
  words: Uint32Array;
}

function piece(text: string): Piece {
  const b = utf8(text);
  const padded = new Uint8Array(Math.ceil(b.length / 4) * 4);
  padded.set(b);
  return { len: b.length, words: new Uint32Array(padded.buffer) };
}

/** Copy a piece to `at`; may write up to three bytes of padding past its end (callers reserve room). */
function putPiece(dv: DataView, at: number, p: Piece): number {
  const w = p.words;
  for (let i = 0; i < w.length; i++) dv.setUint32(at + i * 4, w[i], true);
  return at + p.len;
}

/** Decimal digits of 0..9999, four bytes per number, and their lengths. */
const SMALL = 10000;
const smallDigits = new Uint8Array(SMALL * 4);
const smallLen = new Uint8Array(SMALL);
for (let n = 0; n < SMALL; n++) {
  const s = String(n);
  smallLen[n] = s.length;
  for (let i = 0; i < s.length; i++) smallDigits[n * 4 + i] = s.charCodeAt(i);
}

/** Write a number as JSON writes it (non-finite → null) into `buf` at `at`; needs 25 bytes of room. */
function putNum(buf: Uint8Array, at: number, v: number): number {
  if (v === (v | 0)) {
    let n = v;
    if (n < 0) {
      buf[at++] = 45;
      n = -n;
    }
    if (n < SMALL) {
      const o = n * 4;
      const len = smallLen[n];
      buf[at] = smallDigits[o];
      if (len > 1) {
        buf[at + 1] = smallDigits[o + 1];
        if (len > 2) {
          buf[at + 2] = smallDigits[o + 2];
          if (len > 3) buf[at + 3] = smallDigits[o + 3];
        }
      }
      return at + len;
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

/**
 * Write a candump timestamp. A timestamp with at most six decimals below 2^32 s (every candump log) is written from
 * its integer microseconds: the digits with trailing zeros dropped are then exactly what `String(ts)` gives (two
 * such decimals are more than one double apart there, so no shorter decimal round-trips). Anything else goes through
 * `String`.
 */
function putTs(buf: Uint8Array, at: number, ts: number): number {
  const micros = Math.round(ts * 1e6);
  if (ts >= 1 && ts < 4294967296 && micros / 1e6 === ts) {
    const sec = Math.floor(ts);
    let frac = micros - sec * 1e6;
    at = putNum(buf, at, sec);
    if (frac === 0) return at;
    let digits = 6;
    while (frac % 10 === 0) {
      frac /= 10;
      digits--;
    }
    buf[at++] = 46;
    for (let k = at + digits; k > at;) {
      const q = Math.floor(frac / 10);
      buf[--k] = 48 + frac - q * 10;
      frac = q;
    }
    return at + digits;
  }
  return putNum(buf, at, ts);
}

function ndjson(plan: DecodePlan, ifaces: string[], choices: boolean): Formatter {
  const msgPrefix = plan.messageDefs.map((m) =>
    piece(`,"id":${m.id},"extended":${m.extended},"message":${JSON.stringify(m.name)},"signals":{`)
  );
  const sigKey = plan.signalNames.map((n) => piece(`${JSON.stringify(n)}:`));
  const sigKeyComma = plan.signalNames.map((n) => piece(`,${JSON.stringify(n)}:`));
  const labels = choices
    ? plan.signalDefs.map((s) =>
      s.choices && s.choices.size > 0 && s.valueType === "integer"
        ? new Map([...s.choices].map(([k, label]) => [k, piece(JSON.stringify(label))]))
        : undefined
    )
    : [];
  // Most bytes one frame of each message can take (ts and iface counted separately), with padding slack.
  const maxBytes = plan.messageDefs.map((_, m) => {
    let n = msgPrefix[m].len + 64;
    for (let g = 0; g < plan.signalCount; g++) {
      if (plan.signalMessage[g] !== m) continue;
      const longest = Math.max(25, ...[...(labels[g]?.values() ?? [])].map((l) => l.len + 4));
      n += sigKeyComma[g].len + 4 + longest;
    }
    return n;
  });
  const ifaceJson: Piece[] = [];
  const open = piece(`{"ts":`);
  const ifaceKey = piece(`,"iface":`);
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
        const iface = ifaceJson[ii] ??= piece(JSON.stringify(ifaces[ii] ?? ""));
        out.reserve(maxBytes[m] + iface.len + 4);
        const buf = out.buf;
        const dv = out.dv;
        let at = putPiece(dv, out.len, open);
        at = putTs(buf, at, view.getFloat64(o + FRAME_OFF_TS, true));
        at = putPiece(dv, at, ifaceKey);
        at = putPiece(dv, at, iface);
        at = putPiece(dv, at, msgPrefix[m]);
        let first = true;
        while (v < values && frameIndex[v] === f) {
          const g = signalId[v];
          at = putPiece(dv, at, first ? sigKey[g] : sigKeyComma[g]);
          const table = labels[g];
          const label = table === undefined ? undefined : table.get(rawNumber(d, v));
          at = label !== undefined ? putPiece(dv, at, label) : putNum(buf, at, value[v]);
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
  // NDJSON without labels is written by the WASM module itself; CSV and --choices by the formatters here.
  const wasmText = values.format === "ndjson" && !values.choices;
  const decoder = await createWasmDecoder(plan, { maxFrames: batchSize, ndjson: wasmText });
  const sink = (chunk: Uint8Array) => {
    let off = 0;
    while (off < chunk.length) off += Deno.stdout.writeSync(chunk.subarray(off));
  };
  const ifaces = decoder.batch.ifaces;
  const fmt = values.format === "csv" ? csv(plan, ifaces, values.choices) : ndjson(plan, ifaces, values.choices);
  const out = new ByteOut();
  const batch = decoder.batch;
  const fromStdin = values.log === undefined || values.log === "-";
  const parser = new CandumpBatchParser(batch, {
    lenient: values.lenient,
    source: fromStdin ? "<stdin>" : values.log,
  });
  let decoded = 0;
  let count = 0;
  let valueCount = 0;
  let batches = 0;
  let rssPeak = 0;
  const consume = () => {
    if (batch.count === 0) return;
    // RSS sampled every 64 batches: it must stay flat however long the log is.
    if ((batches++ & 63) === 0) rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
    const n = batch.count;
    const k = decoder.decode();
    count += n;
    decoded += decoder.matched;
    valueCount += k;
    if (decoder.ndjson) {
      decoder.ndjson.write(n, k, sink);
    } else {
      fmt.batch(out, decoder, n, k);
      out.flushSync(Deno.stdout);
    }
    batch.clear();
  };
  fmt.header(out);
  // Synchronous reads and writes: this is a batch command with nothing else to do meanwhile, and it saves an event
  // loop round trip per chunk.
  const input = fromStdin ? Deno.stdin : Deno.openSync(values.log!, { read: true });
  try {
    const chunk = new Uint8Array(1 << 20);
    for (;;) {
      const got = input.readSync(chunk);
      if (got === null) break;
      const bytes = chunk.subarray(0, got);
      let off = 0;
      while (off < got) {
        off = parser.feed(bytes, off);
        if (batch.full) consume();
      }
    }
    if (batch.full) consume();
    parser.finish();
    consume();
    out.flushSync(Deno.stdout);
  } finally {
    if (!fromStdin) (input as Deno.FsFile).close();
  }
  const stats = parser.stats;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuUsage();
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  // frames/s is wall-clock over the whole run (DBC load included); cpu= is this process's CPU time, the figure to
  // look at on a busy machine.
  console.error(
    `decode: frames=${count} decoded=${decoded} unknown=${count - decoded} errors=${stats.skipped} ` +
      `values=${valueCount} seconds=${seconds.toFixed(3)} cpu=${cpuSeconds.toFixed(3)} ` +
      `rss_peak_mb=${(Math.max(rssPeak, Deno.memoryUsage().rss) / 2 ** 20).toFixed(0)} ` +
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
