/**
 * Shared types of the bounded queues.
 * @module
 */

/** A queued payload: bytes or text (returned with the type it was pushed with). */
export type QueuePayload = Uint8Array | string;

/** Free-form, JSON-serialisable metadata stored beside a payload (e.g. `{topic, qos}`). */
export type QueueMeta = Record<string, unknown>;

/** Options of one push. */
export interface PushOptions {
  /** Optional application key (e.g. the MQTT topic); stored and returned as is. */
  key?: string;
  /** Optional metadata, stored as JSON. */
  meta?: QueueMeta;
  /**
   * What the payload counts for, in the unit its producer accounts in (the uplink: datapoints in the message);
   * a positive integer, default 1. Waiting and dropped weight are kept beside the item counts.
   */
  weight?: number;
}

/** One item of {@link MessageQueue.pushMany}. */
export interface PushItem extends PushOptions {
  /** The payload. */
  payload: QueuePayload;
}

/** One queued item, as returned by {@link MessageQueue.peek}. */
export interface QueueItem {
  /** Monotonic id (order of push); never reused, also across restarts. */
  id: number;
  /** The payload, same type as pushed. */
  payload: QueuePayload;
  /** The key given at push, if any. */
  key?: string;
  /** The metadata given at push, if any. */
  meta?: QueueMeta;
  /** Enqueue time, ms since the Unix epoch. */
  enqueuedAt: number;
  /** The weight given at push (default 1). */
  weight: number;
}

/** Options of {@link MessageQueue.replace}. */
export interface ReplaceOptions {
  /** New metadata (default: keep the old). */
  meta?: QueueMeta;
  /** New weight (default: keep the old). */
  weight?: number;
}

/** Items the queue dropped to stay within a bound, as told to {@link MessageQueue.onDrop} listeners. */
export interface QueueDrop {
  /** The queue's name. */
  queue: string;
  /** `bytes`: over `maxBytes` (drop-oldest to make room); `age`: older than `maxAgeMs`. */
  reason: "bytes" | "age";
  /** Items dropped. */
  items: number;
  /** Their summed weight (the uplink: datapoints). */
  weight: number;
  /** Their payload bytes. */
  bytes: number;
}

/** Queue counters. */
export interface QueueStats {
  /** Items waiting. */
  depth: number;
  /** Payload bytes waiting (strings count as their UTF-8 length). */
  bytes: number;
  /** Summed weight of the waiting items (the uplink: datapoints). */
  weight: number;
  /** Items dropped since the queue was created (drop-oldest over bytes or age); persisted. */
  dropped: number;
  /** Summed weight of the dropped items; persisted. */
  droppedWeight: number;
  /** Age of the oldest waiting item in ms, 0 when empty. */
  oldestAgeMs: number;
}

/** Limits and naming shared by both queue implementations. */
export interface QueueOptions {
  /** Upper bound of the waiting payload bytes; the oldest items are dropped to make room (default 64 MiB). */
  maxBytes?: number;
  /** Items older than this are dropped (default: no age limit). */
  maxAgeMs?: number;
  /** Queue name (one SQLite file can hold several queues; default `default`). */
  name?: string;
  /** Clock in ms since the epoch (tests); default `Date.now`. */
  now?: () => number;
}

/** The interface of {@link DiskQueue} and {@link MemoryQueue}. */
export interface MessageQueue {
  /** Append one payload; returns its id. Drops the oldest items when over a limit. */
  push(payload: QueuePayload, options?: PushOptions): number;
  /** Append several payloads in one transaction; returns their ids in order. */
  pushMany(items: readonly PushItem[]): number[];
  /** Up to `limit` oldest items (only those with `id > afterId` when given), without removing them. */
  peek(limit: number, options?: { afterId?: number }): QueueItem[];
  /** Remove items: an array of ids, or every item with `id <= upToId`. Returns how many were removed. */
  ack(ids: readonly number[] | number): number;
  /**
   * Replace a waiting item's payload in place (same id, same position), e.g. with what is left of a message once
   * refused parts were taken out. Returns false when the item is no longer queued.
   */
  replace(id: number, payload: QueuePayload, options?: ReplaceOptions): boolean;
  /**
   * Be told about every drop over a bound (called after the drop is committed, never inside a transaction).
   * Returns a function that removes the listener.
   */
  onDrop(listener: (drop: QueueDrop) => void): () => void;
  /** Current counters. */
  stats(): QueueStats;
  /** Release resources; further calls throw. */
  close(): void;
}
