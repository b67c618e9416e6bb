/**
 * The OBD-II polling scheduler: per-PID rates, only supported PIDs, never more than one request in flight per ECU,
 * a bus-load limit shared by all ECUs, periodic DTC reads with change detection → `diagnostics/dtc` events (QoS 1),
 * and `diagnostics/error_count` / `diagnostics/health` derived from them.
 * @module
 */
import type { Logger } from "../log/mod.ts";
import { type ObdClient, ObdNegativeResponseError, type PidReading } from "./client.ts";
import { pidDef, PIDS, VSS_DTC_LIST } from "./pids.ts";

/** One decoded PID value. */
export interface ObdSample {
  /** ECU label (response ID, e.g. `7E8`). */
  ecu: string;
  /** PID number. */
  pid: number;
  /** PID name (`engine_rpm`, …). */
  name: string;
  /** Physical value. */
  value: number;
  /** Unit. */
  unit: string;
  /** VSS paths to publish the value on. */
  vss: readonly string[];
  /** The ESP gateway seed's MQTT topic (`engine/rpm`, …), when it has one. */
  topic?: string;
  /** Observation time, integer ms since the Unix epoch. */
  tsMs: number;
}

/** Which DTC list a code came from. */
export type DtcKind = "stored" | "pending" | "permanent";

/** A DTC appeared or disappeared. Published on `diagnostics/dtc` with QoS 1. */
export interface DtcEvent {
  /** MQTT topic suffix. */
  topic: "diagnostics/dtc";
  /** MQTT QoS: at least once. */
  qos: 1;
  /** The code appeared or went away. */
  type: "new" | "cleared";
  /** `P0301` style code. */
  code: string;
  /** The list it is (was) in. */
  kind: DtcKind;
  /** ECU label (response ID, e.g. `7E8`). */
  ecu: string;
  /** Observation time, integer ms since the Unix epoch. */
  tsMs: number;
}

/** Overall diagnostic health. */
export type ObdHealth = "ok" | "warning" | "fault" | "no_response";

/** A derived diagnostics value changed. */
export type DiagnosticsEvent =
  | DtcEvent
  | { topic: "diagnostics/error_count"; qos: 0; value: number; tsMs: number }
  | { topic: "diagnostics/health"; qos: 1; value: ObdHealth; tsMs: number; ecu?: string }
  | { topic: typeof VSS_DTC_LIST; qos: 0; value: string[]; ecu: string; tsMs: number };

/** Options of {@link ObdPoller}. */
export interface ObdPollerOptions {
  /** Polling interval per PID in ms, keyed by number or name (`{ engine_rpm: 100, 0x05: 1000 }`). */
  rates?: Record<string | number, number>;
  /** PIDs to poll (numbers or names); default: every PID in {@link PIDS} the ECU supports. */
  pids?: (number | string)[];
  /** DTC read interval in ms (default 10 000; 0 disables). */
  dtcIntervalMs?: number;
  /** DTC services read each time (default stored 0x03 and pending 0x07). */
  dtcServices?: (0x03 | 0x07 | 0x0a)[];
  /** Bus-load limit: most requests per second over all ECUs (default 50). */
  maxRequestsPerSecond?: number;
  /** Consecutive failed requests after which an ECU counts as not responding (default 3). */
  failureThreshold?: number;
  /**
   * Ask for up to six due PIDs in one request (default true); an ECU that refuses such requests is then asked one PID
   * at a time.
   */
  multiPid?: boolean;
  /** Wait before retrying PID discovery on a silent ECU, ms (default 2000). */
  retryMs?: number;
  /** Called for every decoded value. */
  onSample?: (s: ObdSample) => void;
  /** Called for DTC changes and derived diagnostics. */
  onEvent?: (e: DiagnosticsEvent) => void;
  /** Logger. */
  log?: Logger;
}

/** Counters of an {@link ObdPoller}. */
export interface ObdPollerStats {
  /** Requests sent. */
  requests: number;
  /** Answers received (negative responses included). */
  responses: number;
  /** Requests without an answer in time. */
  timeouts: number;
  /** `7F` answers. */
  negativeResponses: number;
  /** Other failures (broken ISO-TP sequence, short answers). */
  errors: number;
  /** Decoded values delivered. */
  samples: number;
  /** Running tally of DTCs that appeared (`diagnostics/error_count`). */
  errorCount: number;
  /** Worst health over the ECUs. */
  health: ObdHealth;
  /** Active DTCs per ECU and kind. */
  dtcs: Record<string, Record<DtcKind, string[]>>;
  /** PIDs being polled per ECU. */
  polled: Record<string, number[]>;
}

