// SHA-256 (FIPS 180-4) compression and padding, scalar. Shared by crypto.ts.
// State: 8 u32 words in native (little-endian) order at `state`.
import { compressBlock } from "./sha256_unrolled";

/** Round constants. */
export const K: usize = memory.data<u32>([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);

/** Initial hash value. */
export const IV: usize = memory.data<u32>([
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
]);

/** Padding scratch: up to two blocks. */
export const PAD: usize = memory.data(128, 16);

/** Compress one 64-byte block at `block` into `state`. */
@inline export function compress(state: usize, block: usize): void {
  compressBlock(state, block);
}

/**
 * Hash `len` bytes at `ptr` into `state` (already initialised, `prefix` bytes already absorbed,
 * `prefix` a multiple of 64), pad, and write the 32-byte big-endian digest to `out`.
 */
export function finish(state: usize, ptr: usize, len: usize, prefix: u64, out: usize): void {
  absorb(state, ptr, len, prefix);
  for (let i: usize = 0; i < 32; i += 4) store<u32>(out + i, bswap<u32>(load<u32>(state + i)));
}

/** Like {@link finish} but leaves the result in `state` (native words) instead of writing a digest. */
export function absorb(state: usize, ptr: usize, len: usize, prefix: u64): void {
  let off: usize = 0;
  while (len - off >= 64) {
    compress(state, ptr + off);
    off += 64;
  }
  const rem = len - off;
  memory.copy(PAD, ptr + off, rem);
  store<u8>(PAD + rem, 0x80);
  const blocks: usize = rem < 56 ? 64 : 128;
  memory.fill(PAD + rem + 1, 0, blocks - rem - 1 - 8);
  const bits: u64 = (prefix + <u64> len) << 3;
  store<u64>(PAD + blocks - 8, bswap<u64>(bits));
  compress(state, PAD);
  if (blocks == 128) compress(state, PAD + 64);
}

/** Padded tail of a message: the blocks after floor(len / 64) full ones, written to `dst` (128 bytes). */
export function padTail(dst: usize, ptr: usize, len: usize, prefix: u64): void {
  const full = len & ~63;
  const rem = len - full;
  memory.copy(dst, ptr + full, rem);
  store<u8>(dst + rem, 0x80);
  const blocks: usize = rem < 56 ? 64 : 128;
  memory.fill(dst + rem + 1, 0, blocks - rem - 1 - 8);
  store<u64>(dst + blocks - 8, bswap<u64>((prefix + <u64> len) << 3));
}

/** Blocks SHA-256 processes for `len` message bytes (full blocks plus one or two padded ones). */
@inline export function blockCount(len: usize): usize {
  return (len + 9 + 63) >>> 6;
}
