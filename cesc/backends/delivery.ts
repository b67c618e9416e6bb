import type { StoredRow } from "../../core/ovds/mod.ts";
import { type Rejected, RetryableError } from "./types.ts";

/** One outgoing record and the rows it came from. */
export interface OutRecord {
  /** The record's JSON text. */
  json: string;
  /** Source rows. */
  rows: StoredRow[];
}

/** The answer of one POST. */
export interface PostAnswer {
  /** HTTP status. */
  status: number;
  /** Response body (truncated). */
  body: string;
  /** Retry-After in ms, when sent. */
  retryAfterMs?: number;
}

/** Limits of one call. */
export interface ChunkLimits {
  /** Most records per call. */
  maxRecords: number;
  /** Most body bytes per call. */
  maxBytes: number;
}

/** Parses a Retry-After header (seconds or HTTP date) into ms. */
export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const s = Number(header);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const t = Date.parse(header);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : undefined;
}

/** Splits records into chunks within `limits`, in order. */
export function chunkRecords(records: readonly OutRecord[], limits: ChunkLimits): OutRecord[][] {
  const out: OutRecord[][] = [];
  let cur: OutRecord[] = [];
  let bytes = 2;
  for (const r of records) {
    const size = r.json.length + 1;
    if (cur.length > 0 && (cur.length >= limits.maxRecords || bytes + size > limits.maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 2;
    }
    cur.push(r);
    bytes += size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/**
 * Posts records as JSON arrays within `limits`. 2xx: accepted. 413: the chunk is split in halves
 * (a single record is rejected). 400: split in halves to isolate the bad records, which are rejected
 * without blocking the rest. 429/5xx/other: {@link RetryableError}. Network errors are thrown by `post`.
 */
export async function deliver(
  records: readonly OutRecord[],
  post: (body: string) => Promise<PostAnswer>,
  limits: ChunkLimits,
): Promise<{ delivered: number; rejected: Rejected[] }> {
  let delivered = 0;
  const rejected: Rejected[] = [];
  const sendChunk = async (chunk: OutRecord[]): Promise<void> => {
    const ans = await post("[" + chunk.map((r) => r.json).join(",") + "]");
    if (ans.status >= 200 && ans.status < 300) {
      for (const r of chunk) delivered += r.rows.length;
      return;
    }
    if (ans.status === 413 || ans.status === 400) {
      if (chunk.length > 1) {
        const mid = chunk.length >> 1;
        await sendChunk(chunk.slice(0, mid));
        await sendChunk(chunk.slice(mid));
        return;
      }
      rejected.push({ rows: chunk[0].rows, reason: `http ${ans.status}: ${ans.body.slice(0, 300)}` });
      return;
    }
    const kind = ans.status === 429
      ? "http_429"
      : ans.status >= 500
      ? "http_5xx"
      : ans.status === 401
      ? "auth"
      : "http_4xx";
    throw new RetryableError(kind, `backend answered ${ans.status}: ${ans.body.slice(0, 200)}`, {
      retryAfterMs: ans.retryAfterMs,
    });
  };
  for (const chunk of chunkRecords(records, limits)) await sendChunk(chunk);
  return { delivered, rejected };
}

/** `fetch` that turns network failures into {@link RetryableError} and always consumes the body. */
export async function postJson(
  url: string,
  body: string,
  options: { headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<PostAnswer> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...options.headers },
      body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
    });
  } catch (e) {
    throw new RetryableError(
      "network",
      `POST ${new URL(url).origin}${new URL(url).pathname} failed: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  let text = "";
  try {
    text = await res.text();
  } catch { /* body lost: status still counts */ }
  return { status: res.status, body: text.slice(0, 2000), retryAfterMs: retryAfterMs(res.headers.get("retry-after")) };
}
