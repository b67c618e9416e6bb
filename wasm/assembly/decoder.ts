// CAN signal decoder (AssemblyScript). The host copies a decode plan (core/can/plan.ts)
// into linear memory once, writes frame records (core/can/batch.ts) into the input
// region and calls decodeBatch(n). Nothing is allocated here: all regions are laid out
// by the host above __heap_base and passed to configure().

// Record layout (core/can/batch.ts).
const REC: usize = 80;
const OFF_ID: usize = 8;
const OFF_LEN: usize = 12;
const OFF_DATA: usize = 16;
const EFF: u32 = 0x80000000;
const RTR_ERR: u32 = 0x60000000;
const EFF_MASK: u32 = 0x1fffffff;
const SFF_MASK: u32 = 0x7ff;

// Plan layout (core/can/plan.ts).
const MSG_BYTES: usize = 48; // 12 x i32
const SIG_BYTES: usize = 48; // 12 x i32
const MSG_FLAG_MUX: i32 = 1;
const F_BE: i32 = 1;
const F_SIGNED: i32 = 2;
const F_F32: i32 = 4;
const F_F64: i32 = 8;
const F_WIDE: i32 = 16;
const F_SWITCH: i32 = 32;
const F_U64: i32 = 64;

let gMsg: usize = 0;
let gSig: usize = 0;
let gScale: usize = 0;
let gRange: usize = 0;
let gHash: usize = 0;
let gHashShift: u32 = 31;
let gHashMask: u32 = 1;
let gIn: usize = 0;
let gOutFrame: usize = 0;
let gOutSig: usize = 0;
let gOutVal: usize = 0;
let gOutRaw: usize = 0;
let gFrameMsg: usize = 0;
let gSwitchVal: usize = 0; // f64 per local signal index
let gActive: usize = 0; // u8 per local signal index
let gMatched: u32 = 0;

/** First free byte above the module's static data. */
export function heapBase(): usize {
  return __heap_base;
}

/** Tell the module where the plan, the input and the outputs live. */
export function configure(
  msg: usize,
  sig: usize,
  scale: usize,
  range: usize,
  hash: usize,
  hashBits: u32,
  input: usize,
  outFrame: usize,
  outSig: usize,
  outVal: usize,
  outRaw: usize,
  frameMsg: usize,
  scratch: usize,
  scratchSlots: u32,
): void {
  gMsg = msg;
  gSig = sig;
  gScale = scale;
  gRange = range;
  gHash = hash;
  gHashShift = 32 - hashBits;
  gHashMask = (1 << hashBits) - 1;
  gIn = input;
  gOutFrame = outFrame;
  gOutSig = outSig;
  gOutVal = outVal;
  gOutRaw = outRaw;
  gFrameMsg = frameMsg;
  gSwitchVal = scratch;
  gActive = scratch + (<usize>scratchSlots << 3);
}

/** Frames of the last decodeBatch whose ID was in the plan. */
export function matched(): u32 {
  return gMatched;
}

// @ts-ignore: decorator
@inline
function lookup(key: u32): i32 {
  let h = (key * 0x9e3779b1) >>> gHashShift;
  while (true) {
    const e = gHash + ((<usize>h) << 3);
    const v = load<i32>(e, 4);
    if (v == 0) return -1;
    if (load<u32>(e) == key) return v - 1;
    h = (h + 1) & gHashMask;
  }
}

// Byte-swapped u64 load. WASM has no bswap instruction and the scalar version is ~15
// operations; one SIMD shuffle (pshufb on x86) does it.
// @ts-ignore: decorator
@inline
function bswap64(p: usize): u64 {
  const v = v128.load64_zero(p);
  return i64x2.extract_lane(i8x16.shuffle(v, v, 7, 6, 5, 4, 3, 2, 1, 0, 8, 9, 10, 11, 12, 13, 14, 15), 0);
}

