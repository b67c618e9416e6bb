/**
 * OVDS (Open Vehicle Data Set) storage for the CESC.
 *
 * The SQLite implementation writes the exact OVDS schema (`VIN_TIV`, `TIV`, one `TV_<vin_id>` per
 * vehicle, with the original UNIQUE/ON CONFLICT IGNORE rules) so OVDS tools read the file, plus
 * the CESC's own tables: `cesc_vehicle` (per-vehicle forwarding watermark by rowid) and
 * `cesc_dead_letter` (rows the backend rejected). Everything goes through the small async
 * {@link OvdsStore} interface so a PostgreSQL store can replace it without changes elsewhere.
 *
 * Writes are durable before they are acknowledged: `insertBatches` commits with `synchronous=NORMAL` and
 * resolves after a group fsync of the WAL that runs off the event loop (`wal_sync.ts`), so the next
 * transaction commits while the disk flushes the previous one. Checkpoints run in a Worker.
 *
 * The read side ({@link openSqliteQuery}, interface {@link OvdsQuery}) is a separate read-only
 * connection on the same WAL file: vehicles, latest signal values, and time series with cursor
 * pages or `maxPoints` downsampling, without ever blocking ingest.
 *
 * @example
 * ```ts
 * import { openSqliteStore } from "./mod.ts";
 * const store = openSqliteStore(":memory:");
 * await store.insertBatches([{ vin: "ULF001", datapoints: [{ path: "Vehicle.Speed", value: "55.0", ts: "2020-06-08T23:37:19Z" }] }]);
 * const rows = await store.unforwarded("ULF001", { limit: 5000 });
 * await store.advanceWatermark("ULF001", rows[rows.length - 1].id);
 * await store.close();
 * ```
 *
 * @example Reading (needs a file, not `:memory:`)
 * ```ts
 * import { openSqliteQuery, openSqliteStore } from "./mod.ts";
 * const file = await Deno.makeTempFile({ suffix: ".db" });
 * const store = openSqliteStore(file);
 * await store.insertBatches([{ vin: "ULF001", datapoints: [{ path: "Vehicle.Speed", value: "55.0", ts: "2020-06-08T23:37:19Z" }] }]);
 * const query = openSqliteQuery(file);
 * const page = await query.series("ULF001", "Vehicle.Speed", { maxPoints: 500 });
 * console.log(page.points.length, await query.vehicles());
 * await query.close();
 * await store.close();
 * ```
 * @module
 */
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
