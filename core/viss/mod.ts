/**
 * VISSv2 data objects: types, validation and flattening of the four VISSv2 `data` forms
 * (`{path, dp}` with `dp` an object or array, and an array of those) into flat data points,
 * and the reverse (grouped per path) used by the VEC to build CESC ingest bodies.
 *
 * Values are strings per VISSv2; numbers and booleans are accepted and turned into their string
 * form. Timestamps must be ISO 8601 UTC with a trailing `Z`. Errors are {@link VissDataError}s
 * whose `path` is the JSON path of the first problem (`data[2].dp[0].ts`).
 *
 * @example
 * ```ts
 * import { parseIngestBody, toVissData } from "./mod.ts";
 * const { vin, datapoints } = parseIngestBody(
 *   '{"vin":"ULF001","data":{"path":"Vehicle.Speed","dp":{"value":55,"ts":"2020-06-08T23:37:19Z"}}}',
 * );
 * // datapoints: [{ path: "Vehicle.Speed", value: "55", ts: "2020-06-08T23:37:19Z" }]
 * const body = toVissData(vin, datapoints); // {vin, data: [{path, dp: [{value, ts}]}]}
 * ```
 * @module
 */
export {
  type Datapoint,
  type IngestRequest,
  isVissTimestamp,
  isVssPath,
  type NormalizeOptions,
  normalizeVissData,
  parseIngestBody,
  type ParseIngestOptions,
  toVissData,
  type VissData,
  VissDataError,
  type VissDataObject,
  type VissDp,
  type VissIngestBody,
} from "./data.ts";
