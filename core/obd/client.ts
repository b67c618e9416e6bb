/**
 * OBD-II client for one ECU over ISO-TP: service 01 PIDs, supported-PID discovery, services 03/07/0A DTCs,
 * service 09 VIN, negative responses (0x7F) including "response pending" (NRC 0x78).
 * @module
 */
import { PipelineError } from "../errors/mod.ts";
import {
  type CanLink,
  type IsoTpAddress,
  IsoTpChannel,
  type IsoTpOptions,
  OBD_FUNCTIONAL_ID,
  OBD_FUNCTIONAL_ID_29,
  obdAddress,
} from "../isotp/mod.ts";
import { decodeDtc, decodeSupportedPids, pidDef } from "./pids.ts";

/** Negative response code names (ISO 14229 / J1979). */
export const NRC_NAMES: Readonly<Record<number, string>> = {
  0x10: "generalReject",
  0x11: "serviceNotSupported",
  0x12: "subFunctionNotSupported",
  0x13: "incorrectMessageLengthOrInvalidFormat",
  0x14: "responseTooLong",
  0x21: "busyRepeatRequest",
  0x22: "conditionsNotCorrect",
  0x31: "requestOutOfRange",
  0x78: "requestCorrectlyReceivedResponsePending",
};

/** The ECU answered with a negative response (`7F <service> <nrc>`). Code `obd.negative_response`. */
export class ObdNegativeResponseError extends PipelineError {
  /** Service (mode) that was refused. */
  readonly service: number;
  /** Negative response code. */
  readonly nrc: number;

  /**
   * Build the error for a `7F <service> <nrc>` answer.
   * @param service requested service
   * @param nrc negative response code
   */
  constructor(service: number, nrc: number, options: { ecu: string; detail?: string }) {
    const name = NRC_NAMES[nrc] ?? "unknown";
    super(
      "obd.negative_response",
      `ECU ${options.ecu} refused service 0x${service.toString(16).padStart(2, "0")}${
        options.detail ? ` (${options.detail})` : ""
      }: NRC 0x${nrc.toString(16).padStart(2, "0")} ${name}`,
      { path: `nrc.0x${nrc.toString(16).padStart(2, "0")}` },
    );
    this.service = service;
    this.nrc = nrc;
  }
}

/** The result of reading one PID. */
export interface PidReading {
  /** PID number. */
  pid: number;
  /** PID name (`engine_rpm`, …). */
  name: string;
  /** Decoded physical value. */
  value: number;
  /** Unit. */
  unit: string;
}

/** Options of {@link ObdClient}. */
export interface ObdClientOptions {
  /** ECU number 0-7 (11-bit) or ECU address (29-bit, e.g. 0x10). Default 0. */
  ecu?: number;
  /** 29-bit addressing. */
  extended?: boolean;
  /** Explicit IDs instead of `ecu`/`extended`. */
  address?: IsoTpAddress;
  /** P2: how long to wait for a response, ms (default 250; J1979 allows 50 ms, gateways add latency). */
  p2Ms?: number;
  /** P2*: how long to wait after a "response pending" (NRC 0x78), ms (default 5000). */
  p2StarMs?: number;
  /** Most "response pending" answers accepted for one request (default 20). */
  maxPending?: number;
  /** ISO-TP options. */
  isotp?: IsoTpOptions;
}

/**
 * OBD-II requests to one ECU. Requests are serialized: never more than one in flight.
 *
 * @example
 * ```ts
 * import { MemoryCanBus } from "../isotp/mod.ts";
 * import { EcuSimulator, ObdClient } from "./mod.ts";
 * const bus = new MemoryCanBus();
 * const ecu = new EcuSimulator(bus.link(), { values: { 0x0c: 812.5 }, dtcs: { stored: ["P0301"] } });
 * const obd = new ObdClient(bus.link(), { ecu: 0 });
 * const rpm = await obd.readPid(0x0c); // { pid: 12, name: "engine_rpm", value: 812.5, unit: "rpm" }
 * const dtcs = await obd.readDtcs(0x03); // ["P0301"]
 * obd.close();
 * ecu.close();
 * ```
 */
export class ObdClient {
  /** Label of the ECU (its response ID in hex, e.g. `7E8`). */
  readonly ecu: string;
  readonly #ch: IsoTpChannel;
  readonly #p2: number;
  readonly #p2s: number;
  readonly #maxPending: number;
  #chain: Promise<unknown> = Promise.resolve();
  #inFlight = 0;

