/**
 * `deno task gen:candump`: generate a realistic candump log from a DBC file with known signal values.
 *
 * ```
 * deno task gen:candump --dbc assets/dbc/Model3CAN.dbc --mapping assets/vss/vss_dbc_4.0.json \
 *   --seconds 30 --out assets/demo/model3_drive.log
 * ```
 *
 * The log replays a short drive ({@link driveProfile}): parked in P, shift to D, accelerate to ~90 km/h, cruise
 * with a lane change (turn signal), brake to a stop (brake light, regenerative power), back to P. With `--mapping`,
 * every message that carries a signal named in the VSS mapping (`dbc2vss.signal` / `vss2dbc.signal` entries), or a
 * profile signal, is sent (without it, every message of the DBC) at its `GenMsgCycleTime` (else the mapping's `interval_ms`, else 100 ms) with a small
 * deterministic jitter. Profile signals get their profile value, every other signal raw 0. Frames are encoded with
 * `encodeReference` and written with `CandumpWriter`, so the output is deterministic for the same arguments.
 * @module
 */
import { parseArgs } from "node:util";
import { CandumpWriter, type CanFrame, encodeReference, loadDbc, type MessageDef } from "../core/can/mod.ts";

/** Values of the profile signals at time `t` seconds into the drive (physical values or value-table labels). */
export function driveProfile(t: number, seconds = 30): Record<string, number | string> {
  // Phases scale with the drive length (defaults: 0-2 s P, 2-3 s D, 3-15 s accelerate, 15-22 s cruise,
  // 22-28 s brake, 28- s P).
  const k = seconds / 30;
  const [tD, tAcc, tCruise, tBrake, tStop] = [2 * k, 3 * k, 15 * k, 22 * k, 28 * k];
  let speed = 0; // km/h
  let power = 0.5; // kW
  let pedal = 0; // %
  let braking = false;
  if (t >= tAcc && t < tCruise) {
    const x = (t - tAcc) / (tCruise - tAcc);
    speed = 90 * (1 - (1 - x) * (1 - x));
    power = 20 + 130 * (1 - x);
    pedal = 20 + 30 * (1 - x);
  } else if (t >= tCruise && t < tBrake) {
    speed = 90 + 2 * Math.sin((t - tCruise) * 0.8);
    power = 16 + 4 * Math.sin((t - tCruise) * 0.8);
    pedal = 14;
  } else if (t >= tBrake && t < tStop) {
    const x = (t - tBrake) / (tStop - tBrake);
    speed = Math.max(0, 90 * (1 - x));
    power = -40 * Math.sin(Math.PI * x);
    braking = true;
  }
  const gear = t < tD || t >= tStop + 1 * k ? "DI_GEAR_P" : "DI_GEAR_D";
  const blinking = t >= 16 * k && t < 19 * k && Math.floor(t * 3) % 2 === 0;
  return {
    DI_uiSpeed: Math.round(speed),
    DI_vehicleSpeed: Math.round(speed / 0.08) * 0.08,
    DI_gear: gear,
    DI_accelPedalPos: Math.round(pedal / 0.4) * 0.4,
    RearPower266: Math.round(power * 2) / 2,
    DIR_torqueActual: Math.round((power * 4) / 2) * 2,
    DIR_axleSpeed: Math.round(speed * 7.94 * 10) / 10,
    SteeringAngle129: Math.round((t >= 16 * k && t < 19 * k ? 6 * Math.sin((t - 16 * k) * 2) : 0) * 10) / 10,
    UI_SOC: 80 - Math.floor(t / (20 * k)),
    SOCmax292: Math.round((80.6 - t * 0.02) * 10) / 10,
    VCRIGHT_brakeLightStatus: braking || t < tAcc ? "LIGHT_ON" : "LIGHT_OFF",
    VCRIGHT_reverseLightStatus: "LIGHT_OFF",
    VCLEFT_turnSignalStatus: blinking ? "LIGHT_ON" : "LIGHT_OFF",
    VCRIGHT_turnSignalStatus: "LIGHT_OFF",
    VCLEFT_frontDoorState: "DOOR_STATE_CLOSED",
    VCLEFT_rearDoorState: "DOOR_STATE_CLOSED",
    VCRIGHT_trunkLatchStatus: "LATCH_CLOSED",
    VCFRONT_driverBuckleStatus: "BUCKLED",
    VCFRONT_brakeFluidLevel: "NORMAL",
    VCFRONT_washerFluidLevel: "NORMAL",
    VCFRONT_tempAmbientFiltered: 18.5,
    VCLEFT_mirrorHeatState: "HEATER_STATE_OFF",
    VCLEFT_mirrorTiltXPosition: 2.5,
    VCLEFT_mirrorTiltYPosition: 2.4,
    VCRIGHT_mirrorTiltXPosition: 2.5,
    VCRIGHT_mirrorTiltYPosition: 2.4,
    VCLEFT_trailerDetected: "TRAILER_LIGHT_DETECTION_NOT_DETECTED",
    CP_hvChargeStatus: "CP_CHARGE_INACTIVE",
    PCS_dcdcLvBusVolt: Math.round((13.8 + 0.1 * Math.sin(t)) / 0.0390625) * 0.0390625,
    PTC_rightTempIGBT: Math.round(35 + t / 10),
  };
}

