/**
 * One validation of a datapoint (path, datatype, value range, time), shared by every ingest path (HTTP JSON, HTTP
 * AVRO, MQTT) and run by the VEC before it queues anything, so that the VEC never sends what the CESC refuses.
 * @module
 */
import type { Logger } from "../log/mod.ts";
import { parseTime } from "./time.ts";
import type { Datapoint, Refusal } from "./types.ts";
import { MAX_TS_MS, MIN_TS_MS } from "./types.ts";
import { coerceValue } from "./value.ts";

/** What validation needs to know of a VSS leaf (a `core/vss` `VssLeaf` fits). */
export interface SchemaLeaf {
  /** VSS datatype, e.g. `uint8`, `float`, `string[]`. */
  readonly datatype: string;
  /** Inclusive minimum. */
  readonly min?: number;
  /** Inclusive maximum. */
  readonly max?: number;
  /** Allowed values. */
  readonly allowed?: readonly (string | number | boolean)[];
}

/** The leaves validation checks against (a `core/vss` `VssCatalog` fits). Paths it does not know stay untyped. */
export interface DatapointSchema {
  /** The leaf at `path`, or undefined. */
  get(path: string): SchemaLeaf | undefined;
}

/** Longest VSS path (characters). */
export const MAX_PATH_CHARS = 512;
const PATH_RE = /^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;

/** True when `path` is a VSS path in dot notation (`Vehicle.Speed`). */
export function isVssPath(path: string): boolean {
  return path.length <= MAX_PATH_CHARS && PATH_RE.test(path);
}

/** A datapoint as a sender gave it: path, value and time in any wire form (RFC 3339 text or integer ms). */
export interface RawDatapoint {
  /** VSS path. */
  path: unknown;
  /** Value: a VISSv2 string, a JSON number/boolean/array, a typed value. */
  value: unknown;
  /** Time: RFC 3339 text, or integer ms since the epoch. */
  ts: unknown;
}

/** The outcome of {@link DatapointValidator.accept}: the datapoint, or its refusal. */
export type Checked = { ok: true; datapoint: Datapoint } | { ok: false; refusal: Refusal };

function refuse(index: number, path: unknown, code: string, reason: string): Checked {
  return { ok: false, refusal: { index, path: typeof path === "string" ? path.slice(0, 200) : "", code, reason } };
}

function rangeReason(v: number, leaf: SchemaLeaf): string | undefined {
  if (leaf.min !== undefined && v < leaf.min) return `${v} is below the minimum ${leaf.min}`;
  if (leaf.max !== undefined && v > leaf.max) return `${v} is above the maximum ${leaf.max}`;
  return undefined;
}

function checkLeaf(value: unknown, leaf: SchemaLeaf): string | undefined {
  const values = Array.isArray(value) ? value : [value];
  for (const v of values) {
    if (typeof v === "number" || typeof v === "bigint") {
      const r = rangeReason(Number(v), leaf);
      if (r) return r;
    }
    if (leaf.allowed && !leaf.allowed.includes(v as string | number | boolean)) {
      return `${JSON.stringify(typeof v === "bigint" ? String(v) : v)} is not one of the allowed values`;
    }
  }
  return undefined;
}

/** The time of a raw datapoint in ms, or a refusal reason. */
function timeOf(ts: unknown): number | string {
  if (typeof ts === "number") {
    if (!Number.isInteger(ts)) return `ts ${ts} is not an integer number of ms`;
    return ts >= MIN_TS_MS && ts <= MAX_TS_MS ? ts : `ts ${ts} ms is outside 0000-01-01..9999-12-31`;
  }
  if (typeof ts !== "string") {
    return ts === undefined ? 'missing "ts" (RFC 3339, e.g. 2024-01-01T00:00:00Z)' : "ts is not a string";
  }
  const ms = parseTime(ts);
  return Number.isNaN(ms)
    ? `ts "${ts.slice(0, 40)}" is not an RFC 3339 time in 0000..9999 (2024-01-01T00:00:00.000Z)`
    : ms;
}

