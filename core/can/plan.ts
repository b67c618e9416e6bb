/**
 * The decode-plan compiler: turns a {@link DbcDatabase} into a compact set of flat
 * typed arrays that the WASM decoder (`wasm/assembly/decoder.ts`) copies into its
 * linear memory once and then walks per frame without allocating.
 *
 * ## Layout
 *
 * Messages — `messages: Int32Array`, {@link MSG_STRIDE} = 12 slots per message:
 *
 * | slot | field |
 * |---|---|
 * | 0 | `key`: `id`, or `id \| CAN_EFF_FLAG` for extended messages (as an i32 bit pattern) |
 * | 1 | DBC length in bytes |
 * | 2 | first signal (global signal id) |
 * | 3 | number of signals |
 * | 4 | local index of the message's main multiplexer switch (`M`), or -1 |
 * | 5 | flags: bit0 {@link MSG_FLAG_MUX} (some signal is multiplexed) |
 * | 6 | bytes a frame needs so that every signal fits (fast path when `len >= this`) |
 * | 7-10 | for messages without multiplexing: how many signals, from the first, are in the groups Intel unsigned, Intel signed, Motorola unsigned, Motorola signed (the rest — floats, unsigned 64-bit and nine-byte signals — follow); the WASM decodes each group in a branch-free loop |
 * | 11 | reserved (0) |
 *
 * Signals — `signals: Int32Array`, {@link SIG_STRIDE} = 12 slots per signal, stored
 * per message in dependency order (a multiplexer switch always comes before the
 * signals it controls) for multiplexed messages, and sorted by the groups above for
 * the others. The global signal id is simply the record index:
 *
 * | slot | field |
 * |---|---|
 * | 0 | normalised LSB bit position: Intel = `startBit` (LSB, little-endian bit numbering); Motorola = linear big-endian index of the LSB (`msb + length - 1`, where the byte's bit 7 is index 0 of that byte) |
 * | 1 | length in bits (1-64) |
 * | 2 | flags: {@link SIG_FLAG_BIG_ENDIAN}, {@link SIG_FLAG_SIGNED}, {@link SIG_FLAG_FLOAT32}, {@link SIG_FLAG_FLOAT64}, {@link SIG_FLAG_WIDE}, {@link SIG_FLAG_SWITCH}, {@link SIG_FLAG_U64} |
 * | 3 | first byte of the 8-byte load window |
 * | 4 | shift inside the window (Intel: right shift of the little-endian u64 load; Motorola: left shift of the byte-swapped load) |
 * | 5 | local index (within the message) of the mux switch controlling this signal, or -1 |
 * | 6 | first mux range (index into `muxRanges`, pairs) |
 * | 7 | number of mux ranges |
 * | 8 | bytes the frame needs to carry this signal |
 * | 9 | multiplexed signals: how many following signals have the same switch and values (none of them a switch), skipped together when the switch does not select them |
 * | 10-11 | reserved (0) |
 *
 * `scales: Float64Array` holds `factor, offset` per signal; `muxRanges: Float64Array`
 * holds inclusive `min, max` pairs compared with the switch's raw integer value.
 *
 * ID lookup — `hash: Int32Array` is an open-addressing table of `2^hashBits` slots,
 * two i32 each: `key`, `message index + 1` (0 = empty). Slot of a key:
 * `Math.imul(key, 0x9E3779B1) >>> (32 - hashBits)`, then linear probing. The load
 * factor is at most 1/2, so a lookup is O(1).
 *
 * Raw extraction (what both the WASM and {@link decodePlanSignal} do): Intel loads the
 * u64 little endian at `byte`, shifts right by `shift` and keeps `length` bits;
 * Motorola loads it big endian, shifts left by `shift` and takes the top `length`
 * bits. {@link SIG_FLAG_WIDE} marks the rare case (`shift + length > 64`) that needs a
 * ninth byte. Signed values are sign-extended; floats reinterpret the bits; the
 * physical value is `raw * factor + offset`.
 *
 * @module
 */
import { PipelineError } from "../errors/mod.ts";
import { CAN_EFF_FLAG, CANFD_MAX_DLEN, type DbcDatabase, type MessageDef, type SignalDef } from "./types.ts";

