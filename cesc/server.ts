import { Hono } from "hono";
import type { Context } from "hono";
import { Buffer } from "node:buffer";
import { setImmediate } from "node:timers";
import type { IncomingMessage, ServerResponse } from "node:http";
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

/** Options for {@link GroupCommitter}. */
export interface GroupCommitterOptions {
  /** Called after each commit is durable (forwarder count trigger, metrics). */
  onCommit?: (r: InsertResult, batches: number) => void;
  /**
   * Transactions whose durability may be awaited at once (default 8). A store that commits inside
   * `insertBatches` and then waits for a shared fsync (SQLite `full`) lets the next transaction
   * commit while the disk flushes the previous one.
   */
  maxInflight?: number;
}

/**
 * Group commit: requests submitted together are stored in one transaction; each submitter learns how
 * many of its rows were new once that transaction is durable. Transactions are started one after the
 * other, and while one waits for its fsync the next one may commit (up to `maxInflight`).
 */
export class GroupCommitter {
  #store: OvdsStore;
  #queue: Pending[] = [];
  #scheduled = false;
  #inflight = 0;
  #maxInflight: number;
  #onCommit?: (r: InsertResult, batches: number) => void;
  #idle: (() => void)[] = [];

  /**
   * @param store the store
   * @param options commit callback and pipelining depth
   */
  constructor(store: OvdsStore, options: GroupCommitterOptions = {}) {
    this.#store = store;
    this.#onCommit = options.onCommit;
    this.#maxInflight = Math.max(1, options.maxInflight ?? 8);
  }

