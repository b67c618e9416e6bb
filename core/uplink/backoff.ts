/**
 * Retry delays: exponential growth with jitter, capped.
 * @module
 */

/** Bounds and randomness of a backoff. */
export interface BackoffOptions {
  /** First delay bound in ms (default 250). */
  minMs?: number;
  /** Largest delay in ms (default 30 000). */
  maxMs?: number;
  /**
   * `full` (default): uniform in `[minMs/2, ceiling]` with `ceiling = min(maxMs, minMs·2^(attempt-1))`, the
   * "full jitter" of the AWS architecture blog with a floor, so that a fleet does not retry in step.
   * `equal`: uniform in `[ceiling/2, ceiling]` (MQTT reconnects).
   */
  jitter?: "full" | "equal";
  /** Random source in [0, 1) (tests). */
  random?: () => number;
}

/** Delay of retry `attempt` (1 = first retry) with full jitter: uniform in `[minMs/2, min(maxMs, minMs·2^(attempt-1))]`. */
export function fullJitterDelay(
  attempt: number,
  options: { minMs: number; maxMs: number; random: () => number },
): number {
  const ceiling = Math.min(options.maxMs, options.minMs * 2 ** Math.min(Math.max(0, attempt - 1), 30));
  return Math.max(options.minMs / 2, options.random() * ceiling);
}

/** Reads `ms` in the next backoff step: `base = min(max, min·2^attempt)`, delay uniform in `[base/2, base]`. */
export function backoffDelay(attempt: number, options: { minMs: number; maxMs: number; random: () => number }): number {
  const base = Math.min(options.maxMs, options.minMs * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + options.random() * (base / 2));
}

/** A backoff that counts its attempts: {@link Backoff.next} after each failure, {@link Backoff.reset} after a success. */
export class Backoff {
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #jitter: "full" | "equal";
  readonly #random: () => number;
  #attempt = 0;

  /** @param options see {@link BackoffOptions} */
  constructor(options: BackoffOptions = {}) {
    this.#minMs = options.minMs ?? 250;
    this.#maxMs = Math.max(this.#minMs, options.maxMs ?? 30_000);
    this.#jitter = options.jitter ?? "full";
    this.#random = options.random ?? Math.random;
  }

  /** Failures since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next try (counts one more failure). */
  next(): number {
    const o = { minMs: this.#minMs, maxMs: this.#maxMs, random: this.#random };
    return this.#jitter === "full" ? fullJitterDelay(++this.#attempt, o) : backoffDelay(this.#attempt++, o);
  }

  /** Starts over from the first delay. */
  reset(): void {
    this.#attempt = 0;
  }
}