/**
 * Validates datapoints against an optional {@link DatapointSchema}: the path is a VSS path; the value fits the path's
 * datatype (coerced to it: `"55.0"` for a `float` path becomes 55), its min/max and allowed values; the time is an
 * instant RFC 3339 can carry. Paths the schema does not know keep their value as given (string, number, boolean).
 */
export class DatapointValidator {
  readonly #schema?: DatapointSchema;

  /** @param schema the VSS leaves to check against (default: none, every path untyped) */
  constructor(schema?: DatapointSchema) {
    this.#schema = schema;
  }

  /** The schema's leaf of `path`. */
  leaf(path: string): SchemaLeaf | undefined {
    return this.#schema?.get(path);
  }

  /**
   * Turns a datapoint in wire form into a typed {@link Datapoint}, or says why not.
   * @param raw path, value and time as given
   * @param index the datapoint's position, reported in the refusal
   */
  accept(raw: RawDatapoint, index: number): Checked {
    return this.#accept(raw.path, raw.value, raw.ts, index);
  }

  #accept(path: unknown, value: unknown, ts: unknown, index: number): Checked {
    if (typeof path !== "string" || !isVssPath(path)) {
      const shown = JSON.stringify(String(path).slice(0, 80));
      return refuse(index, path, "datapoint.path", `${shown} is not a VSS path (Vehicle.Speed)`);
    }
    const tsMs = timeOf(ts);
    if (typeof tsMs === "string") return refuse(index, path, "datapoint.ts", tsMs);
    const leaf = this.#schema?.get(path);
    const c = coerceValue(value, leaf?.datatype);
    if (!c.ok) return refuse(index, path, c.code, c.reason);
    if (leaf) {
      const r = checkLeaf(c.value, leaf);
      if (r) return refuse(index, path, "datapoint.range", r);
    }
    return { ok: true, datapoint: { path, value: c.value, tsMs } };
  }

  /** Checks an already typed datapoint (the VEC, before it queues); undefined when it passes. */
  check(dp: Datapoint, index: number): Refusal | undefined {
    const r = this.#accept(dp.path, dp.value, dp.tsMs, index);
    return r.ok ? undefined : r.refusal;
  }
}

/** Options of {@link RefusalLog}. */
export interface RefusalLogOptions {
  /** Where the first refusal of each code per interval is logged. */
  logger?: Logger;
  /** The interval (default 60 s). */
  intervalMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

/**
 * Counts refused datapoints by reason code and logs the first of each code per minute (with how many were refused
 * since the last line), so that a flood of bad data costs one log line a minute, not one a datapoint.
 */
export class RefusalLog {
  readonly #counts = new Map<string, number>();
  readonly #lastLogged = new Map<string, { at: number; count: number }>();
  readonly #o: RefusalLogOptions;

  /** @param options see {@link RefusalLogOptions} */
  constructor(options: RefusalLogOptions = {}) {
    this.#o = options;
  }

  /** Counts `refusal` (and logs it when it is the first of its code this interval). */
  add(refusal: Refusal, fields: Record<string, unknown> = {}): void {
    const total = (this.#counts.get(refusal.code) ?? 0) + 1;
    this.#counts.set(refusal.code, total);
    const now = (this.#o.now ?? Date.now)();
    const last = this.#lastLogged.get(refusal.code);
    if (last && now - last.at < (this.#o.intervalMs ?? 60_000)) return;
    this.#lastLogged.set(refusal.code, { at: now, count: total });
    this.#o.logger?.warn("datapoint refused", {
      ...fields,
      code: refusal.code,
      path: refusal.path,
      reason: refusal.reason,
      refused_since_last_log: total - (last?.count ?? 0),
    });
  }

  /** Refused datapoints by reason code, since start. */
  counts(): ReadonlyMap<string, number> {
    return this.#counts;
  }

  /** All refused datapoints since start. */
  get total(): number {
    let n = 0;
    for (const v of this.#counts.values()) n += v;
    return n;
  }
}
