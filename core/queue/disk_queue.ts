/**
 * A bounded FIFO queue stored in SQLite (WAL), surviving restarts.
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { PipelineError } from "../errors/mod.ts";
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

/** Default byte bound of a queue: 64 MiB. */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/** UTF-8 length of a string without encoding it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** Byte size of a payload as counted against `maxBytes`. */
export function payloadSize(p: QueuePayload): number {
  return typeof p === "string" ? utf8Length(p) : p.byteLength;
}

/** Validates limits shared by both implementations. */
export function checkQueueOptions(options: QueueOptions): { maxBytes: number; maxAgeMs: number; name: string } {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxAgeMs = options.maxAgeMs ?? Infinity;
  if (!(maxBytes > 0)) {
    throw new PipelineError("queue.options", `maxBytes must be a positive number of bytes, got ${maxBytes}`, {
      path: "maxBytes",
    });
  }
  if (!(maxAgeMs > 0)) {
    throw new PipelineError("queue.options", `maxAgeMs must be a positive number of milliseconds, got ${maxAgeMs}`, {
      path: "maxAgeMs",
    });
  }
  return { maxBytes, maxAgeMs, name: options.name ?? "default" };
}

/** The weight of a push: a positive integer, default 1. */
export function checkWeight(weight: number | undefined): number {
  if (weight === undefined) return 1;
  if (!Number.isInteger(weight) || weight < 1) {
    throw new PipelineError("queue.weight", `weight must be a positive integer, got ${weight}`, { path: "weight" });
  }
  return weight;
}

/** Listeners of {@link MessageQueue.onDrop}, and the drops waiting to be told (after the transaction). */
export class DropListeners {
  readonly #listeners = new Set<(drop: QueueDrop) => void>();
  #pending: QueueDrop[] = [];

