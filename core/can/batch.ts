/**
 * The frame batch: the fixed-size record layout in which frames cross into the WASM
 * decoder (and in which sources such as the candump parser and SocketCAN write them).
 *
 * Record layout (little endian, {@link FRAME_RECORD_SIZE} = 80 bytes per frame):
 *
 * | offset | type | field |
 * |---|---|---|
 * | 0 | f64 | timestamp, seconds since the Unix epoch |
 * | 8 | u32 | `can_id` with SocketCAN flags: `CAN_EFF_FLAG` (extended), `CAN_RTR_FLAG`, `CAN_ERR_FLAG` |
 * | 12 | u8 | payload length in bytes (0-64; for RTR the requested DLC) |
 * | 13 | u8 | flags: bit0 BRS, bit1 ESI, bit2 FD |
 * | 14 | u16 | interface index (into the batch owner's interface name table) |
 * | 16 | u8[64] | payload (bytes past `length` are undefined) |
 *
 * @module
 */
import { CAN_EFF_FLAG, CAN_ERR_FLAG, CAN_RTR_FLAG, type CanFrame } from "./types.ts";

/** Bytes per frame record. */
export const FRAME_RECORD_SIZE = 80;
/** Offset of the f64 timestamp. */
export const FRAME_OFF_TS = 0;
/** Offset of the u32 `can_id` (with flags). */
export const FRAME_OFF_ID = 8;
/** Offset of the u8 payload length. */
export const FRAME_OFF_LEN = 12;
/** Offset of the u8 flags. */
export const FRAME_OFF_FLAGS = 13;
/** Offset of the u16 interface index. */
export const FRAME_OFF_IFACE = 14;
/** Offset of the payload. */
export const FRAME_OFF_DATA = 16;
/** Flag bit: CAN FD bit rate switch. */
export const FRAME_FLAG_BRS = 1;
/** Flag bit: CAN FD error state indicator. */
export const FRAME_FLAG_ESI = 2;
/** Flag bit: CAN FD frame. */
export const FRAME_FLAG_FD = 4;

/**
 * A batch of frame records over a byte buffer (a plain `ArrayBuffer` or a region of
 * WASM memory). Writing a frame allocates nothing.
 */
export class FrameBatch {
  /** The records' bytes. */
  readonly bytes: Uint8Array;
  /** A view over the same bytes. */
  readonly view: DataView;
  /** Number of records the buffer holds. */
  readonly capacity: number;
  /** Number of records written. */
  count = 0;
  /** Interface names; records refer to them by index. */
  readonly ifaces: string[] = [];

  /**
   * @param capacity records to hold
   * @param options `buffer`/`byteOffset` to place the batch in existing memory (e.g. WASM)
   */
  constructor(capacity: number, options: { buffer?: ArrayBufferLike; byteOffset?: number } = {}) {
    this.capacity = capacity;
    const buffer = options.buffer ?? new ArrayBuffer(capacity * FRAME_RECORD_SIZE);
    this.bytes = new Uint8Array(buffer, options.byteOffset ?? 0, capacity * FRAME_RECORD_SIZE);
    this.view = new DataView(buffer, options.byteOffset ?? 0, capacity * FRAME_RECORD_SIZE);
  }

  /** True when no record can be added. */
  get full(): boolean {
    return this.count >= this.capacity;
  }

  /** Forget all records (the interface table stays). */
  clear(): void {
    this.count = 0;
  }

  /** Index of `name` in the interface table, adding it when new. */
  ifaceIndex(name: string): number {
    let i = this.ifaces.indexOf(name);
    if (i < 0) i = this.ifaces.push(name) - 1;
    return i;
  }

  /** Append a frame; returns its record index. Throws when full. */
  push(frame: CanFrame): number {
    if (this.count >= this.capacity) throw new RangeError("FrameBatch is full");
    const i = this.count++;
    const o = i * FRAME_RECORD_SIZE;
    const v = this.view;
    let id = frame.id >>> 0;
    if (frame.extended) id |= CAN_EFF_FLAG;
    if (frame.rtr) id |= CAN_RTR_FLAG;
    if (frame.error) id |= CAN_ERR_FLAG;
    v.setFloat64(o + FRAME_OFF_TS, frame.timestamp, true);
    v.setUint32(o + FRAME_OFF_ID, id >>> 0, true);
    const len = frame.rtr ? (frame.dlc ?? 0) : frame.data.length;
    v.setUint8(o + FRAME_OFF_LEN, len);
    v.setUint8(
      o + FRAME_OFF_FLAGS,
      (frame.brs ? FRAME_FLAG_BRS : 0) | (frame.esi ? FRAME_FLAG_ESI : 0) | (frame.fd ? FRAME_FLAG_FD : 0),
    );
    v.setUint16(o + FRAME_OFF_IFACE, this.ifaceIndex(frame.iface), true);
    if (!frame.rtr) this.bytes.set(frame.data, o + FRAME_OFF_DATA);
    return i;
  }

  /** Read record `i` back as a {@link CanFrame} (allocates; for tests and slow paths). */
  get(i: number): CanFrame {
    const o = i * FRAME_RECORD_SIZE;
    const v = this.view;
    const rawId = v.getUint32(o + FRAME_OFF_ID, true);
    const len = v.getUint8(o + FRAME_OFF_LEN);
    const flags = v.getUint8(o + FRAME_OFF_FLAGS);
    const extended = (rawId & CAN_EFF_FLAG) !== 0;
    const rtr = (rawId & CAN_RTR_FLAG) !== 0;
    return {
      timestamp: v.getFloat64(o + FRAME_OFF_TS, true),
      iface: this.ifaces[v.getUint16(o + FRAME_OFF_IFACE, true)] ?? "",
      id: rawId & (extended || (rawId & CAN_ERR_FLAG) !== 0 ? 0x1fffffff : 0x7ff),
      extended,
      rtr,
      error: (rawId & CAN_ERR_FLAG) !== 0,
      fd: (flags & FRAME_FLAG_FD) !== 0,
      brs: (flags & FRAME_FLAG_BRS) !== 0,
      esi: (flags & FRAME_FLAG_ESI) !== 0,
      data: rtr ? new Uint8Array(0) : this.bytes.slice(o + FRAME_OFF_DATA, o + FRAME_OFF_DATA + len),
      ...(rtr ? { dlc: len } : {}),
    };
  }
}
