/**
 * OBD-II service 01 PIDs with the SAE J1979 formulas, their VSS 4.0 paths and default polling rates, the
 * supported-PID bitmaps, and DTC encoding (`P0301` style).
 * @module
 */
import type { Datapoint } from "../datapoint/mod.ts";
import { PipelineError } from "../errors/mod.ts";

/** One service 01 PID. */
export interface PidDef {
  /** PID number. */
  pid: number;
  /** Short snake_case name. */
  name: string;
  /** Data bytes in the response (A, B, C, D). */
  bytes: number;
  /** Unit of the decoded value (VSS unit names). */
  unit: string;
  /** VSS 4.0 paths the value is published on (the first is the `Vehicle.OBD.*` one where it exists). */
  vss: readonly string[];
  /** MQTT topic of the ESP gateway seed, where it has one. */
  topic?: string;
  /** Default polling interval in milliseconds (the seed's rates where it gives one). */
  intervalMs: number;
  /** J1979 formula: data bytes (starting at `o`) → physical value. */
  decode(d: Uint8Array, o: number): number;
  /** Inverse formula: physical value → data bytes (simulators, tests). */
  encode(value: number): number[];
}

const clampByte = (x: number) => Math.max(0, Math.min(255, Math.round(x)));
const u16 = (x: number) => {
  const v = Math.max(0, Math.min(0xffff, Math.round(x)));
  return [v >> 8, v & 0xff];
};
const percent = (pid: number, name: string, vss: string[], intervalMs: number): PidDef => ({
  pid,
  name,
  bytes: 1,
  unit: "percent",
  vss,
  intervalMs,
  decode: (d, o) => (d[o] * 100) / 255,
  encode: (v) => [clampByte((v * 255) / 100)],
});
const temperature = (pid: number, name: string, vss: string[], intervalMs: number, topic?: string): PidDef => ({
  pid,
  name,
  bytes: 1,
  unit: "celsius",
  vss,
  ...(topic ? { topic } : {}),
  intervalMs,
  decode: (d, o) => d[o] - 40,
  encode: (v) => [clampByte(v + 40)],
});

/** The service 01 PIDs this client decodes, by PID number. */
export const PIDS: ReadonlyMap<number, PidDef> = new Map<number, PidDef>([
  [0x04, percent(0x04, "engine_load", ["Vehicle.OBD.EngineLoad"], 1000)],
  [
    0x05,
    temperature(
      0x05,
      "coolant_temp",
      ["Vehicle.OBD.CoolantTemperature", "Vehicle.Powertrain.CombustionEngine.ECT"],
      1000,
      "engine/coolant_temp",
    ),
  ],
  [0x0c, {
    pid: 0x0c,
    name: "engine_rpm",
    bytes: 2,
    unit: "rpm",
    vss: ["Vehicle.OBD.EngineSpeed", "Vehicle.Powertrain.CombustionEngine.Speed"],
    topic: "engine/rpm",
    intervalMs: 100,
    decode: (d, o) => (d[o] * 256 + d[o + 1]) / 4,
    encode: (v) => u16(v * 4),
  }],
  [0x0d, {
    pid: 0x0d,
    name: "vehicle_speed",
    bytes: 1,
    unit: "km/h",
    vss: ["Vehicle.OBD.Speed", "Vehicle.Speed"],
    topic: "vehicle/speed",
    intervalMs: 100,
    decode: (d, o) => d[o],
    encode: (v) => [clampByte(v)],
  }],
  [0x0f, temperature(0x0f, "intake_temp", ["Vehicle.OBD.IntakeTemp"], 1000)],
  [0x10, {
    pid: 0x10,
    name: "maf",
    bytes: 2,
    unit: "g/s",
    vss: ["Vehicle.OBD.MAF"],
    intervalMs: 500,
    decode: (d, o) => (d[o] * 256 + d[o + 1]) / 100,
    encode: (v) => u16(v * 100),
  }],
  [0x11, percent(0x11, "throttle_position", ["Vehicle.OBD.ThrottlePosition"], 200)],
  [0x1f, {
    pid: 0x1f,
    name: "run_time",
    bytes: 2,
    unit: "s",
    vss: ["Vehicle.OBD.RunTime"],
    intervalMs: 5000,
    decode: (d, o) => d[o] * 256 + d[o + 1],
    encode: (v) => u16(v),
  }],
  [0x2f, percent(0x2f, "fuel_level", ["Vehicle.OBD.FuelLevel"], 10000)],
  [0x31, {
    pid: 0x31,
    name: "distance_since_dtc_clear",
    bytes: 2,
    unit: "km",
    vss: ["Vehicle.OBD.DistanceSinceDTCClear"],
    intervalMs: 60000,
    decode: (d, o) => d[o] * 256 + d[o + 1],
    encode: (v) => u16(v),
  }],
  [0xa6, {
    pid: 0xa6,
    name: "odometer",
    bytes: 4,
    unit: "km",
    vss: ["Vehicle.TraveledDistance"],
    topic: "vehicle/odometer",
    intervalMs: 60000,
    decode: (d, o) => ((d[o] << 24 >>> 0) + (d[o + 1] << 16) + (d[o + 2] << 8) + d[o + 3]) / 10,
    encode: (v) => {
      const x = Math.max(0, Math.min(0xffffffff, Math.round(v * 10)));
      return [(x >>> 24) & 0xff, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff];
    },
  }],
]);