// @ts-ignore: decorator
@inline
function extract(data: usize, s: usize, flags: i32): u64 {
  const len = load<i32>(s, 4);
  const byte = <usize>load<i32>(s, 12);
  const shift = <u64>load<i32>(s, 16);
  const rs = <u64>(64 - len);
  let top: u64;
  if (flags & F_BE) {
    top = bswap64(data + byte) << shift;
    if (flags & F_WIDE) top |= (<u64>load<u8>(data + byte, 8)) >> (8 - shift);
  } else {
    if (flags & F_WIDE) {
      top = ((load<u64>(data + byte) >> shift) | ((<u64>load<u8>(data + byte, 8)) << (64 - shift))) << rs;
    } else {
      top = load<u64>(data + byte) << (rs - shift);
    }
  }
  if (flags & F_SIGNED) return <u64>(<i64>top >> rs);
  return top >> rs;
}

// @ts-ignore: decorator
@inline
function physical(raw: u64, flags: i32, g: usize): f64 {
  let v: f64;
  if (flags & (F_F32 | F_F64)) {
    v = flags & F_F32 ? <f64>reinterpret<f32>(<u32>raw) : reinterpret<f64>(raw);
  } else {
    // Signed, or unsigned below 64 bits: the value fits an i64, and the signed
    // conversion is one instruction (the unsigned one is a branchy sequence).
    v = flags & F_U64 ? <f64>raw : <f64>(<i64>raw);
  }
  return scaled(v, g);
}

// @ts-ignore: decorator
@inline
function scaled(v: f64, g: usize): f64 {
  const sc = gScale + (g << 4);
  return v * load<f64>(sc) + load<f64>(sc, 8);
}

// @ts-ignore: decorator
@inline
function emit(out: u32, frame: u32, g: u32, raw: u64, v: f64): void {
  const o = <usize>out;
  store<u32>(gOutFrame + (o << 2), frame);
  store<u32>(gOutSig + (o << 2), g);
  store<u64>(gOutRaw + (o << 3), raw);
  store<f64>(gOutVal + (o << 3), v);
}

