import type { Logger } from "../core/log/mod.ts";
import type { OvdsStore } from "../core/ovds/mod.ts";
import type { Metrics } from "./metrics.ts";
import { type ForwardBackend, RetryableError } from "./backends/types.ts";

/** Options for {@link Forwarder}. */
export interface ForwarderOptions {
  /** Flush a vehicle when more than this many new data points are stored (default 25). */
  maxDatapoints?: number;
  /** Flush every vehicle with a backlog this often, in ms (default 30 000). */
  flushIntervalMs?: number;
  /** Rows per backend call (default 5000). */
  batchRows?: number;
  /** Backoff base and cap in ms (default 500 / 60 000), with full jitter. */
  backoff?: { baseMs?: number; maxMs?: number };
  /** Delete forwarded rows older than this (ms); checked at most once a minute. */
  retentionMs?: number;
  /** Vehicles forwarded at the same time (default 4). */
  concurrency?: number;
  /** Logger. */
  log?: Logger;
  /** Metrics registry. */
  metrics?: Metrics;
}

interface VehicleState {
  pending: number;
  queued: boolean;
  running: boolean;
  again: boolean;
  attempts: number;
  retryTimer?: ReturnType<typeof setTimeout>;
}

/**
 * Moves stored rows to the backend, per vehicle, at least once: the watermark (by row id) advances
 * only after the backend accepted (or refused for good, then dead-lettered) every row of a batch.
 * Triggers: more than `maxDatapoints` new rows for a vehicle, or the flush timer. Retryable failures
 * back off exponentially with full jitter and retry on their own, without waiting for new data.
 */
