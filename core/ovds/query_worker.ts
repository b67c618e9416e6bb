/**
 * Worker side of {@link openSqliteQuery} with `worker: true`: runs the synchronous SQLite reader
 * off the main thread so long queries never delay ingest requests. Internal; use `mod.ts`.
 * @module
 */
/// <reference lib="deno.worker" />
import { PipelineError } from "../errors/mod.ts";
import { openSqliteQuery, type OvdsQuery } from "./query.ts";

/** A request from the main thread. */
export interface QueryRequest {
  /** Call id. */
  id: number;
  /** `open` (first message), `vehicles`, `signals`, `series` or `close`. */
  method: "open" | "vehicles" | "signals" | "series" | "close";
  /** Arguments. */
  args: unknown[];
}

/** The answer to one {@link QueryRequest}. */
export interface QueryResponse {
  /** Call id. */
  id: number;
  /** Result when it worked. */
  result?: unknown;
  /** The error when it did not (PipelineError fields kept). */
  error?: { code?: string; message: string; path?: string };
}

let query: OvdsQuery | undefined;
let openError: unknown;

self.onmessage = async (ev: MessageEvent<QueryRequest>) => {
  const { id, method, args } = ev.data;
  let res: QueryResponse;
  try {
    let result: unknown;
    if (method === "open") {
      try {
        query = openSqliteQuery(args[0] as string);
      } catch (e) {
        openError = e;
        throw e;
      }
    } else if (!query) {
      throw openError ?? new PipelineError("ovds.closed", "the OVDS reader is not open");
    } else if (method === "vehicles") result = await query.vehicles();
    else if (method === "signals") result = await query.signals(args[0] as string);
    else if (method === "series") {
      result = await query.series(args[0] as string, args[1] as string, args[2] as Record<string, never>);
    } else if (method === "close") {
      await query.close();
      query = undefined;
    }
    res = { id, result };
  } catch (e) {
    res = e instanceof PipelineError
      ? { id, error: { code: e.code, message: e.message, path: e.path } }
      : { id, error: { message: (e as Error).message ?? String(e) } };
  }
  self.postMessage(res);
};