interface Item {
  kind: "pid" | "dtc";
  pid: number;
  rate: number;
  next: number;
}

interface EcuState {
  client: ObdClient;
  items: Item[];
  failures: number;
  dtcs: Record<DtcKind, Set<string>>;
  dtcsKnown: boolean;
  multi: boolean;
}

const KIND_OF: Record<number, DtcKind> = { 0x03: "stored", 0x07: "pending", 0x0a: "permanent" };

/**
 * Polls one or more ECUs.
 *
 * @example
 * ```ts
 * import { MemoryCanBus } from "../isotp/mod.ts";
 * import { EcuSimulator, ObdClient, ObdPoller } from "./mod.ts";
 * const bus = new MemoryCanBus();
 * const ecu = new EcuSimulator(bus.link(), { values: { 0x0c: 850, 0x05: 90 } });
 * const client = new ObdClient(bus.link(), { ecu: 0 });
 * const poller = new ObdPoller([client], {
 *   rates: { engine_rpm: 100, coolant_temp: 1000 },
 *   onSample: (s) => console.log(s.vss[0], s.value, s.tsMs),
 *   onEvent: (e) => console.log(e.topic, e),
 * });
 * poller.start();
 * await new Promise((r) => setTimeout(r, 300));
 * await poller.stop();
 * client.close();
 * ecu.close();
 * ```
 */
