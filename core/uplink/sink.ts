/**
 * A batched uplink sink: datapoints → {@link DatapointBatcher} → {@link MessageEncoder} (once per batch) → durable
 * queue → {@link Forwarder} → {@link Transport}. The CESC push is one; a Kafka or any other batch transport is
 * another with its own {@link Transport}.
 * @module
 */
import type { Datapoint, Refusal } from "../datapoint/mod.ts";
import { PipelineError } from "../errors/mod.ts";
import { type Logger, silentLogger } from "../log/mod.ts";
import type { MessageQueue } from "../queue/mod.ts";
import { DatapointBatcher } from "./batcher.ts";
import { DropLog, type DropReason } from "./drops.ts";
import { Forwarder, type ForwarderStats } from "./forwarder.ts";
import type { MessageEncoder, Transport } from "./types.ts";

/** Options of {@link UplinkSink}. */
export interface UplinkSinkOptions {
  /** Sink name in stats, metrics and logs (`cesc`, `kafka`, …). */
  name: string;
  /** The durable queue messages wait in until the receiver took them. */
  queue: MessageQueue;
  /** The way out. */
  transport: Transport;
  /** Encodes each batch into one message (and reads it back for partial refusals). */
  encoder: MessageEncoder;
  /** VIN; may come later with {@link UplinkSink.setVin}. Batches wait for it. */
  vin?: string;
  /** Datapoints per message, at most (default 500). */
  batchMaxDatapoints?: number;
  /** The oldest buffered datapoint waits at most this long (default 1000 ms). */
  batchMaxMs?: number;
  /** Datapoints held in memory while no VIN is known, at most (default 100 000; the oldest beyond are dropped). */
  maxPendingWithoutVin?: number;
  /** Messages unanswered at a time (default 1: in order, one after the other). */
  maxInflight?: number;
  /** Messages per second, at most (default `Infinity`). */
  ratePerSec?: number;
  /** First retry delay bound (default 250 ms). */
  retryMinMs?: number;
  /** Largest retry delay (default 30 s). */
  retryMaxMs?: number;
  /** Structured logger (default silent). */
  logger?: Logger;
  /** Random source for the jitter (tests). */
  random?: () => number;
  /** Run after the forwarder stopped, e.g. to abort the transport's requests in flight. */
  onClose?: () => void | Promise<void>;
}

/** Counters of {@link UplinkSink}: the forwarder's, the queue's and the drops, in messages and datapoints. */
export interface UplinkSinkStats extends ForwarderStats {
  /** Datapoints in memory, not yet queued. */
  buffered: number;
  /** Messages waiting in the queue. */
  queued: number;
  /** Datapoints in those. */
  queuedDatapoints: number;
  /** Bytes waiting in the queue. */
  queuedBytes: number;
  /** Age of the oldest waiting message (ms). */
  queueOldestAgeMs: number;
  /** Messages the queue dropped (over its byte or age bound). */
  queueDropped: number;
  /** Datapoints in those. */
  queueDroppedDatapoints: number;
  /** Every datapoint dropped since start, whatever the reason. */
  droppedDatapoints: number;
  /** The same by reason. */
  drops: Partial<Record<DropReason, number>>;
}

/** Batches datapoints into encoded messages and forwards them through a durable queue (see the module doc). */
export class UplinkSink {
  /** Sink name in stats and metrics. */
  readonly name: string;
  readonly #queue: MessageQueue;
  readonly #encoder: MessageEncoder;
  readonly #batcher: DatapointBatcher;
  readonly #forwarder: Forwarder;
  readonly #drops: DropLog;
  readonly #log: Logger;
  readonly #onClose?: () => void | Promise<void>;
  readonly #meta: { contentType: string };
  #vin?: string;
  #closed = false;