  /**
   * A client for one ECU (ISO-TP on its physical IDs).
   * @param link the CAN transport
   * @param options addressing and timing
   */
  constructor(link: CanLink, options: ObdClientOptions = {}) {
    const address = options.address ?? obdAddress(options.ecu ?? 0, { extended: options.extended });
    this.ecu = address.rxId.toString(16).toUpperCase();
    this.#ch = new IsoTpChannel(link, address, options.isotp);
    this.#p2 = options.p2Ms ?? 250;
    this.#p2s = options.p2StarMs ?? 5000;
    this.#maxPending = options.maxPending ?? 20;
  }

  /** Requests currently queued or in flight (at most one is on the bus). */
  get pending(): number {
    return this.#inFlight;
  }

  /**
   * Send a raw request and return the positive response (first byte = service + 0x40).
   * @throws ObdNegativeResponseError for `7F` answers; PipelineError `isotp.timeout` when the ECU is silent,
   *   `isotp.sequence` on a broken multi-frame answer, `obd.unexpected_response`
   */
  request(payload: Uint8Array): Promise<Uint8Array> {
    this.#inFlight++;
    const run = this.#chain.then(() => this.#request(payload));
    this.#chain = run.catch(() => {});
    return run.finally(() => this.#inFlight--);
  }

  async #request(payload: Uint8Array): Promise<Uint8Array> {
    const service = payload[0];
    this.#ch.discardPending();
    await this.#ch.send(payload);
    let timeout = this.#p2;
    for (let pending = 0, skipped = 0;;) {
      const r = await this.#ch.receive({ timeoutMs: timeout });
      if (r[0] === 0x7f && r.length >= 3 && r[1] === service) {
        if (r[2] === 0x78 && ++pending <= this.#maxPending) {
          timeout = this.#p2s;
          continue;
        }
        throw new ObdNegativeResponseError(service, r[2], { ecu: this.ecu, detail: hex(payload) });
      }
      if (r[0] === service + 0x40) return r;
      // Anything else (a late answer to an earlier request) is skipped, a few times.
      if (++skipped < 8) continue;
      throw new PipelineError(
        "obd.unexpected_response",
        `ECU ${this.ecu} sent ${hex(r)} in answer to ${hex(payload)}`,
      );
    }
  }

  /**
   * Read one service 01 PID and decode it with its J1979 formula.
   * @throws PipelineError `obd.unknown_pid`, `obd.short_response`, or any {@link ObdClient.request} error
   */
  async readPid(pid: number): Promise<PidReading> {
    const def = pidDef(pid);
    const r = await this.request(new Uint8Array([0x01, pid]));
    if (r[1] !== pid || r.length < 2 + def.bytes) {
      throw new PipelineError(
        "obd.short_response",
        `ECU ${this.ecu}: answer ${hex(r)} to PID 0x${pid.toString(16)} needs ${def.bytes} data bytes`,
      );
    }
    return { pid, name: def.name, value: def.decode(r, 2), unit: def.unit };
  }

  /**
   * Read up to six service 01 PIDs in one request (J1979 allows it on CAN); the answer lists each PID with its data.
   * PIDs the ECU leaves out of its answer are missing from the result.
   * @throws PipelineError `obd.short_response` when the answer cannot be parsed, or any {@link ObdClient.request} error
   */
  async readPids(pids: readonly number[]): Promise<PidReading[]> {
    if (pids.length < 1 || pids.length > 6) {
      throw new PipelineError("obd.pids", `one request carries 1-6 PIDs, got ${pids.length}`);
    }
    for (const p of pids) pidDef(p);
    const r = await this.request(new Uint8Array([0x01, ...pids]));
    const out: PidReading[] = [];
    let i = 1;
    while (i < r.length) {
      const pid = r[i];
      const def = pids.includes(pid) ? pidDef(pid) : undefined;
      if (!def || i + 1 + def.bytes > r.length) {
        // Padding after the last PID is fine; anything else cannot be split into PIDs.
        if (out.length > 0 && !def && r.subarray(i).every((b) => b === 0 || b === 0xcc || b === 0xaa || b === 0x55)) {
          break;
        }
        throw new PipelineError(
          "obd.short_response",
          `ECU ${this.ecu}: cannot split answer ${hex(r)} to PIDs ${pids.map((p) => p.toString(16)).join(",")}`,
        );
      }
      out.push({ pid, name: def.name, value: def.decode(r, i + 1), unit: def.unit });
      i += 1 + def.bytes;
    }
    return out;
  }

