/**
 * candump log files (`candump -L` / `candump -l` format), read and written as a stream.
 *
 * One frame per line: `(<seconds>.<fraction>) <iface> <frame>` where `<frame>` is
 * - classic: `123#DEADBEEF` (3 hex digits: 11-bit ID; 8 hex digits: 29-bit ID), 0-8 data bytes;
 * - CAN FD: `123##1<data>`, the hex digit after `##` holds the flags (1 = BRS, 2 = ESI), 0-64 data bytes in one of
 *   the FD lengths (0-8, 12, 16, 20, 24, 32, 48, 64);
 * - remote request: `123#R`, or `123#R5` with the requested length;
 * - error frame: `20000080#0000000000000000` (8 digits with `CAN_ERR_FLAG` 0x20000000 set; the rest are the error
 *   class bits, kept in `id`).
 * Data bytes may be separated by `.` (`123#DE.AD.BE.EF`), as can-utils accepts; can-utils' raw-DLC suffix on 8-byte
 * classic frames (`123#1122334455667788_C`) is accepted and dropped. Empty lines are ignored.
 *
 * Reading never holds the whole file: {@link readCandump} yields {@link CanFrame} objects;
 * {@link readCandumpBatches} parses the bytes straight into a {@link FrameBatch} with no per-frame allocation (the
 * fast path for the decoder). A malformed line throws {@link ParseError} `candump.syntax` with its line number, or
 * with `lenient` is skipped and reported to `onSkip` / counted in `stats.skipped`.
 * @module
 */
import { ParseError } from "../errors/mod.ts";
import {
  FRAME_FLAG_BRS,
  FRAME_FLAG_ESI,
  FRAME_FLAG_FD,
  FRAME_OFF_DATA,
  FRAME_OFF_FLAGS,
  FRAME_OFF_ID,
  FRAME_OFF_IFACE,
  FRAME_OFF_LEN,
  FRAME_OFF_TS,
  FRAME_RECORD_SIZE,
  FrameBatch,
} from "./batch.ts";
import { CAN_EFF_FLAG, CAN_EFF_MASK, CAN_ERR_FLAG, CAN_RTR_FLAG, type CanFrame } from "./types.ts";

/** Options of {@link parseCandumpLine}. */
export interface ParseCandumpLineOptions {
  /** 1-based line number for error messages. */
  lineNumber?: number;
  /** File name for error messages (default `<candump>`). */
  source?: string;
}

/** Counters a reader updates while it runs. */
export interface CandumpStats {
  /** Lines read (including empty and skipped ones). */
  lines: number;
  /** Frames produced. */
  frames: number;
  /** Malformed lines skipped (`lenient`). */
  skipped: number;
}

/** Options of {@link readCandump} and {@link readCandumpBatches}. */
export interface ReadCandumpOptions {
  /** Skip malformed lines instead of throwing. */
  lenient?: boolean;
  /** Called with each skipped line's error (`lenient` only). */
  onSkip?: (error: ParseError) => void;
  /** File name for error messages (default: the path, or `<candump>`). */
  source?: string;
  /** Counters to update (lines, frames, skipped). */
  stats?: CandumpStats;
}

/** Payload lengths a CAN FD frame can have. */
const FD_LENGTHS = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64]);

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Parse one candump log line.
 *
 * @param line the text, without the line break
 * @param options `lineNumber` and `source` for the error location
 * @throws {ParseError} `candump.syntax` naming the line, column and what is wrong
 *
 * @example
 * ```ts
 * import { parseCandumpLine } from "./candump.ts";
 * const f = parseCandumpLine("(1436509052.249713) can0 123#DEADBEEF");
 * console.log(f.id, f.data.length); // 291 4
 * ```
 */