/** i32 slots per message record. */
export const MSG_STRIDE = 12;
/** i32 slots per signal record. */
export const SIG_STRIDE = 12;
/** Message flag: at least one signal is multiplexed. */
export const MSG_FLAG_MUX = 1;
/** Signal flag: Motorola (big-endian) byte order. */
export const SIG_FLAG_BIG_ENDIAN = 1;
/** Signal flag: two's complement integer. */
export const SIG_FLAG_SIGNED = 2;
/** Signal flag: IEEE float32. */
export const SIG_FLAG_FLOAT32 = 4;
/** Signal flag: IEEE float64. */
export const SIG_FLAG_FLOAT64 = 8;
/** Signal flag: the bits span nine bytes (shift + length > 64). */
export const SIG_FLAG_WIDE = 16;
/** Signal flag: this signal is a multiplexer switch. */
export const SIG_FLAG_SWITCH = 32;
/** Signal flag: unsigned 64-bit integer (needs the unsigned u64 → f64 conversion). */
export const SIG_FLAG_U64 = 64;

/** A compiled decode plan (see the module documentation for the layout). */
export interface DecodePlan {
  /** Number of messages. */
  messageCount: number;
  /** Number of signals over all messages. */
  signalCount: number;
  /** Largest number of signals in one message (bounds the outputs per frame). */
  maxSignalsPerMessage: number;
  /** {@link MSG_STRIDE} slots per message. */
  messages: Int32Array;
  /** {@link SIG_STRIDE} slots per signal. */
  signals: Int32Array;
  /** `factor, offset` per signal. */
  scales: Float64Array;
  /** Inclusive `min, max` pairs of multiplexer values. */
  muxRanges: Float64Array;
  /** Open-addressing ID table: `key, messageIndex + 1` per slot. */
  hash: Int32Array;
  /** log2 of the number of hash slots. */
  hashBits: number;
  /** Message names by message index. */
  messageNames: string[];
  /** Signal names by global signal id. */
  signalNames: string[];
  /** Message index of each global signal id. */
  signalMessage: Uint32Array;
  /** The message definitions by message index. */
  messageDefs: MessageDef[];
  /** The signal definitions by global signal id (for units and value tables). */
  signalDefs: SignalDef[];
}

/** The integer key of a message: `id`, with `CAN_EFF_FLAG` for extended IDs (unsigned). */
export function messageKey(id: number, extended: boolean): number {
  return (extended ? (id | CAN_EFF_FLAG) : id) >>> 0;
}

/** The hash slot of a key for a table of `2^bits` slots. */
export function hashSlot(key: number, bits: number): number {
  return bits === 0 ? 0 : Math.imul(key, 0x9e3779b1) >>> (32 - bits);
}

/** Fast-path group of a signal (see the layout), 4 = generic. */
function signalGroup(s: SignalDef): number {
  if (s.valueType !== "integer" || (!s.signed && s.length === 64) || signalLayout(s).wide) return 4;
  return (s.byteOrder === "big_endian" ? 2 : 0) + (s.signed ? 1 : 0);
}

/**
 * Order signals so that every mux switch precedes the signals it controls; without
 * multiplexing, by fast-path group.
 */
function orderSignals(msg: MessageDef): SignalDef[] {
  if (msg.signals.every((s) => s.mux.multiplexerSignal === undefined)) {
    return msg.signals.map((s, i) => ({ s, i, k: signalGroup(s) }))
      .sort((a, b) => a.k - b.k || a.i - b.i)
      .map((x) => x.s);
  }
  const byName = new Map(msg.signals.map((s) => [s.name, s]));
  const depth = new Map<SignalDef, number>();
  const depthOf = (s: SignalDef, seen: Set<SignalDef>): number => {
    const known = depth.get(s);
    if (known !== undefined) return known;
    let d = 0;
    const sw = s.mux.multiplexerSignal;
    if (sw !== undefined) {
      const parent = byName.get(sw);
      if (!parent) {
        throw new PipelineError(
          "plan.mux",
          `message ${msg.name}: signal ${s.name} is multiplexed by ${sw}, which the message does not have`,
          { path: `${msg.name}.${s.name}` },
        );
      }
      if (seen.has(parent)) {
        throw new PipelineError("plan.mux", `message ${msg.name}: multiplexer cycle through ${s.name}`, {
          path: `${msg.name}.${s.name}`,
        });
      }
      seen.add(s);
      d = depthOf(parent, seen) + 1;
    }
    depth.set(s, d);
    return d;
  };
  for (const s of msg.signals) depthOf(s, new Set([s]));
  // Within a depth, signals under the same switch and the same values sit together (see slot 9).
  const muxKey = (s: SignalDef) =>
    s.mux.multiplexerSignal === undefined
      ? ""
      : `${s.mux.multiplexerSignal}\0${(s.mux.multiplexerValues ?? []).map((r) => `${r.min}-${r.max}`).join(",")}`;
  return msg.signals.map((s, i) => ({ s, i, d: depth.get(s)!, k: muxKey(s) }))
    .sort((a, b) => a.d - b.d || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0) || a.i - b.i)
    .map((x) => x.s);
}