export class ObdPoller {
  readonly #ecus: EcuState[];
  readonly #o: ObdPollerOptions;
  readonly #gap: number;
  readonly #threshold: number;
  readonly #sleeps = new Set<{ timer: ReturnType<typeof setTimeout>; resolve: () => void }>();
  #running = false;
  #loops: Promise<void>[] = [];
  #nextSlot = 0;
  #health: ObdHealth | undefined;
  #stats: Omit<ObdPollerStats, "health" | "dtcs" | "polled"> = {
    requests: 0,
    responses: 0,
    timeouts: 0,
    negativeResponses: 0,
    errors: 0,
    samples: 0,
    errorCount: 0,
  };

  /**
   * A poller over one client per ECU; call {@link ObdPoller.start}.
   * @param clients one client per ECU
   * @param options rates, limits, callbacks
   */
  constructor(clients: ObdClient[], options: ObdPollerOptions = {}) {
    this.#o = options;
    this.#gap = 1000 / (options.maxRequestsPerSecond ?? 50);
    this.#threshold = options.failureThreshold ?? 3;
    for (const k of Object.keys(options.rates ?? {})) pidDef(/^\d+$/.test(k) ? Number(k) : k); // fail fast
    for (const p of options.pids ?? []) pidDef(p);
    this.#ecus = clients.map((client) => ({
      client,
      items: [],
      failures: 0,
      dtcs: { stored: new Set(), pending: new Set(), permanent: new Set() },
      dtcsKnown: false,
      multi: options.multiPid ?? true,
    }));
  }

  /** Start polling (discovers supported PIDs first). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loops = this.#ecus.map((e) => this.#loop(e));
  }

  /** Stop polling; resolves when every ECU loop has ended (an in-flight request finishes or times out first). */
  async stop(): Promise<void> {
    this.#running = false;
    for (const s of this.#sleeps) {
      clearTimeout(s.timer);
      s.resolve();
    }
    this.#sleeps.clear();
    await Promise.all(this.#loops);
  }

  /** Counters, active DTCs and health. */
  stats(): ObdPollerStats {
    const dtcs: ObdPollerStats["dtcs"] = {};
    const polled: ObdPollerStats["polled"] = {};
    for (const e of this.#ecus) {
      dtcs[e.client.ecu] = {
        stored: [...e.dtcs.stored],
        pending: [...e.dtcs.pending],
        permanent: [...e.dtcs.permanent],
      };
      polled[e.client.ecu] = e.items.filter((i) => i.kind === "pid").map((i) => i.pid);
    }
    return { ...this.#stats, health: this.#health ?? "ok", dtcs, polled };
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const s = {
        timer: setTimeout(() => {
          this.#sleeps.delete(s);
          resolve();
        }, Math.max(0, ms)),
        resolve,
      };
      this.#sleeps.add(s);
    });
  }

  #rateFor(pid: number): number {
    const d = pidDef(pid);
    const r = this.#o.rates ?? {};
    return r[d.name] ?? r[pid] ?? r[`0x${pid.toString(16)}`] ?? r[`0x${pid.toString(16).padStart(2, "0")}`] ??
      d.intervalMs;
  }

  /** Wait for a bus slot (bus-load limit); returns false when stopped meanwhile. */
  async #slot(): Promise<boolean> {
    for (;;) {
      if (!this.#running) return false;
      const now = Date.now();
      if (this.#nextSlot <= now) {
        this.#nextSlot = now + this.#gap;
        return true;
      }
      await this.#sleep(this.#nextSlot - now);
    }
  }

  async #loop(e: EcuState): Promise<void> {
    const log = this.#o.log;
    // 1. Discover supported PIDs.
    let supported: Set<number> | undefined;
    while (this.#running && !supported) {
      if (!(await this.#slot())) return;
      this.#stats.requests++;
      try {
        supported = await e.client.supportedPids();
        this.#ok(e);
      } catch (err) {
        this.#failed(e, err, "supported PIDs");
        await this.#sleep(this.#o.retryMs ?? 2000);
      }
    }
    if (!supported) return;
    const wanted = this.#o.pids ? this.#o.pids.map((p) => pidDef(p).pid) : [...PIDS.keys()];
    const now = Date.now();
    for (const pid of wanted) {
      if (supported.has(pid)) e.items.push({ kind: "pid", pid, rate: this.#rateFor(pid), next: now });
      else log?.info("PID not supported by ECU; not polled", { ecu: e.client.ecu, pid });
    }
    const dtcEvery = this.#o.dtcIntervalMs ?? 10_000;
    if (dtcEvery > 0) e.items.push({ kind: "dtc", pid: -1, rate: dtcEvery, next: now });
    // 2. Poll: always the most overdue item; one request at a time for this ECU.
    while (this.#running && e.items.length > 0) {
      let item = e.items[0];
      for (const it of e.items) if (it.next < item.next) item = it;
      const wait = item.next - Date.now();
      if (wait > 0) {
        await this.#sleep(wait);
        continue;
      }
      if (!(await this.#slot())) return;
      const t = Date.now();
      const group = item.kind === "pid" && e.multi
        ? e.items.filter((it) => it.kind === "pid" && it.next <= t).sort((a, b) => a.next - b.next).slice(0, 6)
        : [item];
      for (const it of group) {
        it.next += it.rate;
        if (it.next <= t) it.next = t + it.rate; // fell behind: skip, don't burst
      }
      if (item.kind === "dtc") await this.#pollDtcs(e);
      else if (group.length > 1) await this.#pollPids(e, group);
      else await this.#pollPid(e, item);
    }
  }

  #emit(e: EcuState, r: PidReading): void {
    const d = pidDef(r.pid);
    this.#stats.samples++;
    this.#o.onSample?.({
      ecu: e.client.ecu,
      pid: r.pid,
      name: r.name,
      value: r.value,
      unit: r.unit,
      vss: d.vss,
      ...(d.topic ? { topic: d.topic } : {}),
      tsMs: Date.now(),
    });
  }

  async #pollPids(e: EcuState, group: Item[]): Promise<void> {
    this.#stats.requests++;
    try {
      const rs = await e.client.readPids(group.map((i) => i.pid));
      this.#ok(e);
      for (const r of rs) this.#emit(e, r);
    } catch (err) {
      this.#failed(e, err, `PIDs ${group.map((i) => "0x" + i.pid.toString(16)).join(",")}`);
      if (err instanceof ObdNegativeResponseError) {
        e.multi = false;
        for (const it of group) it.next = Date.now(); // ask again, one at a time
        this.#o.log?.info("ECU refuses multi-PID requests; asking one PID at a time", { ecu: e.client.ecu });
      }
    }
  }

  async #pollPid(e: EcuState, item: Item): Promise<void> {
    this.#stats.requests++;
    try {
      const r = await e.client.readPid(item.pid);
      this.#ok(e);
      this.#emit(e, r);
    } catch (err) {
      this.#failed(e, err, `PID 0x${item.pid.toString(16)}`);
      if (err instanceof ObdNegativeResponseError && (err.nrc === 0x12 || err.nrc === 0x31 || err.nrc === 0x11)) {
        // The ECU says it does not do this PID: stop asking.
        e.items.splice(e.items.indexOf(item), 1);
        this.#o.log?.warn("ECU refuses PID; no longer polled", { ecu: e.client.ecu, pid: item.pid, nrc: err.nrc });
      }
    }
  }

  async #pollDtcs(e: EcuState): Promise<void> {
    const services = this.#o.dtcServices ?? [0x03, 0x07];
    const seen: Partial<Record<DtcKind, string[]>> = {};
    for (const s of services) {
      this.#stats.requests++;
      try {
        seen[KIND_OF[s]] = await e.client.readDtcs(s);
        this.#ok(e);
      } catch (err) {
        this.#failed(e, err, `DTC service 0x${s.toString(16)}`);
      }
    }
    const tsMs = Date.now();
    let changed = false;
    for (const kind of Object.keys(seen) as DtcKind[]) {
      const now = new Set(seen[kind]);
      const before = e.dtcs[kind];
      for (const code of now) {
        if (before.has(code)) continue;
        changed = true;
        this.#stats.errorCount++;
        this.#o.onEvent?.({
          topic: "diagnostics/dtc",
          qos: 1,
          type: "new",
          code,
          kind,
          ecu: e.client.ecu,
          tsMs,
        });
      }
      for (const code of before) {
        if (now.has(code)) continue;
        changed = true;
        this.#o.onEvent?.({
          topic: "diagnostics/dtc",
          qos: 1,
          type: "cleared",
          code,
          kind,
          ecu: e.client.ecu,
          tsMs,
        });
      }
      e.dtcs[kind] = now;
    }
    if (changed || !e.dtcsKnown) {
      e.dtcsKnown = true;
      const active = [...new Set([...e.dtcs.stored, ...e.dtcs.pending, ...e.dtcs.permanent])];
      this.#o.onEvent?.({ topic: VSS_DTC_LIST, qos: 0, value: active, ecu: e.client.ecu, tsMs });
      this.#o.onEvent?.({ topic: "diagnostics/error_count", qos: 0, value: this.#stats.errorCount, tsMs });
    }
    this.#updateHealth();
  }

  #ok(e: EcuState): void {
    this.#stats.responses++;
    if (e.failures >= this.#threshold) this.#o.log?.info("ECU answers again", { ecu: e.client.ecu });
    e.failures = 0;
    this.#updateHealth();
  }

  #failed(e: EcuState, err: unknown, what: string): void {
    const code = (err as { code?: string }).code;
    if (err instanceof ObdNegativeResponseError) {
      this.#stats.negativeResponses++;
      this.#stats.responses++;
      e.failures = 0; // it answered
    } else {
      if (code === "isotp.timeout") this.#stats.timeouts++;
      else this.#stats.errors++;
      e.failures++;
    }
    if (code === "isotp.closed") this.#running = false;
    this.#o.log?.warn("OBD request failed", { ecu: e.client.ecu, what, code, error: (err as Error).message });
    this.#updateHealth();
  }

  #updateHealth(): void {
    let h: ObdHealth = "ok";
    const rank: Record<ObdHealth, number> = { ok: 0, warning: 1, fault: 2, no_response: 3 };
    for (const e of this.#ecus) {
      let eh: ObdHealth = "ok";
      if (e.failures >= this.#threshold) eh = "no_response";
      else if (e.dtcs.stored.size > 0 || e.dtcs.permanent.size > 0) eh = "fault";
      else if (e.dtcs.pending.size > 0) eh = "warning";
      if (rank[eh] > rank[h]) h = eh;
    }
    if (h !== this.#health) {
      this.#health = h;
      this.#o.onEvent?.({ topic: "diagnostics/health", qos: 1, value: h, tsMs: Date.now() });
    }
  }
}
