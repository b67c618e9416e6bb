// SHA-256, HMAC-SHA256 with precomputed pads, constant-time truncated tag comparison,
// and the batched envelope policy (tag, timestamp drift, sliding replay window).
// Layouts are documented in wasm/crypto.ts, which is the only caller.
import { absorb, blockCount, compress, finish, IV, padTail } from "./lib/sha256";
import { compress4, compressWords } from "./lib/sha256_unrolled";

const ST: usize = memory.data(32, 16);
const DIG: usize = memory.data(32, 16);
const MAC: usize = memory.data(32, 16);
const KEYBLK: usize = memory.data(64, 16);
/** Outer-hash schedule: 8 words of inner digest, then the fixed padding for a 96-byte message. */
const OW: usize = memory.data<u32>([0, 0, 0, 0, 0, 0, 0, 0, 0x80000000, 0, 0, 0, 0, 0, 0, 768]);
// Four-lane scratch: states (8 v128), schedule (16 v128), per-lane padded tails (4 x 128 bytes),
// per-lane digests (4 x 32 bytes), lane inputs (4 x {state ptr, msg ptr, len}).
const S4: usize = memory.data(128, 16);
const W4: usize = memory.data(1024, 16);
const TAIL4: usize = memory.data(512, 16);
const OUT4: usize = memory.data(128, 16);
const LANE: usize = memory.data(48, 16);
const HEX: usize = memory.data<u8>([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]);

/** Bytes of one precomputed key: inner state (32) then outer state (32). */
export const KEY_STATE_SIZE: u32 = 64;
/** Bytes of one batch descriptor for hmacBatch / verifyBatch. */
export const MSG_DESC_SIZE: u32 = 16;
/** Bytes of one envelope descriptor for verifyEnvelopes. */
export const ENV_DESC_SIZE: u32 = 48;

/** Verdicts written by verifyEnvelopes. */
export const V_OK: u8 = 0;
export const V_BAD_SIGNATURE: u8 = 1;
export const V_TIMESTAMP_DRIFT: u8 = 2;
export const V_REPLAY: u8 = 3;

let simd: bool = true;
let groups: u32 = 0;

/** Number of four-message SIMD groups processed so far (lets tests prove the SIMD path ran). */
export function simdGroups(): u32 {
  return groups;
}

/** Turn the four-lane SIMD path on (1, the default) or off (0: scalar only, the test oracle). */
export function useSimd(on: u32): void {
  simd = on != 0;
}

/** Allocate `size` bytes (16-aligned); the stub runtime never frees. */
export function alloc(size: usize): usize {
  return heap.alloc(size);
}

/** SHA-256 of `len` bytes at `ptr` into 32 bytes at `out`. */
export function sha256(ptr: usize, len: usize, out: usize): void {
  memory.copy(ST, IV, 32);
  finish(ST, ptr, len, 0, out);
}

/** Precompute the HMAC inner/outer states for a key into 64 bytes at `slot`. */
export function hmacInit(keyPtr: usize, keyLen: usize, slot: usize): void {
  memory.fill(KEYBLK, 0, 64);
  if (keyLen > 64) sha256(keyPtr, keyLen, KEYBLK);
  else memory.copy(KEYBLK, keyPtr, keyLen);
  for (let i: usize = 0; i < 64; i += 4) store<u32>(KEYBLK + i, load<u32>(KEYBLK + i) ^ 0x36363636);
  memory.copy(slot, IV, 32);
  compress(slot, KEYBLK);
  for (let i: usize = 0; i < 64; i += 4) store<u32>(KEYBLK + i, load<u32>(KEYBLK + i) ^ 0x6a6a6a6a); // 0x36^0x5c
  memory.copy(slot + 32, IV, 32);
  compress(slot + 32, KEYBLK);
  memory.fill(KEYBLK, 0, 64);
}

/** HMAC-SHA256 with the precomputed key at `slot` over `len` bytes at `ptr`; 32 bytes to `out`. */
export function hmac(slot: usize, ptr: usize, len: usize, out: usize): void {
  memory.copy(ST, slot, 32);
  absorb(ST, ptr, len, 64);
  memory.copy(OW, ST, 32);
  memory.copy(ST, slot + 32, 32);
  compressWords(ST, OW);
  for (let i: usize = 0; i < 32; i += 4) store<u32>(out + i, bswap<u32>(load<u32>(ST + i)));
}