  /** Adds a listener; returns its removal. */
  add(listener: (drop: QueueDrop) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Notes a drop, to be told by {@link DropListeners.emit}. */
  note(drop: QueueDrop): void {
    if (this.#listeners.size > 0) this.#pending.push(drop);
  }

  /** Forgets noted drops (the transaction was rolled back). */
  discard(): void {
    this.#pending = [];
  }

  /** Tells every listener about the noted drops. */
  emit(): void {
    if (this.#pending.length === 0) return;
    const drops = this.#pending;
    this.#pending = [];
    for (const d of drops) for (const l of this.#listeners) l(d);
  }
}

/** Throws when a single payload can never fit. */
export function checkFits(size: number, maxBytes: number, name: string): void {
  if (size > maxBytes) {
    throw new PipelineError(
      "queue.too_large",
      `payload of ${size} bytes is larger than queue "${name}" maxBytes (${maxBytes}); raise maxBytes or send smaller payloads`,
    );
  }
}

interface Row {
  id: number;
  enqueued_at: number;
  weight: number;
  key: string | null;
  meta: string | null;
  payload: Uint8Array | string;
}

interface Sums {
  n: number;
  b: number;
  w: number;
}

/** Adds the `weight` columns to a queue file written before they existed (weights from `meta.datapoints`). */
function migrate(db: DatabaseSync): void {
  const has = (table: string, column: string) =>
    (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).some((c) => c.name === column);
  if (!has("queue_items", "weight")) {
    db.exec(`
      ALTER TABLE queue_items ADD COLUMN weight INTEGER NOT NULL DEFAULT 1;
      UPDATE queue_items SET weight = max(1, CAST(json_extract(meta, '$.datapoints') AS INTEGER))
        WHERE meta IS NOT NULL AND json_valid(meta) AND json_type(meta, '$.datapoints') = 'integer';
    `);
  }
  if (!has("queue_state", "dropped_weight")) {
    db.exec("ALTER TABLE queue_state ADD COLUMN dropped_weight INTEGER NOT NULL DEFAULT 0");
  }
}

/**
 * Bounded on-disk FIFO queue on `node:sqlite` in WAL mode.
 *
 * Items keep their push order across restarts; ids are never reused. When the waiting bytes exceed
 * `maxBytes` or items are older than `maxAgeMs`, the oldest items are dropped and counted in `dropped`
 * (persisted), in items and in weight (what each item counts for, e.g. datapoints). Several named queues may share
 * one file.
 */
export class DiskQueue implements MessageQueue {
  readonly #db: DatabaseSync;
  readonly #name: string;
  readonly #maxBytes: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  #depth = 0;
  #bytes = 0;
  #weight = 0;
  #dropped = 0;
  #droppedWeight = 0;
  #oldestAt = 0;
  readonly #drops = new DropListeners();
  #closed = false;
  readonly #insert: StatementSync;
  readonly #peek: StatementSync;
  readonly #deleteOne: StatementSync;
  readonly #sumUpTo: StatementSync;
  readonly #deleteUpTo: StatementSync;
  readonly #oldest: StatementSync;
  readonly #scanOldest: StatementSync;
  readonly #sumOlder: StatementSync;
  readonly #saveDropped: StatementSync;
  readonly #getItem: StatementSync;
  readonly #update: StatementSync;
  readonly #updateKeepMeta: StatementSync;
  readonly #totals: StatementSync;

  private constructor(db: DatabaseSync, options: QueueOptions) {
    const { maxBytes, maxAgeMs, name } = checkQueueOptions(options);
    this.#db = db;
    this.#name = name;
    this.#maxBytes = maxBytes;
    this.#maxAgeMs = maxAgeMs;
    this.#now = options.now ?? Date.now;
    db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS queue_items (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        queue TEXT NOT NULL,
        enqueued_at INTEGER NOT NULL,
        size INTEGER NOT NULL,
        key TEXT,
        meta TEXT,
        payload NOT NULL,
        weight INTEGER NOT NULL DEFAULT 1
      );
      CREATE INDEX IF NOT EXISTS queue_items_by_queue ON queue_items(queue, id);
      CREATE TABLE IF NOT EXISTS queue_state (
        queue TEXT PRIMARY KEY,
        dropped INTEGER NOT NULL,
        dropped_weight INTEGER NOT NULL DEFAULT 0
      );
    `);
    migrate(db);
    this.#insert = db.prepare(
      "INSERT INTO queue_items(queue, enqueued_at, size, weight, key, meta, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.#peek = db.prepare(
      "SELECT id, enqueued_at, weight, key, meta, payload FROM queue_items WHERE queue = ? AND id > ? " +
        "ORDER BY id LIMIT ?",
    );
    this.#deleteOne = db.prepare("DELETE FROM queue_items WHERE queue = ? AND id = ? RETURNING size, weight");
    this.#sumUpTo = db.prepare(
      "SELECT count(*) AS n, coalesce(sum(size), 0) AS b, coalesce(sum(weight), 0) AS w FROM queue_items " +
        "WHERE queue = ? AND id <= ?",
    );
    this.#deleteUpTo = db.prepare("DELETE FROM queue_items WHERE queue = ? AND id <= ?");
    this.#oldest = db.prepare("SELECT enqueued_at FROM queue_items WHERE queue = ? ORDER BY id LIMIT 1");
    this.#scanOldest = db.prepare("SELECT id, size FROM queue_items WHERE queue = ? ORDER BY id LIMIT ?");
    this.#sumOlder = db.prepare(
      "SELECT max(id) AS id FROM queue_items WHERE queue = ? AND enqueued_at < ?",
    );
    this.#saveDropped = db.prepare(
      "INSERT INTO queue_state(queue, dropped, dropped_weight) VALUES (?, ?, ?) " +
        "ON CONFLICT(queue) DO UPDATE SET dropped = excluded.dropped, dropped_weight = excluded.dropped_weight",
    );
    this.#getItem = db.prepare("SELECT size, weight FROM queue_items WHERE queue = ? AND id = ?");
    this.#update = db.prepare(
      "UPDATE queue_items SET payload = ?, size = ?, weight = ?, meta = ? WHERE queue = ? AND id = ?",
    );
    this.#updateKeepMeta = db.prepare(
      "UPDATE queue_items SET payload = ?, size = ?, weight = ? WHERE queue = ? AND id = ?",
    );
    this.#totals = db.prepare(
      "SELECT count(*) AS n, coalesce(sum(size), 0) AS b, coalesce(sum(weight), 0) AS w FROM queue_items " +
        "WHERE queue = ?",
    );
    this.#resync();
    const st = db.prepare("SELECT dropped, dropped_weight FROM queue_state WHERE queue = ?").get(name) as
      | { dropped: number; dropped_weight: number }
      | undefined;
    this.#dropped = st?.dropped ?? 0;
    this.#droppedWeight = st?.dropped_weight ?? 0;
  }

  /** Counters from what is on disk. */
  #resync(): void {
    const t = this.#totals.get(this.#name) as unknown as Sums;
    this.#depth = t.n;
    this.#bytes = t.b;
    this.#weight = t.w;
    this.#refreshOldest();
  }

  /**
   * Open (or create) a queue in a SQLite file.
   *
   * @param path SQLite file path (parent directory must exist); `:memory:` works too
   * @param options byte/age bounds and the queue name
   */
  static open(path: string, options: QueueOptions = {}): DiskQueue {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
    } catch (e) {
      throw new PipelineError("queue.open", `cannot open queue file ${path}: ${(e as Error).message}`, {
        path,
        cause: e,
      });
    }
    try {
      return new DiskQueue(db, options);
    } catch (e) {
      db.close();
      if (e instanceof PipelineError) throw e;
      throw new PipelineError("queue.open", `cannot use ${path} as a queue: ${(e as Error).message}`, {
        path,
        cause: e,
      });
    }
  }

  #check(): void {
    if (this.#closed) throw new PipelineError("queue.closed", `queue "${this.#name}" is closed`);
  }

  #refreshOldest(): void {
    const r = this.#oldest.get(this.#name) as { enqueued_at: number } | undefined;
    this.#oldestAt = r ? r.enqueued_at : 0;
  }

  #insertOne(payload: QueuePayload, options: PushOptions, now: number): number {
    const size = payloadSize(payload);
    const weight = checkWeight(options.weight);
    checkFits(size, this.#maxBytes, this.#name);
    const meta = options.meta;
    const r = this.#insert.run(
      this.#name,
      now,
      size,
      weight,
      options.key ?? null,
      meta === undefined ? null : JSON.stringify(meta),
      payload,
    );
    if (this.#depth === 0) this.#oldestAt = now;
    this.#depth++;
    this.#bytes += size;
    this.#weight += weight;
    return Number(r.lastInsertRowid);
  }

  /** Drop every item with id <= upTo, counting them as dropped. */
  #dropUpTo(upTo: number, reason: QueueDrop["reason"]): void {
    const s = this.#sumUpTo.get(this.#name, upTo) as unknown as Sums;
    if (s.n === 0) return;
    this.#deleteUpTo.run(this.#name, upTo);
    this.#depth -= s.n;
    this.#bytes -= s.b;
    this.#weight -= s.w;
    this.#dropped += s.n;
    this.#droppedWeight += s.w;
    this.#saveDropped.run(this.#name, this.#dropped, this.#droppedWeight);
    this.#refreshOldest();
    this.#drops.note({ queue: this.#name, reason, items: s.n, weight: s.w, bytes: s.b });
  }

  #enforceBytes(): void {
    if (this.#bytes <= this.#maxBytes) return;
    const need = this.#bytes - this.#maxBytes;
    let limit = 64;
    let lastId = -1;
    for (;;) {
      const rows = this.#scanOldest.all(this.#name, limit) as unknown as { id: number; size: number }[];
      let acc = 0;
      for (const r of rows) {
        acc += r.size;
        lastId = r.id;
        if (acc >= need) break;
      }
      if (acc >= need || rows.length < limit) break;
      limit *= 4;
    }
    if (lastId >= 0) this.#dropUpTo(lastId, "bytes");
  }

  #enforceAge(now: number): void {
    if (this.#maxAgeMs === Infinity || this.#depth === 0) return;
    const cutoff = now - this.#maxAgeMs;
    if (this.#oldestAt >= cutoff) return;
    const r = this.#sumOlder.get(this.#name, cutoff) as { id: number | null };
    if (r.id !== null) this.#dropUpTo(r.id, "age");
  }

  #tx<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    let out: T;
    try {
      out = fn();
      this.#db.exec("COMMIT");
    } catch (e) {
      this.#db.exec("ROLLBACK");
      this.#drops.discard();
      // resync counters with what is on disk
      this.#resync();
      const st = this.#db.prepare("SELECT dropped, dropped_weight FROM queue_state WHERE queue = ?").get(
        this.#name,
      ) as { dropped: number; dropped_weight: number } | undefined;
      this.#dropped = st?.dropped ?? 0;
      this.#droppedWeight = st?.dropped_weight ?? 0;
      throw e;
    }
    this.#drops.emit();
    return out;
  }

  /** Append one payload; returns its id. */
  push(payload: QueuePayload, options: PushOptions = {}): number {
    this.#check();
    const now = this.#now();
    return this.#tx(() => {
      this.#enforceAge(now);
      const id = this.#insertOne(payload, options, now);
      this.#enforceBytes();
      return id;
    });
  }

  /** Append several payloads in one transaction; returns their ids. */
  pushMany(items: readonly PushItem[]): number[] {
    this.#check();
    const now = this.#now();
    for (const it of items) checkFits(payloadSize(it.payload), this.#maxBytes, this.#name);
    return this.#tx(() => {
      this.#enforceAge(now);
      const ids = new Array<number>(items.length);
      for (let i = 0; i < items.length; i++) ids[i] = this.#insertOne(items[i].payload, items[i], now);
      this.#enforceBytes();
      return ids;
    });
  }

  /** Up to `limit` oldest items, only those with `id > afterId` when given (expired ones are dropped first). */
  peek(limit: number, options: { afterId?: number } = {}): QueueItem[] {
    this.#check();
    if (this.#maxAgeMs !== Infinity) this.#tx(() => this.#enforceAge(this.#now()));
    const rows = this.#peek.all(this.#name, options.afterId ?? -1, Math.max(0, Math.floor(limit))) as unknown as Row[];
    const out = new Array<QueueItem>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      const item: QueueItem = { id: r.id, payload: r.payload, enqueuedAt: r.enqueued_at, weight: r.weight };
      if (r.key !== null) item.key = r.key;
      if (r.meta !== null) item.meta = JSON.parse(r.meta);
      out[i] = item;
    }
    return out;
  }

  /** Remove items by id list, or all items with `id <= upToId`; returns how many were removed. */
  ack(ids: readonly number[] | number): number {
    this.#check();
    let removed = 0;
    this.#tx(() => {
      if (typeof ids === "number") {
        const s = this.#sumUpTo.get(this.#name, ids) as unknown as Sums;
        if (s.n > 0) {
          this.#deleteUpTo.run(this.#name, ids);
          removed = s.n;
          this.#depth -= s.n;
          this.#bytes -= s.b;
          this.#weight -= s.w;
        }
      } else {
        for (const id of ids) {
          const r = this.#deleteOne.get(this.#name, id) as { size: number; weight: number } | undefined;
          if (r) {
            removed++;
            this.#depth--;
            this.#bytes -= r.size;
            this.#weight -= r.weight;
          }
        }
      }
    });
    if (removed > 0) this.#refreshOldest();
    return removed;
  }

  /** Replace a waiting item's payload (and optionally meta and weight) in place; false when it is gone. */
  replace(id: number, payload: QueuePayload, options: ReplaceOptions = {}): boolean {
    this.#check();
    const size = payloadSize(payload);
    checkFits(size, this.#maxBytes, this.#name);
    const weight = options.weight === undefined ? undefined : checkWeight(options.weight);
    return this.#tx(() => {
      const old = this.#getItem.get(this.#name, id) as { size: number; weight: number } | undefined;
      if (!old) return false;
      const w = weight ?? old.weight;
      if (options.meta !== undefined) {
        this.#update.run(payload, size, w, JSON.stringify(options.meta), this.#name, id);
      } else {
        this.#updateKeepMeta.run(payload, size, w, this.#name, id);
      }
      this.#bytes += size - old.size;
      this.#weight += w - old.weight;
      this.#enforceBytes();
      return true;
    });
  }

  /** Adds a drop listener (told after each committed drop); returns its removal. */
  onDrop(listener: (drop: QueueDrop) => void): () => void {
    return this.#drops.add(listener);
  }

  /** Current counters (expired items are dropped first). */
  stats(): QueueStats {
    this.#check();
    const now = this.#now();
    if (this.#maxAgeMs !== Infinity) this.#tx(() => this.#enforceAge(now));
    return {
      depth: this.#depth,
      bytes: this.#bytes,
      weight: this.#weight,
      dropped: this.#dropped,
      droppedWeight: this.#droppedWeight,
      oldestAgeMs: this.#depth === 0 ? 0 : Math.max(0, now - this.#oldestAt),
    };
  }

  /** Close the database. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}