export function parseCandumpLine(line: string, options: ParseCandumpLineOptions = {}): CanFrame {
  const fail = (column: number, message: string): never => {
    throw new ParseError("candump.syntax", message, {
      source: options.source ?? "<candump>",
      line: options.lineNumber ?? 1,
      column: column + 1,
    });
  };
  let i = 0;
  const n = line.length;
  const isBlank = (c: string) => c === " " || c === "\t" || c === "\r";
  while (i < n && isBlank(line[i])) i++;
  if (line[i] !== "(") fail(i, "expected '(' starting the timestamp, as in (1436509052.249713) can0 123#DEADBEEF");
  const tsStart = ++i;
  while (i < n && line[i] >= "0" && line[i] <= "9") i++;
  if (i === tsStart || line[i] !== ".") fail(i, "timestamp must be <seconds>.<fraction>, e.g. (1436509052.249713)");
  i++;
  const fracStart = i;
  while (i < n && line[i] >= "0" && line[i] <= "9") i++;
  if (i === fracStart) fail(i, "timestamp must be <seconds>.<fraction>, e.g. (1436509052.249713)");
  if (line[i] !== ")") fail(i, "expected ')' closing the timestamp");
  const timestamp = Number(line.slice(tsStart, i));
  i++;
  if (!isBlank(line[i] ?? "x")) fail(i, "expected a space after the timestamp");
  while (i < n && isBlank(line[i])) i++;
  const ifStart = i;
  while (i < n && !isBlank(line[i])) i++;
  if (i === ifStart) fail(i, "missing interface name");
  const iface = line.slice(ifStart, i);
  while (i < n && isBlank(line[i])) i++;
  const idStart = i;
  let id = 0;
  while (i < n && hexValue(line.charCodeAt(i)) >= 0) id = id * 16 + hexValue(line.charCodeAt(i++));
  const idLen = i - idStart;
  if (idLen === 0) fail(i, "missing CAN ID (3 hex digits, or 8 for a 29-bit ID)");
  if (line[i] !== "#") fail(i, "expected '#' after the CAN ID");
  if (idLen !== 3 && idLen !== 8) fail(idStart, `CAN ID must have 3 or 8 hex digits, not ${idLen}`);
  let extended = false;
  let error = false;
  if (idLen === 3) {
    if (id > 0x7ff) fail(idStart, `11-bit CAN ID ${line.slice(idStart, i)} is above 7FF`);
  } else if (id >= 0x20000000) {
    if (id >= 0x40000000) fail(idStart, `29-bit CAN ID ${line.slice(idStart, i)} is above 1FFFFFFF`);
    error = true;
    id &= CAN_EFF_MASK;
  } else {
    extended = true;
  }
  i++;
  const frame: CanFrame = {
    timestamp,
    iface,
    id,
    extended,
    rtr: false,
    error,
    fd: false,
    brs: false,
    esi: false,
    data: new Uint8Array(0),
  };
  if (line[i] === "R" && !error) {
    i++;
    frame.rtr = true;
    frame.dlc = 0;
    const d = hexValue(line.charCodeAt(i));
    if (d >= 0) {
      if (d > 8) fail(i, `remote request length ${line[i]} is above 8`);
      frame.dlc = d;
      i++;
    }
  } else {
    if (line[i] === "#") {
      if (error) fail(i, "an error frame cannot be a CAN FD frame");
      i++;
      const f = hexValue(line.charCodeAt(i));
      if (f < 0) fail(i, "expected the CAN FD flags hex digit after '##' (0-F)");
      frame.fd = true;
      frame.brs = (f & 1) !== 0;
      frame.esi = (f & 2) !== 0;
      i++;
    }
    const bytes: number[] = [];
    while (i < n && !isBlank(line[i])) {
      if (line[i] === "." && bytes.length > 0) {
        i++;
        continue;
      }
      if (line[i] === "_" && !frame.fd && bytes.length === 8 && hexValue(line.charCodeAt(i + 1)) > 8) {
        i += 2; // can-utils `_<dlc>` suffix: a classic DLC 9-F (still 8 bytes); not kept
        continue;
      }
      const hi = hexValue(line.charCodeAt(i));
      const lo = hexValue(line.charCodeAt(i + 1));
      if (hi < 0 || lo < 0) fail(i, "data must be pairs of hex digits");
      bytes.push(hi * 16 + lo);
      i += 2;
    }
    const max = frame.fd ? 64 : 8;
    if (bytes.length > max) fail(i, `${bytes.length} data bytes, more than ${max}`);
    if (frame.fd && !FD_LENGTHS.has(bytes.length)) {
      fail(i, `${bytes.length} data bytes is not a CAN FD length (0-8, 12, 16, 20, 24, 32, 48, 64)`);
    }
    frame.data = Uint8Array.from(bytes);
  }
  while (i < n && isBlank(line[i])) i++;
  if (i < n) fail(i, `unexpected text after the frame: '${line.slice(i, i + 20)}'`);
  return frame;
}

