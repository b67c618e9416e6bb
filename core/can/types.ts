/**
 * The CAN data model shared by the candump reader, the DBC parser, the decode-plan
 * compiler, the TypeScript reference decoder and the WASM decoder binding.
 *
 * Conventions:
 * - Frame IDs are stored without flag bits; `extended` says 29-bit. Where one
 *   integer key is needed (hash tables, WASM memory) the SocketCAN convention is
 *   used: `id | CAN_EFF_FLAG` for extended frames.
 * - Signal `startBit` is exactly the number written in the DBC file (for Motorola
 *   signals that is the MSB in DBC "sawtooth" numbering).
 * @module
 */

/** SocketCAN `CAN_EFF_FLAG`: extended frame format (29-bit ID). */
export const CAN_EFF_FLAG = 0x80000000;
/** SocketCAN `CAN_RTR_FLAG`: remote transmission request. */
export const CAN_RTR_FLAG = 0x40000000;
/** SocketCAN `CAN_ERR_FLAG`: error message frame. */
export const CAN_ERR_FLAG = 0x20000000;
/** Mask of an 11-bit standard ID. */
export const CAN_SFF_MASK = 0x7ff;
/** Mask of a 29-bit extended ID. */
export const CAN_EFF_MASK = 0x1fffffff;
/** Largest classic CAN payload. */
export const CAN_MAX_DLEN = 8;
/** Largest CAN FD payload. */
export const CANFD_MAX_DLEN = 64;
/** SocketCAN `CANFD_BRS`: bit rate switch (second bitrate for payload data). */
export const CANFD_BRS = 0x01;
/** SocketCAN `CANFD_ESI`: error state indicator of the transmitting node. */
export const CANFD_ESI = 0x02;

/** One CAN or CAN FD frame. */
export interface CanFrame {
  /** Receive time, seconds since the Unix epoch (microsecond resolution in candump logs). */
  timestamp: number;
  /** Interface name, e.g. `can0`. */
  iface: string;
  /** Identifier without flag bits (0..0x7FF standard, 0..0x1FFFFFFF extended). */
  id: number;
  /** 29-bit identifier. */
  extended: boolean;
  /** Remote transmission request (no payload; `dlc` says the requested length). */
  rtr: boolean;
  /** Error frame (`id` carries the error class bits, `data` the error details). */
  error: boolean;
  /** CAN FD frame. */
  fd: boolean;
  /** CAN FD bit rate switch. */
  brs: boolean;
  /** CAN FD error state indicator. */
  esi: boolean;
  /** Payload (0-8 bytes classic, 0-64 CAN FD). Empty for RTR frames. */
  data: Uint8Array;
  /** Data length code for RTR frames (requested length); otherwise `data.length`. */
  dlc?: number;
}

/** Byte order of a signal: Intel (`@1`) is little endian, Motorola (`@0`) big endian. */
export type ByteOrder = "little_endian" | "big_endian";

/** How raw signal bits are interpreted (`SIG_VALTYPE_`). */
export type SignalValueType = "integer" | "float32" | "float64";

/** An inclusive range of multiplexer values that activates a signal. */
export interface MuxRange {
  /** Lowest multiplexer value (inclusive). */
  min: number;
  /** Highest multiplexer value (inclusive). */
  max: number;
}

/** Multiplexing role of a signal. */
export interface SignalMux {
  /** This signal is a multiplexer switch (`M`, or `mNM` in extended multiplexing). */
  isMultiplexer: boolean;
  /**
   * Name of the multiplexer switch that controls this signal; undefined when the
   * signal is always present. For simple multiplexing (`mN`) it is the message's
   * `M` signal; with `SG_MUL_VAL_` it is the switch named there.
   */
  multiplexerSignal?: string;
  /** Values of `multiplexerSignal` for which this signal is present. */
  multiplexerValues?: MuxRange[];
}

/** A signal (`SG_`) of a message. */
export interface SignalDef {
  name: string;
  /** Start bit as written in the DBC. */
  startBit: number;
  /** Length in bits, 1-64. */
  length: number;
  byteOrder: ByteOrder;
  /** `-` in the DBC: two's complement. Ignored for float signals. */
  signed: boolean;
  valueType: SignalValueType;
  factor: number;
  offset: number;
  minimum: number;
  maximum: number;
  unit: string;
  receivers: string[];
  mux: SignalMux;
  /** Value table (`VAL_`), raw value → label. */
  choices?: Map<number, string>;
  /** `CM_ SG_` comment. */
  comment?: string;
  /** `BA_ ... SG_` attributes (with `BA_DEF_DEF_` defaults applied). */
  attributes: Record<string, string | number>;
}

/** DBC frame formats (`VFrameFormat` attribute). */
export type FrameFormat =
  | "StandardCAN"
  | "ExtendedCAN"
  | "StandardCAN_FD"
  | "ExtendedCAN_FD"
  | "J1939PG";

/** A message (`BO_`). */
export interface MessageDef {
  /** Identifier without the extended flag bit. */
  id: number;
  /** Bit 31 was set in the DBC's `BO_` id (or the frame format says extended). */
  extended: boolean;
  name: string;
  /** Payload length in bytes (DLC as bytes, up to 64 for CAN FD). */
  length: number;
  sender: string;
  signals: SignalDef[];
  comment?: string;
  /** `GenMsgCycleTime` in milliseconds, if set. */
  cycleTimeMs?: number;
  /** From `VFrameFormat`, or derived from `extended`/`length`. */
  frameFormat: FrameFormat;
  /** CAN FD message. */
  fd: boolean;
  /** `BA_ ... BO_` attributes (with `BA_DEF_DEF_` defaults applied). */
  attributes: Record<string, string | number>;
}

/** An attribute definition (`BA_DEF_`). */
export interface AttributeDef {
  name: string;
  /** Object kind: "" (network), `BU_`, `BO_`, `SG_`, `EV_`. */
  kind: string;
  /** `INT`, `HEX`, `FLOAT`, `STRING`, `ENUM`. */
  type: string;
  minimum?: number;
  maximum?: number;
  enumValues?: string[];
  default?: string | number;
}

/** A parsed DBC file. */
export interface DbcDatabase {
  version: string;
  /** Node names (`BU_`). */
  nodes: string[];
  messages: MessageDef[];
  /** `VAL_TABLE_` tables by name. */
  valueTables: Map<string, Map<number, string>>;
  attributeDefinitions: AttributeDef[];
  /** Network attributes (`BA_ "Name" value;`). */
  attributes: Record<string, string | number>;
  comment?: string;
}