/** Layout facts of one signal, as stored in slots 0, 3, 4, 8 and the WIDE flag. */
export interface SignalLayout {
  /** Normalised LSB position (slot 0). */
  pos: number;
  /** First byte of the load window. */
  byte: number;
  /** Shift inside the window. */
  shift: number;
  /** Bytes a frame needs. */
  bytesNeeded: number;
  /** A ninth byte is needed. */
  wide: boolean;
}

/** Compute where a signal's bits are (see the module documentation). */
export function signalLayout(sig: Pick<SignalDef, "startBit" | "length" | "byteOrder">): SignalLayout {
  const len = sig.length;
  if (sig.byteOrder === "little_endian") {
    const pos = sig.startBit;
    const shift = pos & 7;
    return { pos, byte: pos >> 3, shift, bytesNeeded: (pos + len + 7) >> 3, wide: shift + len > 64 };
  }
  const msb = (sig.startBit >> 3) * 8 + (7 - (sig.startBit & 7));
  const pos = msb + len - 1;
  const shift = msb & 7;
  return { pos, byte: msb >> 3, shift, bytesNeeded: (pos >> 3) + 1, wide: shift + len > 64 };
}

/**
 * Compile a DBC database into a {@link DecodePlan}.
 *
 * Throws `PipelineError` `plan.signal` for a signal the decoder cannot represent (length
 * outside 1-64, float32 not 32 bits, float64 not 64 bits, bits past byte 64),
 * `plan.mux` for a broken multiplexer reference and `plan.duplicate` when two messages
 * share an ID.
 */
