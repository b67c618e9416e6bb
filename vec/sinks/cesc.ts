/**
 * The CESC sink: pushes VISSv2 data objects (`{"vin", "data": [{path, dp: [{value, ts}]}]}`, the array form) to the
 * CESC over HTTP(S), batched by size and time, optionally signed, retried with full-jitter exponential backoff.
 *
 * Durability: a batch is written to the on-disk queue first and removed only after the CESC answered 2xx, so
 * nothing acknowledged by the queue is lost across a restart, and batches leave in order. Batches the CESC
 * rejects as malformed (400, 413, 415) would be rejected forever: they are dropped and counted, never retried.
 *
 * @module
 */
import type { Logger } from "../../core/log/mod.ts";
import { silentLogger } from "../../core/log/mod.ts";
import type { MessageQueue } from "../../core/queue/mod.ts";
import { toVissData } from "../../core/viss/mod.ts";
import type { VissDatapoint } from "./types.ts";

/** Adds signature headers to a request (the `core/security` envelope). */
export type RequestSigner = (request: { method: string; path: string; body: Uint8Array }) =>
  | Record<string, string>
  | Promise<Record<string, string>>;

/** Encodes one push: VISSv2 JSON by default, AVRO with `cesc.encoding: avro`. */
export type PushEncoder = (
  vin: string,
  datapoints: readonly VissDatapoint[],
) => { body: Uint8Array | string; contentType: string };

/** The default encoder: `{"vin", "data": [{path, dp: [...]}]}` (the VISSv2 array form). */
export const jsonPushEncoder: PushEncoder = (vin: string, datapoints: readonly VissDatapoint[]) => ({
  body: JSON.stringify(toVissData(vin, datapoints)),
  contentType: "application/json",
});

/** Options of {@link CescSink}. */
export interface CescSinkOptions {
  /** CESC base URL, e.g. `http://127.0.0.1:8000`. */
  url: string;
  /** Request path (the original CESC listens on `/`). */
  path?: string;
  /** The on-disk queue batches wait in until the CESC acknowledges them. */
  queue: MessageQueue;
  /** VIN; may be set later with {@link CescSink.setVin} (from the VIN signal). */
  vin?: string;
  /** Datapoints per push, at most (default 500). */
  batchMaxDatapoints?: number;
  /** Oldest buffered datapoint waits at most this long (default 1000 ms). */
  batchMaxMs?: number;
  /** Request timeout (default 10 s). */
  timeoutMs?: number;
  /** First retry delay bound (default 250 ms). */
  retryMinMs?: number;
  /** Largest retry delay (default 30 s). */
  retryMaxMs?: number;
  /** Adds signature headers (the `core/security` envelope). */
  signer?: RequestSigner;
  /** Body encoding (default {@link jsonPushEncoder}). */
  encoder?: PushEncoder;
  /** `fetch` client options, e.g. a `Deno.createHttpClient` with client certificates. */
  client?: Deno.HttpClient;
  /** Structured logger (default: silent). */
  logger?: Logger;
  /** Random source for jitter (tests). */
  random?: () => number;
}

/** Counters of {@link CescSink}. */
export interface CescSinkStats {
  /** What the sender loop is doing. */
  state: "idle" | "sending" | "backoff" | "closed";
  /** Datapoints in memory, not yet queued. */
  buffered: number;
  /** Pushes waiting in the disk queue. */
  queued: number;
  /** Bytes waiting in the disk queue. */
  queuedBytes: number;
  /** Pushes the queue dropped (over its byte or age limit). */
  queueDropped: number;
  /** Pushes the CESC acknowledged. */
  sentRequests: number;
  /** Datapoints the CESC acknowledged. */
  sentDatapoints: number;
  /** Pushes the CESC refused as malformed (dropped). */
  rejectedRequests: number;
  /** Datapoints in those pushes. */
  rejectedDatapoints: number;
  /** Failed attempts (retried). */
  failures: number;
  /** The last delivery error. */
  lastError?: string;
  /** Time of the last acknowledged push (ISO 8601). */
  lastSuccessAt?: string;
}