  /** Queues one vehicle's data points; resolves with the number of new rows after the commit. */
  submit(batch: VehicleBatch): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ batch, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inflight >= this.#maxInflight) return;
    this.#scheduled = true;
    // After pending I/O callbacks, so requests that arrived together commit together.
    setImmediate(() => {
      this.#scheduled = false;
      this.#commit();
    });
  }

  #commit(): void {
    const items = this.#queue.splice(0);
    if (items.length === 0) return this.#notifyIdle();
    this.#inflight++;
    let done: Promise<InsertResult>;
    try {
      done = this.#store.insertBatches(items.map((p) => p.batch));
    } catch (e) {
      done = Promise.reject(e);
    }
    done.then((res) => {
      for (let i = 0; i < items.length; i++) items[i].resolve(res.inserted[i]);
      this.#onCommit?.(res, items.length);
    }, (e) => {
      for (const p of items) p.reject(e);
    }).finally(() => {
      this.#inflight--;
      if (this.#queue.length > 0) this.#schedule();
      else this.#notifyIdle();
    });
  }

  #notifyIdle(): void {
    if (this.#inflight > 0 || this.#scheduled || this.#queue.length > 0) return;
    for (const w of this.#idle.splice(0)) w();
  }

  /** Waits until every queued and running commit has ended. */
  drain(): Promise<void> {
    if (this.#inflight === 0 && !this.#scheduled && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
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

/** What an ingest request comes to: status and JSON body. */
export interface IngestOutcome {
  /** HTTP status. */
  status: number;
  /** JSON body. */
  body: unknown;
  /** Close the connection after answering (unread body). */
  close?: boolean;
}

/** Input of {@link IngestCore.ingest}. */
export interface IngestInput {
  /** The Content-Type header ("" when missing). */
  contentType: string;
  /** Reads the body up to the limit; `null` when it is larger. Not called for a wrong Content-Type. */
  read: () => Promise<Uint8Array | null>;
  /** Builds a `Request` with the given body for the verification hook. */
  request: (body: string | Uint8Array<ArrayBuffer>) => Request;
  /** The `X-VIN` header, for AVRO bodies that carry no VIN in their metadata. */
  vin?: string;
}

/** The transport-independent ingest logic shared by the Hono app and the node:http fast path. */
export interface IngestCore {
  /** Largest body in bytes. */
  readonly maxBody: number;
  /** Validates, verifies, stores (after commit) and answers one request. */
  ingest(input: IngestInput): Promise<IngestOutcome>;
  /** Counts a rejection (status, reason) in the metrics. */
  rejected(status: number, reason: string): void;
}

/** Labels of the per-request success counter (a constant: no series key is built per request). */
const STATUS_200 = { status: "200" } as const;

const JSON_CT = /^application\/([a-z0-9.+-]*\+)?json\b/i;
const AVRO_CT = /^(application\/avro|avro\/binary)\b/i;

/** Creates the ingest logic; see {@link createIngestApp} for the HTTP contract. */
export function createIngestCore(options: IngestAppOptions): IngestCore {
  const { metrics, committer } = options;
  const maxBody = options.maxBody ?? 1 << 20;
  const maxDatapoints = options.maxDatapoints ?? 10_000;
  const rejected = (status: number, reason: string) => {
    metrics.inc("cesc_rejected_requests_total", { reason });
    metrics.inc("cesc_ingest_requests_total", { status: String(status) });
  };
  const fail = (status: number, code: string, message: string, path?: string): IngestOutcome => {
    rejected(status, code);
    return { status, body: new PipelineError(code, message, { path }).toJSON() };
  };
  return {
    maxBody,
    rejected,
    async ingest(input: IngestInput): Promise<IngestOutcome> {
      const t0 = performance.now();
      const ct = input.contentType;
      const avro = AVRO_CT.test(ct);
      if (!avro && !JSON_CT.test(ct)) {
        const out = fail(
          415,
          "http.unsupported_media_type",
          `Content-Type must be application/json or application/avro, got "${ct.slice(0, 60)}"`,
        );
        return { ...out, close: true };
      }
      let bytes: Uint8Array | null;
      try {
        bytes = await input.read();
      } catch (e) {
        return { ...fail(400, "http.body", `could not read the body: ${(e as Error).message}`), close: true };
      }
      if (bytes === null) {
        const out = fail(
          413,
          "http.body_too_large",
          `body larger than ${maxBody} bytes; send fewer data points per request`,
        );
        return { ...out, close: true };
      }
      let parsed;
      if (avro) {
        if (options.verify) {
          const v = await options.verify(input.request(bytes as Uint8Array<ArrayBuffer>));
          if (!v.ok) return fail(401, `auth.${v.reason}`, v.message);
        }
        try {
          // AVRO (core/codec, the vss-tools schemas): loaded on the first AVRO request.
          const { avroIngestRequest } = await import("../core/codec/mod.ts");
          parsed = avroIngestRequest(bytes, { maxDatapoints, vin: input.vin });
        } catch (e) {
          if (e instanceof PipelineError) return fail(400, e.code, e.message, e.path);
          throw e;
        }
      } else {
        let text: string;
        try {
          text = utf8.decode(bytes);
        } catch {
          return fail(400, "viss.json", "body is not valid UTF-8", "$");
        }
        let payload: unknown = text;
        if (options.verify) {
          const v = await options.verify(input.request(text));
          if (!v.ok) return fail(401, `auth.${v.reason}`, v.message);
          if (v.body !== undefined) payload = v.body;
        }
        try {
          parsed = parseIngestBody(payload, { maxDatapoints });
        } catch (e) {
          if (e instanceof VissDataError) return fail(400, e.code, e.message, e.path);
          throw e;
        }
      }
      let stored: number;
      try {
        stored = await committer.submit(parsed);
      } catch (e) {
        options.log?.error("commit failed", { err: e });
        return fail(503, "ovds.write", "the data could not be stored; retry later");
      }
      const duplicates = parsed.datapoints.length - stored;
      metrics.inc("cesc_ingest_requests_total", STATUS_200);
      metrics.inc("cesc_ingested_datapoints_total", undefined, stored);
      metrics.inc("cesc_duplicate_datapoints_total", undefined, duplicates);
      metrics.observe("cesc_ingest_latency_seconds", (performance.now() - t0) / 1000);
      return { status: 200, body: { stored, duplicates } };
    },
  };
}

/**
 * The CESC HTTP app: `POST /` (the original's path) and `POST /v1/data` ingest, `GET /health`,
 * `GET /metrics`. Errors are `{"error":{"code","message","path"}}`; 200 `{"stored":n,"duplicates":d}`
 * is sent only after the transaction holding the data is committed.
 */
export function createIngestApp(options: IngestAppOptions): Hono {
  const { metrics, store } = options;
  const app = new Hono();

  const core = createIngestCore(options);
  const reject = (c: Context, status: number, reason: string, message: string, path?: string) => {
    core.rejected(status, reason);
    return errorResponse(c, status, reason, message, path);
  };

  const ingest = async (c: Context): Promise<Response> => {
    const req = c.req.raw;
    const out = await core.ingest({
      contentType: req.headers.get("content-type") ?? "",
      vin: req.headers.get("x-vin") ?? undefined,
      read: async () => {
        try {
          return await readLimited(req, core.maxBody);
        } catch (e) {
          if (e instanceof BodyTooLarge) return null;
          throw e;
        }
      },
      request: (body) => new Request(req.url, { method: "POST", headers: req.headers, body }),
    });
    if (out.close) {
      await req.body?.cancel().catch(() => {});
      c.header("connection", "close");
    }
    return c.json(out.body, out.status as 200);
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

/** Reads a node request body up to `max` bytes; `null` (and stops reading) when it is larger. */
function readNode(req: IncomingMessage, max: number): Promise<Uint8Array | null> {
  const cl = req.headers["content-length"];
  if (cl !== undefined && Number(cl) > max) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const done = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    const onData = (c: Uint8Array) => {
      total += c.byteLength;
      if (total > max) {
        done();
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      done();
      if (chunks.length === 1) return resolve(chunks[0]);
      const out = new Uint8Array(total);
      let o = 0;
      for (const c of chunks) {
        out.set(c, o);
        o += c.byteLength;
      }
      resolve(out);
    };
    const onError = (e: Error) => {
      done();
      reject(e);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}

/**
 * The ingest hot path for node:http(s): POST `/` and `/v1/data` go straight to {@link IngestCore}
 * without building fetch `Request`/`Response` objects. Returns false for anything else (the Hono app
 * answers it).
 */
export function nodeIngestFastPath(core: IngestCore): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== "POST" || (req.url !== "/" && req.url !== "/v1/data") || req.headers.upgrade) return false;
    core.ingest({
      contentType: String(req.headers["content-type"] ?? ""),
      vin: typeof req.headers["x-vin"] === "string" ? req.headers["x-vin"] : undefined,
      read: () => readNode(req, core.maxBody),
      request: (body) => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(req.headers)) {
          if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
        }
        return new Request(`http://${req.headers.host ?? "localhost"}${req.url}`, { method: "POST", headers, body });
      },
    }).then((out) => {
      const body = JSON.stringify(out.body);
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
      };
      if (out.close) headers.connection = "close";
      res.writeHead(out.status, headers);
      if (req.readableEnded) res.end(body);
      else res.end(body, () => req.socket?.destroy()); // the unread rest of the body must not be parsed as a request
    }, () => {
      res.writeHead(500, { "content-type": "application/json", connection: "close" });
      res.end('{"error":{"code":"internal","message":"internal error; see the CESC log"}}');
    });
    return true;
  };
}
