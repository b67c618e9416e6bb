/**
 * The VISSv2 JSON ingest body `{"vin", "data"}` read into typed datapoints: the four VISSv2 `data` forms
 * (`{path, dp}` with `dp` an object or an array, and an array of those) flattened, every datapoint run through one
 * {@link DatapointValidator}. Structural problems throw {@link VissDataError}; per-datapoint problems become
 * {@link Refusal}s that name the datapoint (flattened index, VSS path, JSON path `data[1].dp[0].ts`).
 * @module
 */
import type { Datapoint, DatapointValidator, Refusal } from "../datapoint/mod.ts";
import { PipelineError } from "../errors/mod.ts";

/** A structural problem in a VISSv2 payload; `path` is the JSON path of the problem, e.g. `data[2].dp`. */
export class VissDataError extends PipelineError {
  /**
   * @param code dotted code: `viss.json`, `viss.type`, `viss.vin`, `viss.empty`, `viss.too_many`
   * @param message what is wrong and what is expected
   */
  constructor(code: string, message: string, options: { path: string }) {
    super(code, `${options.path}: ${message}`, { path: options.path });
  }
}

/** What {@link parseVissIngest} and {@link parseVissData} return. */
export interface VissParsed {
  /** The accepted datapoints, typed, in flattened order. */
  datapoints: Datapoint[];
  /** The refused datapoints, in flattened order (`at` is their JSON path). */
  refusals: Refusal[];
  /** Number of datapoints in the request (accepted + refused). */
  count: number;
}

/** A parsed ingest request `{vin, data}`. */
export interface VissIngest extends VissParsed {
  /** Vehicle identification number. */
  vin: string;
}

/** Options of {@link parseVissIngest} and {@link parseVissData}. */
export interface ParseVissOptions {
  /** Most datapoints accepted in one request (default unlimited); more throws `viss.too_many`. */
  maxDatapoints?: number;
  /** Prefix of JSON paths (default `data`). */
  at?: string;
}

const VIN_RE = /^[\x21-\x7e]{1,64}$/;
const LONG_DIGITS = /\d{16}/;
const INTEGER_TEXT = /^-?\d+$/;
const utf8 = new TextDecoder();

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Keeps the exact digits of integers beyond 2^53 (as bigint); every other value as JSON.parse gives it. */
function exactIntegers(this: unknown, _key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === "number" && !Number.isSafeInteger(value) && context?.source !== undefined) {
    if (INTEGER_TEXT.test(context.source)) return BigInt(context.source);
  }
  return value;
}

/**
 * `JSON.parse`, except that integers beyond 2^53 keep their exact digits (as bigint). The reviver runs only when the
 * text has a run of 16 or more digits, so the common body costs one plain `JSON.parse`.
 * @throws SyntaxError for invalid JSON (as `JSON.parse`)
 */
export function jsonParseExact(text: string): unknown {
  return LONG_DIGITS.test(text)
    ? JSON.parse(text, exactIntegers as (this: unknown, key: string, value: unknown) => unknown)
    : JSON.parse(text);
}

/**
 * {@link jsonParseExact} for ingest bodies.
 * @throws VissDataError `viss.json` for invalid JSON
 */
export function parseJsonExact(text: string): unknown {
  try {
    return jsonParseExact(text);
  } catch (e) {
    throw new VissDataError("viss.json", `invalid JSON: ${(e as Error).message}`, { path: "$" });
  }
}

/** The JSON path of datapoint `j` of the data object at `at` (`-1`: `dp` is one object). Built only for refusals. */
function dpAt(at: string, j: number): string {
  return j < 0 ? `${at}.dp` : `${at}.dp[${j}]`;
}

/** Flattening state of one `data` member. */
interface Walk {
  readonly validator: DatapointValidator;
  readonly max: number;
  readonly out: VissParsed;
  /** Reused input of `validator.accept`. */
  readonly raw: { path: unknown; value: unknown; ts: unknown };
}

function refuse(w: Walk, refusal: Refusal, objAt: string, j: number, dp: Record<string, unknown>): void {
  if (refusal.code === "datapoint.path") {
    refusal.at = `${objAt}.path`;
    if (w.raw.path === undefined) refusal.reason = 'missing "path" (a VSS path such as Vehicle.Speed)';
  } else if (refusal.code === "datapoint.ts") refusal.at = `${dpAt(objAt, j)}.ts`;
  else {
    refusal.at = `${dpAt(objAt, j)}.value`;
    if (dp.value === undefined) refusal.reason = 'missing "value" (VISSv2: a string such as "55.0")';
  }
  w.out.refusals.push(refusal);
}