const PERMANENT = new Set([400, 413, 415, 422]);
/** Unsent datapoints held in memory while no VIN is known, at most. */
const MAX_PENDING_WITHOUT_VIN = 100_000;

/** Pushes datapoints to a CESC (see the module doc). */
export class CescSink {
  /** Sink name in stats and metrics. */
  readonly name = "cesc";
  #opts:
    & Required<Omit<CescSinkOptions, "vin" | "signer" | "client" | "logger" | "random" | "encoder">>
    & CescSinkOptions;
  #encoder: PushEncoder;
  #vin?: string;
  #buffer: VissDatapoint[] = [];
  #firstAt = 0;
  #timer?: ReturnType<typeof setTimeout>;
  #wake?: () => void;
  #loop?: Promise<void>;
  #closed = false;
  #state: CescSinkStats["state"] = "idle";
  #abort = new AbortController();
  /** Queue counters at close (the queue may be closed by its owner afterwards). */
  #finalQueueStats?: { depth: number; bytes: number; dropped: number };
  #log: Logger;
  #random: () => number;
  #endpoint: string;
  #stats = {
    sentRequests: 0,
    sentDatapoints: 0,
    rejectedRequests: 0,
    rejectedDatapoints: 0,
    failures: 0,
    droppedWithoutVin: 0,
    lastError: undefined as string | undefined,
    lastSuccessAt: undefined as string | undefined,
  };

  /**
   * Creates the sink; `start()` begins sending what the queue holds.
   * @param options see {@link CescSinkOptions}
   */
  constructor(options: CescSinkOptions) {
    this.#opts = {
      path: "/",
      batchMaxDatapoints: 500,
      batchMaxMs: 1000,
      timeoutMs: 10_000,
      retryMinMs: 250,
      retryMaxMs: 30_000,
      ...options,
    };
    this.#vin = options.vin;
    this.#log = options.logger ?? silentLogger;
    this.#random = options.random ?? Math.random;
    this.#encoder = options.encoder ?? jsonPushEncoder;
    this.#endpoint = new URL(this.#opts.path, options.url).href;
  }

  /** Starts the sender loop (drains what an earlier run left in the queue). */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** The VIN the pushes carry. */
  get vin(): string | undefined {
    return this.#vin;
  }

  /** Sets the VIN (e.g. once the `Vehicle.VehicleIdentification.VIN` signal arrives). */
  setVin(vin: string): void {
    if (vin === this.#vin) return;
    this.#flush();
    this.#vin = vin;
  }

  /** Buffers datapoints; a full batch goes to the queue at once, a partial one after `batchMaxMs`. */
  write(datapoints: readonly VissDatapoint[]): void {
    if (this.#closed) return;
    for (const dp of datapoints) {
      if (this.#buffer.length === 0) this.#firstAt = Date.now();
      this.#buffer.push(dp);
      if (this.#vin && this.#buffer.length >= this.#opts.batchMaxDatapoints) this.#flush();
    }
    if (!this.#vin && this.#buffer.length > MAX_PENDING_WITHOUT_VIN) {
      const drop = this.#buffer.length - MAX_PENDING_WITHOUT_VIN;
      this.#buffer.splice(0, drop);
      this.#stats.droppedWithoutVin += drop;
    }
    if (this.#buffer.length > 0 && this.#timer === undefined) {
      const wait = Math.max(0, this.#opts.batchMaxMs - (Date.now() - this.#firstAt));
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#flush();
        if (this.#buffer.length > 0) this.write([]);
      }, wait);
    }
  }

  /** Moves buffered datapoints to the queue now (needs a VIN). */
  flush(): void {
    this.#flush();
  }

  #flush(): void {
    if (!this.#vin || this.#buffer.length === 0) return;
    const max = this.#opts.batchMaxDatapoints;
    for (let i = 0; i < this.#buffer.length; i += max) {
      const chunk = this.#buffer.slice(i, i + max);
      const { body, contentType } = this.#encoder(this.#vin, chunk);
      this.#opts.queue.push(body, { meta: { datapoints: chunk.length, contentType } });
    }
    this.#buffer = [];
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#wake?.();
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#closed) {
      const [item] = this.#opts.queue.peek(1);
      if (!item) {
        this.#state = "idle";
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
        continue;
      }
      this.#state = "sending";
      const count = Number(item.meta?.datapoints ?? 0);
      const body = typeof item.payload === "string" ? new TextEncoder().encode(item.payload) : item.payload;
      const outcome = await this.#send(body, String(item.meta?.contentType ?? "application/json"));
      if (outcome === "ok" || outcome === "rejected") {
        this.#opts.queue.ack([item.id]);
        attempt = 0;
        if (outcome === "ok") {
          this.#stats.sentRequests++;
          this.#stats.sentDatapoints += count;
          this.#stats.lastSuccessAt = new Date().toISOString();
        } else {
          this.#stats.rejectedRequests++;
          this.#stats.rejectedDatapoints += count;
        }
        continue;
      }
      if (this.#closed) break;
      this.#stats.failures++;
      attempt++;
      const ceiling = Math.min(this.#opts.retryMaxMs, this.#opts.retryMinMs * 2 ** Math.min(attempt - 1, 20));
      const delay = Math.max(this.#opts.retryMinMs / 2, this.#random() * ceiling);
      this.#state = "backoff";
      this.#log.warn("cesc push failed, retrying", {
        error: this.#stats.lastError,
        attempt,
        delay_ms: Math.round(delay),
        queued: this.#opts.queue.stats().depth,
      });
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.#wake = () => {
          if (this.#closed) {
            clearTimeout(t);
            resolve();
          }
        };
      });
      this.#wake = undefined;
    }
    this.#state = "closed";
  }

  async #send(body: Uint8Array, contentType: string): Promise<"ok" | "rejected" | "retry"> {
    const headers: Record<string, string> = { "content-type": contentType };
    if (this.#opts.signer) {
      Object.assign(headers, await this.#opts.signer({ method: "POST", path: this.#opts.path, body }));
    }
    try {
      const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#opts.timeoutMs)]);
      const res = await fetch(this.#endpoint, {
        method: "POST",
        headers,
        body: body as Uint8Array<ArrayBuffer>,
        signal,
        ...(this.#opts.client ? { client: this.#opts.client } : {}),
      });
      const text = await res.text();
      if (res.ok) return "ok";
      this.#stats.lastError = `HTTP ${res.status}: ${text.slice(0, 200)}`;
      if (PERMANENT.has(res.status)) {
        this.#log.error("cesc rejected a batch; dropping it", { status: res.status, body: text.slice(0, 500) });
        return "rejected";
      }
      return "retry";
    } catch (e) {
      // An abort from close() is not a delivery problem worth reporting.
      if (!this.#closed) this.#stats.lastError = (e as Error).message;
      return "retry";
    }
  }

  /** Counters and state for `/health` and `/metrics`. */
  stats(): CescSinkStats {
    const q = this.#finalQueueStats ?? this.#opts.queue.stats();
    return {
      state: this.#state,
      buffered: this.#buffer.length,
      queued: q.depth,
      queuedBytes: q.bytes,
      queueDropped: q.dropped,
      sentRequests: this.#stats.sentRequests,
      sentDatapoints: this.#stats.sentDatapoints,
      rejectedRequests: this.#stats.rejectedRequests,
      rejectedDatapoints: this.#stats.rejectedDatapoints,
      failures: this.#stats.failures,
      lastError: this.#stats.lastError,
      lastSuccessAt: this.#stats.lastSuccessAt,
    };
  }

  /**
   * Flushes the buffer to the queue and, when `drainMs` is given, waits up to that long for the queue to empty
   * before stopping the sender. What is still queued stays on disk for the next start.
   */
  async close(options: { drainMs?: number } = {}): Promise<void> {
    this.#flush();
    if (options.drainMs && this.#loop) {
      const deadline = Date.now() + options.drainMs;
      while (this.#opts.queue.stats().depth > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#abort.abort();
    this.#wake?.();
    await this.#loop;
    this.#state = "closed";
    this.#finalQueueStats = this.#opts.queue.stats();
  }
}