const HEX = "0123456789ABCDEF";

/**
 * Format a frame as a candump log line (no line break), the inverse of {@link parseCandumpLine}.
 *
 * @param frame the frame
 * @returns e.g. `(1436509052.249713) can0 123#DEADBEEF`
 */
export function formatCandumpLine(frame: CanFrame): string {
  const total = Math.round(frame.timestamp * 1e6);
  const sec = Math.floor(total / 1e6);
  const usec = total - sec * 1e6;
  let s = `(${String(sec).padStart(10, "0")}.${String(usec).padStart(6, "0")}) ${frame.iface} `;
  if (frame.error) s += ((frame.id & CAN_EFF_MASK) | CAN_ERR_FLAG).toString(16).toUpperCase().padStart(8, "0");
  else if (frame.extended) s += frame.id.toString(16).toUpperCase().padStart(8, "0");
  else s += frame.id.toString(16).toUpperCase().padStart(3, "0");
  if (frame.rtr) {
    s += "#R";
    const dlc = frame.dlc ?? 0;
    if (dlc > 0) s += HEX[dlc & 15];
    return s;
  }
  s += frame.fd ? `##${HEX[(frame.brs ? 1 : 0) | (frame.esi ? 2 : 0)]}` : "#";
  for (const b of frame.data) s += HEX[b >> 4] + HEX[b & 15];
  return s;
}

/** Result codes of the byte-level line parser. */
const LINE_BLANK = 0;
const LINE_FRAME = 1;
const LINE_BAD = -1;

/**
 * Incremental byte-level candump parser that writes frames straight into a {@link FrameBatch}.
 *
 * Feed it chunks of the log in any split; it keeps a partial line between chunks in a reused buffer and allocates
 * nothing per frame (an interface name is decoded once, the first time it is seen). Used by
 * {@link readCandumpBatches}; usable directly by sources that get bytes some other way.
 *
 * @example
 * ```ts
 * import { CandumpBatchParser, FrameBatch } from "./mod.ts";
 * const batch = new FrameBatch(1024);
 * const p = new CandumpBatchParser(batch);
 * const bytes = new TextEncoder().encode("(1.000000) can0 123#01\n");
 * let off = 0;
 * while (off < bytes.length) {
 *   off = p.feed(bytes, off);
 *   if (batch.full) batch.clear(); // consume the records first
 * }
 * p.finish();
 * console.log(batch.count); // 1
 * ```
 */
export class CandumpBatchParser {
  readonly #batch: FrameBatch;
  readonly #lenient: boolean;
  readonly #onSkip?: (error: ParseError) => void;
  readonly #source: string;
  /** Counters (the `stats` object given in the options, if any). */
  readonly stats: CandumpStats;
  #carry = new Uint8Array(256);
  #carryLen = 0;
  /** Interface names seen so far, as bytes, and their batch index. */
  readonly #ifaceBytes: Uint8Array[] = [];
  readonly #ifaceIndex: number[] = [];
  #lastIface = -1;
  /** Lines that needed the string parser (malformed ones, or timestamps with more than 15 significant digits). */
  slowLines = 0;

