/**
 * Replay of a candump log (`candump -l` format: `(1436509052.249713) vcan0 044#2A366C2BBA`, FD `123##1…`,
 * RTR `123#R`) as a frame source, paced in real time from the log's timestamps, `speed` times faster, or as fast
 * as possible (`speed: 0`).
 *
 * Parsing is core/can's streaming {@link CandumpBatchParser}: a file is read in 256 KiB chunks (memory stays flat
 * however long the log is) and lines are parsed straight into a staging {@link FrameBatch}; due records are copied
 * into the caller's batch in runs (no per-frame objects).
 * @module
 */
import {
  CandumpBatchParser,
  FRAME_OFF_IFACE,
  FRAME_OFF_TS,
  FRAME_RECORD_SIZE,
  FrameBatch,
} from "../../core/can/mod.ts";
import { tsMsFromSeconds } from "../../core/datapoint/mod.ts";
import { PipelineError } from "../../core/errors/mod.ts";

/** Options of {@link CandumpSource}. */
export interface CandumpSourceOptions {
  /** Replay speed factor: 1 = real time (default), N = N times faster, 0 = as fast as possible. */
  speed?: number;
  /** Name used in error messages (default: the path, or `<candump>`). */
  source?: string;
  /** Longest single wait inside `read` in milliseconds before it returns 0 (default 100). */
  maxWaitMs?: number;
  /** Skip malformed lines instead of failing (they are counted in {@link CandumpSource.skipped}). */
  lenient?: boolean;
}

interface ByteInput {
  read(buf: Uint8Array): Promise<number | null>;
  close(): void;
}

const CHUNK = 256 * 1024;
const STAGING = 1024;

/**
 * A {@link FrameSource} over a candump log.
 *
 * @example
 * ```ts
 * import { FrameBatch } from "../../core/can/mod.ts";
 * import { CandumpSource } from "./candump_source.ts";
 * const log = new URL("../../assets/demo/model3_drive.log", import.meta.url).pathname;
 * const src = await CandumpSource.open(log, { speed: 0 });
 * const batch = new FrameBatch(1024);
 * while ((await src.read(batch)) >= 0) batch.clear();
 * console.log(src.frames > 0); // true
 * src.close();
 * ```
 */
export class CandumpSource {
  readonly #speed: number;
  readonly #maxWait: number;
  #input: ByteInput;
  #chunk: Uint8Array;
  #chunkLen = 0;
  #chunkOff = 0;
  #eof = false;
  readonly #staging = new FrameBatch(STAGING);
  #pos = 0;
  readonly #parser: CandumpBatchParser;
  readonly #ifaceMap: number[] = [];
  #closed = false;
  /** Wall clock (ms) at which the first frame was released, and that frame's log time (s). */
  #wall0 = -1;
  #log0 = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined;
  /** Frames delivered so far. */
  frames = 0;

