/**
 * Replay of a candump log (`candump -l` format: `(1436509052.249713) vcan0 044#2A366C2BBA`, FD `123##1…`,
 * RTR `123#R`) as a frame source, paced in real time from the log's timestamps, `speed` times faster, or as fast
 * as possible (`speed: 0`).
 *
 * The line parser writes records straight into the {@link FrameBatch} (no per-frame objects). It is the minimal
 * one this source needs; the full candump reader lives in core/can (branch can-ts).
 * @module
 */
import { ParseError, PipelineError } from "../../core/errors/mod.ts";
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
  type FrameBatch,
} from "../../core/can/batch.ts";
import { CAN_EFF_FLAG, CAN_ERR_FLAG, CAN_RTR_FLAG } from "../../core/can/types.ts";

/** Options of {@link CandumpSource}. */
export interface CandumpSourceOptions {
  /** Replay speed factor: 1 = real time (default), N = N times faster, 0 = as fast as possible. */
  speed?: number;
  /** Name used in error messages (default `<candump>`). */
  source?: string;
  /** Longest single wait inside `read` in milliseconds before it returns 0 (default 100). */
  maxWaitMs?: number;
}

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * A {@link FrameSource} over candump log text.
 *
 * @example
 * ```ts
 * const src = await CandumpSource.open("drive.log", { speed: 0 });
 * const batch = new FrameBatch(1024);
 * while ((await src.read(batch)) >= 0) batch.clear();
 * src.close();
 * ```
 */
export class CandumpSource {
  readonly #text: string;
  readonly #speed: number;
  readonly #source: string;
  readonly #maxWait: number;
  #pos = 0;
  #line = 0;
  #closed = false;
  /** Wall clock (ms) at which the first frame was released; log time of that frame (s). */
  #wall0 = -1;
  #log0 = 0;
  /** A parsed frame that is not due yet: its log timestamp, or -1. */
  #pendingTs = -1;
  readonly #pending = new Uint8Array(FRAME_RECORD_SIZE);
  #pendingIface = "";
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined;
  /** Frames delivered so far. */
  frames = 0;

  /**
   * @param text the whole log
   * @param options speed and naming
   */
  constructor(text: string, options: CandumpSourceOptions = {}) {
    const speed = options.speed ?? 1;
    if (!(speed >= 0) || !Number.isFinite(speed)) {
      throw new PipelineError("candump.speed", `speed must be a number >= 0 (0 = as fast as possible), got ${speed}`);
    }
    this.#text = text;
    this.#speed = speed;
    this.#source = options.source ?? "<candump>";
    this.#maxWait = options.maxWaitMs ?? 100;
  }

