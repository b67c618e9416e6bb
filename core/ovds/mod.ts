/**
 * OVDS (Open Vehicle Data Set) storage for the CESC.
 *
 * The SQLite implementation writes the exact OVDS schema (`VIN_TIV`, `TIV`, one `TV_<vin_id>` per
 * vehicle, with the original UNIQUE/ON CONFLICT IGNORE rules) so OVDS tools read the file, plus
 * the CESC's own tables: `cesc_vehicle` (per-vehicle forwarding watermark by rowid) and
 * `cesc_dead_letter` (rows the backend rejected). Everything goes through the small async
 * {@link OvdsStore} interface so a PostgreSQL store can replace it without changes elsewhere.
 *
 * Input is typed (`core/datapoint` {@link Datapoint}s: typed values, integer ms times); the store writes the one text
 * form of each value and the canonical time text `YYYY-MM-DDTHH:MM:SS.sssZ` into the unchanged OVDS columns, so one
 * instant is one row and SQL text order is time order. Files written before (other fraction digits, offsets) are
 * migrated once on open ({@link TimeMigration}); texts that are no time at all stay as they are.
 *
 * Writes are durable before they are acknowledged: `insertBatches` commits with `synchronous=NORMAL` and
 * resolves after a group fsync of the WAL that runs off the event loop (`wal_sync.ts`), so the next
 * transaction commits while the disk flushes the previous one. Checkpoints run in a Worker. {@link GroupCommitter}
 * stores the requests that arrive together in one transaction.
 *
 * The read side ({@link openSqliteQuery}, interface {@link OvdsQuery}) is a separate read-only
 * connection on the same WAL file: vehicles, latest signal values, and time series with cursor
 * pages or `maxPoints` downsampling, without ever blocking ingest. Bounds and cursors are read as instants.
 *
 * @example
 * ```ts
 * import { openSqliteStore } from "./mod.ts";
 * import { parseTime } from "../datapoint/mod.ts";
 * const store = openSqliteStore(":memory:");
 * const tsMs = parseTime("2020-06-09T01:37:19+02:00");
 * await store.insertBatches([{ vin: "ULF001", datapoints: [{ path: "Vehicle.Speed", value: 55, tsMs }] }]);
 * const rows = await store.unforwarded("ULF001", { limit: 5000 });
 * console.log(rows[0].value, rows[0].ts); // 55 2020-06-08T23:37:19.000Z
 * await store.advanceWatermark("ULF001", rows[rows.length - 1].id);
 * await store.close();
 * ```
 *
 * @example Reading (needs a file, not `:memory:`)
 * ```ts
 * import { GroupCommitter, openSqliteQuery, openSqliteStore } from "./mod.ts";
 * const file = await Deno.makeTempFile({ suffix: ".db" });
 * const store = openSqliteStore(file);
 * const committer = new GroupCommitter(store);
 * const tsMs = Date.parse("2020-06-08T23:37:19.500Z");
 * await committer.submit({ vin: "ULF001", datapoints: [{ path: "Vehicle.Speed", value: 55, tsMs }] });
 * const query = openSqliteQuery(file);
 * const page = await query.series("ULF001", "Vehicle.Speed", { from: "2020-06-08T23:37:19.5Z", maxPoints: 500 });
 * console.log(page.points); // [ { ts: "2020-06-08T23:37:19.500Z", value: "55" } ]
 * await query.close();
 * await store.close();
 * await Deno.remove(file);
 * ```
 * @module
 */
export type { Datapoint } from "../datapoint/mod.ts";
export type {
  DeadLetter,
  InsertResult,
  OvdsStore,
  StoredRow,
  UnforwardedOptions,
  VehicleBatch,
  VehicleInfo,
} from "./store.ts";
export {
  MAX_SERIES_LIMIT,
  MAX_SERIES_POINTS,
  openSqliteQuery,
  type OvdsQuery,
  type SeriesOptions,
  type SeriesPage,
  type SeriesPoint,
  type SignalLatest,
  type SqliteQueryOptions,
  type VehicleSummary,
} from "./query.ts";
export { openSqliteStore, OVDS_STATIC_DDL, ovdsTvDdl, type SqliteStoreOptions } from "./sqlite_store.ts";
export { openSqliteStoreInWorker } from "./worker_store.ts";
export { GroupCommitter, type GroupCommitterOptions } from "./group_commit.ts";
export type { TimeMigration } from "./migrate.ts";
