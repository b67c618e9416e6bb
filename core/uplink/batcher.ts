/**
 * Batching of datapoints by count and age, held back while the batch cannot be encoded yet (no VIN).
 * @module
 */
import type { Datapoint } from "../datapoint/mod.ts";

/** Options of {@link DatapointBatcher}. */
export interface BatcherOptions {
  /** Datapoints per batch, at most (default 500). */
  maxDatapoints?: number;
  /** The oldest buffered datapoint waits at most this long (default 1000 ms). */
  maxMs?: number;
  /** Datapoints held while not {@link BatcherOptions.ready}, at most; the oldest beyond are dropped (default 100 000). */
  maxPending?: number;
  /** False while batches cannot leave (e.g. no VIN yet). */
  ready: () => boolean;
  /** Takes one full or timed-out batch (at most `maxDatapoints`; the array is the callee's). */
  onBatch: (batch: Datapoint[]) => void;
  /** Told how many datapoints were dropped because too many waited while not ready. */
  onOverflow?: (datapoints: number) => void;
}

/**
 * Collects datapoints and hands them on in batches: at once when `maxDatapoints` are buffered, else `maxMs` after
 * the oldest arrived. While not ready, they wait (bounded by `maxPending`, oldest dropped and reported).
 */
export class DatapointBatcher {
  readonly #max: number;
  readonly #maxMs: number;
  readonly #maxPending: number;
  readonly #o: BatcherOptions;
  #buffer: Datapoint[] = [];
  #firstAt = 0;
  #timer?: ReturnType<typeof setTimeout>;
  #closed = false;

  /** @param options see {@link BatcherOptions} */
  constructor(options: BatcherOptions) {
    this.#o = options;
    this.#max = Math.max(1, options.maxDatapoints ?? 500);
    this.#maxMs = options.maxMs ?? 1000;
    this.#maxPending = options.maxPending ?? 100_000;
  }

  /** Datapoints buffered. */
  get size(): number {
    return this.#buffer.length;
  }

  /** Buffers datapoints; full batches leave at once. */
  add(datapoints: readonly Datapoint[]): void {
    if (this.#closed || datapoints.length === 0) return;
    const ready = this.#o.ready();
    for (let i = 0; i < datapoints.length; i++) {
      if (this.#buffer.length === 0) this.#firstAt = Date.now();
      this.#buffer.push(datapoints[i]);
      if (ready && this.#buffer.length >= this.#max) this.flush();
    }
    if (!ready && this.#buffer.length > this.#maxPending) {
      const drop = this.#buffer.length - this.#maxPending;
      this.#buffer.splice(0, drop);
      this.#o.onOverflow?.(drop);
    }
    this.#arm();
  }

  #arm(): void {
    if (this.#buffer.length === 0 || this.#timer !== undefined || this.#closed) return;
    const wait = Math.max(0, this.#maxMs - (Date.now() - this.#firstAt));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush();
      if (this.#buffer.length > 0) {
        // not ready yet: look again after another interval
        this.#firstAt = Date.now();
        this.#arm();
      }
    }, wait);
  }

  /** Hands everything buffered on now, in batches of at most `maxDatapoints` (nothing while not ready). */
  flush(): void {
    if (this.#buffer.length === 0 || !this.#o.ready()) return;
    const buffer = this.#buffer;
    this.#buffer = [];
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (buffer.length <= this.#max) this.#o.onBatch(buffer);
    else for (let i = 0; i < buffer.length; i += this.#max) this.#o.onBatch(buffer.slice(i, i + this.#max));
  }

  /** Flushes (when ready) and stops the timer; later datapoints are ignored. */
  close(): void {
    this.flush();
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
