import { DatabaseSync, type StatementSync } from "node:sqlite";
import { PipelineError } from "../errors/mod.ts";
import { formatTime, parseTime } from "../datapoint/mod.ts";
import { boundText, CANONICAL_GLOB, canonicalTime, isCanonicalTime, OPEN_END } from "./time_text.ts";

/** One vehicle as the read side sees it. */
export interface VehicleSummary {
  /** VIN. */
  vin: string;
  /** Oldest stored time (canonical RFC 3339 text), `null` when the vehicle has no rows. */
  firstSeen: string | null;
  /** Newest stored time (canonical RFC 3339 text), `null` when the vehicle has no rows. */
  lastSeen: string | null;
  /** Stored data points. */
  datapoints: number;
  /** Distinct signal paths. */
  signals: number;
  /** Stored data points not yet accepted by the forwarding backend. */
  backlog: number;
}

/** The newest value of one signal. */
export interface SignalLatest {
  /** VSS path. */
  path: string;
  /** Newest value as stored. */
  value: string;
  /** Its timestamp. */
  ts: string;
}

/**
 * A point of a series. Raw points carry the stored value (a string); downsampled points carry the
 * bucket's average in `value` and its `min`, `max` and `count` (numbers; non-numeric values count as 0).
 */
export interface SeriesPoint {
  /** Timestamp (raw) or bucket start (downsampled), canonical RFC 3339 text (`YYYY-MM-DDTHH:MM:SS.sssZ`). */
  ts: string;
  /** Stored value (raw) or bucket average (downsampled). */
  value: string | number;
  /** Bucket minimum (downsampled only). */
  min?: number;
  /** Bucket maximum (downsampled only). */
  max?: number;
  /** Data points in the bucket (downsampled only). */
  count?: number;
}

/** Options for {@link OvdsQuery.series}. */
export interface SeriesOptions {
  /** Inclusive lower bound: any RFC 3339 text (fraction digits and offsets are read as the instant they name). */
  from?: string;
  /** Exclusive upper bound: any RFC 3339 text. */
  to?: string;
  /** Largest number of raw points per page (default 1000, at most 10 000). */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
  /**
   * When the range holds more than this many points, answer with at most `maxPoints` time buckets
   * (average, min, max, count) over the whole range instead of raw pages. Ranges of 4 h or more (and of
   * at least `maxPoints` minutes) use whole-minute buckets from the reader's per-minute cache (exact too).
   */
  maxPoints?: number;
}

/** One page of a series. */
export interface SeriesPage {
  /** VIN. */
  vin: string;
  /** VSS path. */
  path: string;
  /** Points in time order. */
  points: SeriesPoint[];
  /** True when the points are time buckets. */
  downsampled: boolean;
  /** Bucket width in ms (downsampled only). */
  bucketMs?: number;
  /** Pass as `cursor` to get the next page; `null` on the last page. */
  nextCursor: string | null;
}

/**
 * Read-only queries over an OVDS store (the CESC's read API and dashboard use only this).
 * Unknown vehicles and paths reject with `PipelineError` codes `query.vin_unknown` / `query.path_unknown`,
 * a bad cursor with `query.cursor`, a `from`/`to` that is no RFC 3339 time with `query.param`. Times are compared as
 * instants (the store keeps canonical text), so ranges, cursors, order and "latest" are exact to the millisecond.
 * A PostgreSQL store can implement the same interface.
 */
export interface OvdsQuery {
  /** Every vehicle with its time span, counts and forwarding backlog, by VIN. */
  vehicles(): Promise<VehicleSummary[]>;
  /** The newest value of each signal of `vin`, by path. */
  signals(vin: string): Promise<SignalLatest[]>;
  /** Time-ordered data points of one signal, paged or downsampled. */
  series(vin: string, path: string, options?: SeriesOptions): Promise<SeriesPage>;
  /** Closes the reader. */
  close(): Promise<void>;
}

/** Largest raw page. */
export const MAX_SERIES_LIMIT = 10_000;
/** Largest `maxPoints`. */
export const MAX_SERIES_POINTS = 10_000;

const MINUTE = 60_000;
/** Ranges at least this long (and of at least `maxPoints` minutes) are answered from minute tiles. */
const TILE_MIN_SPAN_MS = 4 * 3600_000;
/** Minute tiles older than this are rebuilt (catches deletions the rowid fingerprint misses). */
const TILE_TTL_MS = 10 * 60_000;
/** Most minute tiles kept per reader (32 bytes each plus map overhead: about 100 MB). */
const MAX_TILES = 1_000_000;

