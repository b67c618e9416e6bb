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

// ---------------------------------------------------------------------------------------------
// NDJSON writer: turns the outputs of the last decodeBatch into lines of
// {"ts":…,"iface":…,"id":…,"extended":…,"message":…,"signals":{…}}
// The host lays out constant texts (per message the part from ,"id" to "signals":{, per signal
// its "name": key, per interface its JSON string) and numbers are written here; only
// non-integer values go back to the host (fmtF64), so they read exactly as JSON.stringify writes.

// @ts-ignore: decorator
@external("env", "fmtF64")
declare function fmtF64(v: f64, at: usize): u32;

let tMsg: usize = 0; // i32 pairs (offset, length) per message
let tSig: usize = 0; // i32 pairs per signal
let tIface: usize = 0; // i32 pairs per interface index
let tMax: usize = 0; // i32 per message: most bytes one frame can take
let tOut: usize = 0;
let tOutCap: u32 = 0;
let tNextFrame: u32 = 0;
let tNextValue: u32 = 0;

/** Where the text tables and the text output region are. */
export function configureText(msg: usize, sig: usize, iface: usize, max: usize, out: usize, outCap: u32): void {
  tMsg = msg;
  tSig = sig;
  tIface = iface;
  tMax = max;
  tOut = out;
  tOutCap = outCap;
}

/** Frame to continue from after formatNdjson returned. */
export function nextFrame(): u32 {
  return tNextFrame;
}

/** Output value to continue from after formatNdjson returned. */
export function nextValue(): u32 {
  return tNextValue;
}

// @ts-ignore: decorator
@inline
function putText(at: usize, table: usize, index: usize): usize {
  const e = table + (index << 3);
  const len = <usize>load<i32>(e, 4);
  const src = <usize>load<i32>(e);
  if (len > 64) {
    memory.copy(at, src, len);
  } else {
    // Eight bytes at a time; the few bytes past the end are overwritten next (the host leaves room).
    for (let i: usize = 0; i < len; i += 8) store<u64>(at + i, load<u64>(src + i));
  }
  return at + len;
}

// @ts-ignore: decorator
@inline
function putByte(at: usize, b: u8): usize {
  store<u8>(at, b);
  return at + 1;
}

function putU64(at: usize, n: u64): usize {
  let digits: usize = 1;
  for (let t = n; t >= 10; t /= 10) digits++;
  let k = at + digits;
  do {
    const q = n / 10;
    store<u8>(--k, <u8>(48 + (n - q * 10)));
    n = q;
  } while (n > 0);
  return at + digits;
}

/** A number as JSON.stringify writes it. */
function putNumber(at: usize, v: f64): usize {
  if (v > -1e15 && v < 1e15 && v == Math.floor(v)) {
    if (v < 0) return putU64(putByte(at, 45), <u64>(-v));
    return putU64(at, <u64>v);
  }
  if (!isFinite(v)) {
    store<u32>(at, 0x6c6c756e); // null
    return at + 4;
  }
  return at + <usize>fmtF64(v, at);
}

/** A candump timestamp (see tools/decode.ts putTs: six decimals at most, below 2^32 s). */
function putTimestamp(at: usize, ts: f64): usize {
  const micros = Math.round(ts * 1e6);
  if (ts >= 1 && ts < 4294967296 && micros / 1e6 == ts) {
    const sec = Math.floor(ts);
    let frac = <u64>(micros - sec * 1e6);
    at = putU64(at, <u64>sec);
    if (frac == 0) return at;
    let digits: usize = 6;
    while (frac % 10 == 0) {
      frac /= 10;
      digits--;
    }
    at = putByte(at, 46);
    let k = at + digits;
    while (k > at) {
      const q = frac / 10;
      store<u8>(--k, <u8>(48 + (frac - q * 10)));
      frac = q;
    }
    return at + digits;
  }
  return putNumber(at, ts);
}

/**
 * Write NDJSON lines for frames [frame, frames) of the last decodeBatch (values from `value`
 * on) into the text output region, stopping early when it is nearly full. Returns the bytes
 * written; nextFrame()/nextValue() say where to continue.
 */
export function formatNdjson(frames: u32, values: u32, frame: u32, value: u32): u32 {
  let at = tOut;
  const end = tOut + <usize>tOutCap;
  let v = value;
  let f = frame;
  for (; f < frames; f++) {
    const m = load<i32>(gFrameMsg + ((<usize>f) << 2));
    if (m < 0) continue;
    if (at + <usize>load<i32>(tMax + ((<usize>m) << 2)) > end) break;
    const rec = gIn + (<usize>f) * REC;
    store<u64>(at, 0x3a227374227b); // {"ts":
    at = putTimestamp(at + 6, load<f64>(rec));
    store<u64>(at, 0x226563616669222c); // ,"iface (then ":)
    store<u8>(at, 0x3a, 8);
    at = putText(at + 9, tIface, <usize>load<u16>(rec, 14));
    at = putText(at, tMsg, <usize>m);
    let first = true;
    while (v < values && load<u32>(gOutFrame + ((<usize>v) << 2)) == f) {
      if (!first) at = putByte(at, 44);
      first = false;
      at = putText(at, tSig, <usize>load<u32>(gOutSig + ((<usize>v) << 2)));
      at = putNumber(at, load<f64>(gOutVal + ((<usize>v) << 3)));
      v++;
    }
    store<u16>(at, 0x7d7d); // }}
    store<u8>(at, 10, 2);
    at += 3;
  }
  tNextFrame = f;
  tNextValue = v;
  return <u32>(at - tOut);
}
