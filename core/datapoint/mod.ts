/**
 * The one internal datapoint and everything every path shares about it.
 *
 * - {@link Datapoint}: `{ path, value, tsMs }`, a typed {@link VssValue} (number, bigint for 64-bit integers beyond
 *   2^53, boolean, string, arrays of these) and integer ms since the epoch. The decoder's output becomes datapoints
 *   once; every encoder (VISSv2 JSON, AVRO, MQTT payloads) reads typed values.
 * - Time (`time.ts`): {@link parseTime} reads any RFC 3339 form (fraction digits, offsets), {@link formatTime} writes
 *   the one canonical form `YYYY-MM-DDTHH:MM:SS.sssZ`: one instant is one string, text order is time order.
 * - Values (`value.ts`): {@link coerceValue} types what a sender gave by the VSS datatype, {@link formatValue} is the
 *   one text form (VISSv2 strings, the OVDS `value` column).
 * - Validation (`validate.ts`): {@link DatapointValidator} (path, datatype, range, time) shared by HTTP JSON, HTTP
 *   AVRO and MQTT ingest and by the VEC before it queues; refusals are per datapoint ({@link Refusal}), counted and
 *   logged once per reason and minute by {@link RefusalLog}.
 *
 * @example
 * ```ts
 * import { DatapointValidator, formatTime, formatValue } from "./mod.ts";
 * const v = new DatapointValidator({ get: (p) => p === "Vehicle.Speed" ? { datatype: "float", min: 0 } : undefined });
 * const ok = v.accept({ path: "Vehicle.Speed", value: "55.0", ts: "2024-01-01T01:00:00+01:00" }, 0);
 * if (ok.ok) console.log(ok.datapoint.value, formatTime(ok.datapoint.tsMs)); // 55 2024-01-01T00:00:00.000Z
 * const bad = v.accept({ path: "Vehicle.Speed", value: -1, ts: "2024-01-01T00:00:00Z" }, 1);
 * if (!bad.ok) console.log(bad.refusal.code); // datapoint.range
 * console.log(formatValue([1, 2], "uint8[]")); // ["1","2"]
 * ```
 * @module
 */
export * from "./types.ts";
export { formatTime, isTsMs, parseTime, tsMsFromSeconds } from "./time.ts";
export {
  canonicalFloat32,
  type Coerced,
  coerceValue,
  formatFloat32,
  formatScalar,
  formatValue,
  isKnownDatatype,
  MAX_ARRAY_ELEMENTS,
  MAX_VALUE_CHARS,
} from "./value.ts";
export {
  type Checked,
  type DatapointSchema,
  DatapointValidator,
  isVssPath,
  MAX_PATH_CHARS,
  type RawDatapoint,
  RefusalLog,
  type RefusalLogOptions,
  type SchemaLeaf,
} from "./validate.ts";
