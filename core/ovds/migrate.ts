/**
 * Migration on open: rewrites the `timestamp` of every `TV_<n>` row that is RFC 3339 but not canonical
 * (`2024-01-01T00:00:00Z`, `…00.5Z`, `…01:00:00+01:00`) to the canonical text, merging rows that become one
 * `(path, timestamp)`, and records in `cesc_meta` that the file is canonical, so it runs once per file. Internal to
 * `core/ovds`; see docs/cesc.md "Storage".
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { CANONICAL_GLOB, canonicalTime } from "./time_text.ts";

/** The CESC's key/value bookkeeping table (the OVDS tables are never changed in shape). */
export const META_DDL = `CREATE TABLE IF NOT EXISTS cesc_meta ( key TEXT PRIMARY KEY, value TEXT NOT NULL )`;
/** `cesc_meta` key recording the time format of the `timestamp` columns. */
export const TIME_FORMAT_KEY = "timestamp_format";
/** Its value once every RFC 3339 timestamp is canonical. */
export const TIME_FORMAT = "rfc3339-ms-utc";

/** What {@link migrateTimestamps} did. */
export interface TimeMigration {
  /** False when the file was already marked canonical (nothing was read). */
  ran: boolean;
  /** `TV_<n>` tables looked at. */
  tables: number;
  /** Rows whose timestamp text was rewritten to the canonical text. */
  rewritten: number;
  /** Rows removed because another row holds the same path and instant (the earliest row is kept). */
  merged: number;
  /** Rows whose timestamp is not RFC 3339 at all: left as they are. */
  junk: number;
  /** Wall time of the migration in ms. */
  ms: number;
}

/**
 * Rewrites one table. A bulk UPDATE through a JS function canonicalizes every row whose canonical text is free; the
 * UNIQUE(path, timestamp) ON CONFLICT IGNORE constraint makes SQLite skip the rows that would collide, and those
 * (few) are merged one by one in rowid order: the earliest row of an instant is kept with the canonical text, the
 * others are deleted. Exception: the table's newest row is never deleted (SQLite would then hand out its rowid
 * again, at or below a forwarding watermark); it takes the earliest row's value instead and that row is deleted.
 * Rowids of kept rows never change, so watermarks keep their meaning.
 */
function migrateTable(db: DatabaseSync, id: number, out: TimeMigration): void {
  const tv = `TV_${id}`;
  const notCanonical = `NOT (timestamp GLOB '${CANONICAL_GLOB}')`;
  out.rewritten += Number(
    db.prepare(
      `UPDATE ${tv} SET timestamp = cesc_canonical_time(timestamp)
       WHERE ${notCanonical} AND cesc_canonical_time(timestamp) IS NOT NULL`,
    ).run().changes,
  );
  const left = db.prepare(`SELECT rowid AS id, path, timestamp AS ts FROM ${tv} WHERE ${notCanonical} ORDER BY rowid`)
    .all();
  if (left.length === 0) return;
  const newest = Number(db.prepare(`SELECT max(rowid) AS r FROM ${tv}`).get()?.r ?? 0);
  const find = db.prepare(`SELECT rowid AS id, value FROM ${tv} WHERE path = ? AND timestamp = ?`);
  const valueOf = db.prepare(`SELECT value FROM ${tv} WHERE rowid = ?`);
  const del = db.prepare(`DELETE FROM ${tv} WHERE rowid = ?`);
  const setTs = db.prepare(`UPDATE ${tv} SET timestamp = ? WHERE rowid = ?`);
  const setRow = db.prepare(`UPDATE ${tv} SET timestamp = ?, value = ? WHERE rowid = ?`);
  for (const r of left) {
    const c = canonicalTime(String(r.ts));
    if (c === undefined) {
      out.junk++;
      continue;
    }
    const rowid = Number(r.id);
    const other = r.path === null ? undefined : find.get(r.path, c);
    if (!other) { // free again after an earlier merge
      setTs.run(c, rowid);
      out.rewritten++;
      continue;
    }
    const otherId = Number(other.id);
    const keep = Math.min(rowid, otherId), drop = Math.max(rowid, otherId);
    out.merged++;
    if (drop === newest) {
      const first = valueOf.get(keep)?.value ?? null;
      del.run(keep);
      setRow.run(c, first, drop);
    } else {
      del.run(drop);
      if (keep === rowid) setTs.run(c, rowid);
    }
  }
}

/**
 * Makes every RFC 3339 timestamp of an OVDS file canonical, once: a no-op (one indexed read) on a file already
 * marked in `cesc_meta`. Runs inside the caller's transaction (the store opens with one), so a crash leaves the file
 * as it was. Texts that are not RFC 3339 stay as they are.
 */
export function migrateTimestamps(db: DatabaseSync, tvIds: readonly number[]): TimeMigration {
  const out: TimeMigration = { ran: false, tables: 0, rewritten: 0, merged: 0, junk: 0, ms: 0 };
  const done = db.prepare("SELECT value FROM cesc_meta WHERE key = ?").get(TIME_FORMAT_KEY);
  if (done && done.value === TIME_FORMAT) return out;
  const t0 = performance.now();
  out.ran = true;
  db.function("cesc_canonical_time", { deterministic: true }, (ts) => {
    return typeof ts === "string" ? canonicalTime(ts) ?? null : null;
  });
  for (const id of tvIds) {
    migrateTable(db, id, out);
    out.tables++;
  }
  db.prepare("INSERT OR REPLACE INTO cesc_meta(key, value) VALUES(?, ?)").run(TIME_FORMAT_KEY, TIME_FORMAT);
  out.ms = performance.now() - t0;
  return out;
}
