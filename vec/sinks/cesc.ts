/**
 * The CESC sink: a batch uplink (`core/uplink` {@link UplinkSink}) whose transport is an HTTP(S) POST to the CESC's
 * ingest path ({@link CescTransport}, optionally signed), over the on-disk queue, with the VISSv2 JSON encoder
 * (`{"vin","data":[{path, dp:[{value, ts}]}]}`, the array form) or AVRO object container files.
 *
 * Durability: a batch is written to the queue first and removed only after the CESC answered 2xx, so nothing
 * acknowledged by the queue is lost across a restart, and batches leave in order, retried with full-jitter
 * exponential backoff (and `Retry-After`). A 400 `viss.refused` names the refused datapoints: only those are
 * dropped (counted and logged), the rest of the batch is re-encoded and resent. Other permanent refusals (413, 415,
 * 422, a 400 without a list) drop the batch, counted in datapoints.
 *
 * @example
 * ```ts ignore
 * import { DiskQueue } from "../../core/queue/mod.ts";
 * import { CescSink } from "./cesc.ts";
 * const queue = DiskQueue.open("state/cesc-queue.db", { name: "cesc" });
 * const sink = new CescSink({ url: "http://127.0.0.1:8000", queue, vin: "VIN0001" });
 * sink.start();
 * sink.write([{ path: "Vehicle.Speed", value: 55, tsMs: Date.now() }]);
 * await sink.close({ drainMs: 5000 });
 * console.log(sink.stats().sentDatapoints);
 * ```
 * @module
 */
import type { Logger } from "../../core/log/mod.ts";
import type { MessageQueue } from "../../core/queue/mod.ts";
import {
  ACK,
  type MessageEncoder,
  type OutboundMessage,
  type SendCallback,
  type SendOutcome,
  type Transport,
  UplinkSink,
  type UplinkSinkStats,
  vissJsonEncoder,
} from "../../core/uplink/mod.ts";
import { readRefusals } from "../../core/viss/mod.ts";
import type { Datapoint } from "./types.ts";

/** Adds signature headers to a request (the `core/security` envelope). */
export type RequestSigner = (request: { method: string; path: string; body: Uint8Array }) =>
  | Record<string, string>
  | Promise<Record<string, string>>;

/** Encodes one push (VISSv2 JSON by default, AVRO with `cesc.encoding: avro`): a `core/uplink` encoder. */
export type PushEncoder = MessageEncoder;

/** The default encoder: `{"vin", "data": [{path, dp: [...]}]}` (the VISSv2 array form). */
export const jsonPushEncoder: PushEncoder = vissJsonEncoder;

/** Options of {@link CescTransport}. */
export interface CescTransportOptions {
  /** CESC base URL, e.g. `http://127.0.0.1:8000`. */
  url: string;
  /** Request path (the original CESC listens on `/`). */
  path?: string;
  /** Request timeout (default 10 s). */
  timeoutMs?: number;
  /** Adds signature headers (the `core/security` envelope). */
  signer?: RequestSigner;
  /** `fetch` client options, e.g. a `Deno.createHttpClient` with client certificates. */
  client?: Deno.HttpClient;
}

const PERMANENT = new Set([400, 413, 415, 422]);
const utf8 = new TextEncoder();