  /**
   * @param batch the batch to write records into
   * @param options `lenient`, `onSkip`, `source`, `stats`
   */
  constructor(batch: FrameBatch, options: ReadCandumpOptions = {}) {
    if (batch.capacity < 1) throw new RangeError("FrameBatch capacity must be at least 1");
    this.#batch = batch;
    this.#lenient = options.lenient ?? false;
    this.#onSkip = options.onSkip;
    this.#source = options.source ?? "<candump>";
    this.stats = options.stats ?? { lines: 0, frames: 0, skipped: 0 };
  }

  /**
   * Parse complete lines of `chunk` from `offset` until the chunk is used up or the batch is full; a trailing partial
   * line is kept for the next chunk.
   *
   * @returns the offset to continue from (`chunk.length` when all of it was taken)
   * @throws {ParseError} on a malformed line unless `lenient`
   */
  feed(chunk: Uint8Array, offset = 0): number {
    const batch = this.#batch;
    let pos = offset;
    const end = chunk.length;
    if (batch.count >= batch.capacity) return pos;
    if (this.#carryLen > 0) {
      const nl = chunk.indexOf(10, pos);
      if (nl < 0) {
        this.#append(chunk, pos, end);
        return end;
      }
      this.#append(chunk, pos, nl);
      this.#line(this.#carry, 0, this.#carryLen);
      this.#carryLen = 0;
      pos = nl + 1;
    }
    while (pos < end && batch.count < batch.capacity) {
      const nl = chunk.indexOf(10, pos);
      if (nl < 0) {
        this.#append(chunk, pos, end);
        return end;
      }
      this.#line(chunk, pos, nl);
      pos = nl + 1;
    }
    return pos;
  }