  /** Read a candump log file. */
  static async open(path: string, options: CandumpSourceOptions = {}): Promise<CandumpSource> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      throw new PipelineError("candump.read", `cannot read candump log ${path}: ${(e as Error).message}`, {
        path,
        cause: e,
      });
    }
    return new CandumpSource(text, { source: path, ...options });
  }

  /**
   * Append the frames that are due to `batch`; waits (at most `maxWaitMs`) when the next one is not.
   * @returns frames appended, 0 when none is due yet, -1 at the end of the log
   */
  async read(batch: FrameBatch): Promise<number> {
    if (this.#closed) return -1;
    let added = 0;
    const limitMs = this.#speed === 0 ? Infinity : Date.now();
    while (batch.count < batch.capacity) {
      const at = batch.count;
      let ts: number;
      if (this.#pendingTs >= 0) {
        ts = this.#pendingTs;
        const o = at * FRAME_RECORD_SIZE;
        batch.bytes.set(this.#pending, o);
        batch.view.setUint16(o + FRAME_OFF_IFACE, batch.ifaceIndex(this.#pendingIface), true);
      } else {
        ts = this.#parseNext(batch, at);
        if (ts < 0) break;
      }
      if (this.#speed !== 0) {
        if (this.#wall0 < 0) {
          this.#wall0 = Date.now();
          this.#log0 = ts;
        }
        const due = this.#wall0 + ((ts - this.#log0) * 1000) / this.#speed;
        if (due > limitMs) {
          if (this.#pendingTs < 0) {
            // Keep the parsed record for a later call (the caller may clear or swap the batch meanwhile).
            const o = at * FRAME_RECORD_SIZE;
            this.#pending.set(batch.bytes.subarray(o, o + FRAME_RECORD_SIZE));
            this.#pendingIface = batch.ifaces[batch.view.getUint16(o + FRAME_OFF_IFACE, true)];
            this.#pendingTs = ts;
          }
          this.frames += added;
          if (added === 0) await this.#sleep(Math.min(this.#maxWait, due - Date.now()));
          return added;
        }
      }
      this.#pendingTs = -1;
      batch.count++;
      added++;
    }
    this.frames += added;
    if (added === 0 && this.#pos >= this.#text.length && this.#pendingTs < 0) return -1;
    return added;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#wake = undefined;
        resolve();
      }, Math.max(0, ms));
    });
  }

  /**
   * Parse the next frame line into record `at` of `batch` (not counted yet).
   * @returns its timestamp, or -1 at the end of the text
   */
  #parseNext(batch: FrameBatch, at: number): number {
    const t = this.#text;
    const n = t.length;
    while (this.#pos < n) {
      let end = t.indexOf("\n", this.#pos);
      if (end < 0) end = n;
      const start = this.#pos;
      this.#pos = end + 1;
      this.#line++;
      let e = end;
      if (e > start && t.charCodeAt(e - 1) === 13) e--;
      let i = start;
      while (i < e && (t.charCodeAt(i) === 32 || t.charCodeAt(i) === 9)) i++;
      if (i === e) continue;
      return this.#parseLine(batch, at, i, e);
    }
    return -1;
  }

  #fail(msg: string, col: number): never {
    throw new ParseError("candump.syntax", msg, { source: this.#source, line: this.#line, column: col });
  }

  #parseLine(batch: FrameBatch, at: number, s: number, e: number): number {
    const t = this.#text;
    const lineStart = t.lastIndexOf("\n", s) + 1;
    if (t.charCodeAt(s) !== 40) this.#fail("expected '(timestamp)' at the start of the line", s - lineStart + 1);
    const close = t.indexOf(")", s);
    if (close < 0 || close > e) this.#fail("missing ')' after the timestamp", s - lineStart + 1);
    const ts = Number(t.slice(s + 1, close));
    if (!Number.isFinite(ts) || ts < 0) this.#fail("timestamp is not a number", s - lineStart + 2);
    let i = close + 1;
    while (i < e && t.charCodeAt(i) === 32) i++;
    const ifStart = i;
    while (i < e && t.charCodeAt(i) !== 32) i++;
    if (i === ifStart) this.#fail("missing interface name", i - lineStart + 1);
    const iface = t.slice(ifStart, i);
    while (i < e && t.charCodeAt(i) === 32) i++;
    const idStart = i;
    let id = 0;
    while (i < e && t.charCodeAt(i) !== 35) {
      const h = hex(t.charCodeAt(i));
      if (h < 0) this.#fail("CAN ID must be hexadecimal", i - lineStart + 1);
      id = id * 16 + h;
      i++;
    }
    const idLen = i - idStart;
    if (i >= e || (idLen !== 3 && idLen !== 8)) {
      this.#fail("expected ID#DATA with a 3- or 8-digit hex ID", idStart - lineStart + 1);
    }
    if (idLen === 8) {
      if (id & CAN_ERR_FLAG) id = (id & 0x1fffffff) | CAN_ERR_FLAG;
      else id = (id & 0x1fffffff) | CAN_EFF_FLAG;
    }
    i++; // '#'
    const o = at * FRAME_RECORD_SIZE;
    const v = batch.view;
    let flags = 0;
    let len = 0;
    let max = 8;
    if (i < e && t.charCodeAt(i) === 35) {
      // CAN FD: ##<flags nibble><data>
      i++;
      const f = hex(t.charCodeAt(i));
      if (f < 0) this.#fail("CAN FD frame needs a flags nibble after '##'", i - lineStart + 1);
      flags = FRAME_FLAG_FD | (f & 1 ? FRAME_FLAG_BRS : 0) | (f & 2 ? FRAME_FLAG_ESI : 0);
      i++;
      max = 64;
    } else if (i < e && (t.charCodeAt(i) === 82 || t.charCodeAt(i) === 114)) {
      id |= CAN_RTR_FLAG;
      i++;
      if (i < e) {
        const d = hex(t.charCodeAt(i));
        if (d < 0 || d > 8) this.#fail("RTR length must be 0-8", i - lineStart + 1);
        len = d;
      }
      i = e;
    }
    const bytes = batch.bytes;
    while (i < e) {
      const c = t.charCodeAt(i);
      if (c === 46) { // '.' separators allowed
        i++;
        continue;
      }
      if (c === 32) break;
      const hi = hex(c);
      const lo = i + 1 < e ? hex(t.charCodeAt(i + 1)) : -1;
      if (hi < 0 || lo < 0) this.#fail("data must be pairs of hex digits", i - lineStart + 1);
      if (len >= max) this.#fail(`more than ${max} data bytes`, i - lineStart + 1);
      bytes[o + FRAME_OFF_DATA + len++] = hi * 16 + lo;
      i += 2;
    }
    v.setFloat64(o + FRAME_OFF_TS, ts, true);
    v.setUint32(o + FRAME_OFF_ID, id >>> 0, true);
    v.setUint8(o + FRAME_OFF_LEN, len);
    v.setUint8(o + FRAME_OFF_FLAGS, flags);
    v.setUint16(o + FRAME_OFF_IFACE, batch.ifaceIndex(iface), true);
    return ts;
  }

  /** Stop the replay; a pending `read` resolves and later reads return -1. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