@inline function setLane(l: usize, state: usize, ptr: usize, len: usize): void {
  store<u32>(LANE + l * 12, <u32> state);
  store<u32>(LANE + l * 12, <u32> ptr, 4);
  store<u32>(LANE + l * 12, <u32> len, 8);
}

/**
 * Four messages in the lanes of v128: start each lane from the 8-word state at its state ptr,
 * absorb its message (all four with the same block count) with `prefix` bytes already absorbed,
 * and leave the four results in S4 (word j of lane l at S4 + 16 j + 4 l).
 */
function absorb4(prefix: u64, nb: usize): void {
  const s0 = <usize> load<u32>(LANE), s1 = <usize> load<u32>(LANE + 12);
  const s2 = <usize> load<u32>(LANE + 24), s3 = <usize> load<u32>(LANE + 36);
  transpose4(s0, s1, s2, s3, S4, false);
  transpose4(s0 + 16, s1 + 16, s2 + 16, s3 + 16, S4 + 64, false);
  for (let l: usize = 0; l < 4; l++) {
    padTail(TAIL4 + (l << 7), load<u32>(LANE + l * 12, 4), load<u32>(LANE + l * 12, 8), prefix);
  }
  for (let b: usize = 0; b < nb; b++) {
    const p0 = blockPtr(0, b), p1 = blockPtr(1, b), p2 = blockPtr(2, b), p3 = blockPtr(3, b);
    for (let g: usize = 0; g < 64; g += 16) transpose4(p0 + g, p1 + g, p2 + g, p3 + g, W4 + (g << 2), true);
    compress4(S4, W4);
  }
}

/** Block `b` of lane `l`: in the message while full, then in the lane's padded tail. */
@inline function blockPtr(l: usize, b: usize): usize {
  const ptr = <usize> load<u32>(LANE + l * 12, 4);
  const full = <usize> load<u32>(LANE + l * 12, 8) >>> 6;
  return b < full ? ptr + (b << 6) : TAIL4 + (l << 7) + ((b - full) << 6);
}

/**
 * Read 4 u32 from each of p0..p3 (optionally byte-swapped) and store them transposed at dst:
 * vector k (dst + 16 k) holds word k of p0, p1, p2, p3 in lanes 0-3.
 */
