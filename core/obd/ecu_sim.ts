/**
 * An OBD-II ECU simulator for tests and demos: answers service 01 PIDs (with supported-PID bitmaps), 03/07/0A DTC
 * lists (multi-frame when long), 09 02 VIN (multi-frame), on physical and functional addressing, and misbehaves on
 * demand (silence, wrong ISO-TP sequence number, negative responses, "response pending").
 * @module
 */
import {
  type CanLink,
  IsoTpChannel,
  type IsoTpOptions,
  OBD_FUNCTIONAL_ID,
  OBD_FUNCTIONAL_ID_29,
  obdAddress,
  reverseAddress,
} from "../isotp/mod.ts";
import { encodeDtc, encodeSupportedPids, pidDef } from "./pids.ts";

/** What the simulator does instead of answering normally. */
export type Misbehaviour =
  /** No answer at all. */
  | { kind: "silent" }
  /** A multi-frame answer whose first consecutive frame has the wrong sequence number (2 instead of 1). */
  | { kind: "bad_sequence" }
  /** A negative response `7F <service> <nrc>` (e.g. 0x12, 0x31, 0x22). */
  | { kind: "nrc"; nrc: number }
  /** `count` "response pending" (NRC 0x78) answers, then the real one. */
  | { kind: "pending"; count: number };

/** Which requests a misbehaviour applies to. */
export interface MisbehaviourOptions {
  /** How many matching requests (default: all until {@link EcuSimulator.behave}). */
  times?: number;
  /** Only this service. */
  service?: number;
  /** Only this service 01 PID. */
  pid?: number;
  /** Only service 01 requests that ask for more than one PID. */
  multiPidOnly?: boolean;
}

/** Options of {@link EcuSimulator}. */
export interface EcuSimOptions {
  /** ECU number 0-7 (11-bit) or address (29-bit). Default 0. */
  ecu?: number;
  /** 29-bit addressing. */
  extended?: boolean;
  /** Initial physical values by PID (encoded with the J1979 inverse formulas). */
  values?: Record<number, number>;
  /** Raw data bytes by PID (for PIDs without a formula here). */
  raw?: Record<number, number[]>;
  /** Stored (03), pending (07) and permanent (0A) DTCs. */
  dtcs?: { stored?: string[]; pending?: string[]; permanent?: string[] };
  /** VIN (17 characters). */
  vin?: string;
  /** ISO-TP options of the ECU side. */
  isotp?: IsoTpOptions;
  /** Delay of every answer in ms (default 0). */
  delayMs?: number;
}

/**
 * A simulated ECU on a {@link CanLink}.
 *
 * @example
 * ```ts
 * import { MemoryCanBus } from "../isotp/mod.ts";
 * import { EcuSimulator } from "./mod.ts";
 * const bus = new MemoryCanBus();
 * const ecu = new EcuSimulator(bus.link(), { values: { 0x0c: 850 }, dtcs: { stored: ["P0301"] }, vin: "1HGCM82633A004352" });
 * ecu.misbehave({ kind: "nrc", nrc: 0x31 }, { pid: 0x0c, times: 1 });
 * ecu.close();
 * ```
 */
export class EcuSimulator {
  /** Every request received, in order. */
  readonly requests: Uint8Array[] = [];
  readonly #phys: IsoTpChannel;
  readonly #func: IsoTpChannel;
  readonly #raw = new Map<number, number[]>();
  #dtcs: { stored: string[]; pending: string[]; permanent: string[] };
  #vin: string;
  #mis: { m: Misbehaviour; o: MisbehaviourOptions; left: number } | undefined;
  readonly #delay: number;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #closed = false;