  /** The service 01 PIDs the ECU supports, from the bitmaps at 0x00, 0x20, 0x40, … */
  async supportedPids(): Promise<Set<number>> {
    const out = new Set<number>();
    for (let base = 0; base <= 0xe0; base += 0x20) {
      let r: Uint8Array;
      try {
        r = await this.request(new Uint8Array([0x01, base]));
      } catch (e) {
        // An ECU that flags the next bitmap but refuses it: keep what the earlier bitmaps said.
        if (base > 0 && e instanceof ObdNegativeResponseError) break;
        throw e;
      }
      if (r[1] !== base || r.length < 6) {
        throw new PipelineError("obd.short_response", `ECU ${this.ecu}: bad supported-PIDs answer ${hex(r)}`);
      }
      for (const p of decodeSupportedPids(base, r, 2)) out.add(p);
      if (!out.has(base + 0x20)) break;
    }
    return out;
  }

  /**
   * Read diagnostic trouble codes: service 0x03 stored (confirmed), 0x07 pending, 0x0A permanent.
   * @returns codes such as `P0301`, in the ECU's order, without the 0000 fillers
   */
  async readDtcs(service: 0x03 | 0x07 | 0x0a = 0x03): Promise<string[]> {
    const r = await this.request(new Uint8Array([service]));
    // On CAN the response carries the number of DTCs after the service byte.
    const count = r[1] ?? 0;
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const o = 2 + i * 2;
      if (o + 1 >= r.length) {
        throw new PipelineError(
          "obd.short_response",
          `ECU ${this.ecu}: service 0x${service.toString(16)} announced ${count} DTCs but sent ${
            Math.floor((r.length - 2) / 2)
          }`,
        );
      }
      if (r[o] === 0 && r[o + 1] === 0) continue;
      out.push(decodeDtc(r[o], r[o + 1]));
    }
    return out;
  }

  /** Read the VIN (service 09 InfoType 02; 17 ASCII characters). */
  async readVin(): Promise<string> {
    const r = await this.request(new Uint8Array([0x09, 0x02]));
    if (r[1] !== 0x02 || r.length < 4) {
      throw new PipelineError("obd.short_response", `ECU ${this.ecu}: bad VIN answer ${hex(r)}`);
    }
    const start = r.length >= 20 ? r.length - 17 : 3;
    return new TextDecoder().decode(r.subarray(start)).replace(/[\0\s]+$/g, "").replace(/^[\0\s]+/, "");
  }

  /** Stop; queued and in-flight requests fail with `isotp.closed`. */
  close(): void {
    this.#ch.close();
  }
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");
}

/**
 * Ask every ECU on the bus with a functional request (`01 00` on 0x7DF or 0x18DB33F1) and return the physical
 * addresses of those that answer within `timeoutMs` (default 200).
 */
export async function discoverEcus(
  link: CanLink,
  options: { extended?: boolean; timeoutMs?: number; padding?: number | false } = {},
): Promise<IsoTpAddress[]> {
  const found = new Map<number, IsoTpAddress>();
  const extended = options.extended ?? false;
  const off = link.onFrame((f) => {
    if (f.extended !== extended || f.data.length < 3 || f.data[0] >> 4 !== 0 || f.data[1] !== 0x41) return;
    if (!extended && f.id >= 0x7e8 && f.id <= 0x7ef) found.set(f.id, obdAddress(f.id - 0x7e8));
    if (extended && (f.id & 0x1fffff00) === 0x18daf100) {
      found.set(f.id, obdAddress(f.id & 0xff, { extended: true }));
    }
  });
  const pad = options.padding === undefined ? 0xcc : options.padding;
  const data = pad === false ? new Uint8Array([2, 1, 0]) : new Uint8Array([2, 1, 0, pad, pad, pad, pad, pad]);
  try {
    await link.send({
      timestamp: Date.now() / 1000,
      iface: "obd",
      id: extended ? OBD_FUNCTIONAL_ID_29 : OBD_FUNCTIONAL_ID,
      extended,
      rtr: false,
      error: false,
      fd: false,
      brs: false,
      esi: false,
      data,
    });
    await new Promise((r) => setTimeout(r, options.timeoutMs ?? 200));
  } finally {
    off();
  }
  return [...found.values()].sort((a, b) => a.rxId - b.rxId);
}