@inline function transpose4(p0: usize, p1: usize, p2: usize, p3: usize, dst: usize, swap: bool): void {
  let r0 = v128.load(p0), r1 = v128.load(p1), r2 = v128.load(p2), r3 = v128.load(p3);
  if (swap) {
    r0 = i8x16.shuffle(r0, r0, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
    r1 = i8x16.shuffle(r1, r1, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
    r2 = i8x16.shuffle(r2, r2, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
    r3 = i8x16.shuffle(r3, r3, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
  }
  const t0 = v128.shuffle<u32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<u32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<u32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<u32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<u64>(t0, t2, 0, 2));
  v128.store(dst, v128.shuffle<u64>(t0, t2, 1, 3), 16);
  v128.store(dst, v128.shuffle<u64>(t1, t3, 0, 2), 32);
  v128.store(dst, v128.shuffle<u64>(t1, t3, 1, 3), 48);
}

/** The inverse of transpose4 with byte swap: vectors at src (4 x 16 bytes) to 16 big-endian bytes at each q. */
@inline function untranspose4(src: usize, q0: usize, q1: usize, q2: usize, q3: usize): void {
  const r0 = v128.load(src), r1 = v128.load(src, 16), r2 = v128.load(src, 32), r3 = v128.load(src, 48);
  const t0 = v128.shuffle<u32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<u32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<u32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<u32>(r2, r3, 2, 6, 3, 7);
  const a = v128.shuffle<u64>(t0, t2, 0, 2), b = v128.shuffle<u64>(t0, t2, 1, 3);
  const c = v128.shuffle<u64>(t1, t3, 0, 2), d = v128.shuffle<u64>(t1, t3, 1, 3);
  v128.store(q0, i8x16.shuffle(a, a, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12));
  v128.store(q1, i8x16.shuffle(b, b, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12));
  v128.store(q2, i8x16.shuffle(c, c, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12));
  v128.store(q3, i8x16.shuffle(d, d, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12));
}

/** The four lane digests of S4, big-endian, to out + 32 l. */
function digests4(out: usize): void {
  untranspose4(S4, out, out + 32, out + 64, out + 96);
  untranspose4(S4 + 64, out + 16, out + 48, out + 80, out + 112);
}

/** Write lane l of S4 as a big-endian 32-byte digest to `out`. */
@inline function laneDigest(l: usize, out: usize): void {
  for (let j: usize = 0; j < 8; j++) store<u32>(out + (j << 2), bswap<u32>(load<u32>(S4 + (j << 4) + (l << 2))));
}

/** Finish four HMACs after absorb4 of the inner messages: outer hash in the lanes, digests to OUT4. */
function outer4(): void {
  for (let j: usize = 0; j < 8; j++) v128.store(W4 + (j << 4), v128.load(S4 + (j << 4)));
  v128.store(W4 + 128, i32x4.splat(0x80000000));
  for (let j: usize = 9; j < 15; j++) v128.store(W4 + (j << 4), i32x4.splat(0));
  v128.store(W4 + 240, i32x4.splat(768));
  const s0 = <usize> load<u32>(LANE) + 32, s1 = <usize> load<u32>(LANE + 12) + 32;
  const s2 = <usize> load<u32>(LANE + 24) + 32, s3 = <usize> load<u32>(LANE + 36) + 32;
  transpose4(s0, s1, s2, s3, S4, false);
  transpose4(s0 + 16, s1 + 16, s2 + 16, s3 + 16, S4 + 64, false);
  compress4(S4, W4);
  digests4(OUT4);
}

/** Whether the four 16-byte descriptors from `d` have messages of the same block count. */
@inline function sameBlocks4(d: usize, stride: usize, lenOff: usize): bool {
  const nb = blockCount(load<u32>(d + lenOff));
  return blockCount(load<u32>(d + stride + lenOff)) == nb &&
    blockCount(load<u32>(d + 2 * stride + lenOff)) == nb &&
    blockCount(load<u32>(d + 3 * stride + lenOff)) == nb;
}

/** Four HMACs (16-byte descriptors at d: key index, ptr, len) into OUT4 + 32 l. */
function hmac4(keys: usize, d: usize): void {
  groups++;
  for (let l: usize = 0; l < 4; l++) {
    const q = d + (l << 4);
    setLane(l, keys + (<usize> load<u32>(q) << 6), load<u32>(q, 4), load<u32>(q, 8));
  }
  absorb4(64, blockCount(load<u32>(d, 8)));
  outer4();
}

/** Constant-time comparison of the first `tagBits` bits (MSB first) of `a` and `b`; 1 when equal. */
export function tagEqual(a: usize, b: usize, tagBits: u32): u32 {
  const full = <usize> (tagBits >>> 3);
  let diff: u32 = 0;
  for (let i: usize = 0; i < full; i++) diff |= <u32> load<u8>(a + i) ^ <u32> load<u8>(b + i);
  const rest = tagBits & 7;
  if (rest != 0) {
    const mask: u32 = (0xff << (8 - rest)) & 0xff;
    diff |= (<u32> load<u8>(a + full) ^ <u32> load<u8>(b + full)) & mask;
  }
  return ((diff - 1) >>> 31) & 1;
}

/**
 * MAC `count` messages. Descriptor i at desc + 16 i: u32 key index, u32 message ptr, u32 length, u32 unused.
 * Writes the first `tagBytes` bytes of each MAC to out + tagBytes i.
 */
export function hmacBatch(keys: usize, desc: usize, count: u32, out: usize, tagBytes: u32): void {
  let i: u32 = 0;
  while (i < count) {
    const d = desc + (<usize> i << 4);
    if (simd && i + 4 <= count && sameBlocks4(d, 16, 8)) {
      hmac4(keys, d);
      for (let l: u32 = 0; l < 4; l++) memory.copy(out + <usize> (i + l) * tagBytes, OUT4 + (<usize> l << 5), tagBytes);
      i += 4;
      continue;
    }
    hmac(keys + (<usize> load<u32>(d) << 6), load<u32>(d, 4), load<u32>(d, 8), MAC);
    memory.copy(out + <usize> i * tagBytes, MAC, tagBytes);
    i++;
  }
}

/**
 * Verify `count` tags. Descriptor as in hmacBatch with the 4th u32 the pointer of the received tag.
 * Writes 1 (valid) or 0 to the byte verdicts + i. Returns the number of valid tags.
 */
export function verifyBatch(keys: usize, desc: usize, count: u32, tagBits: u32, verdicts: usize): u32 {
  let ok: u32 = 0;
  let i: u32 = 0;
  while (i < count) {
    const d = desc + (<usize> i << 4);
    if (simd && i + 4 <= count && sameBlocks4(d, 16, 8)) {
      hmac4(keys, d);
      for (let l: u32 = 0; l < 4; l++) {
        const v = tagEqual(OUT4 + (<usize> l << 5), load<u32>(d + (<usize> l << 4), 12), tagBits);
        store<u8>(verdicts + i + l, <u8> v);
        ok += v;
      }
      i += 4;
      continue;
    }
    hmac(keys + (<usize> load<u32>(d) << 6), load<u32>(d, 4), load<u32>(d, 8), MAC);
    const v = tagEqual(MAC, load<u32>(d, 12), tagBits);
    store<u8>(verdicts + i, <u8> v);
    ok += v;
    i++;
  }
  return ok;
}

// Replay slot: u64 highest counter, u32 "seen anything", u32 pad, then a ring bitmap of `window` bits
// (bit c mod window set = counter c seen, for counters within window of the highest).

@inline function bitIndex(c: u64, window: u32): u32 {
  return <u32> (c % <u64> window);
}

@inline function setBit(bitmap: usize, b: u32): void {
  const p = bitmap + <usize> (b >>> 3);
  store<u8>(p, <u8> (<u32> load<u8>(p) | (<u32> 1 << (b & 7))));
}

@inline function clearBit(bitmap: usize, b: u32): void {
  const p = bitmap + <usize> (b >>> 3);
  store<u8>(p, <u8> (<u32> load<u8>(p) & ~(<u32> 1 << (b & 7))));
}

/** Check and (when `commit`) record counter `c` in the replay slot; returns 1 when fresh. */
function replayCheck(slot: usize, window: u32, c: u64, commit: bool): u32 {
  const bitmap = slot + 16;
  if (load<u32>(slot, 8) == 0) {
    if (commit) {
      memory.fill(bitmap, 0, window >>> 3);
      store<u64>(slot, c);
      store<u32>(slot, 1, 8);
      setBit(bitmap, bitIndex(c, window));
    }
    return 1;
  }
  const hi = load<u64>(slot);
  if (c > hi) {
    if (commit) {
      const gap = c - hi;
      if (gap >= <u64> window) {
        memory.fill(bitmap, 0, window >>> 3);
      } else {
        for (let x = hi + 1; x < c; x++) clearBit(bitmap, bitIndex(x, window));
      }
      setBit(bitmap, bitIndex(c, window));
      store<u64>(slot, c);
    }
    return 1;
  }
  if (hi - c >= <u64> window) return 0;
  const b = bitIndex(c, window);
  if (((<u32> load<u8>(bitmap + <usize> (b >>> 3)) >>> (b & 7)) & 1) != 0) return 0;
  if (commit) setBit(bitmap, b);
  return 1;
}

/** Lowercase hex of the 32 bytes at DIG, to `hex` (64 bytes). */
function writeHex(hex: usize): void {
  for (let j: usize = 0; j < 32; j++) {
    const x = load<u8>(DIG + j);
    store<u8>(hex + (j << 1), load<u8>(HEX + (x >>> 4)));
    store<u8>(hex + (j << 1) + 1, load<u8>(HEX + (x & 15)));
  }
}

/** Whether four envelope descriptors from `d` have canonical strings of the same block count. */
@inline function sameCanon4(d: usize): bool {
  const nb = blockCount(load<u32>(d, 12) + 64);
  return blockCount(load<u32>(d, 48 + 12) + 64) == nb && blockCount(load<u32>(d, 96 + 12) + 64) == nb &&
    blockCount(load<u32>(d, 144 + 12) + 64) == nb;
}

/** Tag, drift, replay for one envelope descriptor whose computed MAC is at `mac`. */
function policy(
  d: usize,
  mac: usize,
  slots: usize,
  slotStride: usize,
  window: u32,
  tagBits: u32,
  nowMs: f64,
  driftMs: f64,
): u8 {
  if (tagEqual(mac, load<u32>(d, 24), tagBits) == 0) return V_BAD_SIGNATURE;
  if (Math.abs(nowMs - load<f64>(d, 40)) > driftMs) return V_TIMESTAMP_DRIFT;
  if (replayCheck(slots + <usize> load<u32>(d, 4) * slotStride, window, <u64> load<f64>(d, 32), true) == 0) {
    return V_REPLAY;
  }
  return V_OK;
}

/**
 * The envelope policy for `count` envelopes. Descriptor i (48 bytes) at desc + 48 i:
 *   u32 key index, u32 replay slot index, u32 canonical ptr, u32 canonical prefix length,
 *   u32 body ptr, u32 body length, u32 tag ptr, u32 unused, f64 counter, f64 timestamp (ms).
 * The 64 lowercase hex characters of SHA-256(body) are written at canonical ptr + prefix length,
 * then the tag is checked over the prefix and the hex. Order: tag, drift, replay; the replay
 * window only records envelopes that pass every check. Verdict bytes: V_OK, V_BAD_SIGNATURE,
 * V_TIMESTAMP_DRIFT, V_REPLAY. Returns the number accepted.
 */
export function verifyEnvelopes(
  keys: usize,
  slots: usize,
  window: u32,
  desc: usize,
  count: u32,
  tagBits: u32,
  nowMs: f64,
  driftMs: f64,
  verdicts: usize,
): u32 {
  const slotStride = <usize> (16 + (window >>> 3));
  let ok: u32 = 0;
  let i: u32 = 0;
  while (i < count) {
    const d = desc + <usize> i * 48;
    if (simd && i + 4 <= count && sameBlocks4(d, 48, 20) && sameCanon4(d)) {
      // body hashes in the lanes, hex into each canonical string, then the four HMACs in the lanes
      groups++;
      for (let l: usize = 0; l < 4; l++) {
        const q = d + l * 48;
        setLane(l, IV, load<u32>(q, 16), load<u32>(q, 20));
      }
      absorb4(0, blockCount(load<u32>(d, 20)));
      for (let l: usize = 0; l < 4; l++) {
        const q = d + l * 48;
        laneDigest(l, DIG);
        writeHex(<usize> load<u32>(q, 8) + <usize> load<u32>(q, 12));
        setLane(l, keys + (<usize> load<u32>(q) << 6), load<u32>(q, 8), load<u32>(q, 12) + 64);
      }
      absorb4(64, blockCount(load<u32>(d, 12) + 64));
      outer4();
      for (let l: u32 = 0; l < 4; l++) {
        const v = policy(
          d + <usize> l * 48,
          OUT4 + (<usize> l << 5),
          slots,
          slotStride,
          window,
          tagBits,
          nowMs,
          driftMs,
        );
        store<u8>(verdicts + i + l, v);
        if (v == V_OK) ok++;
      }
      i += 4;
      continue;
    }
    const canon = <usize> load<u32>(d, 8);
    const prefix = <usize> load<u32>(d, 12);
    sha256(load<u32>(d, 16), load<u32>(d, 20), DIG);
    writeHex(canon + prefix);
    hmac(keys + (<usize> load<u32>(d) << 6), canon, prefix + 64, MAC);
    const v = policy(d, MAC, slots, slotStride, window, tagBits, nowMs, driftMs);
    store<u8>(verdicts + i, v);
    if (v == V_OK) ok++;
    i++;
  }
  return ok;
}
