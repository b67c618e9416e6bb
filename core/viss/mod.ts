/**
 * The VISSv2 JSON edge: the only place (with the ingest parser) where typed datapoints become VISSv2 strings and
 * RFC 3339 text, and back.
 *
 * - {@link encodeVissIngest} / {@link vissDataObjects}: typed `core/datapoint` datapoints to the CESC ingest body
 *   `{"vin","data":[{"path","dp":[{"value","ts"}…]}…]}` (array form, one data object per path, first-seen order;
 *   values by `formatValue`, times by `formatTime`, the canonical `YYYY-MM-DDTHH:MM:SS.sssZ`).
 * - {@link parseVissIngest} / {@link parseVissData}: the four VISSv2 `data` forms (data object or array of them, `dp`
 *   object or array) flattened and validated by one `DatapointValidator`. RFC 3339 times with any fraction digits
 *   and offsets are read; integers beyond 2^53 keep their exact digits (bigint). Structural problems throw
 *   {@link VissDataError} (`path` = JSON path); every per-datapoint problem is a `Refusal` with the flattened
 *   `index`, the VSS `path` and `at`, the JSON path (`data[1].dp[0].ts`).
 * - {@link refusedBody} / {@link VissRefusedError} / {@link readRefusals}: the `viss.refused` 400 body that names
 *   every refused datapoint, and its reading back by the VEC (which then drops only those and resends the rest).
 *
 * @example
 * ```ts
 * import { DatapointValidator } from "../datapoint/mod.ts";
 * import { encodeVissIngest, parseVissIngest, readRefusals, refusedBody } from "./mod.ts";
 * const validator = new DatapointValidator({ get: (p) => p === "Vehicle.Speed" ? { datatype: "float" } : undefined });
 * const r = parseVissIngest(
 *   '{"vin":"ULF001","data":{"path":"Vehicle.Speed","dp":[{"value":"55.0","ts":"2020-06-09T01:37:19+02:00"},' +
 *     '{"value":"fast","ts":"2020-06-08T23:37:20Z"}]}}',
 *   validator,
 * );
 * console.log(r.datapoints); // [{ path: "Vehicle.Speed", value: 55, tsMs: 1591659439000 }]
 * console.log(r.refusals[0].at); // data.dp[1].value
 * console.log(encodeVissIngest(r.vin, r.datapoints));
 * // {"vin":"ULF001","data":[{"path":"Vehicle.Speed","dp":[{"value":"55","ts":"2020-06-08T23:37:19.000Z"}]}]}
 * const body = refusedBody(r.refusals, r.count); // {error: {code: "viss.refused", datapoints: [...], refused: 1}}
 * console.log(readRefusals(body)?.map((x) => x.index)); // [1]
 * ```
 * @module
 */
export type { Datapoint } from "../datapoint/mod.ts";
export { isVssPath } from "../datapoint/mod.ts";
export { encodeVissIngest, type VissDataObject, vissDataObjects, type VissDp } from "./encode.ts";
export {
  checkVin,
  jsonParseExact,
  parseJsonExact,
  parseVissData,
  parseVissIngest,
  type ParseVissOptions,
  VissDataError,
  type VissIngest,
  type VissParsed,
} from "./ingest.ts";
export {
  MAX_LISTED_REFUSALS,
  readRefusals,
  REFUSED_CODE,
  type RefusedBody,
  refusedBody,
  type RefusedEntry,
  VissRefusedError,
} from "./refused.ts";
