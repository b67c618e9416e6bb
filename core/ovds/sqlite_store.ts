import { DatabaseSync, type StatementSync } from "node:sqlite";
import { PipelineError } from "../errors/mod.ts";
import { type FileSync, WalSyncer } from "./wal_sync.ts";
import { type Datapoint, formatTime, formatValue, isTsMs, MAX_TS_MS, MIN_TS_MS } from "../datapoint/mod.ts";
import { META_DDL, migrateTimestamps, type TimeMigration } from "./migrate.ts";
import { CANONICAL_GLOB } from "./time_text.ts";
import type {
  DeadLetter,
  InsertResult,
  OvdsStore,
  StoredRow,
  UnforwardedOptions,
  VehicleBatch,
  VehicleInfo,
} from "./store.ts";

/** The OVDS static tables, exactly as the OVDS server and the original CESC create them. */
export const OVDS_STATIC_DDL = [
  `CREATE TABLE IF NOT EXISTS "VIN_TIV" ( "vin_id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "vin" TEXT NOT NULL )`,
  `CREATE TABLE IF NOT EXISTS "TIV" ( "vin_id" INTEGER NOT NULL, "path" TEXT NOT NULL, "value" TEXT, UNIQUE("vin_id", "path") ON CONFLICT IGNORE, FOREIGN KEY("vin_id") REFERENCES "VIN_TIV"("vin_id") )`,
];

/** The per-vehicle OVDS time-variant table `TV_<vinId>`. */
export function ovdsTvDdl(vinId: number): string {
  return `CREATE TABLE IF NOT EXISTS TV_${vinId} (\`value\` TEXT NOT NULL, \`timestamp\` TEXT NOT NULL, \`path\` TEXT, UNIQUE(\`path\`, \`timestamp\`) ON CONFLICT IGNORE)`;
}

const CESC_DDL = [
  META_DDL,
  `CREATE TABLE IF NOT EXISTS cesc_vehicle ( vin_id INTEGER PRIMARY KEY, forwarded_rowid INTEGER NOT NULL DEFAULT 0, forwarded_at TEXT )`,
  `CREATE TABLE IF NOT EXISTS cesc_dead_letter ( id INTEGER PRIMARY KEY AUTOINCREMENT, vin_id INTEGER NOT NULL, row_id INTEGER NOT NULL, path TEXT, value TEXT, timestamp TEXT, reason TEXT NOT NULL, created_at TEXT NOT NULL )`,
];

/** Options for {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * `full` (default): {@link OvdsStore.insertBatches} resolves only after the commit is fsynced,
   * durable across power loss (the fsync runs off the event loop and is shared by concurrent commits,
   * see {@link WalSyncer}). `normal`: resolves after the commit, durable across process crashes only.
   */
  synchronous?: "full" | "normal";
  /** Test hook: how the WAL file is flushed (default fdatasync). */
  walSync?: FileSync;
  /** Called after each WAL fsync (`full` only) with its duration and the commits it made durable. */
  onWalSync?: (seconds: number, commits: number) => void;
  /**
   * Checkpoint the WAL from a Worker every `checkpointIntervalMs` (default 50) instead of inside
   * commits, which removes most checkpoint stalls (copying pages and fsyncing the database) from
   * ingest latency. Default true; file databases only.
   */
  checkpointInWorker?: boolean;
  /** Interval of the background checkpoint. */
  checkpointIntervalMs?: number;
  /**
   * Rows kept in memory over all vehicles so the forwarder reads just-stored rows without a query
   * (default 50,000; 0 turns the cache off). See {@link TAIL_MAX_ROWS}.
   */
  tailCacheRows?: number;
  /**
   * Page size of a new database file (default {@link PAGE_SIZE}); files that exist keep theirs.
   * Must be a power of two from 512 to 65536.
   */
  pageSize?: number;
  /**
   * Called once at open with what the timestamp migration did (`ran: false` when the file was already canonical):
   * non-canonical RFC 3339 timestamps of files written before (or by other tools) are rewritten to the canonical
   * text in the opening transaction, see {@link migrateTimestamps}.
   */
  onMigrated?: (migration: TimeMigration) => void;
}

