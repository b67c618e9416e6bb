/**
 * Group commit over an {@link OvdsStore}: the batches submitted together (the requests that arrived in one turn of
 * the event loop) are stored in one transaction, and each submitter learns how many of its rows were new once that
 * transaction is durable. It lives with the store; the CESC's HTTP and MQTT ingest submit to one committer.
 * @module
 */
import { setImmediate } from "node:timers";
import type { InsertResult, OvdsStore, VehicleBatch } from "./store.ts";

interface Pending {
  batch: VehicleBatch;
  resolve: (n: number) => void;
  reject: (e: unknown) => void;
}

/** Options for {@link GroupCommitter}. */
export interface GroupCommitterOptions {
  /** Called after each commit is durable (forwarder count trigger, metrics). */
  onCommit?: (r: InsertResult, batches: number) => void;
  /**
   * Transactions whose durability may be awaited at once (default 8). A store that commits inside
   * `insertBatches` and then waits for a shared fsync (SQLite `full`) lets the next transaction
   * commit while the disk flushes the previous one.
   */
  maxInflight?: number;
}

/**
 * Group commit: requests submitted together are stored in one transaction; each submitter learns how
 * many of its rows were new once that transaction is durable. Transactions are started one after the
 * other, and while one waits for its fsync the next one may commit (up to `maxInflight`).
 */
export class GroupCommitter {
  #store: OvdsStore;
  #queue: Pending[] = [];
  #scheduled = false;
  #inflight = 0;
  #maxInflight: number;
  #onCommit?: (r: InsertResult, batches: number) => void;
  #idle: (() => void)[] = [];

  /**
   * @param store the store
   * @param options commit callback and pipelining depth
   */
  constructor(store: OvdsStore, options: GroupCommitterOptions = {}) {
    this.#store = store;
    this.#onCommit = options.onCommit;
    this.#maxInflight = Math.max(1, options.maxInflight ?? 8);
  }

  /** Queues one vehicle's data points; resolves with the number of new rows after the commit. */
  submit(batch: VehicleBatch): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ batch, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inflight >= this.#maxInflight) return;
    this.#scheduled = true;
    // After pending I/O callbacks, so requests that arrived together commit together.
    setImmediate(() => {
      this.#scheduled = false;
      this.#commit();
    });
  }

  #commit(): void {
    const items = this.#queue.splice(0);
    if (items.length === 0) return this.#notifyIdle();
    this.#inflight++;
    let done: Promise<InsertResult>;
    try {
      done = this.#store.insertBatches(items.map((p) => p.batch));
    } catch (e) {
      done = Promise.reject(e);
    }
    done.then((res) => {
      for (let i = 0; i < items.length; i++) items[i].resolve(res.inserted[i]);
      this.#onCommit?.(res, items.length);
    }, (e) => {
      for (const p of items) p.reject(e);
    }).finally(() => {
      this.#inflight--;
      if (this.#queue.length > 0) this.#schedule();
      else this.#notifyIdle();
    });
  }

  #notifyIdle(): void {
    if (this.#inflight > 0 || this.#scheduled || this.#queue.length > 0) return;
    for (const w of this.#idle.splice(0)) w();
  }

  /** Waits until every queued and running commit has ended. */
  drain(): Promise<void> {
    if (this.#inflight === 0 && !this.#scheduled && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