/** Cursor prefix of a page that ended on a stored text that is no time (kept from another tool's file). */
const RAW_CURSOR = "raw:";

/** Encodes the last timestamp of a page as an opaque cursor (base64url of its text). */
function encodeCursor(ts: string): string {
  const text = isCanonicalTime(ts) ? ts : RAW_CURSOR + ts;
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

/** The stored text a cursor continues after: a canonical time (also from cursors of older versions) or raw text. */
function decodeCursor(cursor: string): string {
  let text = "";
  try {
    const bin = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    text = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch { /* not base64 or not UTF-8: refused below */ }
  if (text.startsWith(RAW_CURSOR) && text.length > RAW_CURSOR.length) return text.slice(RAW_CURSOR.length);
  const ts = canonicalTime(text);
  if (ts === undefined) {
    throw new PipelineError("query.cursor", "cursor is not one this server handed out; start again without cursor", {
      path: "cursor",
    });
  }
  return ts;
}

/** The canonical text of a `from`/`to` bound, `query.param` when it is no RFC 3339 time. */
function boundParam(text: string | undefined, name: "from" | "to", open: string): string {
  if (text === undefined || text === "") return open;
  const ts = canonicalTime(text);
  if (ts === undefined) {
    throw new PipelineError(
      "query.param",
      `${name} must be an RFC 3339 time like 2024-03-01T12:00:00.250Z, got "${text.slice(0, 40)}"`,
      { path: name },
    );
  }
  return ts;
}

interface Tv {
  id: number;
  firstPath: StatementSync;
  nextPath: StatementSync;
  latest: StatementSync;
  latestAny: StatementSync;
  minTs: StatementSync;
  firstTime: StatementSync;
  lastTime: StatementSync;
  raw: StatementSync;
  rawAfter: StatementSync;
  bucket: StatementSync;
  partial: StatementSync;
  nextTs: StatementSync;
  tileNew: StatementSync;
  maxRowid: StatementSync;
  minRowid: StatementSync;
  countAll: StatementSync;
  backlog: StatementSync;
}

class SqliteOvdsQuery implements OvdsQuery {
  #db: DatabaseSync;
  #tv = new Map<number, Tv>();
  #tiles = new Map<string, { tiles: Map<number, Float64Array>; rowid: number; lo: number; built: number }>();
  #tileCount = 0;
  #vins: StatementSync;
  #vinId: StatementSync;
  #watermark?: StatementSync;
  #closed = false;

  constructor(path: string) {
    try {
      this.#db = new DatabaseSync(path, { readOnly: true });
      this.#db.exec("PRAGMA query_only=ON");
      this.#db.exec("PRAGMA busy_timeout=5000");
      this.#vins = this.#db.prepare("SELECT min(vin_id) AS vin_id, vin FROM VIN_TIV GROUP BY vin ORDER BY vin");
      this.#vinId = this.#db.prepare("SELECT vin_id FROM VIN_TIV WHERE vin = ? ORDER BY vin_id LIMIT 1");
      const hasState = this.#db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cesc_vehicle'")
        .get();
      if (hasState) {
        this.#watermark = this.#db.prepare("SELECT forwarded_rowid FROM cesc_vehicle WHERE vin_id = ?");
      }
    } catch (e) {
      throw new PipelineError(
        "ovds.open",
        `cannot open OVDS database ${path} for reading: ${(e as Error).message}; start the CESC on it first`,
        { path, cause: e },
      );
    }
  }

  #check(): void {
    if (this.#closed) throw new PipelineError("ovds.closed", "the OVDS reader is closed");
  }

  #table(id: number): Tv {
    let t = this.#tv.get(id);
    if (t) return t;
    const db = this.#db;
    const tv = `TV_${id}`;
    // The OVDS UNIQUE(path, timestamp) index serves every query below: distinct paths by skip-scan,
    // newest value per path, and time ranges per path. No extra index is needed. Timestamps are canonical text
    // (text order is time order); first/last/latest skip texts that are no time (junk kept from other tools'
    // files), walking the index from its end, which costs nothing when there are none.
    const isTime = `timestamp GLOB '${CANONICAL_GLOB}'`;
    t = {
      id,
      firstPath: db.prepare(`SELECT min(path) AS p FROM ${tv}`),
      nextPath: db.prepare(`SELECT min(path) AS p FROM ${tv} WHERE path > ?`),
      latest: db.prepare(
        `SELECT value, timestamp FROM ${tv} WHERE path = ? AND ${isTime} ORDER BY timestamp DESC LIMIT 1`,
      ),
      latestAny: db.prepare(`SELECT value, timestamp FROM ${tv} WHERE path = ? ORDER BY timestamp DESC LIMIT 1`),
      minTs: db.prepare(`SELECT min(timestamp) AS t FROM ${tv} WHERE path = ?`),
      firstTime: db.prepare(
        `SELECT timestamp AS t FROM ${tv} WHERE path = ? AND ${isTime} ORDER BY timestamp LIMIT 1`,
      ),
      lastTime: db.prepare(
        `SELECT timestamp AS t FROM ${tv} WHERE path = ? AND ${isTime} ORDER BY timestamp DESC LIMIT 1`,
      ),
      raw: db.prepare(
        `SELECT timestamp, value FROM ${tv} WHERE path = ? AND timestamp >= ? AND timestamp < ? ORDER BY timestamp LIMIT ?`,
      ),
      rawAfter: db.prepare(
        `SELECT timestamp, value FROM ${tv} WHERE path = ? AND timestamp > ? AND timestamp < ? ORDER BY timestamp LIMIT ?`,
      ),
      bucket: db.prepare(
        `SELECT avg(CAST(value AS REAL)) AS a, min(CAST(value AS REAL)) AS lo, max(CAST(value AS REAL)) AS hi,
         count(*) AS n FROM ${tv} WHERE path = ? AND timestamp >= ? AND timestamp < ?`,
      ),
      partial: db.prepare(
        `SELECT count(*) AS n, total(CAST(value AS REAL)) AS s, min(CAST(value AS REAL)) AS lo,
         max(CAST(value AS REAL)) AS hi FROM ${tv} WHERE path = ? AND timestamp >= ? AND timestamp < ?`,
      ),
      nextTs: db.prepare(`SELECT min(timestamp) AS t FROM ${tv} WHERE path = ? AND timestamp >= ?`),
      // `+path`: walk the new rowids, not every row of the path through the (path, timestamp) index.
      tileNew: db.prepare(`SELECT timestamp, value FROM ${tv} WHERE rowid > ? AND rowid <= ? AND +path = ?`),
      maxRowid: db.prepare(`SELECT max(rowid) AS r FROM ${tv}`),
      minRowid: db.prepare(`SELECT min(rowid) AS r FROM ${tv}`),
      countAll: db.prepare(`SELECT count(*) AS n FROM ${tv}`),
      backlog: db.prepare(`SELECT count(*) AS n FROM ${tv} WHERE rowid > ?`),
    };
    this.#tv.set(id, t);
    return t;
  }

  #paths(t: Tv): string[] {
    const out: string[] = [];
    let r = t.firstPath.get();
    while (r && r.p !== null) {
      const p = String(r.p);
      out.push(p);
      r = t.nextPath.get(p);
    }
    return out;
  }

  #lookup(vin: string): Tv {
    const r = this.#vinId.get(vin);
    if (!r) {
      throw new PipelineError("query.vin_unknown", `no vehicle ${vin} in the store; GET /v1/vehicles lists them`, {
        path: "vin",
      });
    }
    return this.#table(Number(r.vin_id));
  }

  vehicles(): Promise<VehicleSummary[]> {
    try {
      this.#check();
      const out: VehicleSummary[] = [];
      for (const r of this.#vins.all()) {
        const t = this.#table(Number(r.vin_id));
        let first: string | null = null, last: string | null = null;
        const paths = this.#paths(t);
        for (const p of paths) {
          const lo = t.firstTime.get(p)?.t, hi = t.lastTime.get(p)?.t;
          if (typeof lo === "string" && (first === null || lo < first)) first = lo;
          if (typeof hi === "string" && (last === null || hi > last)) last = hi;
        }
        const wm = Number(this.#watermark?.get(t.id)?.forwarded_rowid ?? 0);
        const datapoints = Number(t.countAll.get()?.n ?? 0);
        out.push({
          vin: String(r.vin),
          firstSeen: first,
          lastSeen: last,
          datapoints,
          signals: paths.length,
          backlog: wm === 0 ? datapoints : Number(t.backlog.get(wm)?.n ?? 0),
        });
      }
      return Promise.resolve(out);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  signals(vin: string): Promise<SignalLatest[]> {
    try {
      this.#check();
      const t = this.#lookup(vin);
      const out: SignalLatest[] = [];
      for (const path of this.#paths(t)) {
        // The newest time; a path holding only texts that are no time shows its last text.
        const r = t.latest.get(path) ?? t.latestAny.get(path);
        if (!r) continue;
        out.push({ path, value: String(r.value), ts: String(r.timestamp) });
      }
      return Promise.resolve(out);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  series(vin: string, path: string, options: SeriesOptions = {}): Promise<SeriesPage> {
    try {
      this.#check();
      return Promise.resolve(this.#series(vin, path, options));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #series(vin: string, path: string, options: SeriesOptions): SeriesPage {
    const t = this.#lookup(vin);
    const first = t.minTs.get(path)?.t;
    if (first === null || first === undefined) {
      throw new PipelineError(
        "query.path_unknown",
        `vehicle ${vin} has no data for ${path}; GET /v1/vehicles/${vin}/signals lists its paths`,
        { path: "path" },
      );
    }
    const limit = Math.min(options.limit ?? 1000, MAX_SERIES_LIMIT);
    const from = boundParam(options.from, "from", "");
    const to = boundParam(options.to, "to", OPEN_END);
    const maxPoints = options.maxPoints ? Math.min(options.maxPoints, MAX_SERIES_POINTS) : 0;
    const cursor = options.cursor ? decodeCursor(options.cursor) : undefined;
    if (maxPoints > 0 && cursor === undefined) {
      const probe = t.raw.all(path, from, to, maxPoints + 1);
      // Downsampling needs a time axis: a path without any time (only junk texts) is paged raw.
      if (probe.length > maxPoints && t.firstTime.get(path) !== undefined) {
        const q = { vin, path, from, to, maxPoints };
        const span = this.#spanMs(t, q);
        // Short ranges: read them (cheap). Long ones: minute tiles, built once over the path's history.
        return span >= TILE_MIN_SPAN_MS && span >= maxPoints * MINUTE
          ? this.#downsampleTiles(t, q)
          : this.#downsample(t, q);
      }
      return this.#page({ vin, path }, probe, maxPoints);
    }
    const rows = cursor === undefined
      ? t.raw.all(path, from, to, limit + 1)
      : t.rawAfter.all(path, cursor, to, limit + 1);
    return this.#page({ vin, path }, rows, limit);
  }

  #page(key: { vin: string; path: string }, rows: Record<string, unknown>[], limit: number): SeriesPage {
    const more = rows.length > limit;
    const n = more ? limit : rows.length;
    const points: SeriesPoint[] = new Array(n);
    for (let i = 0; i < n; i++) points[i] = { ts: String(rows[i].timestamp), value: String(rows[i].value) };
    return {
      vin: key.vin,
      path: key.path,
      points,
      downsampled: false,
      nextCursor: more ? encodeCursor(points[n - 1].ts) : null,
    };
  }

  #downsample(
    t: Tv,
    q: { vin: string; path: string; from: string; to: string; maxPoints: number },
  ): SeriesPage {
    const { a: t0, b: t1 } = this.#span(t, q);
    const bucketMs = Math.max(1, Math.ceil((t1 - t0) / q.maxPoints));
    const points: SeriesPoint[] = [];
    let start = boundText(t0);
    for (let i = 0; i < q.maxPoints; i++) {
      const bStart = t0 + i * bucketMs;
      if (bStart >= t1) break;
      const bEnd = bStart + bucketMs;
      const end = boundText(bEnd >= t1 ? t1 : bEnd);
      const r = t.bucket.get(q.path, start, end);
      start = end;
      const n = Number(r?.n ?? 0);
      if (n === 0) continue;
      points.push({
        ts: formatTime(bStart),
        value: Number(r!.a),
        min: Number(r!.lo),
        max: Number(r!.hi),
        count: n,
      });
    }
    return { vin: q.vin, path: q.path, points, downsampled: true, bucketMs, nextCursor: null };
  }

  /**
   * Start and end (exclusive) in ms of a downsampled range: `from`/`to`, else the path's first/last time (without
   * `to` the newest point must be inside the last bucket: the range ends just after it). Only called for paths that
   * have a time.
   */
  #span(t: Tv, q: { path: string; from: string; to: string }): { a: number; b: number } {
    const a = parseTime(q.from || String(t.firstTime.get(q.path)?.t));
    const b = q.to === OPEN_END ? parseTime(String(t.lastTime.get(q.path)?.t)) + 1 : parseTime(q.to);
    return { a, b };
  }

  #spanMs(t: Tv, q: { path: string; from: string; to: string }): number {
    const { a, b } = this.#span(t, q);
    return b - a;
  }

  /**
   * Per-minute count/sum/min/max of one path, kept in this reader and brought up to date from the rows
   * above the last rowid seen (late data included). Rebuilt when rows were deleted (retention) or after
   * {@link TILE_TTL_MS}. Serves long ranges without reading every row again.
   */
  #tilesFor(t: Tv, path: string): Map<number, Float64Array> {
    const key = `${t.id}\u0000${path}`;
    const now = Date.now();
    const hi = Number(t.maxRowid.get()?.r ?? 0);
    const lo = Number(t.minRowid.get()?.r ?? 0);
    let c = this.#tiles.get(key);
    if (c && (c.lo !== lo || now - c.built > TILE_TTL_MS)) {
      this.#tileCount -= c.tiles.size;
      this.#tiles.delete(key);
      c = undefined;
    }
    if (!c) {
      // One indexed range read per non-empty minute; gaps are skipped with one index seek.
      const tiles = new Map<number, Float64Array>();
      const first = t.firstTime.get(path)?.t, last = t.lastTime.get(path)?.t;
      const end = Math.floor(parseTime(String(last)) / MINUTE);
      let m = Math.floor(parseTime(String(first)) / MINUTE);
      while (m <= end) {
        const upto = boundText((m + 1) * MINUTE);
        const r = t.partial.get(path, boundText(m * MINUTE), upto);
        const n = Number(r?.n ?? 0);
        if (n > 0) {
          tiles.set(m, Float64Array.of(n, Number(r!.s), Number(r!.lo), Number(r!.hi)));
          m++;
        } else {
          const next = t.nextTs.get(path, upto)?.t;
          if (next === null || next === undefined) break;
          const nextMs = parseTime(String(next));
          if (Number.isNaN(nextMs)) break; // only texts that are no time after this
          m = Math.max(m + 1, Math.floor(nextMs / MINUTE));
        }
      }
      c = { tiles, rowid: hi, lo, built: now };
      this.#tileCount += tiles.size;
    } else if (hi > c.rowid) {
      for (const r of t.tileNew.iterate(c.rowid, hi, path)) {
        const ms = parseTime(String(r.timestamp));
        if (Number.isNaN(ms)) continue; // no time: in no minute
        const m = Math.floor(ms / MINUTE);
        const x = parseFloat(String(r.value)); // like CAST(value AS REAL) for the usual cases
        const v = Number.isNaN(x) ? 0 : x;
        let tile = c.tiles.get(m);
        if (!tile) {
          c.tiles.set(m, tile = Float64Array.of(0, 0, v, v));
          this.#tileCount++;
        }
        tile[0]++;
        tile[1] += v;
        if (v < tile[2]) tile[2] = v;
        if (v > tile[3]) tile[3] = v;
      }
      c.rowid = hi;
    }
    // Most recently used last; drop the oldest series while over budget.
    this.#tiles.delete(key);
    this.#tiles.set(key, c);
    for (const [k, old] of this.#tiles) {
      if (this.#tileCount <= MAX_TILES || k === key) break;
      this.#tiles.delete(k);
      this.#tileCount -= old.tiles.size;
    }
    return c.tiles;
  }

  /**
   * Exact buckets of whole minutes from the tile cache; the partial minutes at the range's ends are
   * read from the table. All in one read transaction, so tiles and partial reads see the same rows.
   */
  #downsampleTiles(
    t: Tv,
    q: { vin: string; path: string; from: string; to: string; maxPoints: number },
  ): SeriesPage {
    this.#db.exec("BEGIN");
    try {
      const { a, b } = this.#span(t, q);
      const tiles = this.#tilesFor(t, q.path);
      const bucketMs = Math.ceil((b - a) / Math.max(1, q.maxPoints - 1) / MINUTE) * MINUTE;
      const g0 = Math.ceil(a / MINUTE) * MINUTE;
      const edges = [a];
      for (let e = g0 + bucketMs; e < b; e += bucketMs) edges.push(e);
      edges.push(b);
      const points: SeriesPoint[] = [];
      const acc = new Float64Array(4);
      const add = (n: number, sum: number, mn: number, mx: number) => {
        if (n === 0) return;
        if (acc[0] === 0 || mn < acc[2]) acc[2] = mn;
        if (acc[0] === 0 || mx > acc[3]) acc[3] = mx;
        acc[0] += n;
        acc[1] += sum;
      };
      const exact = (from: string, to: string) => {
        const r = t.partial.get(q.path, from, to);
        if (r) add(Number(r.n), Number(r.s), Number(r.lo), Number(r.hi));
      };
      for (let i = 0; i + 1 < edges.length; i++) {
        const s = edges[i], e = edges[i + 1];
        acc.fill(0);
        const m0 = Math.ceil(s / MINUTE), m1 = Math.floor(e / MINUTE);
        const sText = boundText(s), eText = boundText(e);
        if (m0 > m1) {
          exact(sText, eText);
        } else {
          if (s < m0 * MINUTE) exact(sText, boundText(m0 * MINUTE));
          for (let m = m0; m < m1; m++) {
            const tile = tiles.get(m);
            if (tile) add(tile[0], tile[1], tile[2], tile[3]);
          }
          if (m1 * MINUTE < e) exact(boundText(m1 * MINUTE), eText);
        }
        if (acc[0] > 0) {
          points.push({
            ts: formatTime(s),
            value: acc[1] / acc[0],
            min: acc[2],
            max: acc[3],
            count: acc[0],
          });
        }
      }
      return { vin: q.vin, path: q.path, points, downsampled: true, bucketMs, nextCursor: null };
    } finally {
      this.#db.exec("COMMIT");
    }
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#tv.clear();
      this.#tiles.clear();
      this.#db.close();
    }
    return Promise.resolve();
  }
}

