import { Hono } from "hono";
import type { Context } from "hono";
import { setImmediate } from "node:timers";
import { PipelineError } from "../core/errors/mod.ts";
import type { Logger } from "../core/log/mod.ts";
import type { InsertResult, OvdsStore, VehicleBatch } from "../core/ovds/mod.ts";
import { parseIngestBody, VissDataError } from "../core/viss/mod.ts";
import type { Metrics } from "./metrics.ts";

/** Result of a request verification hook. */
export type VerifyResult = { ok: true; body?: unknown } | { ok: false; reason: string; message: string };

/**
 * Verifies an ingest request (signed envelope, see the security module). Gets the request with its
 * body already read (`await req.text()` works). `body`, when returned, replaces the parsed JSON
 * (for envelopes that wrap the payload).
 */
export type VerifyHook = (req: Request) => Promise<VerifyResult>;

interface Pending {
  batch: VehicleBatch;
  resolve: (n: number) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: requests submitted while a commit is running are stored together in the next
 * single transaction. Each submitter learns how many of its rows were new, after the commit.
 */
export class GroupCommitter {
  #store: OvdsStore;
  #queue: Pending[] = [];
  #scheduled = false;
  #running?: Promise<void>;
  #onCommit?: (r: InsertResult, batches: number) => void;

  /**
   * @param store the store
   * @param onCommit called after each commit (forwarder count trigger, metrics)
   */
  constructor(store: OvdsStore, onCommit?: (r: InsertResult, batches: number) => void) {
    this.#store = store;
    this.#onCommit = onCommit;
  }

  /** Queues one vehicle's data points; resolves with the number of new rows after the commit. */
  submit(batch: VehicleBatch): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ batch, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#running) return;
    this.#scheduled = true;
    // After pending I/O callbacks, so requests that arrived together commit together.
    setImmediate(() => {
      this.#scheduled = false;
      this.#running = this.#commit().finally(() => {
        this.#running = undefined;
        if (this.#queue.length > 0) this.#schedule();
      });
    });
  }

  async #commit(): Promise<void> {
    const items = this.#queue.splice(0);
    if (items.length === 0) return;
    try {
      const res = await this.#store.insertBatches(items.map((p) => p.batch));
      for (let i = 0; i < items.length; i++) items[i].resolve(res.inserted[i]);
      this.#onCommit?.(res, items.length);
    } catch (e) {
      for (const p of items) p.reject(e);
    }
  }

  /** Waits for queued and running commits. */
  async drain(): Promise<void> {
    while (this.#running || this.#scheduled || this.#queue.length > 0) {
      await (this.#running ?? new Promise((r) => setImmediate(r)));
    }
  }
}

/** Options for {@link createIngestApp}. */
export interface IngestAppOptions {
  /** The store (health checks). */
  store: OvdsStore;
  /** The group committer writing to the store. */
  committer: GroupCommitter;
  /** Metrics registry. */
  metrics: Metrics;
  /** Largest accepted body in bytes (default 1 MiB). */
  maxBody?: number;
  /** Most data points per request (default 10 000). */
  maxDatapoints?: number;
  /** Request verification (signed envelopes); failures answer 401. */
  verify?: VerifyHook;
  /** Backend name and state for `/health`. */
  backend?: () => { name: string; state: string };
  /** Logger. */
  log?: Logger;
}

class BodyTooLarge extends Error {}

