/**
 * Typed binding to `wasm/assembly/crypto.ts`: SHA-256, HMAC-SHA256 with precomputed
 * inner/outer pad state per key, constant-time truncated-tag comparison, and the batched
 * envelope policy (tag, timestamp drift, sliding replay window) used by `core/security`.
 *
 * One {@link WasmCrypto} is one WebAssembly instance with its own memory: its key table and
 * replay windows belong to it. Batches cross the JS↔WASM boundary once: messages are copied
 * into a reused arena, described by fixed-size records, and processed in one call.
 *
 * @module
 */
import { PipelineError } from "../errors/mod.ts";
import { ascImports, type CryptoExports, loadWasmModule, loadWasmModuleSync } from "../../wasm/mod.ts";
export { VERDICT_BAD_SIGNATURE, VERDICT_OK, VERDICT_REPLAY, VERDICT_TIMESTAMP_DRIFT } from "../../wasm/mod.ts";

const KEY_STATE_SIZE = 64;
const MSG_DESC_SIZE = 16;
const ENV_DESC_SIZE = 48;
const encoder = new TextEncoder();

/** Throw unless `tagBits` is an integer in 32..256. */
export function checkTagBits(tagBits: number): void {
  if (!Number.isInteger(tagBits) || tagBits < 32 || tagBits > 256) {
    throw new PipelineError("crypto.tag_bits", `tagBits must be an integer from 32 to 256, got ${tagBits}`);
  }
}

function checkWindow(window: number): number {
  if (!Number.isInteger(window) || window < 64 || window > 1024 || window % 64 !== 0) {
    throw new PipelineError(
      "crypto.replay_window",
      `replayWindow must be a multiple of 64 from 64 to 1024, got ${window}`,
    );
  }
  return window;
}

/** Options of {@link WasmCrypto.hmacBatch}. */
export interface HmacBatchOptions {
  /** Number of messages (default `offsets.length - 1`). */
  count?: number;
  /** Tag length in bits, a multiple of 8 from 32 to 256 (default 256). */
  tagBits?: number;
  /** Where to write the tags (count × tagBits/8 bytes); allocated when absent. */
  out?: Uint8Array;
}

/** Options of {@link WasmCrypto.verifyBatch}. */
export interface VerifyBatchOptions {
  /** Key index (from {@link WasmCrypto.addKey}) for every message. */
  keyIndex: number;
  /** The messages, concatenated. */
  data: Uint8Array;
  /** count + 1 offsets into `data`: message i is `data[offsets[i], offsets[i + 1])`. */
  offsets: Uint32Array;
  /** The received tags, concatenated, ceil(tagBits/8) bytes each. */
  tags: Uint8Array;
  /** Tag length in bits, 32 to 256 (bits past tagBits in the last byte are ignored). */
  tagBits: number;
  /** Number of messages (default `offsets.length - 1`). */
  count?: number;
  /** Verdict bytes (1 valid, 0 invalid), at least `count` long; allocated when absent. */
  out?: Uint8Array;
}

/** One envelope for {@link WasmCrypto.verifyEnvelopes}. */
export interface EnvelopeInput {
  /** Key index from {@link WasmCrypto.addKey}. */
  keyIndex: number;
  /** Replay slot from {@link WasmCrypto.replaySlot}. */
  replaySlot: number;
  /** Canonical string up to (and including) the separator before the body hash. */
  prefix: string;
  /** The body (a string is taken as UTF-8); its SHA-256 (lowercase hex) completes the canonical string. */
  body: Uint8Array | string;
  /** The received tag, ceil(tagBits/8) bytes. */
  tag: Uint8Array;
  /** Sender counter, a safe non-negative integer. */
  counter: number;
  /** Sender timestamp, ms since the Unix epoch. */
  timestamp: number;
}

/** Options of {@link WasmCrypto.verifyEnvelopes}. */
export interface EnvelopePolicy {
  /** Tag length in bits, 32 to 256. */
  tagBits: number;
  /** Receiver time, ms since the Unix epoch. */
  nowMs: number;
  /** Largest accepted |nowMs − timestamp|. */
  driftMs: number;
  /** Verdict bytes out (`VERDICT_*`), at least `items.length` long; allocated when absent. */
  out?: Uint8Array;
}