/** Options for {@link openSqliteQuery}. */
export interface SqliteQueryOptions {
  /**
   * Run the reader in a Worker (default false). node:sqlite is synchronous: on the main thread a query
   * over millions of rows holds the event loop; in a worker it only takes a CPU core. The CESC uses this.
   */
  worker?: boolean;
}

/**
 * Opens a read-only connection on an OVDS SQLite file that a CESC writes in WAL mode: reads see
 * committed data and never block ingest. Needs the file to exist (the CESC's store creates it);
 * with `worker: true` a missing file is reported by the first call instead.
 *
 * The store keeps canonical time text, so timestamps compare as instants; `from`/`to` may be any RFC 3339 text.
 * Files the CESC never opened (so never migrated, see docs/cesc.md) are compared as they are.
 */
export function openSqliteQuery(path: string, options: SqliteQueryOptions = {}): OvdsQuery {
  return options.worker ? new WorkerOvdsQuery(path) : new SqliteOvdsQuery(path);
}

interface WorkerReply {
  id: number;
  result?: unknown;
  error?: { code?: string; message: string; path?: string };
}

/** {@link OvdsQuery} over a {@link SqliteOvdsQuery} in a Worker (see query_worker.ts). */
class WorkerOvdsQuery implements OvdsQuery {
  #worker: Worker;
  #next = 0;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  #closed?: Promise<void>;

