import { PipelineError } from "../errors/mod.ts";

/** One data point of one VSS path, values and timestamps in their VISSv2 string form. */
export interface Datapoint {
  /** VSS path in dot notation, e.g. `Vehicle.Speed`. */
  path: string;
  /** The value as a string (`"55.0"`, `"true"`, `"ON"`). */
  value: string;
  /** ISO 8601 UTC timestamp with trailing `Z`, stored exactly as received. */
  ts: string;
}

/** A VISSv2 data point object: `{"value", "ts"}`. */
export interface VissDp {
  /** The value, always a string per VISSv2. */
  value: string;
  /** ISO 8601 UTC timestamp. */
  ts: string;
}

/** A VISSv2 data object for one path: `dp` may be one object or an array. */
export interface VissDataObject {
  /** VSS path. */
  path: string;
  /** One data point or several. */
  dp: VissDp | VissDp[];
}

/** The VISSv2 `data` member: one data object or an array of them (the four VISSv2 forms). */
export type VissData = VissDataObject | VissDataObject[];

/** The ingest body `{"vin", "data"}` as the VEC sends it. */
export interface VissIngestBody {
  /** Vehicle identification number. */
  vin: string;
  /** The VISSv2 data object. */
  data: VissData;
}

/** A problem in a VISSv2 payload; `path` is the JSON path of the first problem, e.g. `data[2].dp[0].ts`. */
export class VissDataError extends PipelineError {
  /**
   * @param code dotted code: `viss.json`, `viss.vin`, `viss.path`, `viss.ts`, `viss.value`, `viss.type`, `viss.empty`
   * @param message what is wrong and what is expected
   */
  constructor(code: string, message: string, options: { path: string }) {
    super(code, `${options.path}: ${message}`, { path: options.path });
  }
}

/** Options for {@link normalizeVissData}. */
export interface NormalizeOptions {
  /** Prefix of JSON paths in errors (default `data`). */
  at?: string;
  /** Largest number of data points accepted (default unlimited). */
  maxDatapoints?: number;
}