/**
 * One instance of the crypto WebAssembly module: key table, replay windows and a reused arena.
 *
 * @example
 * ```ts
 * import { WasmCrypto } from "./wasm_crypto.ts";
 * const c = await WasmCrypto.create();
 * const k = c.addKey(new TextEncoder().encode("key"));
 * const tag = c.hmacWithKey(k, new TextEncoder().encode("The quick brown fox jumps over the lazy dog"));
 * ```
 */
export class WasmCrypto {
  #x: CryptoExports;
  #u8: Uint8Array;
  #arena = 0;
  #arenaSize = 0;
  #keys = 0;
  #keyCap = 0;
  #keyCount = 0;
  #slots = 0;
  #slotCap = 0;
  #slotCount = 0;
  #window: number;
  #slotStride: number;
  #replay = new Map<string, number>();
  #freeSlots: number[] = [];

  private constructor(x: CryptoExports, window: number) {
    this.#x = x;
    this.#u8 = new Uint8Array(x.memory.buffer);
    this.#window = window;
    this.#slotStride = 16 + window / 8;
  }

  /**
   * Instantiate the module (compiled once per process).
   *
   * @param options.replayWindow replay bitmap size in counters: a multiple of 64 from 64 to 1024 (default 256)
   */
  static async create(options: { replayWindow?: number } = {}): Promise<WasmCrypto> {
    const window = checkWindow(options.replayWindow ?? 256);
    const inst = await WebAssembly.instantiate(await loadWasmModule("crypto"), ascImports);
    return new WasmCrypto(inst.exports as unknown as CryptoExports, window);
  }

  /** Like {@link create}, synchronously (the module is small; compiled once per process). */
  static createSync(options: { replayWindow?: number } = {}): WasmCrypto {
    const window = checkWindow(options.replayWindow ?? 256);
    const inst = new WebAssembly.Instance(loadWasmModuleSync("crypto"), ascImports);
    return new WasmCrypto(inst.exports as unknown as CryptoExports, window);
  }

  /**
   * Use the four-lane SIMD path for batches (default true). With false every message goes through
   * the scalar path, which tests use as an oracle and benches as a baseline.
   */
  set simd(on: boolean) {
    this.#x.useSimd(on ? 1 : 0);
  }

  /** Number of four-message SIMD groups this instance has processed (for tests and diagnostics). */
  get simdGroups(): number {
    return this.#x.simdGroups();
  }

  /** The replay window size (counters) of this instance. */
  get replayWindow(): number {
    return this.#window;
  }

  /** Number of keys added. */
  get keyCount(): number {
    return this.#keyCount;
  }

  #mem(): Uint8Array {
    if (this.#u8.buffer !== this.#x.memory.buffer) this.#u8 = new Uint8Array(this.#x.memory.buffer);
    return this.#u8;
  }

  /** A pointer to at least `size` scratch bytes (valid until the next call). */
  #scratch(size: number): number {
    if (size > this.#arenaSize) {
      const n = Math.max(size, this.#arenaSize * 2, 64 * 1024);
      this.#arena = this.#x.alloc(n);
      this.#arenaSize = n;
    }
    return this.#arena;
  }

  /** SHA-256 of `data` (32 bytes). */
  sha256(data: Uint8Array): Uint8Array {
    const p = this.#scratch(data.length + 32);
    this.#mem().set(data, p);
    this.#x.sha256(p, data.length, p + data.length);
    return this.#mem().slice(p + data.length, p + data.length + 32);
  }