  /**
   * Replay a log held in memory.
   * @param log the whole log as text (encoded in chunks as the replay advances) or bytes
   * @param options speed and naming
   */
  constructor(log: string | Uint8Array, options: CandumpSourceOptions = {}) {
    if (typeof log === "string") {
      // Encode the text chunk by chunk into one reused buffer: no second full copy of a large log.
      const enc = new TextEncoder();
      let pos = 0;
      this.#chunk = new Uint8Array(Math.min(CHUNK, log.length * 3 + 3));
      this.#input = {
        read: (buf) => {
          if (pos >= log.length) return Promise.resolve(null);
          let end = Math.min(log.length, pos + Math.floor(buf.length / 3));
          const last = log.charCodeAt(end - 1);
          if (end < log.length && last >= 0xd800 && last <= 0xdbff) end--; // keep surrogate pairs together
          const r = enc.encodeInto(log.slice(pos, end), buf);
          pos += r.read;
          return Promise.resolve(r.written);
        },
        close() {},
      };
    } else {
      let done = false;
      this.#chunk = log;
      this.#input = {
        read: () => {
          if (done) return Promise.resolve(null);
          done = true;
          return Promise.resolve(log.length);
        },
        close() {},
      };
    }
    const speed = options.speed ?? 1;
    if (!(speed >= 0) || !Number.isFinite(speed)) {
      throw new PipelineError("candump.speed", `speed must be a number >= 0 (0 = as fast as possible), got ${speed}`);
    }
    this.#speed = speed;
    this.#maxWait = options.maxWaitMs ?? 100;
    this.#parser = new CandumpBatchParser(this.#staging, {
      source: options.source ?? "<candump>",
      lenient: options.lenient,
    });
  }

  /** Open a candump log file; it is read in chunks as the replay advances. */
  static async open(path: string, options: CandumpSourceOptions = {}): Promise<CandumpSource> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (e) {
      throw new PipelineError("candump.read", `cannot read candump log ${path}: ${(e as Error).message}`, {
        path,
        cause: e,
      });
    }
    const src = new CandumpSource(new Uint8Array(0), { source: path, ...options });
    let open = true;
    src.#chunk = new Uint8Array(CHUNK);
    src.#input = {
      read: (buf) => file.read(buf),
      close: () => {
        if (open) file.close();
        open = false;
      },
    };
    return src;
  }

  /** Malformed lines skipped (`lenient`). */
  get skipped(): number {
    return this.#parser.stats.skipped;
  }

  /** Parse the next records into the (consumed) staging batch; false at the end of the log. */
  async #refill(): Promise<boolean> {
    const st = this.#staging;
    st.clear();
    this.#pos = 0;
    while (!st.full && !this.#eof) {
      if (this.#chunkOff >= this.#chunkLen) {
        const n = await this.#input.read(this.#chunk);
        if (n === null) {
          this.#eof = true;
          this.#parser.finish();
          this.#input.close();
          break;
        }
        this.#chunkLen = n;
        this.#chunkOff = 0;
        continue;
      }
      this.#chunkOff = this.#parser.feed(this.#chunk.subarray(0, this.#chunkLen), this.#chunkOff);
    }
    return st.count > 0;
  }

  /**
   * Append the frames that are due to `batch`; waits (at most `maxWaitMs`) when the next one is not.
   * @returns frames appended, 0 when none is due yet, -1 at the end of the log
   */
  async read(batch: FrameBatch): Promise<number> {
    if (this.#closed) return -1;
    const st = this.#staging;
    const sv = st.view;
    const now = this.#speed === 0 ? Infinity : Date.now();
    let added = 0;
    while (batch.count < batch.capacity) {
      if (this.#pos >= st.count && !(await this.#refill())) break;
      if (this.#closed) return -1;
      // The run of due records starting at #pos.
      const room = batch.capacity - batch.count;
      let end = this.#pos;
      const limit = Math.min(st.count, this.#pos + room);
      let waitMs = -1;
      while (end < limit) {
        if (this.#speed !== 0) {
          const ts = sv.getFloat64(end * FRAME_RECORD_SIZE + FRAME_OFF_TS, true);
          // A time RFC 3339 cannot carry (the pipeline refuses its datapoints) is due at once: it never stalls
          // the replay, nor becomes the base of the pacing.
          if (Number.isNaN(tsMsFromSeconds(ts))) {
            end++;
            continue;
          }
          if (this.#wall0 < 0) {
            this.#wall0 = now;
            this.#log0 = ts;
          }
          const due = this.#wall0 + ((ts - this.#log0) * 1000) / this.#speed;
          if (due > now) {
            waitMs = due - now;
            break;
          }
        }
        end++;
      }
      if (end > this.#pos) this.#copy(batch, this.#pos, end);
      added += end - this.#pos;
      this.#pos = end;
      if (waitMs >= 0) {
        if (added === 0) await this.#sleep(Math.min(this.#maxWait, waitMs));
        break;
      }
    }
    this.frames += added;
    if (added === 0 && this.#eof && this.#pos >= st.count) return -1;
    return added;
  }

  #copy(batch: FrameBatch, from: number, to: number): void {
    const st = this.#staging;
    const at = batch.count;
    batch.bytes.set(st.bytes.subarray(from * FRAME_RECORD_SIZE, to * FRAME_RECORD_SIZE), at * FRAME_RECORD_SIZE);
    // Interface indices refer to the staging table: map them to the caller's batch table.
    const map = this.#ifaceMap;
    while (map.length < st.ifaces.length) map.push(-1);
    let identity = true;
    for (let i = 0; i < st.ifaces.length; i++) {
      if (map[i] < 0 || batch.ifaces[map[i]] !== st.ifaces[i]) map[i] = batch.ifaceIndex(st.ifaces[i]);
      if (map[i] !== i) identity = false;
    }
    if (!identity) {
      const v = batch.view;
      for (let r = at, n = at + (to - from); r < n; r++) {
        const o = r * FRAME_RECORD_SIZE + FRAME_OFF_IFACE;
        v.setUint16(o, map[v.getUint16(o, true)], true);
      }
    }
    batch.count += to - from;
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

  /** Stop the replay and close the file; a pending `read` resolves and later reads return -1. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#input.close();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