function takeDp(w: Walk, dp: unknown, objAt: string, j: number): void {
  if (!isObject(dp)) {
    throw new VissDataError("viss.type", `expected a data point object {"value","ts"}, got ${typeName(dp)}`, {
      path: dpAt(objAt, j),
    });
  }
  const index = w.out.count;
  if (index >= w.max) {
    throw new VissDataError("viss.too_many", `more than ${w.max} data points in one request; send fewer`, {
      path: dpAt(objAt, j),
    });
  }
  w.out.count = index + 1;
  w.raw.value = dp.value;
  w.raw.ts = dp.ts;
  const c = w.validator.accept(w.raw, index);
  if (c.ok) w.out.datapoints.push(c.datapoint);
  else refuse(w, c.refusal, objAt, j, dp);
}

function takeObject(w: Walk, obj: unknown, at: string): void {
  if (!isObject(obj)) {
    throw new VissDataError("viss.type", `expected a data object {"path","dp"}, got ${typeName(obj)}`, { path: at });
  }
  const dp = obj.dp;
  w.raw.path = obj.path;
  if (Array.isArray(dp)) {
    if (dp.length === 0) throw new VissDataError("viss.empty", "dp array is empty", { path: `${at}.dp` });
    for (let j = 0; j < dp.length; j++) takeDp(w, dp[j], at, j);
  } else if (isObject(dp)) takeDp(w, dp, at, -1);
  else {
    throw new VissDataError(
      "viss.type",
      dp === undefined
        ? 'missing "dp" (a data point object or an array of them)'
        : `expected a data point object or array, got ${typeName(dp)}`,
      { path: `${at}.dp` },
    );
  }
}

/**
 * Flattens a VISSv2 `data` member (any of the four forms) and validates every datapoint with `validator`.
 * Datapoints of a data object with a bad or missing path are refused one by one (`at` = `data[i].path`).
 * @throws VissDataError for structural problems only (not a data object/array, `dp` missing or not an object/array,
 *   empty arrays, more than `maxDatapoints`)
 */
export function parseVissData(
  data: unknown,
  validator: DatapointValidator,
  options: ParseVissOptions = {},
): VissParsed {
  const at = options.at ?? "data";
  const w: Walk = {
    validator,
    max: options.maxDatapoints ?? Infinity,
    out: { datapoints: [], refusals: [], count: 0 },
    raw: { path: undefined, value: undefined, ts: undefined },
  };
  if (Array.isArray(data)) {
    if (data.length === 0) throw new VissDataError("viss.empty", "data array is empty", { path: at });
    for (let i = 0; i < data.length; i++) takeObject(w, data[i], `${at}[${i}]`);
  } else if (data === undefined) {
    throw new VissDataError("viss.type", 'missing "data" (a VISSv2 data object or array)', { path: at });
  } else takeObject(w, data, at);
  return w.out;
}

/**
 * `vin` when it is a VIN as ingest accepts it (1-64 printable ASCII characters without spaces).
 * @param at JSON path (or metadata key) for the error
 * @throws VissDataError `viss.vin`
 */
export function checkVin(vin: unknown, at = "vin"): string {
  if (typeof vin !== "string") {
    throw new VissDataError(
      "viss.vin",
      vin === undefined ? 'missing "vin" (a non-empty string)' : `expected a string, got ${typeName(vin)}`,
      { path: at },
    );
  }
  if (!VIN_RE.test(vin)) {
    throw new VissDataError("viss.vin", "vin must be 1-64 printable ASCII characters without spaces", { path: at });
  }
  return vin;
}

/**
 * Parses an ingest body `{"vin": "...", "data": <VISSv2 data>}` (JSON text, UTF-8 bytes, or an already parsed value)
 * into typed datapoints and per-datapoint refusals. Integers beyond 2^53 keep their exact digits (bigint).
 * @throws VissDataError for structural problems (invalid JSON, not an object, bad vin, see {@link parseVissData})
 */
export function parseVissIngest(
  body: string | Uint8Array | unknown,
  validator: DatapointValidator,
  options: ParseVissOptions = {},
): VissIngest {
  const doc = typeof body === "string"
    ? parseJsonExact(body)
    : body instanceof Uint8Array
    ? parseJsonExact(utf8.decode(body))
    : body;
  if (!isObject(doc)) {
    throw new VissDataError("viss.type", `expected an object {"vin","data"}, got ${typeName(doc)}`, { path: "$" });
  }
  const vin = checkVin(doc.vin);
  const r = parseVissData(doc.data, validator, options);
  return { vin, datapoints: r.datapoints, refusals: r.refusals, count: r.count };
}