/** Reads a body up to `max` bytes, stream-counting; throws {@link BodyTooLarge} without buffering more. */
async function readLimited(req: Request, max: number): Promise<Uint8Array> {
  const cl = req.headers.get("content-length");
  if (cl !== null && Number(cl) > max) throw new BodyTooLarge();
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLarge();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function errorResponse(c: Context, status: number, code: string, message: string, path?: string): Response {
  return c.json(new PipelineError(code, message, { path }).toJSON(), status as 400);
}

/**
 * The CESC HTTP app: `POST /` (the original's path) and `POST /v1/data` ingest, `GET /health`,
 * `GET /metrics`. Errors are `{"error":{"code","message","path"}}`; 200 `{"stored":n,"duplicates":d}`
 * is sent only after the transaction holding the data is committed.
 */
export function createIngestApp(options: IngestAppOptions): Hono {
  const { metrics, committer, store } = options;
  const maxBody = options.maxBody ?? 1 << 20;
  const maxDatapoints = options.maxDatapoints ?? 10_000;
  const app = new Hono();

  const reject = (c: Context, status: number, reason: string, message: string, path?: string) => {
    metrics.inc("cesc_rejected_requests_total", { reason });
    metrics.inc("cesc_ingest_requests_total", { status: String(status) });
    return errorResponse(c, status, reason, message, path);
  };

  const ingest = async (c: Context): Promise<Response> => {
    const t0 = performance.now();
    const req = c.req.raw;
    const ct = req.headers.get("content-type") ?? "";
    if (!/^application\/([a-z0-9.+-]*\+)?json\b/i.test(ct)) {
      await req.body?.cancel().catch(() => {});
      return reject(
        c,
        415,
        "http.unsupported_media_type",
        `Content-Type must be application/json, got "${ct.slice(0, 60)}"`,
      );
    }
    let bytes: Uint8Array;
    try {
      bytes = await readLimited(req, maxBody);
    } catch (e) {
      if (e instanceof BodyTooLarge) {
        c.header("connection", "close");
        return reject(
          c,
          413,
          "http.body_too_large",
          `body larger than ${maxBody} bytes; send fewer data points per request`,
        );
      }
      return reject(c, 400, "http.body", `could not read the body: ${(e as Error).message}`);
    }
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      return reject(c, 400, "viss.json", "body is not valid UTF-8", "$");
    }
    let payload: unknown = text;
    if (options.verify) {
      const v = await options.verify(new Request(req.url, { method: "POST", headers: req.headers, body: text }));
      if (!v.ok) return reject(c, 401, `auth.${v.reason}`, v.message);
      if (v.body !== undefined) payload = v.body;
    }
    let parsed;
    try {
      parsed = parseIngestBody(payload, { maxDatapoints });
    } catch (e) {
      if (e instanceof VissDataError) {
        return reject(c, 400, e.code, e.message, e.path);
      }
      throw e;
    }
    let stored: number;
    try {
      stored = await committer.submit(parsed);
    } catch (e) {
      options.log?.error("commit failed", { err: e });
      return reject(c, 503, "ovds.write", "the data could not be stored; retry later");
    }
    metrics.inc("cesc_ingest_requests_total", { status: "200" });
    metrics.inc("cesc_ingested_datapoints_total", undefined, stored);
    metrics.inc("cesc_duplicate_datapoints_total", undefined, parsed.datapoints.length - stored);
    metrics.observe("cesc_ingest_latency_seconds", (performance.now() - t0) / 1000);
    return c.json({ stored, duplicates: parsed.datapoints.length - stored });
  };

  // The original refuses WebSocket upgrades on its ingest port; so do we, with a readable message.
  app.use("*", async (c, next) => {
    if ((c.req.header("upgrade") ?? "").toLowerCase() === "websocket") {
      return reject(
        c,
        400,
        "http.incorrect_protocol",
        '400 Incorrect protocol: the CESC ingest port takes HTTP POST, not WebSocket; POST {"vin","data"} to / or /v1/data',
      );
    }
    await next();
  });
  app.post("/", ingest);
  app.post("/v1/data", ingest);
  const notAllowed = (c: Context) => {
    c.header("allow", "POST");
    return reject(c, 405, "http.method_not_allowed", `${c.req.method} is not allowed here; use POST`);
  };
  app.all("/", notAllowed);
  app.all("/v1/data", notAllowed);

  app.get("/health", async (c) => {
    const writable = await store.ping();
    let backlog = 0, vehicles = 0;
    try {
      for (const v of await store.vehicles()) {
        backlog += v.backlog;
        vehicles++;
      }
    } catch { /* reported as not writable below */ }
    metrics.set("cesc_backlog_datapoints", backlog);
    const backend = options.backend?.() ?? { name: "none", state: "ok" };
    return c.json(
      { status: writable ? "ok" : "unavailable", db: { writable }, backlog, vehicles, backend },
      writable ? 200 : 503,
    );
  });
  app.get("/metrics", async (c) => {
    try {
      let backlog = 0;
      for (const v of await store.vehicles()) backlog += v.backlog;
      metrics.set("cesc_backlog_datapoints", backlog);
    } catch { /* keep the last value */ }
    return c.text(metrics.render(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
  app.notFound((c) =>
    errorResponse(c, 404, "http.not_found", `no route ${c.req.method} ${c.req.path}; POST to / or /v1/data`)
  );
  app.onError((e, c) => {
    options.log?.error("request failed", { err: e });
    return errorResponse(c, 500, "internal", "internal error; see the CESC log");
  });
  return app;
}
