/**
 * Typed datapoints to the VISSv2 JSON ingest body: the only place (with the ingest parser) where values become
 * VISSv2 strings and times RFC 3339 text ({@link formatValue}, {@link formatTime}).
 * @module
 */
import { type Datapoint, formatTime, formatValue, type VssValue } from "../datapoint/mod.ts";
import { PipelineError } from "../errors/mod.ts";

/** A VISSv2 data point object `{"value", "ts"}` as sent: value text, canonical RFC 3339 time. */
export interface VissDp {
  /** The value's one text form ({@link formatValue}). */
  value: string;
  /** Canonical RFC 3339 time ({@link formatTime}). */
  ts: string;
}

/** A VISSv2 data object for one path (array form: `dp` is a list). */
export interface VissDataObject {
  /** VSS path. */
  path: string;
  /** The path's data points, in input order. */
  dp: VissDp[];
}

/** The VISSv2 JSON text of a value: a JSON string of {@link formatValue}. */
function valueJson(v: VssValue): string {
  switch (typeof v) {
    case "number":
      return Object.is(v, -0) ? '"-0"' : '"' + v + '"';
    case "boolean":
      return v ? '"true"' : '"false"';
    case "bigint":
      return '"' + v + '"';
    default:
      return JSON.stringify(formatValue(v));
  }
}

function encodeError(i: number, dp: Datapoint, e: unknown): PipelineError {
  return new PipelineError(
    "viss.encode",
    `datapoint ${i} (${String(dp?.path).slice(0, 80)}): ${(e as Error).message}; validate datapoints before encoding`,
    { path: `datapoints[${i}]`, cause: e },
  );
}

/**
 * The VISSv2 data objects of `datapoints`: one per path in first-seen order, each with all its data points in `dp`.
 * @throws PipelineError `viss.encode` for a datapoint whose time is not an integer ms in 0000..9999
 */
export function vissDataObjects(datapoints: readonly Datapoint[]): VissDataObject[] {
  const byPath = new Map<string, VissDp[]>();
  const data: VissDataObject[] = [];
  for (let i = 0; i < datapoints.length; i++) {
    const d = datapoints[i];
    let dps = byPath.get(d.path);
    if (!dps) {
      byPath.set(d.path, dps = []);
      data.push({ path: d.path, dp: dps });
    }
    try {
      dps.push({ value: formatValue(d.value), ts: formatTime(d.tsMs) });
    } catch (e) {
      throw encodeError(i, d, e);
    }
  }
  return data;
}

/**
 * The CESC ingest body as JSON text, in the VISSv2 array form: `{"vin","data":[{"path","dp":[{"value","ts"}…]}…]}`,
 * one data object per path (first-seen order). Written as text directly (no intermediate objects).
 * @throws PipelineError `viss.encode` for a datapoint whose time is not an integer ms in 0000..9999
 */
export function encodeVissIngest(vin: string, datapoints: readonly Datapoint[]): string {
  const byPath = new Map<string, string>();
  let i = 0;
  try {
    for (; i < datapoints.length; i++) {
      const d = datapoints[i];
      const item = '{"value":' + valueJson(d.value) + ',"ts":"' + formatTime(d.tsMs) + '"}';
      const prev = byPath.get(d.path);
      byPath.set(d.path, prev === undefined ? item : prev + "," + item);
    }
  } catch (e) {
    throw encodeError(i, datapoints[i], e);
  }
  let out = '{"vin":' + JSON.stringify(vin) + ',"data":[';
  let first = true;
  for (const [path, items] of byPath) {
    out += (first ? '{"path":' : ',{"path":') + JSON.stringify(path) + ',"dp":[' + items + "]}";
    first = false;
  }
  return out + "]}";
}
