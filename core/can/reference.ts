/**
 * The TypeScript reference decoder and encoder: plain bit-by-bit code, written to be obviously correct rather than
 * fast. It is the test oracle for the WASM decoder and the baseline of the benchmarks.
 *
 * Bit numbering (as cantools and Vector): bit `b` of a frame is bit `b % 8` (0 = least significant) of byte
 * `b >> 3`.
 * - Intel (`little_endian`): the signal's least significant bit is at `startBit`, the next bits at `startBit + 1`,
 *   `startBit + 2`, ...
 * - Motorola (`big_endian`): `startBit` is the signal's most significant bit; each following (less significant) bit
 *   is one lower in the same byte, and after bit 0 of a byte comes bit 7 of the next byte (the DBC "sawtooth").
 *
 * Decoding rules:
 * - Signals whose bits do not all lie inside `data` are left out (a short frame decodes the signals it carries).
 * - Multiplexing: a signal with a `multiplexerSignal` is decoded only when that switch is itself decoded and its raw
 *   value lies in one of `multiplexerValues`; chains (extended multiplexing) are followed to the top.
 * - Integer signals: raw is the two's-complement value when `signed`; physical = raw × factor + offset.
 * - float32/float64 signals: the bits are an IEEE 754 value; physical = value × factor + offset; `raw` holds the bits.
 * @module
 */
import { PipelineError } from "../errors/mod.ts";
import type { MessageDef, SignalDef } from "./types.ts";

/** Options of {@link decodeReference}. */
export interface DecodeReferenceOptions {
  /** Replace raw values that have a `VAL_` label by the label. */
  choices?: boolean;
}

/** Result of {@link decodeReference}. */
export interface ReferenceDecoded {
  /** Physical values (or labels with `choices`) of the decoded signals, in signal order. */
  values: Record<string, number | string>;
  /** Raw values: sign-extended integers, or the IEEE bit pattern of float signals. */
  raw: Record<string, bigint>;
}

/**
 * Positions of a signal's bits in the frame, least significant bit first.
 *
 * @param signal the signal
 * @returns absolute bit numbers (`byte * 8 + bitInByte`)
 */
export function signalBitPositions(signal: SignalDef): number[] {
  const positions: number[] = [];
  if (signal.byteOrder === "little_endian") {
    for (let i = 0; i < signal.length; i++) positions.push(signal.startBit + i);
    return positions;
  }
  // Motorola: walk from the most significant bit down the sawtooth, then reverse.
  let pos = signal.startBit;
  for (let i = 0; i < signal.length; i++) {
    positions.push(pos);
    pos = pos % 8 === 0 ? pos + 15 : pos - 1;
  }
  return positions.reverse();
}

/** Number of payload bytes a signal needs (1 + highest byte index it touches). */
export function signalByteSpan(signal: SignalDef): number {
  let max = 0;
  for (const p of signalBitPositions(signal)) max = Math.max(max, (p >> 3) + 1);
  return max;
}

/**
 * Read a signal's bits as an unsigned integer.
 *
 * @param data frame payload
 * @param signal the signal; all its bits must lie inside `data`
 */
export function readRawBits(data: Uint8Array, signal: SignalDef): bigint {
  let value = 0n;
  const positions = signalBitPositions(signal);
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i];
    const bit = (data[p >> 3] >> (p & 7)) & 1;
    if (bit) value |= 1n << BigInt(i);
  }
  return value;
}

/**
 * Write an unsigned integer into a signal's bits (other bits of `data` are kept).
 *
 * @param data frame payload, changed in place
 * @param signal the signal
 * @param options `raw`: the bits, taken modulo 2^length
 */
export function writeRawBits(data: Uint8Array, signal: SignalDef, options: { raw: bigint }): void {
  const positions = signalBitPositions(signal);
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i];
    if ((options.raw >> BigInt(i)) & 1n) data[p >> 3] |= 1 << (p & 7);
    else data[p >> 3] &= ~(1 << (p & 7));
  }
}

function rawToPhysical(signal: SignalDef, bits: bigint): { raw: bigint; value: number } {
  if (signal.valueType === "float32" || signal.valueType === "float64") {
    const view = new DataView(new ArrayBuffer(8));
    let v: number;
    if (signal.valueType === "float32") {
      view.setUint32(0, Number(bits));
      v = view.getFloat32(0);
    } else {
      view.setBigUint64(0, bits);
      v = view.getFloat64(0);
    }
    return { raw: bits, value: v * signal.factor + signal.offset };
  }
  let raw = bits;
  if (signal.signed && signal.length > 0 && (bits >> BigInt(signal.length - 1)) & 1n) {
    raw = bits - (1n << BigInt(signal.length));
  }
  return { raw, value: Number(raw) * signal.factor + signal.offset };
}

function isActive(
  message: MessageDef,
  signal: SignalDef,
  rawOf: (s: SignalDef) => bigint | undefined,
  depth = 0,
): boolean {
  const sw = signal.mux.multiplexerSignal;
  if (sw === undefined) return true;
  if (depth > message.signals.length) return false; // a cycle; the parser rejects these
  const switchSignal = message.signals.find((s) => s.name === sw);
  if (!switchSignal || !isActive(message, switchSignal, rawOf, depth + 1)) return false;
  const raw = rawOf(switchSignal);
  if (raw === undefined) return false;
  const v = Number(raw);
  return (signal.mux.multiplexerValues ?? []).some((r) => v >= r.min && v <= r.max);
}