  /**
   * Precompute the inner/outer pad state of `key` in WASM memory and return its index.
   * The raw key is not kept (only the two compressed states).
   */
  addKey(key: Uint8Array): number {
    if (this.#keyCount === this.#keyCap) {
      const cap = Math.max(8, this.#keyCap * 2);
      const p = this.#x.alloc(cap * KEY_STATE_SIZE);
      this.#mem().copyWithin(p, this.#keys, this.#keys + this.#keyCount * KEY_STATE_SIZE);
      this.#mem().fill(0, this.#keys, this.#keys + this.#keyCount * KEY_STATE_SIZE);
      this.#keys = p;
      this.#keyCap = cap;
    }
    const p = this.#scratch(key.length);
    this.#mem().set(key, p);
    this.#x.hmacInit(p, key.length, this.#keys + this.#keyCount * KEY_STATE_SIZE);
    this.#mem().fill(0, p, p + key.length);
    return this.#keyCount++;
  }

  /** HMAC-SHA256 of `data` with the key at `keyIndex` (32 bytes). */
  hmacWithKey(keyIndex: number, data: Uint8Array): Uint8Array {
    this.#checkKey(keyIndex);
    const p = this.#scratch(data.length + 32);
    this.#mem().set(data, p);
    this.#x.hmac(this.#keys + keyIndex * KEY_STATE_SIZE, p, data.length, p + data.length);
    return this.#mem().slice(p + data.length, p + data.length + 32);
  }

  /** One-shot HMAC-SHA256 (adds no key; convenient for tests and tools, not for the hot path). */
  hmac(key: Uint8Array, data: Uint8Array): Uint8Array {
    const slot = this.#scratch(KEY_STATE_SIZE + key.length + data.length + 32);
    const kp = slot + KEY_STATE_SIZE;
    this.#mem().set(key, kp);
    this.#x.hmacInit(kp, key.length, slot);
    const dp = kp + key.length;
    this.#mem().set(data, dp);
    this.#x.hmac(slot, dp, data.length, dp + data.length);
    const out = this.#mem().slice(dp + data.length, dp + data.length + 32);
    this.#mem().fill(0, slot, dp);
    return out;
  }

  /**
   * MAC many messages with one key in one WASM call.
   *
   * @param keyIndex from {@link addKey}
   * @param data the messages concatenated; message i is `data[offsets[i], offsets[i + 1])`
   */
  hmacBatch(keyIndex: number, data: Uint8Array, offsets: Uint32Array, options: HmacBatchOptions = {}): Uint8Array {
    this.#checkKey(keyIndex);
    const count = options.count ?? offsets.length - 1;
    const tagBits = options.tagBits ?? 256;
    checkTagBits(tagBits);
    if (tagBits % 8 !== 0) throw new PipelineError("crypto.tag_bits", `hmacBatch needs whole bytes, got ${tagBits}`);
    const tagBytes = tagBits / 8;
    this.#checkOffsets(data, offsets, count);
    const out = options.out ?? new Uint8Array(count * tagBytes);
    const dataLen = (data.length + 15) & ~15;
    const base = this.#scratch(dataLen + count * MSG_DESC_SIZE + count * tagBytes);
    const mem = this.#mem();
    mem.set(data, base);
    const desc = base + dataLen;
    const d32 = new Uint32Array(mem.buffer, desc, count * 4);
    for (let i = 0, j = 0; i < count; i++, j += 4) {
      const o = offsets[i];
      d32[j] = keyIndex;
      d32[j + 1] = base + o;
      d32[j + 2] = offsets[i + 1] - o;
    }
    const outPtr = desc + count * MSG_DESC_SIZE;
    this.#x.hmacBatch(this.#keys, desc, count, outPtr, tagBytes);
    out.set(this.#mem().subarray(outPtr, outPtr + count * tagBytes));
    return out;
  }

  /**
   * Verify many (message, truncated tag) pairs with one key in one WASM call, comparing in
   * constant time. Returns the number of valid tags; `options.out[i]` is 1 when message i is valid.
   */
  verifyBatch(options: VerifyBatchOptions): number {
    const { keyIndex, data, offsets, tags, tagBits } = options;
    this.#checkKey(keyIndex);
    checkTagBits(tagBits);
    const count = options.count ?? offsets.length - 1;
    const tagBytes = Math.ceil(tagBits / 8);
    if (tags.length < count * tagBytes) {
      throw new PipelineError("crypto.tags", `verifyBatch: ${count} tags need ${count * tagBytes} bytes`);
    }
    this.#checkOffsets(data, offsets, count);
    const out = options.out ?? new Uint8Array(count);
    const dataLen = (data.length + 15) & ~15;
    const tagLen = (count * tagBytes + 15) & ~15;
    const base = this.#scratch(dataLen + tagLen + count * MSG_DESC_SIZE + count);
    const mem = this.#mem();
    mem.set(data, base);
    const tagBase = base + dataLen;
    mem.set(tags.subarray(0, count * tagBytes), tagBase);
    const desc = tagBase + tagLen;
    const d32 = new Uint32Array(mem.buffer, desc, count * 4);
    for (let i = 0, j = 0; i < count; i++, j += 4) {
      const o = offsets[i];
      d32[j] = keyIndex;
      d32[j + 1] = base + o;
      d32[j + 2] = offsets[i + 1] - o;
      d32[j + 3] = tagBase + i * tagBytes;
    }
    const vPtr = desc + count * MSG_DESC_SIZE;
    const ok = this.#x.verifyBatch(this.#keys, desc, count, tagBits, vPtr);
    out.set(this.#mem().subarray(vPtr, vPtr + count));
    return ok;
  }

  /** Constant-time comparison of the first `tagBits` bits of two tags (in WASM). */
  tagEqual(a: Uint8Array, b: Uint8Array, tagBits: number): boolean {
    checkTagBits(tagBits);
    const n = Math.ceil(tagBits / 8);
    if (a.length < n || b.length < n) return false;
    const p = this.#scratch(2 * n);
    const mem = this.#mem();
    mem.set(a.subarray(0, n), p);
    mem.set(b.subarray(0, n), p + n);
    return this.#x.tagEqual(p, p + n, tagBits) === 1;
  }

  /**
   * The replay slot (sliding window) for `(keyId, senderId)`, created empty on first use.
   * Slots live as long as this instance (see {@link findReplaySlot} / {@link acquireReplaySlot} to
   * create slots only for senders that authenticated).
   */
  replaySlot(keyId: string, senderId: string): number {
    const name = `${keyId}\u0000${senderId}`;
    let s = this.#replay.get(name);
    if (s === undefined) {
      s = this.acquireReplaySlot();
      this.#replay.set(name, s);
    }
    return s;
  }

  /** Number of replay slots bound to a (key id, sender). */
  get boundReplaySlots(): number {
    return this.#replay.size;
  }

  /** The existing replay slot of `(keyId, senderId)`, or undefined. */
  findReplaySlot(keyId: string, senderId: string): number | undefined {
    return this.#replay.get(`${keyId}\u0000${senderId}`);
  }

  /** An empty replay slot bound to no sender (reused after {@link releaseReplaySlot}). */
  acquireReplaySlot(): number {
    const free = this.#freeSlots.pop();
    if (free !== undefined) return free;
    if (this.#slotCount === this.#slotCap) {
      const cap = Math.max(64, this.#slotCap * 2);
      const p = this.#x.alloc(cap * this.#slotStride);
      const mem = this.#mem();
      mem.fill(0, p, p + cap * this.#slotStride);
      mem.copyWithin(p, this.#slots, this.#slots + this.#slotCount * this.#slotStride);
      this.#slots = p;
      this.#slotCap = cap;
    }
    return this.#slotCount++;
  }

  /** Bind an acquired slot to `(keyId, senderId)` for good (it must have no binding yet). */
  bindReplaySlot(keyId: string, senderId: string, slot: number): void {
    const name = `${keyId}\u0000${senderId}`;
    if (this.#replay.has(name)) throw new PipelineError("crypto.replay_slot", `replay slot for ${name} exists`);
    this.#replay.set(name, slot);
  }

  /** Clear an unbound slot and return it to the pool. */
  releaseReplaySlot(slot: number): void {
    const p = this.#slots + slot * this.#slotStride;
    this.#mem().fill(0, p, p + this.#slotStride);
    this.#freeSlots.push(slot);
  }

  /**
   * Run the envelope policy over `items` in one WASM call: SHA-256 of each body completes its
   * canonical string, then the tag (constant time), the drift window and the replay window are
   * checked in that order; only accepted envelopes are recorded in the replay window.
   * Returns the verdicts (`VERDICT_*`), one byte per item.
   */
  verifyEnvelopes(items: readonly EnvelopeInput[], policy: EnvelopePolicy): Uint8Array {
    const count = items.length;
    checkTagBits(policy.tagBits);
    const tagBytes = Math.ceil(policy.tagBits / 8);
    const out = policy.out ?? new Uint8Array(count);
    let size = count * ENV_DESC_SIZE + ((count + 15) & ~15);
    for (const it of items) {
      const bodyMax = typeof it.body === "string" ? it.body.length * 3 : it.body.length;
      size += ((it.prefix.length * 3 + 64 + bodyMax + tagBytes) + 15) & ~15;
    }
    const base = this.#scratch(size);
    const mem = this.#mem();
    const desc = base;
    const vPtr = desc + count * ENV_DESC_SIZE;
    let p = vPtr + ((count + 15) & ~15);
    const d32 = new Uint32Array(mem.buffer, desc, count * (ENV_DESC_SIZE / 4));
    const f64 = new Float64Array(mem.buffer, desc, count * (ENV_DESC_SIZE / 8));
    for (let i = 0; i < count; i++) {
      const it = items[i];
      if (it.tag.length < tagBytes) {
        throw new PipelineError("crypto.tags", `envelope ${i}: tag has ${it.tag.length} bytes, need ${tagBytes}`);
      }
      this.#checkKey(it.keyIndex);
      if (!(it.replaySlot >= 0 && it.replaySlot < this.#slotCount)) {
        throw new PipelineError("crypto.replay_slot", `envelope ${i}: unknown replay slot ${it.replaySlot}`);
      }
      if (!Number.isSafeInteger(it.counter) || it.counter < 0 || !Number.isFinite(it.timestamp)) {
        throw new PipelineError("crypto.envelope", `envelope ${i}: counter must be a safe integer >= 0`);
      }
      const j = i * (ENV_DESC_SIZE / 4);
      const canon = p;
      const { written } = encoder.encodeInto(it.prefix, mem.subarray(canon, canon + it.prefix.length * 3));
      p += written + 64;
      const body = p;
      let bodyLen: number;
      if (typeof it.body === "string") {
        bodyLen = encoder.encodeInto(it.body, mem.subarray(body, body + it.body.length * 3)).written;
      } else {
        mem.set(it.body, body);
        bodyLen = it.body.length;
      }
      p += bodyLen;
      const tag = p;
      mem.set(it.tag.subarray(0, tagBytes), tag);
      p = (p + tagBytes + 15) & ~15;
      d32[j] = it.keyIndex;
      d32[j + 1] = it.replaySlot;
      d32[j + 2] = canon;
      d32[j + 3] = written;
      d32[j + 4] = body;
      d32[j + 5] = bodyLen;
      d32[j + 6] = tag;
      f64[i * 6 + 4] = it.counter;
      f64[i * 6 + 5] = it.timestamp;
    }
    this.#x.verifyEnvelopes(
      this.#keys,
      this.#slots,
      this.#window,
      desc,
      count,
      policy.tagBits,
      policy.nowMs,
      policy.driftMs,
      vPtr,
    );
    out.set(this.#mem().subarray(vPtr, vPtr + count));
    return out;
  }

  #checkOffsets(data: Uint8Array, offsets: Uint32Array, count: number): void {
    if (!(Number.isInteger(count) && count >= 0 && offsets.length > count && offsets[count] <= data.length)) {
      throw new PipelineError(
        "crypto.offsets",
        `need count + 1 = ${count + 1} offsets ending within data (${data.length} bytes), got ${offsets.length}`,
      );
    }
  }

  #checkKey(keyIndex: number): void {
    if (!(Number.isInteger(keyIndex) && keyIndex >= 0 && keyIndex < this.#keyCount)) {
      throw new PipelineError("crypto.key_index", `unknown key index ${keyIndex}; add the key with addKey first`);
    }
  }

  /** Redacted: the instance holds key material. */
  toJSON(): { keys: number } {
    return { keys: this.#keyCount };
  }
}
