/**
 * Store and forward: the loop between a durable {@link MessageQueue} and a {@link Transport}.
 * @module
 */
import { RefusalLog } from "../datapoint/mod.ts";
import type { Datapoint, Refusal } from "../datapoint/mod.ts";
import { type Logger, silentLogger } from "../log/mod.ts";
import type { MessageQueue, QueueItem, QueueStats } from "../queue/mod.ts";
import { Backoff } from "./backoff.ts";
import { DropLog } from "./drops.ts";
import { TokenBucket } from "./rate.ts";
import type { MessageEncoder, OutboundMessage, RefusedOutcome, SendOutcome, Transport } from "./types.ts";

/** Options of {@link Forwarder}. */
export interface ForwarderOptions {
  /** The sink's name (logs). */
  name: string;
  /** Where encoded messages wait until the transport's receiver took them. */
  queue: MessageQueue;
  /** The way out. */
  transport: Transport;
  /** Reads a partly refused message back and re-encodes the rest (without: such a message is dropped whole). */
  encoder?: MessageEncoder;
  /** Messages sent and not yet answered, at most (default 1: strictly one after the other). */
  maxInflight?: number;
  /** Sends per second, at most (default `Infinity`). */
  ratePerSec?: number;
  /** Token bucket size for `ratePerSec` (default 50 ms worth, at least 1). */
  burst?: number;
  /** First retry delay bound (default 250 ms). */
  retryMinMs?: number;
  /** Largest retry delay (default 30 s). */
  retryMaxMs?: number;
  /** Drop accounting shared with the sink (default: a new one). */
  drops?: DropLog;
  /** Logger (default silent). */
  logger?: Logger;
  /** Random source for the jitter (tests). */
  random?: () => number;
  /** Monotonic ms clock of the rate limit (tests; default `performance.now`). */
  clock?: () => number;
  /** Called when the queue is empty and nothing is in flight. */
  onIdle?: () => void;
}

/** What the forwarder is doing. */
export type ForwarderState = "idle" | "sending" | "backoff" | "waiting" | "closed";

/** Counters of {@link Forwarder}; messages and datapoints. */
export interface ForwarderStats {
  /** `waiting`: the transport is not alive (disconnected). */
  state: ForwarderState;
  /** Messages sent, not answered yet. */
  inflight: number;
  /** Messages the receiver acknowledged. */
  sentMessages: number;
  /** Datapoints in those. */
  sentDatapoints: number;
  /** Messages the receiver refused for good (whole or in part). */
  refusedMessages: number;
  /** Datapoints dropped because the receiver refused them. */
  refusedDatapoints: number;
  /** Of the refused messages, those resent without their refused datapoints. */
  partlyRefused: number;
  /** Messages removed from the queue after an answer (acknowledged or refused whole). */
  drained: number;
  /** Transient failures (retried). */
  failures: number;
  /** The last failure or refusal. */
  lastError?: string;
  /** Time of the last acknowledgement, ms since the epoch. */
  lastSuccessAt?: number;
}

/** Acknowledgements are removed from the queue in one transaction per this many (or when nothing is in flight). */
const ACK_BATCH = 64;

/**
 * Sends what a queue holds through a transport, in queue order: at most `maxInflight` messages unanswered and
 * `ratePerSec` per second; a message leaves the queue only once acknowledged (at-least-once) or refused for good.
 * A transient failure stops sending until every message in flight is answered, then everything unacknowledged is
 * sent again from the head of the queue after a full-jitter backoff (or, for a transport that is not alive, as soon
 * as it is again). A refusal naming datapoints drops only those: the message is re-encoded without them in place
 * and resent. Drops are counted in datapoints ({@link DropLog}), refused datapoints are logged once per reason and
 * minute.
 */