  /**
   * Start answering on the ECU's physical and functional IDs.
   * @param link the bus
   * @param options addressing, values, DTCs, VIN
   */
  constructor(link: CanLink, options: EcuSimOptions = {}) {
    const tester = obdAddress(options.ecu ?? 0, { extended: options.extended });
    const me = reverseAddress(tester);
    this.#phys = new IsoTpChannel(link, me, options.isotp);
    this.#func = new IsoTpChannel(link, {
      rxId: options.extended ? OBD_FUNCTIONAL_ID_29 : OBD_FUNCTIONAL_ID,
      txId: me.txId,
      extended: me.extended,
    }, options.isotp);
    for (const [pid, v] of Object.entries(options.values ?? {})) this.setValue(Number(pid), v);
    for (const [pid, b] of Object.entries(options.raw ?? {})) this.#raw.set(Number(pid), b);
    this.#dtcs = {
      stored: options.dtcs?.stored ?? [],
      pending: options.dtcs?.pending ?? [],
      permanent: options.dtcs?.permanent ?? [],
    };
    this.#vin = options.vin ?? "WDB0000000SIM0001";
    this.#delay = options.delayMs ?? 0;
    this.#serve(this.#phys);
    this.#serve(this.#func);
  }

  /** Set a PID's physical value (J1979 inverse formula). */
  setValue(pid: number, value: number): void {
    this.#raw.set(pid, pidDef(pid).encode(value));
  }

  /** Stop answering a PID (it disappears from the supported bitmaps). */
  removePid(pid: number): void {
    this.#raw.delete(pid);
  }

  /** Replace the DTC lists (codes such as `P0301`). */
  setDtcs(dtcs: { stored?: string[]; pending?: string[]; permanent?: string[] }): void {
    this.#dtcs = { stored: dtcs.stored ?? [], pending: dtcs.pending ?? [], permanent: dtcs.permanent ?? [] };
  }

  /** Misbehave on matching requests. */
  misbehave(m: Misbehaviour, options: MisbehaviourOptions = {}): void {
    this.#mis = { m, o: options, left: options.times ?? Infinity };
  }

  /** Back to normal answers. */
  behave(): void {
    this.#mis = undefined;
  }

  async #serve(ch: IsoTpChannel): Promise<void> {
    while (!this.#closed) {
      let req: Uint8Array;
      try {
        req = await ch.receive();
      } catch {
        if (this.#closed) return;
        continue; // a broken incoming message: wait for the next one
      }
      this.requests.push(req);
      if (this.#delay > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            this.#timers.delete(t);
            resolve();
          }, this.#delay);
          this.#timers.add(t);
        });
        if (this.#closed) return;
      }
      try {
        await this.#answer(req);
      } catch {
        // The tester went away mid-answer (timeout, closed): nothing to do.
      }
    }
  }

  #matchMisbehaviour(req: Uint8Array): Misbehaviour | undefined {
    const mis = this.#mis;
    if (!mis || mis.left <= 0) return undefined;
    if (mis.o.service !== undefined && mis.o.service !== req[0]) return undefined;
    if (mis.o.pid !== undefined && (req[0] !== 0x01 || req[1] !== mis.o.pid)) return undefined;
    if (mis.o.multiPidOnly && (req[0] !== 0x01 || req.length < 3)) return undefined;
    mis.left--;
    return mis.m;
  }

  async #answer(req: Uint8Array): Promise<void> {
    const ch = this.#phys;
    const mis = this.#matchMisbehaviour(req);
    if (mis?.kind === "silent") return;
    if (mis?.kind === "nrc") return ch.send(new Uint8Array([0x7f, req[0], mis.nrc]));
    if (mis?.kind === "pending") {
      for (let i = 0; i < mis.count; i++) await ch.send(new Uint8Array([0x7f, req[0], 0x78]));
    }
    const res = this.#response(req);
    if (!res) return;
    await ch.send(res, mis?.kind === "bad_sequence" ? { corruptSequenceAt: 1 } : {});
  }

  #response(req: Uint8Array): Uint8Array | undefined {
    const service = req[0];
    switch (service) {
      case 0x01: {
        if (req.length < 2) return new Uint8Array([0x7f, 0x01, 0x13]);
        // Several PIDs in one request: answer those we know, as J1979 says.
        const out: number[] = [0x41];
        for (let i = 1; i < req.length && i <= 6; i++) {
          const pid = req[i];
          if (pid % 0x20 === 0) {
            const pids = new Set(this.#raw.keys());
            if (pid > 0 && !this.#hasAbove(pid - 0x20)) continue;
            if (this.#hasAbove(pid)) pids.add(pid + 0x20);
            out.push(pid, ...encodeSupportedPids(pid, pids));
            continue;
          }
          const data = this.#raw.get(pid);
          if (data) out.push(pid, ...data);
        }
        if (out.length === 1) return new Uint8Array([0x7f, 0x01, 0x31]);
        return new Uint8Array(out);
      }
      case 0x03:
      case 0x07:
      case 0x0a: {
        const list = service === 0x03
          ? this.#dtcs.stored
          : service === 0x07
          ? this.#dtcs.pending
          : this.#dtcs.permanent;
        const out = [service + 0x40, list.length];
        for (const c of list) out.push(...encodeDtc(c));
        return new Uint8Array(out);
      }
      case 0x09: {
        if (req[1] === 0x02) return new Uint8Array([0x49, 0x02, 0x01, ...new TextEncoder().encode(this.#vin)]);
        if (req[1] === 0x00) return new Uint8Array([0x49, 0x00, 0x40, 0x00, 0x00, 0x00]);
        return new Uint8Array([0x7f, 0x09, 0x31]);
      }
      default:
        return new Uint8Array([0x7f, service, 0x11]);
    }
  }

  /** Some supported PID lies above `base + 0x20`. */
  #hasAbove(base: number): boolean {
    for (const p of this.#raw.keys()) if (p > base + 0x20) return true;
    return false;
  }

  /** Stop answering and release the bus. */
  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#phys.close();
    this.#func.close();
  }
}