interface Vehicle {
  vin: string;
  id: number;
  /** Multi-row INSERT statements by row count ({@link INSERT_CHUNKS}), prepared on first use. */
  inserts: (StatementSync | undefined)[];
  select?: StatementSync;
  /** Forwarding watermark; authoritative (the table may lag until {@link SqliteOvdsStore.#persistWatermarks}). */
  watermark: number;
  forwardedAt?: string;
  /**
   * Every row above the watermark, in rowid order, when known (see {@link TAIL_MAX_ROWS}); `undefined`
   * when the rows must be read back from the table (after a restart, or once the cache was dropped).
   */
  tail?: StoredRow[];
}

/** WAL size (pages) at which the writer checkpoints itself when a worker does the regular checkpoints. */
const WAL_RESTART_PAGES = 16_000;

/**
 * Page size of new OVDS files: 2 KiB rather than SQLite's 4 KiB. Each commit writes every page it
 * touched to the WAL (two per vehicle: the TV table's last leaf and its index's), so smaller pages
 * halve the bytes each commit writes, checksums and fsyncs: 4,346 -> 4,598 req/s (+6%) under the
 * 10-client load, 13 alternating rounds of which 10 won. Readers need nothing: the page size is part
 * of the file.
 */
const PAGE_SIZE = 2048;

/** How long an advanced watermark may stay in memory only when no ingest commit carries it. */
const WATERMARK_FLUSH_MS = 50;

/**
 * Rows kept in memory, over all vehicles, for the forwarder to read without a query. Normally a
 * vehicle's tail holds the few rows since its last flush; while the backend is down tails grow, and a
 * vehicle whose append would pass this limit drops its tail and is read back from its table instead.
 */
const TAIL_MAX_ROWS = 50_000;

/**
 * Rows per INSERT statement: a vehicle's data points are stored with multi-row INSERTs of these sizes
 * (largest first; 10 rows take 8 + 2). One call per row costs about twice as much in node:sqlite.
 */
const INSERT_CHUNKS = [32, 8, 2, 1] as const;

class SqliteOvdsStore implements OvdsStore {
  #db: DatabaseSync;
  #vehicles = new Map<string, Vehicle>();
  #selectVin: StatementSync;
  #insertVin: StatementSync;
  #insertState: StatementSync;
  #advance: StatementSync;
  #insertDead: StatementSync;
  #selectWatermark: StatementSync;
  #begin: StatementSync;
  #commit: StatementSync;
  #closed = false;
  #closing?: Promise<void>;
  /** Vehicles whose watermark moved since it was last written. */
  #dirty = new Set<Vehicle>();
  #flushTimer?: ReturnType<typeof setTimeout>;
  #syncer?: WalSyncer;
  #checkpointer?: Worker;
  /** Rows held in all vehicles' tails, and the most allowed. */
  #tailRows = 0;
  #tailMax: number;
  /** Reused bind-argument list of the multi-row INSERTs. */
  #args: string[] = [];
  /** The last time formatted, and its text: the datapoints of one frame share one time and so one string. */
  #lastMs = NaN;
  #lastTs = "";