export class Forwarder {
  readonly #name: string;
  readonly #queue: MessageQueue;
  readonly #transport: Transport;
  readonly #encoder?: MessageEncoder;
  readonly #maxInflight: number;
  readonly #rate?: TokenBucket;
  readonly #backoff: Backoff;
  readonly #drops: DropLog;
  readonly #refusals: RefusalLog;
  readonly #log: Logger;
  readonly #onIdle?: () => void;
  readonly #offDrop: () => void;
  #state: ForwarderState = "idle";
  #started = false;
  #closed = false;
  #cursor = 0;
  #inflight = 0;
  #acks: number[] = [];
  #timer?: ReturnType<typeof setTimeout>;
  /** Set after a failure or an in-place rewrite: send nothing until the window is empty, then restart at the head. */
  #barrier?: "retry" | "rewind";
  #retryAfterMs = 0;
  #final?: QueueStats;
  readonly #s = {
    sentMessages: 0,
    sentDatapoints: 0,
    refusedMessages: 0,
    refusedDatapoints: 0,
    partlyRefused: 0,
    drained: 0,
    failures: 0,
    lastError: undefined as string | undefined,
    lastSuccessAt: undefined as number | undefined,
  };
  readonly #tick = () => {
    this.#timer = undefined;
    this.#pump();
  };

  /** @param options see {@link ForwarderOptions} */
  constructor(options: ForwarderOptions) {
    this.#name = options.name;
    this.#queue = options.queue;
    this.#transport = options.transport;
    this.#encoder = options.encoder;
    this.#maxInflight = Math.max(1, Math.floor(options.maxInflight ?? 1));
    const rate = options.ratePerSec ?? Infinity;
    if (rate !== Infinity) {
      this.#rate = new TokenBucket({ ratePerSec: rate, burst: options.burst, clock: options.clock });
    }
    this.#backoff = new Backoff({ minMs: options.retryMinMs, maxMs: options.retryMaxMs, random: options.random });
    this.#log = options.logger ?? silentLogger;
    this.#drops = options.drops ?? new DropLog({ sink: options.name, logger: this.#log });
    this.#refusals = new RefusalLog({ logger: this.#log });
    this.#onIdle = options.onIdle;
    this.#offDrop = this.#queue.onDrop((d) =>
      this.#drops.add(d.reason === "age" ? "queue_age" : "queue_bytes", d.weight, {
        messages: d.items,
        bytes: d.bytes,
        queue: d.queue,
      })
    );
    this.#transport.onAlive?.(() => this.#onAlive());
  }

  /** Starts sending what the queue holds (also what an earlier run left). */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#rate?.reset();
    this.#schedule(0);
  }

  /** Something was queued: send it when the window, the rate and the backoff allow. */
  wake(): void {
    if (this.#started && this.#barrier === undefined) this.#schedule(0);
  }

  /** True when the queue is empty and nothing is in flight (as of the last look). */
  get idle(): boolean {
    return this.#state === "idle" && this.#inflight === 0;
  }

  /** Messages in flight. */
  get inflight(): number {
    return this.#inflight;
  }

  #schedule(ms: number): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(this.#tick, ms);
  }

  #onAlive(): void {
    if (this.#closed) return;
    this.#rate?.reset();
    if (this.#state === "backoff" && this.#timer !== undefined) {
      // A fresh connection is reason enough to try now.
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#backoff.reset();
    if (this.#barrier === undefined && this.#inflight === 0) this.#cursor = 0;
    if (this.#state === "waiting" || this.#state === "backoff") this.#state = "idle";
    if (this.#started) this.#schedule(0);
  }

  #pump(): void {
    this.#flushAcks();
    if (this.#closed || this.#barrier !== undefined) return;
    if (!this.#transport.isAlive()) {
      this.#state = "waiting";
      return;
    }
    let budget = this.#maxInflight - this.#inflight;
    if (budget <= 0) return; // an answer schedules the next step
    if (this.#rate) {
      const tokens = this.#rate.available();
      if (tokens < 1) {
        this.#schedule(this.#rate.waitMs());
        return;
      }
      budget = Math.min(budget, tokens);
    }
    let items: QueueItem[];
    try {
      items = this.#queue.peek(budget, { afterId: this.#cursor });
    } catch (e) {
      if (!this.#closed) this.#log.error(`${this.#name}: cannot read the queue`, { err: e });
      return;
    }
    if (items.length === 0) {
      if (this.#inflight === 0) {
        this.#state = "idle";
        this.#onIdle?.();
      }
      return;
    }
    this.#state = "sending";
    let sent = 0;
    for (const item of items) {
      if (this.#closed || this.#barrier !== undefined) break;
      this.#cursor = item.id;
      this.#inflight++;
      sent++;
      this.#dispatch(item);
    }
    this.#rate?.take(sent);
    if (sent === budget && this.#barrier === undefined) this.#schedule(0);
  }

  #dispatch(item: QueueItem): void {
    const message: OutboundMessage = {
      id: item.id,
      body: item.payload,
      key: item.key,
      meta: item.meta,
      datapoints: item.weight,
    };
    let settled = false;
    const done = (outcome: SendOutcome) => {
      if (settled) return;
      settled = true;
      this.#complete(message, outcome);
    };
    try {
      this.#transport.send(message, done);
    } catch (e) {
      done({ kind: "retry", reason: (e as Error).message });
    }
  }

  #complete(message: OutboundMessage, outcome: SendOutcome): void {
    if (this.#closed) return;
    this.#inflight--;
    if (outcome.kind === "ack") {
      this.#acks.push(message.id);
      this.#s.sentMessages++;
      this.#s.sentDatapoints += message.datapoints;
      this.#s.lastSuccessAt = Date.now();
      this.#backoff.reset();
    } else if (outcome.kind === "refused") {
      this.#refused(message, outcome);
    } else {
      this.#s.failures++;
      this.#s.lastError = outcome.reason;
      this.#barrier = "retry";
      this.#retryAfterMs = Math.max(this.#retryAfterMs, outcome.retryAfterMs ?? 0);
    }
    if (this.#acks.length >= ACK_BATCH || this.#inflight === 0) this.#flushAcks();
    if (this.#barrier === undefined) this.#schedule(0);
    else if (this.#inflight === 0) this.#lift();
  }

  /** The window is empty after a failure or a rewrite: restart at the head of the queue. */
  #lift(): void {
    const kind = this.#barrier;
    this.#barrier = undefined;
    this.#cursor = 0;
    if (kind !== "retry") {
      this.#schedule(0);
      return;
    }
    const retryAfter = this.#retryAfterMs;
    this.#retryAfterMs = 0;
    if (!this.#transport.isAlive()) {
      this.#state = "waiting"; // onAlive resumes
      return;
    }
    const delay = Math.max(this.#backoff.next(), retryAfter);
    this.#state = "backoff";
    this.#log.warn(`${this.#name}: send failed, retrying`, {
      error: this.#s.lastError,
      attempt: this.#backoff.attempt,
      delay_ms: Math.round(delay),
      queued: this.queueStats().depth,
    });
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#tick, delay);
  }

  #refused(message: OutboundMessage, outcome: RefusedOutcome): void {
    this.#s.refusedMessages++;
    this.#s.lastError = outcome.reason;
    const refusals = outcome.refusals ?? [];
    for (const r of refusals) this.#refusals.add(r, { sink: this.#name });
    const rest = refusals.length > 0 ? this.#rest(message, refusals) : undefined;
    if (rest) {
      const dropped = rest.total - rest.kept;
      this.#s.refusedDatapoints += dropped;
      this.#drops.add("refused", dropped, { messages: 0, reason: outcome.reason.slice(0, 300) });
      this.#s.partlyRefused++;
      this.#log.warn(
        `${this.#name}: ${dropped} of ${rest.total} datapoints refused; resending the other ${rest.kept}`,
        {
          reason: outcome.reason.slice(0, 300),
        },
      );
      this.#barrier ??= "rewind";
      return;
    }
    this.#acks.push(message.id);
    this.#s.refusedDatapoints += message.datapoints;
    this.#drops.add("refused", message.datapoints, { messages: 1, reason: outcome.reason.slice(0, 300) });
    this.#log.error(`${this.#name}: message refused; dropping it`, {
      datapoints: message.datapoints,
      reason: outcome.reason.slice(0, 500),
    });
  }

  /**
   * Rewrites a partly refused message in place without the refused datapoints. Undefined when that is not possible
   * (no decoder, unreadable body, nothing left, or the refusal named nothing that was sent): then it is dropped whole.
   */
  #rest(message: OutboundMessage, refusals: readonly Refusal[]): { total: number; kept: number } | undefined {
    const encoder = this.#encoder;
    if (!encoder?.decode) return undefined;
    try {
      const decoded = encoder.decode(message.body);
      const refused = new Set<number>();
      for (const r of refusals) refused.add(r.index);
      const keep: Datapoint[] = [];
      for (let i = 0; i < decoded.datapoints.length; i++) {
        const dp = decoded.datapoints[i];
        if (dp !== undefined && !refused.has(i)) keep.push(dp);
      }
      const total = decoded.datapoints.length;
      if (keep.length === 0 || keep.length === total) return undefined;
      const body = encoder.encode(decoded.vin, keep);
      if (!this.#queue.replace(message.id, body, { weight: keep.length })) return undefined;
      return { total, kept: keep.length };
    } catch (e) {
      this.#log.error(`${this.#name}: cannot take the refused datapoints out of a message`, { err: e });
      return undefined;
    }
  }

  #flushAcks(): void {
    if (this.#acks.length === 0) return;
    const ids = this.#acks;
    this.#acks = [];
    try {
      this.#s.drained += this.#queue.ack(ids);
    } catch (e) {
      this.#log.error(`${this.#name}: queue ack failed`, { err: e });
    }
  }

  /** Removes the acknowledged messages from the queue now (they are otherwise removed in batches). */
  flushAcks(): void {
    if (!this.#closed) this.#flushAcks();
  }

  /** The queue's counters (a snapshot taken at close, once closed). */
  queueStats(): QueueStats {
    return this.#final ?? this.#queue.stats();
  }

  /** Counters and state. */
  stats(): ForwarderStats {
    return {
      state: this.#closed ? "closed" : this.#state,
      inflight: this.#inflight,
      ...this.#s,
    };
  }

  /**
   * Resolves true once the queue is empty and nothing is in flight, false after `timeoutMs` or when closed.
   *
   * @param timeoutMs upper bound
   */
  async drain(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (this.#closed || !this.#started) return false;
      this.#flushAcks();
      if (this.#inflight === 0 && this.#queue.stats().depth === 0) return true;
      if (Date.now() >= end) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /**
   * Stops: acknowledgements so far are written, answers still to come are ignored (those messages stay queued and
   * are sent again by the next run). Takes a last snapshot of the queue's counters. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#flushAcks();
    try {
      this.#final = this.#queue.stats();
    } catch {
      // the owner closed the queue first
    }
    this.#closed = true;
    this.#state = "closed";
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#offDrop();
  }
}
