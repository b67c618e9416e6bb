/**
 * The `viss.refused` answer: a request stays atomic at the CESC (400, nothing stored), and the error names every
 * refused datapoint, so that a sender can drop exactly those and resend the rest.
 * @module
 */
import type { Refusal } from "../datapoint/mod.ts";
import { PipelineError } from "../errors/mod.ts";

/** The error code of a request refused for its datapoints. */
export const REFUSED_CODE = "viss.refused";
/** Most refused datapoints listed in one answer; `refused` gives the total. */
export const MAX_LISTED_REFUSALS = 1000;

/** One refused datapoint as the 400 body lists it. */
export interface RefusedEntry {
  /** Flattened position of the datapoint in the request. */
  index: number;
  /** VSS path as given. */
  path: string;
  /** Reason code (`datapoint.ts`, `datapoint.type`, …). */
  code: string;
  /** What is wrong, for a person. */
  reason: string;
  /** JSON path of the refused member (`data[1].dp[0].ts`), when the request was JSON. */
  at?: string;
}

/** The 400 body `{"error": {code, message, path, datapoints, refused}}`. */
export interface RefusedBody {
  /** The error. */
  error: {
    /** Always {@link REFUSED_CODE}. */
    code: typeof REFUSED_CODE;
    /** `<n> of <m> datapoints refused; nothing stored`. */
    message: string;
    /** JSON path of the first refused member. */
    path: string;
    /** The refused datapoints (at most {@link MAX_LISTED_REFUSALS}). */
    datapoints: RefusedEntry[];
    /** How many datapoints were refused in all. */
    refused: number;
  };
}

function entry(r: Refusal): RefusedEntry {
  const e: RefusedEntry = { index: r.index, path: r.path, code: r.code, reason: r.reason };
  if (r.at !== undefined) e.at = r.at;
  return e;
}

/** The message of a refused request. */
function message(refused: number, count: number): string {
  return `${refused} of ${count} datapoints refused; nothing stored`;
}

/**
 * The 400 body of a request of `count` datapoints of which `refusals` were refused (listed up to
 * {@link MAX_LISTED_REFUSALS}, `refused` is the total).
 */
export function refusedBody(refusals: readonly Refusal[], count: number): RefusedBody {
  const n = Math.min(refusals.length, MAX_LISTED_REFUSALS);
  const datapoints: RefusedEntry[] = new Array(n);
  for (let i = 0; i < n; i++) datapoints[i] = entry(refusals[i]);
  return {
    error: {
      code: REFUSED_CODE,
      message: message(refusals.length, count),
      path: refusals[0]?.at ?? refusals[0]?.path ?? "data",
      datapoints,
      refused: refusals.length,
    },
  };
}

/** A request refused for its datapoints; {@link VissRefusedError.toJSON} is {@link refusedBody}. */
export class VissRefusedError extends PipelineError {
  /** The refused datapoints. */
  readonly refusals: readonly Refusal[];
  /** Datapoints in the request. */
  readonly count: number;

  /**
   * @param refusals the refused datapoints (at least one)
   * @param count datapoints in the request
   */
  constructor(refusals: readonly Refusal[], count: number) {
    super(REFUSED_CODE, message(refusals.length, count), { path: refusals[0]?.at ?? refusals[0]?.path });
    this.refusals = refusals;
    this.count = count;
  }

  /** The 400 body ({@link refusedBody}). */
  override toJSON(): RefusedBody {
    return refusedBody(this.refusals, this.count);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function readEntry(v: unknown): Refusal | undefined {
  if (!isRecord(v) || !Number.isSafeInteger(v.index) || (v.index as number) < 0) return undefined;
  const r: Refusal = {
    index: v.index as number,
    path: typeof v.path === "string" ? v.path : "",
    code: typeof v.code === "string" ? v.code : "datapoint.refused",
    reason: typeof v.reason === "string" ? v.reason : "",
  };
  if (typeof v.at === "string") r.at = v.at;
  return r;
}

/**
 * The refused datapoints of a `viss.refused` 400 body (parsed JSON, or its text), or undefined when `json` is not
 * such a body (another error: the sender then treats the whole request as refused). Entries without a valid
 * `index` are skipped. When `error.refused` is larger than the list, the list is the first
 * {@link MAX_LISTED_REFUSALS}; a resend of the rest meets the others.
 */
export function readRefusals(json: unknown): Refusal[] | undefined {
  let doc = json;
  if (typeof json === "string") {
    try {
      doc = JSON.parse(json);
    } catch {
      return undefined;
    }
  }
  if (!isRecord(doc) || !isRecord(doc.error) || doc.error.code !== REFUSED_CODE) return undefined;
  const list = doc.error.datapoints;
  if (!Array.isArray(list)) return undefined;
  const out: Refusal[] = [];
  for (const v of list) {
    const r = readEntry(v);
    if (r) out.push(r);
  }
  return out;
}