/** VSS paths among {@link PidDef.vss} whose VSS datatype is an integer (values are rounded for them). */
export const INTEGER_VSS_PATHS: ReadonlySet<string> = new Set([
  "Vehicle.Powertrain.CombustionEngine.Speed",
  "Vehicle.Powertrain.CombustionEngine.ECT",
]);

/**
 * The VSS datapoints of one decoded PID value: one per path in {@link PidDef.vss}, rounded where the VSS datatype is
 * an integer (`Vehicle.Powertrain.CombustionEngine.Speed` is `uint16`), at `tsMs` (integer ms since the epoch).
 */
export function pidDatapoints(pid: number, value: number, tsMs: number): Datapoint[] {
  return pidDef(pid).vss.map((path) => ({
    path,
    value: INTEGER_VSS_PATHS.has(path) ? Math.round(value) : value,
    tsMs,
  }));
}

/** VSS path of the active DTC list (`string[]`). */
export const VSS_DTC_LIST = "Vehicle.OBD.DTCList";
/** VSS path of the VIN. */
export const VSS_VIN = "Vehicle.VehicleIdentification.VIN";

/** Look a PID up by number or name. */
export function pidDef(pidOrName: number | string): PidDef {
  if (typeof pidOrName === "number") {
    const d = PIDS.get(pidOrName);
    if (d) return d;
  } else {
    for (const d of PIDS.values()) if (d.name === pidOrName) return d;
    const n = Number(pidOrName);
    if (/^(0x)?[0-9a-f]+$/i.test(pidOrName) && PIDS.has(n)) return PIDS.get(n)!;
  }
  throw new PipelineError(
    "obd.unknown_pid",
    `unknown OBD-II PID ${pidOrName}; known: ${[...PIDS.values()].map((d) => d.name).join(", ")}`,
    { path: String(pidOrName) },
  );
}

/**
 * Decode a supported-PIDs bitmap (the 4 data bytes of PID 0x00, 0x20, …): bit 7 of A is PID `base+1`,
 * bit 0 of D is `base+0x20` (which says the next bitmap exists).
 */
export function decodeSupportedPids(base: number, d: Uint8Array, o = 0): number[] {
  const out: number[] = [];
  for (let i = 0; i < 32; i++) {
    if (d[o + (i >> 3)] & (0x80 >> (i & 7))) out.push(base + i + 1);
  }
  return out;
}

/** The 4 bitmap bytes for PIDs `base+1 … base+0x20` from a set of supported PIDs. */
export function encodeSupportedPids(base: number, pids: Iterable<number>): number[] {
  const out = [0, 0, 0, 0];
  for (const p of pids) {
    const i = p - base - 1;
    if (i >= 0 && i < 32) out[i >> 3] |= 0x80 >> (i & 7);
  }
  return out;
}

const DTC_LETTERS = "PCBU";

/** Two DTC bytes → `P0301` style code. */
export function decodeDtc(a: number, b: number): string {
  return DTC_LETTERS[a >> 6] + ((a >> 4) & 3).toString() + (a & 0xf).toString(16).toUpperCase() +
    (b >> 4).toString(16).toUpperCase() + (b & 0xf).toString(16).toUpperCase();
}

/** `P0301` style code → two DTC bytes. */
export function encodeDtc(code: string): [number, number] {
  const m = /^([PCBU])([0-3])([0-9A-F])([0-9A-F]{2})$/i.exec(code);
  if (!m) {
    throw new PipelineError("obd.dtc", `DTC ${code} is not of the form P0301 (P/C/B/U, 0-3, three hex digits)`);
  }
  const a = (DTC_LETTERS.indexOf(m[1].toUpperCase()) << 6) | (Number(m[2]) << 4) | parseInt(m[3], 16);
  return [a, parseInt(m[4], 16)];
}