export function compileDecodePlan(db: DbcDatabase): DecodePlan {
  const msgs = db.messages;
  const messageCount = msgs.length;
  const ordered = msgs.map(orderSignals);
  const signalCount = ordered.reduce((n, s) => n + s.length, 0);
  const messages = new Int32Array(messageCount * MSG_STRIDE);
  const signals = new Int32Array(signalCount * SIG_STRIDE);
  const scales = new Float64Array(signalCount * 2);
  const ranges: number[] = [];
  const messageNames: string[] = [];
  const signalNames: string[] = [];
  const signalMessage = new Uint32Array(signalCount);
  const signalDefs: SignalDef[] = [];
  let maxSignalsPerMessage = 0;
  let g = 0;
  for (let m = 0; m < messageCount; m++) {
    const msg = msgs[m];
    const sigs = ordered[m];
    const local = new Map(sigs.map((s, i) => [s.name, i]));
    const mo = m * MSG_STRIDE;
    let flags = 0;
    let need = 0;
    let mainSwitch = -1;
    messages[mo] = messageKey(msg.id, msg.extended) | 0;
    messages[mo + 1] = msg.length;
    messages[mo + 2] = g;
    messages[mo + 3] = sigs.length;
    maxSignalsPerMessage = Math.max(maxSignalsPerMessage, sigs.length);
    messageNames.push(msg.name);
    for (let i = 0; i < sigs.length; i++, g++) {
      const s = sigs[i];
      const where = `${msg.name}.${s.name}`;
      if (!Number.isInteger(s.length) || s.length < 1 || s.length > 64) {
        throw new PipelineError("plan.signal", `signal ${where}: length ${s.length} is outside 1-64 bits`, {
          path: where,
        });
      }
      if (s.valueType === "float32" && s.length !== 32) {
        throw new PipelineError("plan.signal", `signal ${where}: float32 needs 32 bits, not ${s.length}`, {
          path: where,
        });
      }
      if (s.valueType === "float64" && s.length !== 64) {
        throw new PipelineError("plan.signal", `signal ${where}: float64 needs 64 bits, not ${s.length}`, {
          path: where,
        });
      }
      const lay = signalLayout(s);
      if (s.startBit < 0 || lay.bytesNeeded > CANFD_MAX_DLEN) {
        throw new PipelineError(
          "plan.signal",
          `signal ${where}: start bit ${s.startBit} with ${s.length} bits lies outside a 64-byte payload`,
          { path: where },
        );
      }
      const so = g * SIG_STRIDE;
      let sf = 0;
      if (s.byteOrder === "big_endian") sf |= SIG_FLAG_BIG_ENDIAN;
      if (s.valueType === "float32") sf |= SIG_FLAG_FLOAT32;
      else if (s.valueType === "float64") sf |= SIG_FLAG_FLOAT64;
      else if (s.signed) sf |= SIG_FLAG_SIGNED;
      else if (s.length === 64) sf |= SIG_FLAG_U64;
      if (lay.wide) sf |= SIG_FLAG_WIDE;
      if (s.mux.isMultiplexer) {
        sf |= SIG_FLAG_SWITCH;
        if (mainSwitch < 0 && s.mux.multiplexerSignal === undefined) mainSwitch = i;
      }
      let sw = -1;
      const rangeStart = ranges.length / 2;
      if (s.mux.multiplexerSignal !== undefined) {
        sw = local.get(s.mux.multiplexerSignal)!;
        flags |= MSG_FLAG_MUX;
        for (const r of s.mux.multiplexerValues ?? []) ranges.push(r.min, r.max);
      }
      signals[so] = lay.pos;
      signals[so + 1] = s.length;
      signals[so + 2] = sf;
      signals[so + 3] = lay.byte;
      signals[so + 4] = lay.shift;
      signals[so + 5] = sw;
      signals[so + 6] = rangeStart;
      signals[so + 7] = ranges.length / 2 - rangeStart;
      signals[so + 8] = lay.bytesNeeded;
      scales[g * 2] = s.factor;
      scales[g * 2 + 1] = s.offset;
      signalNames.push(s.name);
      signalMessage[g] = m;
      signalDefs.push(s);
      need = Math.max(need, lay.bytesNeeded);
    }
    // Mark switches that other signals refer to even when the DBC did not flag them.
    const base = messages[mo + 2];
    for (let i = 0; i < sigs.length; i++) {
      const sw = signals[(base + i) * SIG_STRIDE + 5];
      if (sw >= 0) signals[(base + sw) * SIG_STRIDE + 2] |= SIG_FLAG_SWITCH;
    }
    // Slot 9: how many of the following signals share this one's switch and values (and are no switches
    // themselves), so the decoder can skip them all when the switch does not select this signal.
    for (let i = sigs.length - 2; i >= 0; i--) {
      const a = (base + i) * SIG_STRIDE;
      const b = a + SIG_STRIDE;
      const same = signals[a + 5] >= 0 && signals[b + 5] === signals[a + 5] &&
        (signals[b + 2] & SIG_FLAG_SWITCH) === 0 && signals[b + 7] === signals[a + 7] &&
        Array.from({ length: signals[a + 7] * 2 }, (_, k) => k)
          .every((k) => ranges[signals[a + 6] * 2 + k] === ranges[signals[b + 6] * 2 + k]);
      if (same) signals[a + 9] = signals[b + 9] + 1;
    }
    messages[mo + 4] = mainSwitch;
    messages[mo + 5] = flags;
    messages[mo + 6] = need;
    if ((flags & MSG_FLAG_MUX) === 0) {
      for (const s of sigs) {
        const k = signalGroup(s);
        if (k < 4) messages[mo + 7 + k]++;
      }
    }
  }
  let hashBits = 1;
  while ((1 << hashBits) < messageCount * 2) hashBits++;
  const slots = 1 << hashBits;
  const hash = new Int32Array(slots * 2);
  for (let m = 0; m < messageCount; m++) {
    const key = messages[m * MSG_STRIDE] >>> 0;
    let h = hashSlot(key, hashBits);
    for (;;) {
      if (hash[h * 2 + 1] === 0) {
        hash[h * 2] = key | 0;
        hash[h * 2 + 1] = m + 1;
        break;
      }
      if (hash[h * 2] >>> 0 === key) {
        const other = msgs[hash[h * 2 + 1] - 1];
        throw new PipelineError(
          "plan.duplicate",
          `messages ${other.name} and ${msgs[m].name} share the ID 0x${msgs[m].id.toString(16)}; rename or remove one`,
          { path: msgs[m].name },
        );
      }
      h = (h + 1) & (slots - 1);
    }
  }
  return {
    messageCount,
    signalCount,
    maxSignalsPerMessage,
    messages,
    signals,
    scales,
    muxRanges: Float64Array.from(ranges),
    hash,
    hashBits,
    messageNames,
    signalNames,
    signalMessage,
    messageDefs: msgs,
    signalDefs,
  };
}

/** Message index for a key (`id`, or `id | CAN_EFF_FLAG`), or -1. O(1). */
export function lookupMessage(plan: DecodePlan, key: number): number {
  const mask = (1 << plan.hashBits) - 1;
  let h = hashSlot(key >>> 0, plan.hashBits);
  for (;;) {
    const v = plan.hash[h * 2 + 1];
    if (v === 0) return -1;
    if (plan.hash[h * 2] >>> 0 === key >>> 0) return v - 1;
    h = (h + 1) & mask;
  }
}
