/** A scalar VSS value: `number` for every numeric datatype, `bigint` for 64-bit integers beyond 2^53. */
export type ScalarValue = number | bigint | boolean | string;

/** A typed VSS value: a scalar, or an array of scalars for the `T[]` datatypes. */
export type VssValue = ScalarValue | readonly ScalarValue[];

/**
 * The one internal datapoint: everything from the decoder's output to every encoder carries this shape.
 * Text forms (VISSv2 strings, RFC 3339 time) exist only at the edges: the JSON encoder, the ingest parsers, logs.
 */
export interface Datapoint {
  /** VSS path in dot notation, e.g. `Vehicle.Speed`. */
  readonly path: string;
  /** The value, typed (already coerced to the path's VSS datatype when a schema knows the path). */
  readonly value: VssValue;
  /** Observation time: integer milliseconds since the Unix epoch, within {@link MIN_TS_MS}..{@link MAX_TS_MS}. */
  readonly tsMs: number;
}

/** A datapoint that was refused, and why. */
export interface Refusal {
  /** Position of the datapoint in its request or batch (flattened order: data objects, then their `dp`s). */
  index: number;
  /** The datapoint's VSS path as given (may be empty or invalid). */
  path: string;
  /** Stable dotted reason code, e.g. `datapoint.ts_range`, `datapoint.type`, `datapoint.range`. */
  code: string;
  /** What is wrong, for a person. */
  reason: string;
  /** JSON path of the refused member in the request (`data[1].dp[0].ts`), when it came from JSON. */
  at?: string;
}

/** Earliest time RFC 3339 can carry: 0000-01-01T00:00:00.000Z, in ms since the epoch. */
export const MIN_TS_MS = -62_167_219_200_000;
/** Latest time RFC 3339 can carry: 9999-12-31T23:59:59.999Z, in ms since the epoch. */
export const MAX_TS_MS = 253_402_300_799_999;
