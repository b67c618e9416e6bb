import type { Datapoint } from "../datapoint/mod.ts";

/**
 * The data points of one vehicle to store: typed values and integer ms times (`core/datapoint`). The store writes
 * their one text form (`formatValue`) and canonical time text (`formatTime`, `YYYY-MM-DDTHH:MM:SS.sssZ`) into the
 * OVDS `value` and `timestamp` columns, so one instant is one row whatever form the sender used.
 */
export interface VehicleBatch {
  /** Vehicle identification number. */
  vin: string;
  /** Already validated data points (a `tsMs` outside 0000..9999 fails the whole call with `ovds.datapoint`). */
  datapoints: readonly Datapoint[];
}

/** Result of {@link OvdsStore.insertBatches}. */
export interface InsertResult {
  /** Rows actually inserted for each input batch, in input order (duplicates of (path, ts) are ignored). */
  inserted: number[];
  /** Rows inserted per VIN over all batches. */
  perVin: Map<string, number>;
}

/** A stored time-variant row with its row id (the forwarding order). */
export interface StoredRow {
  /** SQLite rowid (or the equivalent sequence in other stores); strictly increasing per vehicle. */
  id: number;
  /** VSS path. */
  path: string;
  /** Value as stored: the one text form of the typed value (`formatValue`). */
  value: string;
  /**
   * Timestamp as stored: the canonical RFC 3339 text `YYYY-MM-DDTHH:MM:SS.sssZ` (text order is time order), or,
   * in files written by other tools, a text that is no RFC 3339 time at all, kept as it was.
   */
  ts: string;
}

/** Forwarding state of one vehicle. */
export interface VehicleInfo {
  /** VIN. */
  vin: string;
  /** OVDS `vin_id`. */
  vinId: number;
  /** Highest row id acknowledged by the backend. */
  watermark: number;
  /** Rows above the watermark. */
  backlog: number;
}

/** A record the backend rejected. */
export interface DeadLetter {
  /** Dead-letter id. */
  id: number;
  /** VIN. */
  vin: string;
  /** The row. */
  row: StoredRow;
  /** Why the backend rejected it. */
  reason: string;
  /** When it was dead-lettered (ISO 8601). */
  createdAt: string;
}

/** Options for {@link OvdsStore.unforwarded}. */
export interface UnforwardedOptions {
  /** Largest number of rows returned. */
  limit: number;
}

/**
 * The storage the CESC needs: OVDS tables plus forwarding bookkeeping. Every method is async so that
 * a networked implementation (PostgreSQL) fits without changes in the ingest or forwarding code.
 */
export interface OvdsStore {
  /** Stores many vehicles' data points in ONE transaction; resolves only after the commit. */
  insertBatches(batches: readonly VehicleBatch[]): Promise<InsertResult>;
  /** Rows of `vin` above its watermark, in row-id order. Unknown VIN gives `[]`. */
  unforwarded(vin: string, options: UnforwardedOptions): Promise<StoredRow[]>;
  /** Moves the watermark of `vin` to `rowId` (never backwards). */
  advanceWatermark(vin: string, rowId: number): Promise<void>;
  /** Records rows the backend rejected, with the reason. Does not move the watermark. */
  deadLetter(vin: string, rows: readonly StoredRow[], options: { reason: string }): Promise<void>;
  /** Dead letters, oldest first. */
  deadLetters(options?: { limit?: number }): Promise<DeadLetter[]>;
  /** Every known vehicle with its watermark and backlog. */
  vehicles(): Promise<VehicleInfo[]>;
  /** Deletes forwarded rows whose timestamp is older than `maxAgeMs`; returns the number deleted. */
  applyRetention(maxAgeMs: number, options?: { now?: Date }): Promise<number>;
  /** True when the store accepts writes. */
  ping(): Promise<boolean>;
  /** Closes the store. */
  close(): Promise<void>;
}
