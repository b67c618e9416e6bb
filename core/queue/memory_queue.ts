/**
 * In-memory bounded FIFO queue with the same interface and limits as {@link DiskQueue} (tests, or when
 * persistence is not wanted).
 * @module
 */
import { PipelineError } from "../errors/mod.ts";
import { checkFits, checkQueueOptions, checkWeight, DropListeners, payloadSize } from "./disk_queue.ts";
import type {
  MessageQueue,
  PushItem,
  PushOptions,
  QueueDrop,
  QueueItem,
  QueueOptions,
  QueuePayload,
  QueueStats,
  ReplaceOptions,
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
  #weight = 0;
  #dropped = 0;
  #droppedWeight = 0;
  #nextId = 1;
  #closed = false;
  readonly #drops = new DropListeners();

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

  #dropHead(drop: QueueDrop): void {
    const e = this.#items[this.#head];
    this.#items[this.#head++] = undefined as unknown as Entry;
    this.#bytes -= e.size;
    this.#weight -= e.item.weight;
    this.#dropped++;
    this.#droppedWeight += e.item.weight;
    drop.items++;
    drop.weight += e.item.weight;
    drop.bytes += e.size;
  }

  #enforceAge(now: number): void {
    if (this.#maxAgeMs === Infinity) return;
    const cutoff = now - this.#maxAgeMs;
    const drop: QueueDrop = { queue: this.#name, reason: "age", items: 0, weight: 0, bytes: 0 };
    while (this.#head < this.#items.length && this.#items[this.#head].item.enqueuedAt < cutoff) this.#dropHead(drop);
    if (drop.items > 0) this.#drops.note(drop);
    this.#compact();
  }

  #add(payload: QueuePayload, options: PushOptions, now: number): number {
    const size = payloadSize(payload);
    const id = this.#nextId++;
    const item: QueueItem = { id, payload, enqueuedAt: now, weight: checkWeight(options.weight) };
    if (options.key !== undefined) item.key = options.key;
    if (options.meta !== undefined) item.meta = structuredClone(options.meta);
    this.#items.push({ item, size });
    this.#bytes += size;
    this.#weight += item.weight;
    return id;
  }

  #enforceBytes(): void {
    const drop: QueueDrop = { queue: this.#name, reason: "bytes", items: 0, weight: 0, bytes: 0 };
    while (this.#bytes > this.#maxBytes && this.#head < this.#items.length) this.#dropHead(drop);
    if (drop.items > 0) this.#drops.note(drop);
    this.#compact();
  }

  /** Append one payload; returns its id. */
  push(payload: QueuePayload, options: PushOptions = {}): number {
    this.#check();
    checkFits(payloadSize(payload), this.#maxBytes, this.#name);
    checkWeight(options.weight);
    const now = this.#now();
    this.#enforceAge(now);
    const id = this.#add(payload, options, now);
    this.#enforceBytes();
    this.#drops.emit();
    return id;
  }

  /** Append several payloads; returns their ids. */
  pushMany(items: readonly PushItem[]): number[] {
    this.#check();
    for (const it of items) {
      checkFits(payloadSize(it.payload), this.#maxBytes, this.#name);
      checkWeight(it.weight);
    }
    const now = this.#now();
    this.#enforceAge(now);
    const ids = items.map((it) => this.#add(it.payload, it, now));
    this.#enforceBytes();
    this.#drops.emit();
    return ids;
  }

  /** Up to `limit` oldest items, only those with `id > afterId` when given. */
  peek(limit: number, options: { afterId?: number } = {}): QueueItem[] {
    this.#check();
    this.#enforceAge(this.#now());
    this.#drops.emit();
    const start = options.afterId === undefined ? this.#head : this.#firstAfter(options.afterId);
    const end = Math.min(this.#items.length, start + Math.max(0, Math.floor(limit)));
    const out: QueueItem[] = [];
    for (let i = start; i < end; i++) {
      const it = this.#items[i].item;
      out.push({ ...it, ...(it.meta ? { meta: structuredClone(it.meta) } : {}) });
    }
    return out;
  }

  /** Index of the first item with an id > `afterId` (ids increase along the array: binary search). */
  #firstAfter(afterId: number): number {
    let lo = this.#head, hi = this.#items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#items[mid].item.id <= afterId) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Remove items by id list, or all items with `id <= upToId`. */
  ack(ids: readonly number[] | number): number {
    this.#check();
    let removed = 0;
    if (typeof ids === "number") {
      while (this.#head < this.#items.length && this.#items[this.#head].item.id <= ids) {
        this.#bytes -= this.#items[this.#head].size;
        this.#weight -= this.#items[this.#head].item.weight;
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
          this.#weight -= e.item.weight;
          removed++;
        } else kept.push(e);
      }
      this.#items = kept;
      this.#head = 0;
    }
    this.#compact();
    return removed;
  }

  /** Replace a waiting item's payload (and optionally meta and weight) in place; false when it is gone. */
  replace(id: number, payload: QueuePayload, options: ReplaceOptions = {}): boolean {
    this.#check();
    const size = payloadSize(payload);
    checkFits(size, this.#maxBytes, this.#name);
    const i = this.#firstAfter(id - 1);
    const e = this.#items[i];
    if (i >= this.#items.length || e.item.id !== id) return false;
    const weight = options.weight === undefined ? e.item.weight : checkWeight(options.weight);
    this.#bytes += size - e.size;
    this.#weight += weight - e.item.weight;
    e.size = size;
    e.item = {
      ...e.item,
      payload,
      weight,
      ...(options.meta !== undefined ? { meta: structuredClone(options.meta) } : {}),
    };
    this.#enforceBytes();
    this.#drops.emit();
    return true;
  }

  /** Adds a drop listener (told after each drop); returns its removal. */
  onDrop(listener: (drop: QueueDrop) => void): () => void {
    return this.#drops.add(listener);
  }

  /** Current counters. */
  stats(): QueueStats {
    this.#check();
    const now = this.#now();
    this.#enforceAge(now);
    this.#drops.emit();
    const depth = this.#items.length - this.#head;
    return {
      depth,
      bytes: this.#bytes,
      weight: this.#weight,
      dropped: this.#dropped,
      droppedWeight: this.#droppedWeight,
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