/** Signal names and intervals referenced by a VSS ↔ DBC mapping file (vss-tools JSON with `dbc2vss`/`vss2dbc`). */
export function mappedSignals(mapping: unknown): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (n: unknown) => {
    if (n === null || typeof n !== "object") return;
    const o = n as Record<string, unknown>;
    for (const key of ["dbc2vss", "vss2dbc", "dbc"]) {
      const m = o[key] as { signal?: unknown; interval_ms?: unknown } | undefined;
      if (m && typeof m.signal === "string") {
        out.set(m.signal, typeof m.interval_ms === "number" ? m.interval_ms : 100);
      }
    }
    for (const v of Object.values(o)) walk(v);
  };
  walk(mapping);
  return out;
}

/** Options of {@link generateDrive}. */
export interface GenerateOptions {
  /** Signal name → interval (ms) of signals that must be covered (from {@link mappedSignals}). */
  signals: Map<string, number>;
  /** Length of the drive in seconds. */
  seconds: number;
  /** Timestamp of the first frame (seconds since the epoch). */
  start?: number;
  /** Interface name. */
  iface?: string;
}

/** The frames of a generated drive, in time order. */
export function generateDrive(messages: MessageDef[], options: GenerateOptions): CanFrame[] {
  const start = options.start ?? 1700000000;
  const profileNames = new Set(Object.keys(driveProfile(0)));
  // With a mapping: the messages carrying a mapped or profile signal; without one: every message.
  const chosen = options.signals.size === 0
    ? messages
    : messages.filter((m) => m.signals.some((s) => options.signals.has(s.name) || profileNames.has(s.name)));
  let seed = 7;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const frames: CanFrame[] = [];
  for (const m of chosen) {
    const mapped = m.signals.map((s) => options.signals.get(s.name)).filter((x) => x !== undefined);
    const period = (m.cycleTimeMs && m.cycleTimeMs > 0 ? m.cycleTimeMs : Math.min(100, ...mapped)) / 1000;
    const phase = rand() * period;
    for (let t = phase; t < options.seconds; t += period) {
      const jitter = (rand() - 0.5) * 0.0002;
      const p = driveProfile(t, options.seconds);
      const values: Record<string, number | string | bigint> = {};
      for (const s of m.signals) values[s.name] = s.name in p ? p[s.name] : 0n;
      frames.push({
        timestamp: Math.round((start + t + jitter) * 1e6) / 1e6,
        iface: options.iface ?? "can0",
        id: m.id,
        extended: m.extended,
        rtr: false,
        error: false,
        fd: m.fd,
        brs: false,
        esi: false,
        data: encodeReference(m, values),
      });
    }
  }
  frames.sort((a, b) => a.timestamp - b.timestamp || a.id - b.id);
  return frames;
}

const HELP = `Usage: deno task gen:candump --dbc FILE.dbc --out FILE.log [--mapping VSS.json] [--seconds N]

Generate a candump log of a plausible 30 s drive (speed ramp, gear, power, SOC, lights...) from a DBC file.

Options:
  --dbc FILE        DBC file (required)
  --out FILE        log to write (required; "-" for stdout)
  --mapping FILE    VSS mapping JSON; every message carrying a mapped signal is included
  --seconds N       drive length (default 30)
  --start T         first timestamp in seconds since the epoch (default 1700000000)
  -h, --help        show this help`;

async function main(args: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        dbc: { type: "string" },
        out: { type: "string" },
        mapping: { type: "string" },
        seconds: { type: "string", default: "30" },
        start: { type: "string", default: "1700000000" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    console.error(`gen_candump: ${(e as Error).message.split("\n")[0]}`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(HELP);
    return;
  }
  const seconds = Number(values.seconds);
  const start = Number(values.start);
  const bad = !values.dbc
    ? "--dbc FILE.dbc is required"
    : !values.out
    ? "--out FILE is required"
    : !(seconds > 0)
    ? `--seconds must be a positive number, not ${values.seconds}`
    : !Number.isFinite(start)
    ? `--start must be a number, not ${values.start}`
    : "";
  if (bad) {
    console.error(`gen_candump: ${bad}`);
    Deno.exit(2);
  }
  const db = await loadDbc(values.dbc!);
  const signals = values.mapping ? mappedSignals(JSON.parse(await Deno.readTextFile(values.mapping))) : new Map();
  const frames = generateDrive(db.messages, { signals, seconds, start });
  const w = values.out === "-" ? new CandumpWriter(Deno.stdout.writable) : await CandumpWriter.open(values.out!);
  for (const f of frames) await w.write(f);
  await w.close();
  console.error(`gen_candump: ${frames.length} frames, ${seconds} s`);
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error(`gen_candump: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`);
    Deno.exit(1);
  }
}
