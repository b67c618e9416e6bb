/**
 * Allocation-free AVRO binary encoding primitives (zig-zag varints, IEEE floats, length-prefixed strings) over one
 * reusable, growing buffer, and the matching reader.
 * @module
 */
import { PipelineError } from "../errors/mod.ts";

const TWO27 = 0x8000000;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Appends AVRO binary data to a reusable buffer. Call {@link AvroWriter.reset} to start over without allocating. */
export class AvroWriter {
  #buf: Uint8Array;
  #view: DataView;
  /** Bytes written so far. */
  pos = 0;

  /**
   * Create a writer with an empty buffer.
   *
   * @param initialSize initial capacity in bytes (grows by doubling)
   */
  constructor(initialSize = 4096) {
    this.#buf = new Uint8Array(initialSize);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Forget the content; keeps the buffer. */
  reset(): void {
    this.pos = 0;
  }

  /** Make room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** Write an AVRO `long` (also `int`): zig-zag varint. `n` must be a safe integer. */
  long(n: number): void {
    this.ensure(10);
    const buf = this.#buf;
    let pos = this.pos;
    if (n >= -0x40000000 && n < 0x40000000) {
      let z = ((n << 1) ^ (n >> 31)) >>> 0;
      while (z > 0x7f) {
        buf[pos++] = (z & 0x7f) | 0x80;
        z >>>= 7;
      }
      buf[pos++] = z;
    } else {
      // z = zigzag(n) = hi * 2^28 + lo, computed without exceeding 2^53.
      const m = n >= 0 ? n : -n - 1;
      const low27 = m % TWO27;
      let lo = low27 * 2 + (n >= 0 ? 0 : 1);
      let hi = (m - low27) / TWO27;
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
      buf[pos++] = lo | 0x80;
      while (hi > 0x7f) {
        buf[pos++] = (hi & 0x7f) | 0x80;
        hi >>>= 7;
      }
      buf[pos++] = hi;
    }
    this.pos = pos;
  }

  /** Write an AVRO `long` given as a bigint (any value in -2^63..2^63-1; the caller checks the range). */
  longBig(n: bigint): void {
    this.ensure(10);
    let z = n >= 0n ? n << 1n : ((-n) << 1n) - 1n;
    const buf = this.#buf;
    let pos = this.pos;
    while (z > 0x7fn) {
      buf[pos++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    buf[pos++] = Number(z);
    this.pos = pos;
  }

  /** Write an AVRO `long` given as a safe integer or a bigint. */
  longValue(n: number | bigint): void {
    if (typeof n === "bigint") this.longBig(n);
    else this.long(n);
  }

  /** Write an AVRO `float` (4 bytes, little endian). */
  float(v: number): void {
    this.ensure(4);
    this.#view.setFloat32(this.pos, v, true);
    this.pos += 4;
  }

  /** Write an AVRO `double` (8 bytes, little endian). */
  double(v: number): void {
    this.ensure(8);
    this.#view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** Write an AVRO `boolean`. */
  boolean(v: boolean): void {
    this.ensure(1);
    this.#buf[this.pos++] = v ? 1 : 0;
  }

  /** Write an AVRO `string` (length-prefixed UTF-8). */
  string(s: string): void {
    const max = s.length * 3;
    if (max < 64) {
      this.ensure(max + 1);
      const { written } = encoder.encodeInto(s, this.#buf.subarray(this.pos + 1));
      this.#buf[this.pos] = written << 1;
      this.pos += 1 + written;
    } else {
      this.bytes(encoder.encode(s));
    }
  }

  /** Write AVRO `bytes` (length-prefixed). */
  bytes(b: Uint8Array): void {
    this.long(b.length);
    this.raw(b);
  }

  /** Append bytes without a length prefix (fixed, sync markers, pre-encoded data). */
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.#buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A view of the bytes written (valid until the next write or reset). */
  view(): Uint8Array {
    return this.#buf.subarray(0, this.pos);
  }

  /** A copy of the bytes written. */
  toBytes(): Uint8Array {
    return this.#buf.slice(0, this.pos);
  }
}

/** Reads AVRO binary data. Throws `codec.truncated` when the data ends early. */
export class AvroReader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  /** Read position. */
  pos: number;
  /** End of the readable region. */
  readonly end: number;

  /**
   * Read `bytes` from `options.pos` up to `options.end`.
   *
   * @param bytes data to read
   * @param options.pos start offset (default 0)
   */
  constructor(bytes: Uint8Array, options: { pos?: number; end?: number } = {}) {
    this.#buf = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = options.pos ?? 0;
    this.end = options.end ?? bytes.length;
  }

  /** True when every byte has been read. */
  get done(): boolean {
    return this.pos >= this.end;
  }

  #truncated(): never {
    throw new PipelineError("codec.truncated", `AVRO data ends early at byte ${this.pos} of ${this.end}`);
  }

  /** Read an AVRO `long`/`int` (exact up to 2^53). */
  long(): number {
    const buf = this.#buf;
    let pos = this.pos;
    let b = 0, lo = 0, shift = 0;
    do {
      if (pos >= this.end) this.#truncated();
      b = buf[pos++];
      lo |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80 && shift < 28);
    if (b & 0x80) {
      let hi = 0, mul = 1;
      do {
        if (pos >= this.end) this.#truncated();
        b = buf[pos++];
        hi += (b & 0x7f) * mul;
        mul *= 128;
      } while (b & 0x80);
      this.pos = pos;
      const half = hi * TWO27 + (lo >>> 1);
      return lo & 1 ? -half - 1 : half;
    }
    this.pos = pos;
    return (lo >>> 1) ^ -(lo & 1);
  }

  /**
   * Read an AVRO `long` exactly: a number when it is a safe integer, else a bigint (64-bit values beyond 2^53).
   * @throws PipelineError `codec.varint` for a varint longer than 10 bytes, `codec.truncated`
   */
  longValue(): number | bigint {
    const start = this.pos;
    const n = this.long();
    if (Number.isSafeInteger(n) && this.pos - start < 8) return n;
    let z = 0n, shift = 0n;
    for (let i = start; i < this.pos; i++) {
      z |= BigInt(this.#buf[i] & 0x7f) << shift;
      shift += 7n;
    }
    if (this.pos - start > 10) {
      throw new PipelineError("codec.varint", `AVRO long at byte ${start} is longer than 10 bytes`);
    }
    const v = z & 1n ? -(z >> 1n) - 1n : z >> 1n;
    const asNumber = Number(v);
    return Number.isSafeInteger(asNumber) ? asNumber : v;
  }

  /** Read an AVRO `float`. */
  float(): number {
    if (this.pos + 4 > this.end) this.#truncated();
    const v = this.#view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** Read an AVRO `double`. */
  double(): number {
    if (this.pos + 8 > this.end) this.#truncated();
    const v = this.#view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Read an AVRO `boolean`. */
  boolean(): boolean {
    if (this.pos >= this.end) this.#truncated();
    return this.#buf[this.pos++] !== 0;
  }

  /** Read AVRO `bytes` (a view into the input). */
  bytes(): Uint8Array {
    const n = this.long();
    return this.fixed(n);
  }

  /** Read `n` raw bytes (a view into the input). */
  fixed(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.end) this.#truncated();
    const v = this.#buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** Read an AVRO `string`. */
  string(): string {
    const b = this.bytes();
    let ascii = b.length < 48;
    if (ascii) {
      for (let i = 0; i < b.length; i++) {
        if (b[i] > 0x7f) {
          ascii = false;
          break;
        }
      }
    }
    if (ascii) return String.fromCharCode.apply(null, b as unknown as number[]);
    try {
      return decoder.decode(b);
    } catch (cause) {
      throw new PipelineError("codec.utf8", `AVRO string at byte ${this.pos - b.length} is not valid UTF-8`, {
        cause,
      });
    }
  }

  /**
   * Read an array/map block header: the item count of the next block (0 = end). Negative counts (followed by the
   * block size in bytes) are normalised.
   */
  blockCount(): number {
    const n = this.long();
    if (n < 0) {
      this.long();
      return -n;
    }
    return n;
  }
}