export class Forwarder {
  #store: OvdsStore;
  #backend: ForwardBackend;
  #opts: Required<Omit<ForwarderOptions, "log" | "metrics" | "retentionMs" | "backoff">> & {
    baseMs: number;
    maxMs: number;
  };
  #log?: Logger;
  #metrics?: Metrics;
  #retentionMs?: number;
  #lastRetention = 0;
  #vehicles = new Map<string, VehicleState>();
  #queue: string[] = [];
  #active = 0;
  #timer?: ReturnType<typeof setInterval>;
  #closed = false;
  #inflight = new Set<Promise<void>>();
  #idleWaiters: (() => void)[] = [];

  /**
   * @param store where rows are read and watermarks kept
   * @param backend where rows go
   */
  constructor(store: OvdsStore, backend: ForwardBackend, options: ForwarderOptions = {}) {
    this.#store = store;
    this.#backend = backend;
    this.#opts = {
      maxDatapoints: options.maxDatapoints ?? 25,
      flushIntervalMs: options.flushIntervalMs ?? 30_000,
      batchRows: options.batchRows ?? 5000,
      concurrency: options.concurrency ?? 4,
      baseMs: options.backoff?.baseMs ?? 500,
      maxMs: options.backoff?.maxMs ?? 60_000,
    };
    this.#log = options.log;
    this.#metrics = options.metrics;
    this.#retentionMs = options.retentionMs;
  }

  /** Starts the flush timer and flushes every vehicle's backlog left from an earlier run. */
  start(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => void this.flushAll(), this.#opts.flushIntervalMs);
    void this.flushAll();
  }

  #state(vin: string): VehicleState {
    let s = this.#vehicles.get(vin);
    if (!s) this.#vehicles.set(vin, s = { pending: 0, queued: false, running: false, again: false, attempts: 0 });
    return s;
  }

  /** Tells the forwarder how many rows were just committed per VIN (count trigger). */
  noteInserted(perVin: Map<string, number>): void {
    for (const [vin, n] of perVin) {
      if (n === 0) continue;
      const s = this.#state(vin);
      s.pending += n;
      if (s.pending > this.#opts.maxDatapoints) this.request(vin);
    }
  }

  /** Asks for a flush of one vehicle (coalesced with a running or queued one). */
  request(vin: string): void {
    if (this.#closed) return;
    const s = this.#state(vin);
    if (s.retryTimer !== undefined) return; // backing off: the retry timer will run it
    if (s.running) {
      s.again = true;
      return;
    }
    if (s.queued) return;
    s.queued = true;
    this.#queue.push(vin);
    this.#pump();
  }

  /** Flushes every vehicle that has a backlog (timer trigger); also applies retention. */
  async flushAll(): Promise<void> {
    if (this.#closed) return;
    try {
      const vehicles = await this.#store.vehicles();
      let backlog = 0;
      for (const v of vehicles) {
        backlog += v.backlog;
        if (v.backlog > 0) this.request(v.vin);
      }
      this.#metrics?.set("cesc_backlog_datapoints", backlog);
      if (this.#retentionMs !== undefined && Date.now() - this.#lastRetention > 60_000) {
        this.#lastRetention = Date.now();
        const n = await this.#store.applyRetention(this.#retentionMs);
        if (n > 0) this.#log?.info("retention deleted forwarded rows", { rows: n });
        this.#metrics?.inc("cesc_retention_deleted_total", undefined, n);
      }
    } catch (e) {
      if (!this.#closed) this.#log?.error("flush timer failed", { err: e });
    }
  }

  #pump(): void {
    while (this.#active < this.#opts.concurrency && this.#queue.length > 0) {
      const vin = this.#queue.shift()!;
      const s = this.#state(vin);
      s.queued = false;
      s.running = true;
      this.#active++;
      const p = this.#run(vin, s).finally(() => {
        this.#active--;
        s.running = false;
        this.#inflight.delete(p);
        if (s.again && s.retryTimer === undefined) {
          s.again = false;
          this.request(vin);
        }
        this.#pump();
        if (this.#active === 0 && this.#queue.length === 0) {
          for (const w of this.#idleWaiters.splice(0)) w();
        }
      });
      this.#inflight.add(p);
    }
  }

  async #run(vin: string, s: VehicleState): Promise<void> {
    s.pending = 0;
    while (!this.#closed) {
      const rows = await this.#store.unforwarded(vin, { limit: this.#opts.batchRows });
      if (rows.length === 0) return;
      const t0 = performance.now();
      try {
        const out = await this.#backend.send(vin, rows);
        if (this.#closed) return;
        for (const r of out.rejected) {
          await this.#store.deadLetter(vin, r.rows, { reason: r.reason });
          this.#metrics?.inc("cesc_dead_letters_total", undefined, r.rows.length);
          this.#log?.warn("backend rejected records: dead-lettered", { vin, rows: r.rows.length, reason: r.reason });
        }
        await this.#store.advanceWatermark(vin, rows[rows.length - 1].id);
        s.attempts = 0;
        this.#metrics?.inc("cesc_forwarded_datapoints_total", undefined, out.delivered);
        this.#metrics?.inc("cesc_skipped_datapoints_total", undefined, out.skipped);
        this.#metrics?.observe("cesc_forward_latency_seconds", (performance.now() - t0) / 1000);
        this.#log?.debug("forwarded", { vin, rows: rows.length, delivered: out.delivered, skipped: out.skipped });
      } catch (e) {
        if (this.#closed) return;
        const kind = e instanceof RetryableError ? e.kind : "error";
        this.#metrics?.inc("cesc_forward_errors_total", { kind });
        const cap = Math.min(this.#opts.maxMs, this.#opts.baseMs * 2 ** Math.min(s.attempts, 20));
        let delay = Math.random() * cap;
        if (e instanceof RetryableError && e.retryAfterMs !== undefined) {
          delay = Math.max(delay, Math.min(e.retryAfterMs, this.#opts.maxMs));
        }
        s.attempts++;
        this.#log?.warn("forwarding failed, will retry", {
          vin,
          kind,
          attempt: s.attempts,
          retryInMs: Math.round(delay),
          err: e,
        });
        s.retryTimer = setTimeout(() => {
          s.retryTimer = undefined;
          this.request(vin);
        }, delay);
        return;
      }
    }
  }

  /** Resolves when no vehicle is being forwarded or queued (retries waiting on a timer do not count). */
  idle(): Promise<void> {
    if (this.#active === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops the timers and waits for running calls to end. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    for (const s of this.#vehicles.values()) if (s.retryTimer !== undefined) clearTimeout(s.retryTimer);
    this.#queue.length = 0;
    await Promise.allSettled([...this.#inflight]);
    for (const w of this.#idleWaiters.splice(0)) w();
  }
}
