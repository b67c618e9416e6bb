import type { StoredRow } from "../../core/ovds/mod.ts";
import { deliver, type OutRecord, postJson } from "./delivery.ts";
import { type ForwardBackend, RetryableError, type SendOutcome } from "./types.ts";

/** Options for {@link createHttpBackend}. */
export interface HttpBackendOptions {
  /** Most records per POST (default 5000). */
  maxRecords?: number;
  /** Most body bytes per POST (default 4 MiB). */
  maxBytes?: number;
  /** Extra headers, e.g. `authorization` from the environment. */
  headers?: Record<string, string>;
}

/**
 * Generic HTTP backend: POSTs a JSON array of `{"vin","path","value","ts"}` to `url`.
 * 2xx accepted; 413 split; 400 split down to the bad record, which is dead-lettered;
 * 429/5xx/network retried by the forwarder.
 */
export function createHttpBackend(url: string, options: HttpBackendOptions = {}): ForwardBackend {
  let state = "idle";
  const limits = { maxRecords: options.maxRecords ?? 5000, maxBytes: options.maxBytes ?? 4 << 20 };
  return {
    name: "http",
    async send(vin: string, rows: readonly StoredRow[]): Promise<SendOutcome> {
      const records: OutRecord[] = rows.map((r) => ({
        json: JSON.stringify({ vin, path: r.path, value: r.value, ts: r.ts }),
        rows: [r],
      }));
      try {
        const res = await deliver(records, (body) => postJson(url, body, { headers: options.headers }), limits);
        state = "ok";
        return { ...res, skipped: 0 };
      } catch (e) {
        if (e instanceof RetryableError) state = "retrying";
        throw e;
      }
    },
    state: () => state,
    close: () => Promise.resolve(),
  };
}
