/**
 * Bounded FIFO queues for store-and-forward (e.g. the MQTT offline queue).
 *
 * {@link DiskQueue} keeps items in a SQLite file (WAL) so they survive a restart in push order;
 * {@link MemoryQueue} has the same interface for tests. Both are bounded by `maxBytes` (payload bytes)
 * and optionally `maxAgeMs`; when a bound is exceeded the **oldest** items are dropped and counted in
 * `stats().dropped`, and in `stats().droppedWeight` by the weight each item was pushed with (the uplink pushes
 * the number of datapoints in a message, so drops are counted in datapoints); `onDrop` listeners hear of each drop
 * (reason, items, weight, bytes). Consumers `peek(n)` a batch, send it, then `ack(ids)` or `ack(upToId)`;
 * `replace(id, payload)` rewrites a waiting item in place (what is left of a partly refused message).
 *
 * @example
 * ```ts
 * import { DiskQueue } from "./mod.ts";
 * const dir = Deno.makeTempDirSync();
 * const q = DiskQueue.open(`${dir}/offline.db`, { maxBytes: 1 << 20, maxAgeMs: 86_400_000, name: "mqtt" });
 * q.onDrop((d) => console.log(`dropped ${d.weight} datapoints (${d.reason})`));
 * q.push(JSON.stringify({ v: 42 }), { key: "vehicles/gw/diagnostics/dtc", meta: { qos: 1 }, weight: 1 });
 * for (const item of q.peek(100)) console.log(item.id, item.key, item.payload, item.weight);
 * q.ack(q.peek(100).map((i) => i.id));
 * console.log(q.stats()); // { depth: 0, bytes: 0, weight: 0, dropped: 0, droppedWeight: 0, oldestAgeMs: 0 }
 * q.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 * @module
 */
export type {
  MessageQueue,
  PushItem,
  PushOptions,
  QueueDrop,
  QueueItem,
  QueueMeta,
  QueueOptions,
  QueuePayload,
  QueueStats,
  ReplaceOptions,
} from "./types.ts";
export { DEFAULT_MAX_BYTES, DiskQueue, payloadSize, utf8Length } from "./disk_queue.ts";
export { MemoryQueue } from "./memory_queue.ts";