function decodeFrame(frame: u32, rec: usize, m: i32, out: u32): u32 {
  const mp = gMsg + (<usize>m) * MSG_BYTES;
  const first = load<u32>(mp, 8);
  const count = load<u32>(mp, 12);
  const mflags = load<i32>(mp, 20);
  const need = load<u32>(mp, 24);
  const len = <u32>load<u8>(rec, OFF_LEN);
  const data = rec + OFF_DATA;
  if ((mflags & MSG_FLAG_MUX) == 0 && len >= need) {
    // Fast path: every signal present and in range; one branch-free loop per group.
    let g = first;
    let s = gSig + (<usize>g) * SIG_BYTES;
    let end = g + load<u32>(mp, 28);
    for (; g < end; g++, s += SIG_BYTES, out++) {
      const rs = <u64>(64 - load<i32>(s, 4));
      const raw = (load<u64>(data + <usize>load<i32>(s, 12)) << (rs - <u64>load<i32>(s, 16))) >> rs;
      emit(out, frame, g, raw, scaled(<f64>(<i64>raw), <usize>g));
    }
    end += load<u32>(mp, 32);
    for (; g < end; g++, s += SIG_BYTES, out++) {
      const rs = <u64>(64 - load<i32>(s, 4));
      const raw = <u64>((<i64>(load<u64>(data + <usize>load<i32>(s, 12)) << (rs - <u64>load<i32>(s, 16)))) >> rs);
      emit(out, frame, g, raw, scaled(<f64>(<i64>raw), <usize>g));
    }
    end += load<u32>(mp, 36);
    for (; g < end; g++, s += SIG_BYTES, out++) {
      const rs = <u64>(64 - load<i32>(s, 4));
      const raw = (bswap64(data + <usize>load<i32>(s, 12)) << <u64>load<i32>(s, 16)) >> rs;
      emit(out, frame, g, raw, scaled(<f64>(<i64>raw), <usize>g));
    }
    end += load<u32>(mp, 40);
    for (; g < end; g++, s += SIG_BYTES, out++) {
      const rs = <u64>(64 - load<i32>(s, 4));
      const raw = <u64>((<i64>(bswap64(data + <usize>load<i32>(s, 12)) << <u64>load<i32>(s, 16))) >> rs);
      emit(out, frame, g, raw, scaled(<f64>(<i64>raw), <usize>g));
    }
    end = first + count;
    for (; g < end; g++, s += SIG_BYTES, out++) {
      const flags = load<i32>(s, 8);
      const raw = extract(data, s, flags);
      emit(out, frame, g, raw, physical(raw, flags, <usize>g));
    }
    return out;
  }
  const short = len < need;
  let s = gSig + (<usize>first) * SIG_BYTES;
  for (let i: u32 = 0; i < count; i++, s += SIG_BYTES) {
    const flags = load<i32>(s, 8);
    const sw = load<i32>(s, 20);
    let active = true;
    if (sw >= 0) {
      active = load<u8>(gActive + <usize>sw) != 0;
      if (active) {
        const x = load<f64>(gSwitchVal + ((<usize>sw) << 3));
        const r0 = load<i32>(s, 24);
        const rn = load<i32>(s, 28);
        active = false;
        for (let r = r0; r < r0 + rn; r++) {
          const rp = gRange + ((<usize>r) << 4);
          if (x >= load<f64>(rp) && x <= load<f64>(rp, 8)) {
            active = true;
            break;
          }
        }
      }
      if (!active) {
        // Not selected: neither are the following signals with the same switch and values (no switches among them).
        if (flags & F_SWITCH) store<u8>(gActive + <usize>i, 0);
        const skip = <u32>load<i32>(s, 36);
        i += skip;
        s += (<usize>skip) * SIG_BYTES;
        continue;
      }
    }
    if (short && load<i32>(s, 32) > <i32>len) active = false;
    if (flags & F_SWITCH) store<u8>(gActive + <usize>i, active ? 1 : 0);
    if (active) {
      const raw = extract(data, s, flags);
      if (flags & F_SWITCH) {
        store<f64>(gSwitchVal + ((<usize>i) << 3), flags & F_SIGNED ? <f64>(<i64>raw) : <f64>raw);
      }
      emit(out, frame, first + i, raw, physical(raw, flags, <usize>(first + i)));
      out++;
    }
  }
  return out;
}

// @ts-ignore: decorator
@inline
function messageOf(rec: usize): i32 {
  const id = load<u32>(rec, OFF_ID);
  if (id & RTR_ERR) return -1;
  return lookup(id & EFF ? id & (EFF | EFF_MASK) : id & SFF_MASK);
}

/**
 * Decode records [0, n) of the input region. Writes, per decoded signal value, the
 * frame index, global signal id, raw bits and physical value; per frame the message
 * index (or -1) into the frame-message region. Returns the number of values.
 */
export function decodeBatch(n: u32): u32 {
  let out: u32 = 0;
  let hits: u32 = 0;
  let rec = gIn;
  for (let i: u32 = 0; i < n; i++) {
    const m = messageOf(rec);
    store<i32>(gFrameMsg + ((<usize>i) << 2), m);
    if (m >= 0) {
      hits++;
      out = decodeFrame(i, rec, m, out);
    }
    rec += REC;
  }
  gMatched = hits;
  return out;
}

/** Decode the single record `index` of the input region into the start of the outputs. */
export function decodeOne(index: u32): u32 {
  const rec = gIn + (<usize>index) * REC;
  const m = messageOf(rec);
  store<i32>(gFrameMsg, m);
  gMatched = m >= 0 ? 1 : 0;
  if (m < 0) return 0;
  return decodeFrame(index, rec, m, 0);
}