/** `Retry-After` in ms (seconds or an HTTP date), or undefined. */
function retryAfterMs(value: string | null): number | undefined {
  if (!value) return undefined;
  const s = Number(value);
  if (Number.isFinite(s) && s >= 0) return Math.min(s * 1000, 3_600_000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.min(Math.max(0, at - Date.now()), 3_600_000) : undefined;
}

/**
 * What a CESC answer means for the uplink: 2xx acknowledges; 400 `viss.refused` refuses the listed datapoints;
 * 400 (other), 413, 415 and 422 refuse the whole message; everything else (429, 5xx, 401/403 while keys rotate) is
 * retried, after `Retry-After` when given.
 *
 * @param status HTTP status
 * @param body the response text
 * @param retryAfter the `Retry-After` header
 */
export function cescOutcome(status: number, body: string, retryAfter: string | null = null): SendOutcome {
  if (status >= 200 && status < 300) return ACK;
  const reason = `HTTP ${status}: ${body.slice(0, 200)}`;
  if (!PERMANENT.has(status)) return { kind: "retry", reason, retryAfterMs: retryAfterMs(retryAfter) };
  const refusals = status === 400 ? readRefusals(body) : undefined;
  return refusals && refusals.length > 0 ? { kind: "refused", reason, refusals } : { kind: "refused", reason };
}

/** HTTP POST of one queued message to the CESC ({@link cescOutcome} reads the answer). */
export class CescTransport implements Transport {
  /** Transport name. */
  readonly name = "cesc";
  readonly #o: CescTransportOptions;
  readonly #endpoint: string;
  readonly #path: string;
  readonly #abort = new AbortController();

  /** @param options see {@link CescTransportOptions} */
  constructor(options: CescTransportOptions) {
    this.#o = options;
    this.#path = options.path ?? "/";
    this.#endpoint = new URL(this.#path, options.url).href;
  }

  /** HTTP has no connection to wait for: always true (a refused connection is a `retry`). */
  isAlive(): boolean {
    return true;
  }

  /** POSTs the body with its content type (and signature headers). */
  send(message: OutboundMessage, done: SendCallback): void {
    this.#post(message).then(done, (e) => done({ kind: "retry", reason: (e as Error).message }));
  }

  async #post(message: OutboundMessage): Promise<SendOutcome> {
    const body = typeof message.body === "string" ? utf8.encode(message.body) : message.body;
    const headers: Record<string, string> = {
      "content-type": String(message.meta?.contentType ?? "application/json"),
    };
    if (this.#o.signer) Object.assign(headers, await this.#o.signer({ method: "POST", path: this.#path, body }));
    try {
      const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#o.timeoutMs ?? 10_000)]);
      const res = await fetch(this.#endpoint, {
        method: "POST",
        headers,
        body: body as Uint8Array<ArrayBuffer>,
        signal,
        ...(this.#o.client ? { client: this.#o.client } : {}),
      });
      return cescOutcome(res.status, await res.text(), res.headers.get("retry-after"));
    } catch (e) {
      return { kind: "retry", reason: this.#abort.signal.aborted ? "closed" : (e as Error).message };
    }
  }

  /** Aborts the requests in flight. */
  close(): void {
    this.#abort.abort();
  }
}

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

/** Counters of {@link CescSink}: the uplink's, with the HTTP names of the message counters. */
export interface CescSinkStats
  extends Omit<UplinkSinkStats, "sentMessages" | "refusedMessages" | "refusedDatapoints" | "lastSuccessAt"> {
  /** Pushes the CESC acknowledged. */
  sentRequests: number;
  /** Pushes the CESC refused for good (whole, or in part and resent without the refused datapoints). */
  rejectedRequests: number;
  /** Datapoints the CESC refused (dropped). */
  rejectedDatapoints: number;
  /** Time of the last acknowledged push (ISO 8601). */
  lastSuccessAt?: string;
}

/** Pushes datapoints to a CESC (see the module doc). */
export class CescSink {
  /** Sink name in stats and metrics. */
  readonly name = "cesc";
  readonly #uplink: UplinkSink;

  /**
   * Creates the sink; `start()` begins sending what the queue holds.
   * @param options see {@link CescSinkOptions}
   */
  constructor(options: CescSinkOptions) {
    const transport = new CescTransport(options);
    this.#uplink = new UplinkSink({
      name: this.name,
      queue: options.queue,
      transport,
      encoder: options.encoder ?? jsonPushEncoder,
      vin: options.vin,
      batchMaxDatapoints: options.batchMaxDatapoints,
      batchMaxMs: options.batchMaxMs,
      retryMinMs: options.retryMinMs,
      retryMaxMs: options.retryMaxMs,
      logger: options.logger,
      random: options.random,
      onClose: () => transport.close(),
    });
  }

  /** Starts sending (drains what an earlier run left in the queue). */
  start(): void {
    this.#uplink.start();
  }

  /** The VIN the pushes carry. */
  get vin(): string | undefined {
    return this.#uplink.vin;
  }

  /** Sets the VIN (e.g. once the `Vehicle.VehicleIdentification.VIN` signal arrives). */
  setVin(vin: string): void {
    this.#uplink.setVin(vin);
  }

  /** Buffers datapoints; a full batch goes to the queue at once, a partial one after `batchMaxMs`. */
  write(datapoints: readonly Datapoint[]): void {
    this.#uplink.write(datapoints);
  }

  /** Moves buffered datapoints to the queue now (needs a VIN). */
  flush(): void {
    this.#uplink.flush();
  }

  /** Counters and state for `/health` and `/metrics`. */
  stats(): CescSinkStats {
    const { sentMessages, refusedMessages, refusedDatapoints, lastSuccessAt, ...rest } = this.#uplink.stats();
    return {
      ...rest,
      sentRequests: sentMessages,
      rejectedRequests: refusedMessages,
      rejectedDatapoints: refusedDatapoints,
      ...(lastSuccessAt !== undefined ? { lastSuccessAt: new Date(lastSuccessAt).toISOString() } : {}),
    };
  }

  /**
   * Flushes the buffer to the queue and, when `drainMs` is given, waits up to that long for the queue to empty
   * before stopping. What is still queued stays on disk for the next start.
   */
  close(options: { drainMs?: number } = {}): Promise<void> {
    return this.#uplink.close(options);
  }
}
