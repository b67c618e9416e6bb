/**
 * A token bucket: at most `ratePerSec` sends per second, bursts of at most `burst`.
 * @module
 */
import { PipelineError } from "../errors/mod.ts";

/** Options of {@link TokenBucket}. */
export interface TokenBucketOptions {
  /** Tokens per second (> 0; `Infinity` never limits). */
  ratePerSec: number;
  /** Most tokens held at once (default `max(1, ceil(ratePerSec / 20))`: 50 ms worth). */
  burst?: number;
  /** Monotonic ms clock (default `performance.now`). */
  clock?: () => number;
}

/** A token bucket that starts empty (see {@link TokenBucket.reset}). */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #clock: () => number;
  #tokens = 0;
  #at: number;

  /** @param options see {@link TokenBucketOptions} */
  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSec > 0)) {
      throw new PipelineError("uplink.options", `ratePerSec must be > 0, got ${options.ratePerSec}`, {
        path: "ratePerSec",
      });
    }
    this.#rate = options.ratePerSec;
    this.#burst = options.burst ?? Math.max(1, Math.ceil(this.#rate / 20));
    this.#clock = options.clock ?? (() => performance.now());
    this.#at = this.#clock();
  }

  /** Whole tokens available now (refilled from the time since the last call). */
  available(): number {
    if (this.#rate === Infinity) return Infinity;
    const now = this.#clock();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) * this.#rate) / 1000);
    this.#at = now;
    return Math.floor(this.#tokens);
  }

  /** Spends `n` tokens. */
  take(n: number): void {
    if (this.#rate !== Infinity) this.#tokens -= n;
  }

  /** Ms until one whole token is there (0 when there is one). */
  waitMs(): number {
    if (this.#rate === Infinity || this.#tokens >= 1) return 0;
    return Math.ceil(((1 - this.#tokens) * 1000) / this.#rate);
  }

  /** Empties the bucket (e.g. on each new connection: no burst right after a reconnect). */
  reset(): void {
    this.#tokens = 0;
    this.#at = this.#clock();
  }
}
