/**
 * In-memory bounded FIFO queue with the same interface and limits as {@link DiskQueue} (tests, or when
 * persistence is not wanted).
 * @module
 */
import { PipelineError } from "../errors/mod.ts";
import { checkFits, checkQueueOptions, payloadSize } from "./disk_queue.ts";
import type {
  MessageQueue,
  PushItem,
  PushOptions,
  QueueItem,
  QueueOptions,
  QueuePayload,
  QueueStats,
} from "./types.ts";

interface Entry {
  item: QueueItem;
  size: number;
}

/** In-memory bounded FIFO queue (drop-oldest over bytes or age, with a counter). */
export class MemoryQueue implements MessageQueue {
  readonly #name: string;
  readonly #maxBytes: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  #items: Entry[] = [];
  #head = 0;
  #bytes = 0;
  #dropped = 0;
  #nextId = 1;
  #closed = false;

  /**
   * An empty queue.
   *
   * @param options byte/age bounds and the queue name
   */
  constructor(options: QueueOptions = {}) {
    const { maxBytes, maxAgeMs, name } = checkQueueOptions(options);
    this.#name = name;
    this.#maxBytes = maxBytes;
    this.#maxAgeMs = maxAgeMs;
    this.#now = options.now ?? Date.now;
  }

  /** Same signature as {@link DiskQueue.open}; the path is ignored. */
  static open(_path: string, options: QueueOptions = {}): MemoryQueue {
    return new MemoryQueue(options);
  }

  #check(): void {
    if (this.#closed) throw new PipelineError("queue.closed", `queue "${this.#name}" is closed`);
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  #dropHead(): void {
    const e = this.#items[this.#head];
    this.#items[this.#head++] = undefined as unknown as Entry;
    this.#bytes -= e.size;
    this.#dropped++;
  }

  #enforceAge(now: number): void {
    if (this.#maxAgeMs === Infinity) return;
    const cutoff = now - this.#maxAgeMs;
    while (this.#head < this.#items.length && this.#items[this.#head].item.enqueuedAt < cutoff) this.#dropHead();
    this.#compact();
  }

  #add(payload: QueuePayload, options: PushOptions, now: number): number {
    const size = payloadSize(payload);
    const id = this.#nextId++;
    const item: QueueItem = { id, payload, enqueuedAt: now };
    if (options.key !== undefined) item.key = options.key;
    if (options.meta !== undefined) item.meta = structuredClone(options.meta);
    this.#items.push({ item, size });
    this.#bytes += size;
    return id;
  }

  #enforceBytes(): void {
    while (this.#bytes > this.#maxBytes && this.#head < this.#items.length) this.#dropHead();
    this.#compact();
  }

  /** Append one payload; returns its id. */
  push(payload: QueuePayload, options: PushOptions = {}): number {
    this.#check();
    checkFits(payloadSize(payload), this.#maxBytes, this.#name);
    const now = this.#now();
    this.#enforceAge(now);
    const id = this.#add(payload, options, now);
    this.#enforceBytes();
    return id;
  }

  /** Append several payloads; returns their ids. */
  pushMany(items: readonly PushItem[]): number[] {
    this.#check();
    for (const it of items) checkFits(payloadSize(it.payload), this.#maxBytes, this.#name);
    const now = this.#now();
    this.#enforceAge(now);
    const ids = items.map((it) => this.#add(it.payload, it, now));
    this.#enforceBytes();
    return ids;
  }

  /** Up to `limit` oldest items, only those with `id > afterId` when given. */
  peek(limit: number, options: { afterId?: number } = {}): QueueItem[] {
    this.#check();
    this.#enforceAge(this.#now());
    let start = this.#head;
    if (options.afterId !== undefined) {
      // ids increase along the array: binary search the first id > afterId
      let lo = this.#head, hi = this.#items.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.#items[mid].item.id <= options.afterId) lo = mid + 1;
        else hi = mid;
      }
      start = lo;
    }
    const end = Math.min(this.#items.length, start + Math.max(0, Math.floor(limit)));
    const out: QueueItem[] = [];
    for (let i = start; i < end; i++) {
      const it = this.#items[i].item;
      out.push({ ...it, ...(it.meta ? { meta: structuredClone(it.meta) } : {}) });
    }
    return out;
  }

  /** Remove items by id list, or all items with `id <= upToId`. */
  ack(ids: readonly number[] | number): number {
    this.#check();
    let removed = 0;
    if (typeof ids === "number") {
      while (this.#head < this.#items.length && this.#items[this.#head].item.id <= ids) {
        this.#bytes -= this.#items[this.#head].size;
        this.#items[this.#head++] = undefined as unknown as Entry;
        removed++;
      }
    } else {
      const set = new Set(ids);
      const kept: Entry[] = [];
      for (let i = this.#head; i < this.#items.length; i++) {
        const e = this.#items[i];
        if (set.has(e.item.id)) {
          this.#bytes -= e.size;
          removed++;
        } else kept.push(e);
      }
      this.#items = kept;
      this.#head = 0;
    }
    this.#compact();
    return removed;
  }

  /** Current counters. */
  stats(): QueueStats {
    this.#check();
    const now = this.#now();
    this.#enforceAge(now);
    const depth = this.#items.length - this.#head;
    return {
      depth,
      bytes: this.#bytes,
      dropped: this.#dropped,
      oldestAgeMs: depth === 0 ? 0 : Math.max(0, now - this.#items[this.#head].item.enqueuedAt),
    };
  }

  /** Drop everything held in memory. */
  close(): void {
    this.#closed = true;
    this.#items = [];
    this.#head = 0;
  }
}