  /** @param options see {@link UplinkSinkOptions} */
  constructor(options: UplinkSinkOptions) {
    this.name = options.name;
    this.#queue = options.queue;
    this.#encoder = options.encoder;
    this.#vin = options.vin;
    this.#log = options.logger ?? silentLogger;
    this.#onClose = options.onClose;
    this.#meta = { contentType: options.encoder.contentType };
    this.#drops = new DropLog({ sink: options.name, logger: this.#log });
    this.#batcher = new DatapointBatcher({
      maxDatapoints: options.batchMaxDatapoints,
      maxMs: options.batchMaxMs,
      maxPending: options.maxPendingWithoutVin,
      ready: () => this.#vin !== undefined,
      onBatch: (batch) => this.#enqueue(batch),
      onOverflow: (n) => this.#drops.add("no_vin", n, { hint: "set vin in the config or map the VIN signal" }),
    });
    this.#forwarder = new Forwarder({
      name: options.name,
      queue: options.queue,
      transport: options.transport,
      encoder: options.encoder,
      maxInflight: options.maxInflight,
      ratePerSec: options.ratePerSec,
      retryMinMs: options.retryMinMs,
      retryMaxMs: options.retryMaxMs,
      drops: this.#drops,
      logger: this.#log,
      random: options.random,
    });
  }

  /** The VIN the messages carry. */
  get vin(): string | undefined {
    return this.#vin;
  }

  /** Sets the VIN; what was buffered under the previous one leaves with it first. */
  setVin(vin: string): void {
    if (vin === this.#vin) return;
    this.#batcher.flush();
    this.#vin = vin;
  }

  /** Starts forwarding (also what an earlier run left in the queue). */
  start(): void {
    this.#forwarder.start();
  }

  /** Buffers datapoints; a full batch is encoded and queued at once, a partial one after `batchMaxMs`. */
  write(datapoints: readonly Datapoint[]): void {
    if (!this.#closed) this.#batcher.add(datapoints);
  }

  /** Encodes and queues what is buffered now (needs a VIN). */
  flush(): void {
    this.#batcher.flush();
  }

  #enqueue(batch: Datapoint[]): void {
    let body: Uint8Array | string;
    const refusals: Refusal[] = [];
    try {
      body = this.#encoder.encode(this.#vin!, batch, { refusals });
    } catch (e) {
      this.#drops.add("encode", batch.length, { error: (e as Error).message });
      return;
    }
    const count = batch.length - refusals.length;
    if (refusals.length > 0) {
      const first = refusals[0];
      this.#drops.add("encode", refusals.length, { path: first.path, code: first.code, error: first.reason });
      if (count === 0) return;
    }
    try {
      this.#queue.push(body, { weight: count, meta: this.#meta });
    } catch (e) {
      const large = e instanceof PipelineError && e.code === "queue.too_large";
      this.#drops.add(large ? "too_large" : "queue_error", count, { error: (e as Error).message });
      return;
    }
    this.#forwarder.wake();
  }

  /** Counters and state for `/health` and `/metrics`. */
  stats(): UplinkSinkStats {
    const q = this.#forwarder.queueStats();
    return {
      ...this.#forwarder.stats(),
      buffered: this.#batcher.size,
      queued: q.depth,
      queuedDatapoints: q.weight,
      queuedBytes: q.bytes,
      queueOldestAgeMs: q.oldestAgeMs,
      queueDropped: q.dropped,
      queueDroppedDatapoints: q.droppedWeight,
      droppedDatapoints: this.#drops.total,
      drops: this.#drops.byReason(),
    };
  }

  /**
   * Queues what is buffered and, with `drainMs`, waits up to that long for the queue to empty; then stops. What is
   * still queued stays there for the next start (on disk with a `DiskQueue`). Idempotent.
   */
  async close(options: { drainMs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    this.#batcher.close();
    this.#closed = true;
    if (options.drainMs) await this.#forwarder.drain(options.drainMs);
    this.#forwarder.close();
    await this.#onClose?.();
  }
}