const PATH_RE = /^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;
const VIN_RE = /^[\x21-\x7e]{1,64}$/;
const MAX_PATH = 512;
const MAX_VALUE = 4096;
const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The number of the `n` ASCII digits at `i`, or -1 when one is not a digit. */
function digits(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) {
    const d = s.charCodeAt(k) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * True when `ts` is an ISO 8601 UTC timestamp `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (1-9 fraction digits)
 * with valid field ranges. Checked character by character: it runs for every ingested data point.
 */
export function isVissTimestamp(ts: string): boolean {
  const len = ts.length;
  if (len < 20 || len > 30 || len === 21 || ts.charCodeAt(len - 1) !== 90 /* Z */) return false;
  if (ts[4] !== "-" || ts[7] !== "-" || ts[10] !== "T" || ts[13] !== ":" || ts[16] !== ":") return false;
  if (len > 20) {
    if (ts[19] !== "." || digits(ts, 20, len - 21) < 0) return false;
  }
  const year = digits(ts, 0, 4), month = digits(ts, 5, 2), day = digits(ts, 8, 2);
  const hour = digits(ts, 11, 2), minute = digits(ts, 14, 2), second = digits(ts, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > DAYS[month - 1]) return false;
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return false;
  return hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 60;
}

/** True when `path` is a VSS path in dot notation (`Vehicle.Speed`). */
export function isVssPath(path: string): boolean {
  return path.length <= MAX_PATH && PATH_RE.test(path);
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The JSON path of data point `i` of the data object at `at` (`-1`: `dp` is an object). Built only for errors. */
function dpAt(at: string, i: number): string {
  return i < 0 ? `${at}.dp` : `${at}.dp[${i}]`;
}

function valueString(v: unknown, at: string, i: number): string {
  if (typeof v === "string") {
    if (v.length > MAX_VALUE) {
      throw new VissDataError("viss.value", `value longer than ${MAX_VALUE} characters`, {
        path: `${dpAt(at, i)}.value`,
      });
    }
    return v;
  }
  if (typeof v === "number") {
    if (!Number.isFinite(v)) {
      throw new VissDataError("viss.value", "number is not finite", { path: `${dpAt(at, i)}.value` });
    }
    return String(v);
  }
  if (typeof v === "boolean") return v ? "true" : "false";
  if (v === undefined) {
    throw new VissDataError("viss.value", 'missing "value" (a string, number or boolean)', {
      path: `${dpAt(at, i)}.value`,
    });
  }
  throw new VissDataError("viss.type", `expected a string, number or boolean, got ${typeName(v)}`, {
    path: `${dpAt(at, i)}.value`,
  });
}

/** Validates data point `i` (`-1`: the only one) of the data object at `at` and adds it to `out`. */
function pushDp(out: Datapoint[], path: string, dp: unknown, at: string, i: number, max: number): void {
  if (!isObject(dp)) {
    throw new VissDataError("viss.type", `expected a data point object {"value","ts"}, got ${typeName(dp)}`, {
      path: dpAt(at, i),
    });
  }
  const value = valueString(dp.value, at, i);
  const ts = dp.ts;
  if (typeof ts !== "string") {
    throw new VissDataError(
      ts === undefined ? "viss.ts" : "viss.type",
      ts === undefined
        ? 'missing "ts" (ISO 8601 UTC, e.g. 2020-04-15T13:37:00Z)'
        : `expected an ISO 8601 UTC string, got ${typeName(ts)}`,
      { path: `${dpAt(at, i)}.ts` },
    );
  }
  if (!isVissTimestamp(ts)) {
    throw new VissDataError("viss.ts", `"${ts.slice(0, 40)}" is not ISO 8601 UTC (YYYY-MM-DDTHH:MM:SS[.fff]Z)`, {
      path: `${dpAt(at, i)}.ts`,
    });
  }
  if (out.length >= max) {
    throw new VissDataError("viss.too_many", `more than ${max} data points in one request`, { path: dpAt(at, i) });
  }
  out.push({ path, value, ts });
}

function pushObject(out: Datapoint[], obj: unknown, at: string, max: number): void {
  if (!isObject(obj)) {
    throw new VissDataError("viss.type", `expected a data object {"path","dp"}, got ${typeName(obj)}`, { path: at });
  }
  const path = obj.path;
  if (typeof path !== "string") {
    throw new VissDataError(
      path === undefined ? "viss.path" : "viss.type",
      path === undefined
        ? 'missing "path" (a VSS path such as Vehicle.Speed)'
        : `expected a string, got ${typeName(path)}`,
      { path: `${at}.path` },
    );
  }
  if (!isVssPath(path)) {
    throw new VissDataError("viss.path", `"${path.slice(0, 80)}" is not a VSS path in dot notation (Vehicle.Speed)`, {
      path: `${at}.path`,
    });
  }
  const dp = obj.dp;
  if (Array.isArray(dp)) {
    if (dp.length === 0) throw new VissDataError("viss.empty", "dp array is empty", { path: `${at}.dp` });
    for (let i = 0; i < dp.length; i++) pushDp(out, path, dp[i], at, i, max);
  } else if (dp === undefined) {
    throw new VissDataError("viss.type", 'missing "dp" (a data point object or an array of them)', {
      path: `${at}.dp`,
    });
  } else {
    pushDp(out, path, dp, at, -1, max);
  }
}

/**
 * Flattens a VISSv2 `data` member in any of its four forms into data points.
 *
 * Accepts `{path, dp}` with `dp` an object or an array, and an array of such objects.
 * Numbers and booleans become their string form. Throws {@link VissDataError} whose
 * `path` is the JSON path of the first problem (e.g. `data[2].dp[0].ts`).
 */
export function normalizeVissData(data: unknown, options: NormalizeOptions = {}): Datapoint[] {
  const at = options.at ?? "data";
  const max = options.maxDatapoints ?? Infinity;
  const out: Datapoint[] = [];
  if (Array.isArray(data)) {
    if (data.length === 0) throw new VissDataError("viss.empty", "data array is empty", { path: at });
    for (let i = 0; i < data.length; i++) pushObject(out, data[i], `${at}[${i}]`, max);
  } else if (data === undefined) {
    throw new VissDataError("viss.type", 'missing "data" (a VISSv2 data object or array)', { path: at });
  } else {
    pushObject(out, data, at, max);
  }
  return out;
}

/** A parsed ingest request. */
export interface IngestRequest {
  /** Vehicle identification number. */
  vin: string;
  /** The flattened data points. */
  datapoints: Datapoint[];
}

/** Options for {@link parseIngestBody}. */
export interface ParseIngestOptions {
  /** Largest number of data points accepted (default unlimited). */
  maxDatapoints?: number;
}

/**
 * Parses an ingest body `{"vin": "...", "data": <VISSv2 data>}` given as JSON text or an already parsed value.
 * Throws {@link VissDataError} (`viss.json` for invalid JSON, `viss.vin`, ...).
 */
export function parseIngestBody(json: string | unknown, options: ParseIngestOptions = {}): IngestRequest {
  let body: unknown = json;
  if (typeof json === "string") {
    try {
      body = JSON.parse(json);
    } catch (e) {
      throw new VissDataError("viss.json", `invalid JSON: ${(e as Error).message}`, { path: "$" });
    }
  }
  if (!isObject(body)) {
    throw new VissDataError("viss.type", `expected an object {"vin","data"}, got ${typeName(body)}`, { path: "$" });
  }
  const vin = body.vin;
  if (typeof vin !== "string") {
    throw new VissDataError(
      "viss.vin",
      vin === undefined ? 'missing "vin" (a non-empty string)' : `expected a string, got ${typeName(vin)}`,
      { path: "vin" },
    );
  }
  if (!VIN_RE.test(vin)) {
    throw new VissDataError("viss.vin", "vin must be 1-64 printable ASCII characters without spaces", { path: "vin" });
  }
  return { vin, datapoints: normalizeVissData(body.data, { maxDatapoints: options.maxDatapoints }) };
}

/**
 * Builds the ingest body in the VISSv2 array form, one data object per path (first-seen order)
 * with all its data points in `dp`: `{vin, data: [{path, dp: [{value, ts}, ...]}]}`.
 */
export function toVissData(vin: string, datapoints: readonly Datapoint[]): { vin: string; data: VissDataObject[] } {
  const byPath = new Map<string, VissDp[]>();
  for (const d of datapoints) {
    let dps = byPath.get(d.path);
    if (!dps) byPath.set(d.path, dps = []);
    dps.push({ value: d.value, ts: d.ts });
  }
  const data: VissDataObject[] = [];
  for (const [path, dp] of byPath) data.push({ path, dp });
  return { vin, data };
}
