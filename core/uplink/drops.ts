/**
 * Drop accounting in datapoints: every datapoint an uplink gives up on is counted by reason, and logged (how many,
 * which sink, why) at once the first time and then at most once per reason and interval.
 * @module
 */
import type { Logger } from "../log/mod.ts";

/**
 * Why datapoints were dropped:
 * - `queue_bytes`, `queue_age`: the durable queue was full (oldest dropped) or they waited longer than its age bound;
 * - `refused`: the receiver refused them for good (e.g. a CESC 400 naming them, or 413/415);
 * - `no_vin`: too many waited in memory for a VIN;
 * - `encode`: the encoder could not encode them; `too_large`: one message was larger than the queue;
 *   `queue_error`: the queue could not store them (disk full, closed);
 * - `offline`, `backpressure`: live (QoS 0) messages while disconnected or while the socket was full.
 */
export type DropReason =
  | "queue_bytes"
  | "queue_age"
  | "refused"
  | "no_vin"
  | "encode"
  | "too_large"
  | "queue_error"
  | "offline"
  | "backpressure";

/** Options of {@link DropLog}. */
export interface DropLogOptions {
  /** The sink the drops belong to (in every log line). */
  sink: string;
  /** Where the lines go (default: nowhere). */
  logger?: Logger;
  /** At most one line per reason per this many ms (default 60 000). */
  intervalMs?: number;
  /** Clock (tests); default `Date.now`. */
  now?: () => number;
}

interface ReasonState {
  total: number;
  loggedAt: number;
  loggedTotal: number;
}

/** Counts dropped datapoints by {@link DropReason} and logs them, rate-limited per reason. */
export class DropLog {
  readonly #o: DropLogOptions;
  readonly #reasons = new Map<DropReason, ReasonState>();
  #total = 0;

  /** @param options see {@link DropLogOptions} */
  constructor(options: DropLogOptions) {
    this.#o = options;
  }

  /**
   * Counts `datapoints` dropped for `reason`; logs a warning when it is the first of its reason in the interval.
   *
   * @param reason why
   * @param datapoints how many (0 is ignored)
   * @param fields extra log fields (e.g. `{ messages, bytes }`)
   */
  add(reason: DropReason, datapoints: number, fields?: Record<string, unknown>): void {
    if (!(datapoints > 0)) return;
    this.#total += datapoints;
    let st = this.#reasons.get(reason);
    if (!st) {
      st = { total: 0, loggedAt: -Infinity, loggedTotal: 0 };
      this.#reasons.set(reason, st);
    }
    st.total += datapoints;
    const now = (this.#o.now ?? Date.now)();
    if (now - st.loggedAt < (this.#o.intervalMs ?? 60_000)) return;
    this.#o.logger?.warn(`${this.#o.sink}: dropped ${st.total - st.loggedTotal} datapoints (${reason})`, {
      ...fields,
      sink: this.#o.sink,
      reason,
      datapoints: st.total - st.loggedTotal,
      total: st.total,
    });
    st.loggedAt = now;
    st.loggedTotal = st.total;
  }

  /** All dropped datapoints since start. */
  get total(): number {
    return this.#total;
  }

  /** Dropped datapoints by reason since start. */
  byReason(): Partial<Record<DropReason, number>> {
    const out: Partial<Record<DropReason, number>> = {};
    for (const [reason, st] of this.#reasons) out[reason] = st.total;
    return out;
  }
}