  constructor(path: string) {
    this.#worker = new Worker(new URL("./query_worker.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (ev: MessageEvent<WorkerReply>) => {
      const p = this.#pending.get(ev.data.id);
      if (!p) return;
      this.#pending.delete(ev.data.id);
      const err = ev.data.error;
      if (err) {
        p.reject(
          err.code ? new PipelineError(err.code, err.message, { path: err.path }) : new Error(err.message),
        );
      } else p.resolve(ev.data.result);
    };
    this.#worker.onerror = (ev) => {
      ev.preventDefault();
      const e = new PipelineError("ovds.reader", `the OVDS reader worker failed: ${ev.message}`);
      for (const p of this.#pending.values()) p.reject(e);
      this.#pending.clear();
    };
    // Opening errors (missing file) come back on this call; every later call reports them too.
    this.#call("open", [path]).catch(() => {});
  }

  #call<T>(method: string, args: unknown[]): Promise<T> {
    if (this.#closed) return Promise.reject(new PipelineError("ovds.closed", "the OVDS reader is closed"));
    const id = ++this.#next;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#worker.postMessage({ id, method, args });
    });
  }

  vehicles(): Promise<VehicleSummary[]> {
    return this.#call("vehicles", []);
  }

  signals(vin: string): Promise<SignalLatest[]> {
    return this.#call("signals", [vin]);
  }

  series(vin: string, path: string, options: SeriesOptions = {}): Promise<SeriesPage> {
    return this.#call("series", [vin, path, options]);
  }

  close(): Promise<void> {
    return this.#closed ??= this.#call("close", []).catch(() => {}).then(() => {
      this.#worker.terminate();
      const e = new PipelineError("ovds.closed", "the OVDS reader is closed");
      for (const p of this.#pending.values()) p.reject(e);
      this.#pending.clear();
    });
  }
}