  /**
   * End of input: parse a last line that had no line break. The batch must have room for one record.
   *
   * @throws {ParseError} on a malformed line unless `lenient`
   */
  finish(): void {
    if (this.#carryLen > 0) {
      if (this.#batch.full) throw new RangeError("FrameBatch is full; consume and clear it before finish()");
      const len = this.#carryLen;
      this.#carryLen = 0;
      this.#line(this.#carry, 0, len);
    }
  }

  #append(src: Uint8Array, from: number, to: number): void {
    const need = this.#carryLen + (to - from);
    if (need > this.#carry.length) {
      const grown = new Uint8Array(Math.max(need, this.#carry.length * 2));
      grown.set(this.#carry.subarray(0, this.#carryLen));
      this.#carry = grown;
    }
    this.#carry.set(src.subarray(from, to), this.#carryLen);
    this.#carryLen = need;
  }

  #line(buf: Uint8Array, start: number, end: number): void {
    const stats = this.stats;
    stats.lines++;
    const r = this.#parse(buf, start, end);
    if (r === LINE_FRAME) {
      stats.frames++;
      return;
    }
    if (r === LINE_BLANK) return;
    this.slowLines++;
    // Slow path: rare lines (very long timestamps) and errors. The string parser gives the exact error.
    const text = new TextDecoder().decode(buf.subarray(start, end));
    try {
      const frame = parseCandumpLine(text, { lineNumber: stats.lines, source: this.#source });
      this.#batch.push(frame);
      stats.frames++;
    } catch (e) {
      if (!(e instanceof ParseError) || !this.#lenient) throw e;
      stats.skipped++;
      this.#onSkip?.(e);
    }
  }

  #iface(buf: Uint8Array, start: number, end: number): number {
    const len = end - start;
    const last = this.#lastIface;
    if (last >= 0 && this.#sameBytes(this.#ifaceBytes[last], buf, start, len)) return this.#ifaceIndex[last];
    for (let k = 0; k < this.#ifaceBytes.length; k++) {
      if (this.#sameBytes(this.#ifaceBytes[k], buf, start, len)) {
        this.#lastIface = k;
        return this.#ifaceIndex[k];
      }
    }
    const bytes = buf.slice(start, end);
    const index = this.#batch.ifaceIndex(new TextDecoder().decode(bytes));
    this.#ifaceBytes.push(bytes);
    this.#ifaceIndex.push(index);
    this.#lastIface = this.#ifaceBytes.length - 1;
    return index;
  }

  #sameBytes(a: Uint8Array, buf: Uint8Array, start: number, len: number): boolean {
    if (a.length !== len) return false;
    for (let k = 0; k < len; k++) if (a[k] !== buf[start + k]) return false;
    return true;
  }

  /** Parse one line into the next record. Returns LINE_FRAME, LINE_BLANK, or LINE_BAD (slow path decides). */
  #parse(buf: Uint8Array, start: number, end: number): number {
    let i = start;
    while (i < end && (buf[i] === 32 || buf[i] === 9 || buf[i] === 13)) i++;
    if (i === end) return LINE_BLANK;
    if (buf[i++] !== 40) return LINE_BAD; // (
    let sec = 0;
    const secStart = i;
    while (i < end && buf[i] >= 48 && buf[i] <= 57) sec = sec * 10 + (buf[i++] - 48);
    const secDigits = i - secStart;
    if (secDigits === 0 || buf[i++] !== 46) return LINE_BAD; // .
    let frac = 0;
    let scale = 1;
    const fracStart = i;
    while (i < end && buf[i] >= 48 && buf[i] <= 57) {
      frac = frac * 10 + (buf[i++] - 48);
      scale *= 10;
    }
    const fracDigits = i - fracStart;
    if (fracDigits === 0 || fracDigits > 9 || secDigits > 15) return LINE_BAD;
    const whole = sec * scale + frac;
    if (whole > Number.MAX_SAFE_INTEGER) return LINE_BAD;
    if (buf[i++] !== 41) return LINE_BAD; // )
    // Both operands are exact integers, so the one rounding of the division gives the same double as parsing the
    // decimal text.
    const timestamp = whole / scale;
    if (i >= end || (buf[i] !== 32 && buf[i] !== 9)) return LINE_BAD;
    while (i < end && (buf[i] === 32 || buf[i] === 9)) i++;
    const ifStart = i;
    while (i < end && buf[i] !== 32 && buf[i] !== 9 && buf[i] !== 13) i++;
    const ifEnd = i;
    if (ifEnd === ifStart) return LINE_BAD;
    while (i < end && (buf[i] === 32 || buf[i] === 9)) i++;
    const idStart = i;
    let id = 0;
    let h: number;
    while (i < end && (h = hexValue(buf[i])) >= 0) {
      id = id * 16 + h;
      i++;
    }
    const idLen = i - idStart;
    if (i >= end || buf[i++] !== 35) return LINE_BAD; // #
    let canId: number;
    if (idLen === 3) {
      if (id > 0x7ff) return LINE_BAD;
      canId = id;
    } else if (idLen === 8) {
      if (id >= 0x40000000) return LINE_BAD;
      canId = id >= 0x20000000 ? id : (id | CAN_EFF_FLAG) >>> 0;
    } else {
      return LINE_BAD;
    }
    const batch = this.#batch;
    const o = batch.count * FRAME_RECORD_SIZE;
    const bytes = batch.bytes;
    let len = 0;
    let flags = 0;
    if (i < end && buf[i] === 82) { // R
      if (canId >= 0x20000000 && canId < 0x40000000) return LINE_BAD; // error frame
      i++;
      if (i < end && (h = hexValue(buf[i])) >= 0) {
        if (h > 8) return LINE_BAD;
        len = h;
        i++;
      }
      canId = (canId | CAN_RTR_FLAG) >>> 0;
    } else {
      let max = 8;
      if (i < end && buf[i] === 35) { // ##
        if (canId >= 0x20000000 && canId < 0x40000000) return LINE_BAD;
        i++;
        if (i >= end || (h = hexValue(buf[i])) < 0) return LINE_BAD;
        flags = FRAME_FLAG_FD | ((h & 1) ? FRAME_FLAG_BRS : 0) | ((h & 2) ? FRAME_FLAG_ESI : 0);
        max = 64;
        i++;
      }
      const dataOff = o + FRAME_OFF_DATA;
      while (i < end && buf[i] !== 32 && buf[i] !== 9 && buf[i] !== 13) {
        if (buf[i] === 46 && len > 0) { // .
          i++;
          continue;
        }
        if (buf[i] === 95 && max === 8 && len === 8 && i + 1 < end && hexValue(buf[i + 1]) > 8) { // _<dlc>
          i += 2;
          continue;
        }
        const hi = hexValue(buf[i]);
        const lo = i + 1 < end ? hexValue(buf[i + 1]) : -1;
        if (hi < 0 || lo < 0 || len >= max) return LINE_BAD;
        bytes[dataOff + len++] = hi * 16 + lo;
        i += 2;
      }
      if (max === 64 && len > 8 && !FD_LENGTHS.has(len)) return LINE_BAD;
    }
    while (i < end && (buf[i] === 32 || buf[i] === 9 || buf[i] === 13)) i++;
    if (i !== end) return LINE_BAD;
    const v = batch.view;
    v.setFloat64(o + FRAME_OFF_TS, timestamp, true);
    v.setUint32(o + FRAME_OFF_ID, canId, true);
    bytes[o + FRAME_OFF_LEN] = len;
    bytes[o + FRAME_OFF_FLAGS] = flags;
    v.setUint16(o + FRAME_OFF_IFACE, this.#iface(buf, ifStart, ifEnd), true);
    batch.count++;
    return LINE_FRAME;
  }
}

async function openSource(
  source: ReadableStream<Uint8Array> | string,
): Promise<{ read: (buf: Uint8Array) => Promise<Uint8Array | null>; close: () => Promise<void> }> {
  if (typeof source === "string") {
    const file = await Deno.open(source, { read: true });
    let closed = false;
    return {
      read: async (buf) => {
        const n = await file.read(buf);
        return n === null ? null : buf.subarray(0, n);
      },
      close: () => {
        if (!closed) {
          closed = true;
          file.close();
        }
        return Promise.resolve();
      },
    };
  }
  const reader = source.getReader();
  let done = false;
  return {
    read: async () => {
      while (true) {
        const r = await reader.read();
        if (r.done) {
          done = true;
          return null;
        }
        if (r.value.length > 0) return r.value;
      }
    },
    close: async () => {
      if (!done) await reader.cancel().catch(() => {});
      reader.releaseLock();
    },
  };
}

/**
 * Stream a candump log into a {@link FrameBatch}: the allocation-free fast path.
 *
 * Each yielded number is the count of records now in `batch` (from index 0); consume them before continuing the
 * iteration, which clears the batch. A file is read through one reused 256 KiB buffer, so memory stays flat however
 * large the log is.
 *
 * @param source a file path or a byte stream
 * @param batch the batch to fill (its interface table maps the log's interface names)
 * @param options `lenient`, `onSkip`, `source`, `stats`
 * @throws {ParseError} `candump.syntax` for a malformed line unless `lenient`
 *
 * @example
 * ```ts
 * import { FrameBatch, readCandumpBatches } from "./mod.ts";
 * const batch = new FrameBatch(4096);
 * let frames = 0;
 * for await (const n of readCandumpBatches("testdata/candump/sample.log", batch)) frames += n;
 * ```
 */
export async function* readCandumpBatches(
  source: ReadableStream<Uint8Array> | string,
  batch: FrameBatch,
  options: ReadCandumpOptions = {},
): AsyncGenerator<number, void, undefined> {
  const parser = new CandumpBatchParser(batch, {
    ...options,
    source: options.source ?? (typeof source === "string" ? source : undefined),
  });
  const input = await openSource(source);
  const buf = typeof source === "string" ? new Uint8Array(256 * 1024) : new Uint8Array(0);
  batch.clear();
  try {
    while (true) {
      const chunk = await input.read(buf);
      if (chunk === null) break;
      let off = 0;
      while (off < chunk.length) {
        off = parser.feed(chunk, off);
        if (batch.full) {
          yield batch.count;
          batch.clear();
        }
      }
    }
    parser.finish();
    if (batch.count > 0) {
      yield batch.count;
      batch.clear();
    }
  } finally {
    await input.close();
  }
}

/**
 * Stream a candump log as {@link CanFrame} objects (one allocation per frame; use {@link readCandumpBatches} on hot
 * paths). Same parsing and error rules as the batch reader.
 *
 * @param source a file path or a byte stream
 * @param options `lenient`, `onSkip`, `source`, `stats`
 *
 * @example
 * ```ts
 * import { readCandump } from "./mod.ts";
 * const log = new Blob(["(1436509052.249713) can0 123#DEADBEEF\n"]).stream();
 * for await (const frame of readCandump(log)) console.log(frame.id.toString(16)); // 123
 * ```
 */
export async function* readCandump(
  source: ReadableStream<Uint8Array> | string,
  options: ReadCandumpOptions = {},
): AsyncGenerator<CanFrame, void, undefined> {
  const batch = new FrameBatch(256);
  for await (const n of readCandumpBatches(source, batch, options)) {
    for (let i = 0; i < n; i++) yield batch.get(i);
  }
}

const HEX_CODES = new TextEncoder().encode(HEX);

/**
 * Writes frames as candump log lines to a byte stream or file. Lines are formatted straight into a reused 64 KiB
 * byte buffer that is written out when full; {@link writeBatch} formats {@link FrameBatch} records without creating
 * frame objects.
 *
 * @example
 * ```ts
 * import { CandumpWriter } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const path = `${await Deno.makeTempDir()}/out.log`;
 * const w = await CandumpWriter.open(path);
 * await w.write({ timestamp: 1.5, iface: "can0", id: 0x123, extended: false, rtr: false, error: false,
 *   fd: false, brs: false, esi: false, data: Uint8Array.of(1, 2) });
 * await w.close();
 * assert.equal(await Deno.readTextFile(path), "(0000000001.500000) can0 123#0102\n");
 * ```
 */
export class CandumpWriter {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #encoder = new TextEncoder();
  readonly #buf = new Uint8Array(65536);
  #len = 0;
  #closed = false;
  /** The decimal digits of the last whole second written (writeBatch). */
  readonly #secDigits = new Uint8Array(24);
  #lastSec = -1;
  #lastSecLen = 0;
  /** Encoded interface names by name (writeBatch). */
  readonly #ifaceCache = new Map<string, Uint8Array>();
  /** Frames written. */
  frames = 0;

  /** @param target the stream to write to (the writer takes its lock until {@link close}) */
  constructor(target: WritableStream<Uint8Array>) {
    this.#writer = target.getWriter();
  }

  /**
   * Create (or truncate) a file and write to it.
   *
   * @param path file path
   * @param options `append`: add to an existing file instead of truncating it
   */
  static async open(path: string, options: { append?: boolean } = {}): Promise<CandumpWriter> {
    const file = await Deno.open(path, {
      write: true,
      create: true,
      truncate: !options.append,
      append: options.append ?? false,
    });
    return new CandumpWriter(file.writable);
  }

  /** Longest line: timestamp 20 + iface + id 8 + `##F` + 128 hex + newline. */
  #room(ifaceLen: number): number {
    return 180 + ifaceLen * 3;
  }

  async #ensure(need: number): Promise<void> {
    if (this.#closed) throw new RangeError("CandumpWriter is closed");
    if (this.#len + need > this.#buf.length) await this.flush();
    if (need > this.#buf.length) throw new RangeError("candump line too long for the writer buffer");
  }

  /** Queue one frame; writes out when the buffer is full. */
  async write(frame: CanFrame): Promise<void> {
    if (this.#closed) throw new RangeError("CandumpWriter is closed");
    const line = formatCandumpLine(frame) + "\n";
    if (this.#len + line.length * 3 > this.#buf.length) await this.#ensure(line.length * 3);
    this.#len += this.#encoder.encodeInto(line, this.#buf.subarray(this.#len)).written;
    this.frames++;
  }

  /** Queue every record of a batch (no per-frame objects). */
  async writeBatch(batch: FrameBatch): Promise<void> {
    if (this.#closed) throw new RangeError("CandumpWriter is closed");
    const v = batch.view;
    const src = batch.bytes;
    for (let r = 0; r < batch.count; r++) {
      const o = r * FRAME_RECORD_SIZE;
      const name = batch.ifaces[v.getUint16(o + FRAME_OFF_IFACE, true)] ?? "";
      let iface = this.#ifaceCache.get(name);
      if (!iface) this.#ifaceCache.set(name, iface = this.#encoder.encode(name));
      const room = this.#room(iface.length);
      if (this.#len + room > this.#buf.length) await this.#ensure(room); // awaits only when the buffer is full
      const b = this.#buf;
      let p = this.#len;
      const total = Math.round(v.getFloat64(o + FRAME_OFF_TS, true) * 1e6);
      const sec = Math.floor(total / 1e6);
      b[p++] = 40; // (
      if (sec !== this.#lastSec) {
        this.#lastSec = sec;
        this.#lastSecLen = writeDecimal(this.#secDigits, 0, sec, 10);
      }
      for (let k = 0; k < this.#lastSecLen; k++) b[p++] = this.#secDigits[k];
      b[p++] = 46; // .
      p = writeDecimal(b, p, total - sec * 1e6, 6);
      b[p++] = 41; // )
      b[p++] = 32;
      for (let k = 0; k < iface.length; k++) b[p++] = iface[k];
      b[p++] = 32;
      const canId = v.getUint32(o + FRAME_OFF_ID, true);
      const len = src[o + FRAME_OFF_LEN];
      const flags = src[o + FRAME_OFF_FLAGS];
      let id: number;
      let digits: number;
      if (canId & CAN_ERR_FLAG) {
        id = ((canId & CAN_EFF_MASK) | CAN_ERR_FLAG) >>> 0;
        digits = 8;
      } else if (canId & CAN_EFF_FLAG) {
        id = canId & CAN_EFF_MASK;
        digits = 8;
      } else {
        id = canId & 0x7ff;
        digits = 3;
      }
      for (let k = digits - 1; k >= 0; k--) b[p++] = HEX_CODES[(id >>> (4 * k)) & 15];
      b[p++] = 35; // #
      if (canId & CAN_RTR_FLAG) {
        b[p++] = 82; // R
        if (len > 0) b[p++] = HEX_CODES[len & 15];
      } else {
        if (flags & FRAME_FLAG_FD) {
          b[p++] = 35;
          b[p++] = HEX_CODES[((flags & FRAME_FLAG_BRS) ? 1 : 0) | ((flags & FRAME_FLAG_ESI) ? 2 : 0)];
        }
        const d = o + FRAME_OFF_DATA;
        for (let k = 0; k < len; k++) {
          const x = src[d + k];
          b[p++] = HEX_CODES[x >> 4];
          b[p++] = HEX_CODES[x & 15];
        }
      }
      b[p++] = 10;
      this.#len = p;
      this.frames++;
    }
  }

  /** Write out what is buffered. */
  async flush(): Promise<void> {
    if (this.#len === 0) return;
    const chunk = this.#buf.slice(0, this.#len);
    this.#len = 0;
    await this.#writer.write(chunk);
  }

  /** Flush and close the underlying stream. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    await this.#writer.close();
  }
}

/** Write `value` (a non-negative integer) in decimal, zero-padded to at least `width` digits; returns the new end. */
function writeDecimal(b: Uint8Array, p: number, value: number, width: number): number {
  let digits = 1;
  for (let x = value; x >= 10; x = Math.floor(x / 10)) digits++;
  const n = Math.max(digits, width);
  let x = value;
  for (let k = n - 1; k >= 0; k--) {
    b[p + k] = 48 + (x % 10);
    x = Math.floor(x / 10);
  }
  return p + n;
}