  constructor(path: string, options: SqliteStoreOptions) {
    try {
      this.#db = new DatabaseSync(path);
    } catch (e) {
      throw new PipelineError("ovds.open", `cannot open OVDS database ${path}: ${(e as Error).message}`, {
        path,
        cause: e,
      });
    }
    this.#tailMax = options.tailCacheRows ?? TAIL_MAX_ROWS;
    const db = this.#db;
    // Only takes effect on a new, empty file (an existing one keeps its page size).
    db.exec(`PRAGMA page_size=${options.pageSize ?? PAGE_SIZE}`);
    db.exec("PRAGMA journal_mode=WAL");
    // Commits only write the WAL; for `full`, the WalSyncer fsyncs it before a write is acknowledged.
    db.exec("PRAGMA synchronous=NORMAL");
    db.exec("PRAGMA busy_timeout=5000");
    let migration: TimeMigration;
    db.exec("BEGIN IMMEDIATE");
    try {
      for (const sql of [...OVDS_STATIC_DDL, ...CESC_DDL]) db.exec(sql);
      // OVDS files written by other tools: their vehicles start with everything unforwarded.
      db.exec("INSERT OR IGNORE INTO cesc_vehicle(vin_id) SELECT vin_id FROM VIN_TIV");
      const ids = db.prepare("SELECT vin_id FROM VIN_TIV").all().map((r) => Number(r.vin_id));
      for (const id of ids) db.exec(ovdsTvDdl(id));
      // One instant, one row: timestamps of older files become canonical in this same transaction.
      migration = migrateTimestamps(db, ids);
      db.exec("COMMIT");
    } catch (e) {
      db.exec("ROLLBACK");
      db.close();
      throw new PipelineError("ovds.schema", `cannot create the OVDS tables in ${path}: ${(e as Error).message}`, {
        path,
        cause: e,
      });
    }
    options.onMigrated?.(migration);
    const file = path !== ":memory:" && path !== "";
    if (options.synchronous !== "normal" && file) {
      try {
        this.#syncer = new WalSyncer(path, { sync: options.walSync, onSync: options.onWalSync });
      } catch (e) {
        db.close();
        throw new PipelineError("ovds.open", `cannot open the write-ahead log of ${path}: ${(e as Error).message}`, {
          path,
          cause: e,
        });
      }
    }
    if ((options.checkpointInWorker ?? true) && file) {
      // The worker copies the WAL into the database off this thread; a PASSIVE checkpoint never
      // finishes while commits keep coming, so the writer still checkpoints itself (copying only
      // what the worker left) once the WAL holds WAL_RESTART_PAGES pages, which lets SQLite
      // restart the WAL from its beginning instead of growing it forever.
      db.exec(`PRAGMA wal_autocheckpoint=${WAL_RESTART_PAGES}`);
      this.#checkpointer = new Worker(new URL("./checkpoint_worker.ts", import.meta.url).href, { type: "module" });
      this.#checkpointer.postMessage({ path, intervalMs: options.checkpointIntervalMs ?? 50 });
    }
    // The ingest transaction's statements, prepared once (exec would parse them per commit).
    this.#begin = db.prepare("BEGIN IMMEDIATE");
    this.#commit = db.prepare("COMMIT");
    this.#selectVin = db.prepare("SELECT vin_id FROM VIN_TIV WHERE vin = ? ORDER BY vin_id LIMIT 1");
    this.#insertVin = db.prepare("INSERT INTO VIN_TIV(vin) VALUES(?)");
    this.#insertState = db.prepare("INSERT OR IGNORE INTO cesc_vehicle(vin_id) VALUES(?)");
    this.#advance = db.prepare(
      "UPDATE cesc_vehicle SET forwarded_rowid = max(forwarded_rowid, ?), forwarded_at = ? WHERE vin_id = ?",
    );
    this.#selectWatermark = db.prepare("SELECT forwarded_rowid FROM cesc_vehicle WHERE vin_id = ?");
    this.#insertDead = db.prepare(
      "INSERT INTO cesc_dead_letter(vin_id, row_id, path, value, timestamp, reason, created_at) VALUES(?, ?, ?, ?, ?, ?, ?)",
    );
  }

  #check(): void {
    if (this.#closed) throw new PipelineError("ovds.closed", "the OVDS store is closed");
  }

  #lookup(vin: string): Vehicle | undefined {
    let v = this.#vehicles.get(vin);
    if (v) return v;
    const row = this.#selectVin.get(vin);
    if (!row) return undefined;
    const id = Number(row.vin_id);
    const wm = this.#selectWatermark.get(id);
    v = {
      vin,
      id,
      inserts: [],
      watermark: wm ? Number(wm.forwarded_rowid) : 0,
    };
    this.#vehicles.set(vin, v);
    return v;
  }

  #create(vin: string): Vehicle {
    const id = Number(this.#insertVin.run(vin).lastInsertRowid);
    this.#db.exec(ovdsTvDdl(id));
    this.#insertState.run(id);
    const v = {
      vin,
      id,
      inserts: [],
      watermark: 0,
      tail: this.#tailMax > 0 ? [] : undefined, // a new table: nothing above the watermark yet
    };
    this.#vehicles.set(vin, v);
    return v;
  }

  /**
   * Commits synchronously (so a caller may start the next transaction at once) and resolves once the
   * commit is durable: for `full`, after a shared fsync of the WAL.
   */
  insertBatches(batches: readonly VehicleBatch[]): Promise<InsertResult> {
    try {
      this.#check();
      if (this.#syncer?.failed) throw this.#syncer.failed;
      const res = this.#insertSync(batches);
      return this.#syncer ? this.#syncer.sync().then(() => res) : Promise.resolve(res);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #insertSync(batches: readonly VehicleBatch[]): InsertResult {
    const db = this.#db;
    const created: string[] = [];
    const inserted: number[] = [];
    const perVin = new Map<string, number>();
    // New rows of vehicles whose tail is cached: appended to the tails only once the commit succeeded.
    const fresh: { v: Vehicle; rows: StoredRow[] }[] = [];
    this.#begin.run();
    try {
      for (const b of batches) {
        let v = this.#lookup(b.vin);
        if (!v) {
          v = this.#create(b.vin);
          created.push(b.vin);
        }
        const rows: StoredRow[] | undefined = v.tail ? [] : undefined;
        const n = this.#insertRows(v, b.datapoints, rows);
        if (rows && v.tail && n > 0) fresh.push({ v, rows });
        inserted.push(n);
        perVin.set(b.vin, (perVin.get(b.vin) ?? 0) + n);
      }
      // Watermarks moved since the last commit ride along: no transaction (and WAL write) of their own.
      this.#writeWatermarks();
      this.#commit.run();
      this.#dirty.clear();
      for (const { v, rows } of fresh) this.#appendTail(v, rows);
    } catch (e) {
      try {
        db.exec("ROLLBACK");
      } catch { /* already rolled back */ }
      for (const vin of created) this.#vehicles.delete(vin);
      if (e instanceof PipelineError) throw e;
      throw new PipelineError("ovds.write", `storing data points failed: ${(e as Error).message}`, { cause: e });
    }
    return { inserted, perVin };
  }

  /**
   * Inserts one vehicle's data points with multi-row INSERTs; returns the rows stored (duplicates of
   * (path, timestamp) are ignored by the table). Pushes the stored rows with their rowids to `rows`
   * for the tail cache: a chunk without duplicates got consecutive rowids ending at `lastInsertRowid`
   * (SQLite gives a new row the largest rowid plus one); when some rows of a chunk were duplicates it
   * cannot tell which, so it drops the vehicle's tail and the forwarder reads the table instead.
   */
  #insertRows(v: Vehicle, dps: readonly Datapoint[], rows: StoredRow[] | undefined): number {
    const args = this.#args;
    let n = 0;
    for (let i = 0; i < dps.length;) {
      const left = dps.length - i;
      let c = 0;
      while (INSERT_CHUNKS[c] > left) c++;
      const k = INSERT_CHUNKS[c];
      const stmt = v.inserts[c] ??= this.#db.prepare(
        `INSERT INTO TV_${v.id}(value, timestamp, path) VALUES ${new Array(k).fill("(?, ?, ?)").join(", ")}`,
      );
      args.length = 0;
      for (let j = i; j < i + k; j++) {
        const d = dps[j];
        args.push(typeof d.value === "string" ? d.value : formatValue(d.value), this.#timeText(d), d.path);
      }
      const r = stmt.run(...args);
      const changes = Number(r.changes);
      n += changes;
      if (rows && v.tail) {
        const last = Number(r.lastInsertRowid);
        if (changes === k && Number.isSafeInteger(last)) {
          for (let j = 0; j < k; j++) {
            rows.push({ id: last - k + 1 + j, path: args[3 * j + 2], value: args[3 * j], ts: args[3 * j + 1] });
          }
        } else if (changes > 0) {
          this.#dropTail(v);
        }
      }
      i += k;
    }
    return n;
  }

  /** The canonical time text of `d`; consecutive datapoints of one instant share one string. */
  #timeText(d: Datapoint): string {
    const ms = d.tsMs;
    if (ms === this.#lastMs) return this.#lastTs;
    if (!isTsMs(ms)) {
      throw new PipelineError(
        "ovds.datapoint",
        `datapoint ${d.path} has time ${ms} ms, not an integer within 0000..9999; validate datapoints before storing`,
      );
    }
    this.#lastTs = formatTime(ms);
    this.#lastMs = ms;
    return this.#lastTs;
  }

  #dropTail(v: Vehicle): void {
    if (!v.tail) return;
    this.#tailRows -= v.tail.length;
    v.tail = undefined;
  }

  unforwarded(vin: string, options: UnforwardedOptions): Promise<StoredRow[]> {
    try {
      this.#check();
      const v = this.#lookup(vin);
      if (!v) return Promise.resolve([]);
      if (v.tail) return Promise.resolve(v.tail.slice(0, options.limit));
      // Columns named as in StoredRow, so the rows need no copy (rowid is an integer, value is NOT NULL TEXT).
      v.select ??= this.#db.prepare(
        `SELECT rowid AS id, ifnull(path, '') AS path, value, timestamp AS ts FROM TV_${v.id} WHERE rowid > ? ORDER BY rowid LIMIT ?`,
      );
      const rows = v.select.all(v.watermark, options.limit) as unknown as StoredRow[];
      // Fewer rows than asked for: that is every row above the watermark, so the tail is known again.
      if (this.#tailMax > 0 && rows.length < options.limit && this.#tailRows + rows.length <= this.#tailMax) {
        v.tail = rows.slice();
        this.#tailRows += rows.length;
      }
      return Promise.resolve(rows);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Adds committed rows to a vehicle's cached tail, or drops the tail when the cache is full. */
  #appendTail(v: Vehicle, rows: StoredRow[]): void {
    if (!v.tail) return;
    if (this.#tailRows + rows.length > this.#tailMax) return this.#dropTail(v);
    for (const r of rows) v.tail.push(r);
    this.#tailRows += rows.length;
  }

  #writeWatermarks(): void {
    for (const v of this.#dirty) this.#advance.run(v.watermark, v.forwardedAt ?? null, v.id);
  }

  /** Writes moved watermarks in a transaction of their own (when no ingest commit came along). */
  #persistWatermarks(): void {
    if (this.#flushTimer !== undefined) {
      clearTimeout(this.#flushTimer);
      this.#flushTimer = undefined;
    }
    if (this.#dirty.size === 0 || this.#closed) return;
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      this.#writeWatermarks();
      this.#db.exec("COMMIT");
      this.#dirty.clear();
    } catch (e) {
      try {
        this.#db.exec("ROLLBACK");
      } catch { /* already rolled back */ }
      throw new PipelineError("ovds.write", `storing forwarding watermarks failed: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  advanceWatermark(vin: string, rowId: number): Promise<void> {
    try {
      this.#check();
      const v = this.#lookup(vin);
      if (!v) throw new PipelineError("ovds.vin", `unknown vehicle ${vin}`);
      if (rowId <= v.watermark) return Promise.resolve();
      if (v.tail) {
        let k = 0;
        while (k < v.tail.length && v.tail[k].id <= rowId) k++;
        v.tail = k === v.tail.length ? [] : v.tail.slice(k);
        this.#tailRows -= k;
      }
      // Kept in memory and written with the next ingest commit (or after WATERMARK_FLUSH_MS), with no
      // fsync of its own: losing it in a crash only re-sends rows (at-least-once); close() writes it.
      v.watermark = rowId;
      v.forwardedAt = new Date().toISOString();
      this.#dirty.add(v);
      if (this.#flushTimer === undefined) {
        const timer = setTimeout(() => {
          this.#flushTimer = undefined;
          try {
            this.#persistWatermarks();
          } catch {
            // stays dirty: the next commit or flush writes it
          }
        }, WATERMARK_FLUSH_MS);
        Deno.unrefTimer(timer);
        this.#flushTimer = timer;
      }
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  deadLetter(vin: string, rows: readonly StoredRow[], options: { reason: string }): Promise<void> {
    try {
      this.#check();
      const v = this.#lookup(vin);
      if (!v) throw new PipelineError("ovds.vin", `unknown vehicle ${vin}`);
      const now = new Date().toISOString();
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        for (const r of rows) this.#insertDead.run(v.id, r.id, r.path, r.value, r.ts, options.reason, now);
        this.#db.exec("COMMIT");
      } catch (e) {
        this.#db.exec("ROLLBACK");
        throw e;
      }
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  deadLetters(options: { limit?: number } = {}): Promise<DeadLetter[]> {
    try {
      this.#check();
      const rows = this.#db.prepare(
        `SELECT d.id, v.vin, d.row_id, d.path, d.value, d.timestamp, d.reason, d.created_at
         FROM cesc_dead_letter d JOIN VIN_TIV v ON v.vin_id = d.vin_id ORDER BY d.id LIMIT ?`,
      ).all(options.limit ?? 1000);
      return Promise.resolve(rows.map((r) => ({
        id: Number(r.id),
        vin: String(r.vin),
        row: { id: Number(r.row_id), path: String(r.path), value: String(r.value), ts: String(r.timestamp) },
        reason: String(r.reason),
        createdAt: String(r.created_at),
      })));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  vehicles(): Promise<VehicleInfo[]> {
    try {
      this.#check();
      this.#persistWatermarks();
      const out: VehicleInfo[] = [];
      const rows = this.#db.prepare(
        `SELECT v.vin_id, v.vin, coalesce(s.forwarded_rowid, 0) AS wm FROM VIN_TIV v
         LEFT JOIN cesc_vehicle s ON s.vin_id = v.vin_id ORDER BY v.vin_id`,
      ).all();
      const seen = new Set<string>();
      for (const r of rows) {
        const vin = String(r.vin);
        if (seen.has(vin)) continue; // duplicate VINs in foreign OVDS files: the first id wins
        seen.add(vin);
        const id = Number(r.vin_id);
        const wm = Number(r.wm);
        const tail = this.#vehicles.get(vin)?.tail;
        const backlog = tail
          ? tail.length
          : Number(this.#db.prepare(`SELECT count(*) AS n FROM TV_${id} WHERE rowid > ?`).get(wm)?.n ?? 0);
        out.push({ vin, vinId: id, watermark: wm, backlog });
      }
      return Promise.resolve(out);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  applyRetention(maxAgeMs: number, options: { now?: Date } = {}): Promise<number> {
    try {
      this.#check();
      this.#persistWatermarks();
      const limit = (options.now ?? new Date()).getTime() - maxAgeMs;
      if (Number.isNaN(limit)) throw new PipelineError("ovds.retention", `retention ${maxAgeMs} ms is not a number`);
      if (limit <= MIN_TS_MS) return Promise.resolve(0);
      const cutoff = formatTime(Math.min(Math.floor(limit), MAX_TS_MS));
      let deleted = 0;
      const states = this.#db.prepare("SELECT vin_id, forwarded_rowid FROM cesc_vehicle").all();
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        for (const s of states) {
          const id = Number(s.vin_id);
          // Keep the newest row of each table so SQLite never hands out a rowid at or below the watermark again.
          // Rows whose timestamp is no time (junk kept from other tools' files) have no age: never deleted.
          deleted += Number(
            this.#db.prepare(
              `DELETE FROM TV_${id} WHERE rowid <= ? AND rowid < (SELECT max(rowid) FROM TV_${id}) AND timestamp < ?
               AND timestamp GLOB '${CANONICAL_GLOB}'`,
            ).run(Number(s.forwarded_rowid), cutoff).changes,
          );
        }
        this.#db.exec("COMMIT");
      } catch (e) {
        this.#db.exec("ROLLBACK");
        throw e;
      }
      return Promise.resolve(deleted);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  ping(): Promise<boolean> {
    if (this.#closed || this.#syncer?.failed) return Promise.resolve(false);
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      this.#db.exec("ROLLBACK");
      return Promise.resolve(true);
    } catch {
      return Promise.resolve(false);
    }
  }

  /** Writes the watermarks still in memory, waits for the last fsync, then closes. */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      try {
        this.#persistWatermarks();
        await this.#syncer?.sync();
      } catch { /* a failed store: nothing more can be saved */ }
      this.#closed = true;
      this.#checkpointer?.terminate();
      await this.#syncer?.close();
      this.#db.close();
    })();
  }
}

/**
 * Opens (creating if needed) an OVDS SQLite file with the exact OVDS schema, WAL mode, and the CESC's
 * bookkeeping tables (`cesc_vehicle` watermarks by rowid, `cesc_dead_letter`).
 *
 * Do not `VACUUM` the file while a CESC uses it: SQLite may renumber rowids, which the watermarks rely on.
 */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): OvdsStore {
  return new SqliteOvdsStore(path, options);
}