/**
 * Decode one frame's payload with a message definition.
 *
 * @param message the message (from {@link parseDbc})
 * @param data payload bytes
 * @param options `choices`: labels instead of numbers where a value table has one
 * @returns physical and raw values of the signals present in this frame
 *
 * @example
 * ```ts
 * import { decodeReference, parseDbc } from "./mod.ts";
 * const db = parseDbc('BO_ 1 M: 1 E\n SG_ S : 0|8@1- (0.5,1) [0|0] "" E\n');
 * decodeReference(db.messages[0], new Uint8Array([0xfe])).values; // { S: 0 }
 * ```
 */
export function decodeReference(
  message: MessageDef,
  data: Uint8Array,
  options: DecodeReferenceOptions = {},
): ReferenceDecoded {
  const raws = new Map<string, bigint>();
  const fits = (s: SignalDef) => signalBitPositions(s).every((p) => (p >> 3) < data.length);
  const rawOf = (s: SignalDef): bigint | undefined => {
    if (!fits(s)) return undefined;
    if (!raws.has(s.name)) raws.set(s.name, rawToPhysical(s, readRawBits(data, s)).raw);
    return raws.get(s.name);
  };
  const values: Record<string, number | string> = {};
  const raw: Record<string, bigint> = {};
  for (const s of message.signals) {
    if (!fits(s) || !isActive(message, s, rawOf)) continue;
    const decoded = rawToPhysical(s, readRawBits(data, s));
    raw[s.name] = decoded.raw;
    const label = options.choices && s.valueType === "integer" ? s.choices?.get(Number(decoded.raw)) : undefined;
    values[s.name] = label ?? decoded.value;
  }
  return { values, raw };
}

/** Raw integer (or float bit pattern) for a value given to {@link encodeReference}. */
function physicalToRaw(message: MessageDef, signal: SignalDef, value: number | string | bigint): bigint {
  const where = `${message.name}.${signal.name}`;
  if (typeof value === "string") {
    for (const [raw, label] of signal.choices ?? []) {
      if (label === value) return physicalToRaw(message, signal, BigInt(raw));
    }
    throw new PipelineError("can.encode_choice", `${where}: no value-table entry labelled "${value}"`, {
      path: where,
    });
  }
  if (signal.valueType === "float32" || signal.valueType === "float64") {
    const view = new DataView(new ArrayBuffer(8));
    const v = typeof value === "bigint" ? Number(value) : (value - signal.offset) / signal.factor;
    if (typeof value === "bigint") return value & ((1n << BigInt(signal.length)) - 1n);
    if (signal.valueType === "float32") {
      view.setFloat32(0, v);
      return BigInt(view.getUint32(0));
    }
    view.setFloat64(0, v);
    return view.getBigUint64(0);
  }
  let raw: bigint;
  if (typeof value === "bigint") {
    raw = value;
  } else {
    const scaled = Math.round((value - signal.offset) / signal.factor);
    if (!Number.isFinite(scaled)) {
      throw new PipelineError("can.encode_range", `${where}: ${value} does not scale to a finite raw value`, {
        path: where,
      });
    }
    raw = BigInt(scaled);
  }
  const n = BigInt(signal.length);
  const lo = signal.signed ? -(1n << (n - 1n)) : 0n;
  const hi = signal.signed ? (1n << (n - 1n)) - 1n : (1n << n) - 1n;
  if (raw < lo || raw > hi) {
    throw new PipelineError(
      "can.encode_range",
      `${where}: raw value ${raw} does not fit ${signal.length} ${
        signal.signed ? "signed" : "unsigned"
      } bits (${lo}..${hi})`,
      { path: where },
    );
  }
  return raw < 0n ? raw + (1n << n) : raw;
}

/**
 * Encode physical values into a payload of `message.length` bytes (unused bits are 0).
 *
 * Values: a number is physical (raw = round((value - offset) / factor)); a string is a value-table label; a bigint is
 * the raw value itself (exact for 64-bit signals). Every signal active for the given multiplexer values must have a
 * value; values of inactive signals are ignored.
 *
 * @param message the message
 * @param values signal name → value
 * @throws {PipelineError} `can.encode_missing`, `can.encode_range`, `can.encode_choice`
 */
export function encodeReference(message: MessageDef, values: Record<string, number | string | bigint>): Uint8Array {
  const data = new Uint8Array(message.length);
  const raws = new Map<string, bigint>();
  const rawOf = (s: SignalDef): bigint | undefined => {
    if (!(s.name in values)) return undefined;
    if (!raws.has(s.name)) {
      const bits = physicalToRaw(message, s, values[s.name]);
      raws.set(s.name, s.valueType === "integer" ? rawToPhysical(s, bits).raw : bits);
    }
    return raws.get(s.name);
  };
  for (const s of message.signals) {
    if (!isActive(message, s, rawOf)) continue;
    if (!(s.name in values)) {
      throw new PipelineError("can.encode_missing", `${message.name}: no value given for signal ${s.name}`, {
        path: `${message.name}.${s.name}`,
      });
    }
    if (signalBitPositions(s).some((p) => (p >> 3) >= data.length)) {
      throw new PipelineError(
        "can.encode_range",
        `${message.name}.${s.name}: the signal does not fit the ${message.length}-byte message`,
        { path: `${message.name}.${s.name}` },
      );
    }
    writeRawBits(data, s, { raw: physicalToRaw(message, s, values[s.name]) });
  }
  return data;
}
