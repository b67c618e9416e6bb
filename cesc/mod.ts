/**
 * CESC, the cloud ingest service: VISSv2 data from vehicles over HTTP(S) into an OVDS SQLite store,
 * batched forwarding to Geotab DIG (or a generic HTTP backend).
 *
 * - Ingest: `POST /` (the original's path) and `POST /v1/data`, body `{"vin","data"}` with `data` in any of
 *   the four VISSv2 forms. 200 `{"stored":n,"duplicates":d}` only after commit (group commit: concurrent
 *   requests share one transaction). Errors `{"error":{"code","message","path"}}`: 400 (with the JSON path
 *   of the first problem), 401 (verification hook), 405, 413 (over `maxBody`, counted while streaming),
 *   415; WebSocket upgrades get 400 "Incorrect protocol" as in the original.
 * - `GET /health` (db writable, backlog, backend state), `GET /metrics` (Prometheus text).
 * - Read side (`query_api.ts`, reader `openSqliteQuery` on the same WAL file): `GET /v1/vehicles`,
 *   `GET /v1/vehicles/{vin}/signals`, `GET /v1/vehicles/{vin}/series?path=&from=&to=&limit=&cursor=&maxPoints=`,
 *   optionally behind a bearer token (`readToken`, `CESC_READ_TOKEN`), and the fleet dashboard at `GET /ui`
 *   (built by `deno task ui:build`; see docs/dashboard.md).
 * - Forwarding per vehicle when more than `maxDatapoints` new rows are stored or on the flush timer;
 *   at-least-once via a rowid watermark that moves only after the backend accepted the batch.
 *
 * `deno task cesc --help` lists the command-line flags; credentials come from the environment
 * (`CESC_DIG_USERNAME`, `CESC_DIG_PASSWORD`, `CESC_DIG_SERIAL`) or `--credentials FILE`.
 *
 * @example
 * ```ts
 * import { startCesc } from "./mod.ts";
 * const cesc = await startCesc({ db: ":memory:", port: 0, backend: "none" });
 * await fetch(cesc.url, {
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: JSON.stringify({ vin: "ULF001", data: { path: "Vehicle.Speed", dp: { value: "55.0", ts: "2020-06-08T23:37:19Z" } } }),
 * }).then((r) => r.body?.cancel());
 * await cesc.close();
 * ```
 * @module
 */
import type { Logger } from "../core/log/mod.ts";
import { openSqliteStore, openSqliteStoreInWorker, type OvdsStore } from "../core/ovds/mod.ts";
import { PipelineError } from "../core/errors/mod.ts";
import { parseIngestBody, toVissData } from "../core/viss/mod.ts";
import { createDigBackend, type DigCredentials } from "./backends/dig.ts";
import { createHttpBackend } from "./backends/http.ts";
import { createNoneBackend } from "./backends/none.ts";
import type { ForwardBackend } from "./backends/types.ts";
import { type DataMapItem, loadDataMap } from "./datamap.ts";
import { mountQueryApi, type ReaderFactory, sqliteReader } from "./query_api.ts";
import { Forwarder } from "./forwarder.ts";
import { Metrics } from "./metrics.ts";
import { createIngestApp, createIngestCore, GroupCommitter, nodeIngestFastPath, type VerifyHook } from "./server.ts";
import { serveNode, type TlsListener, type TlsMaterial } from "./listen.ts";

export { createDigBackend, type DigBackendOptions, type DigCredentials, loadDigCredentials } from "./backends/dig.ts";
export { createHttpBackend, type HttpBackendOptions } from "./backends/http.ts";
export { createNoneBackend } from "./backends/none.ts";
export { type ForwardBackend, type Rejected, RetryableError, type SendOutcome } from "./backends/types.ts";
export { type DataMapItem, DEFAULT_DATAMAP_URL, loadDataMap, parseDataMap } from "./datamap.ts";
export { Forwarder, type ForwarderOptions } from "./forwarder.ts";
export { Metrics } from "./metrics.ts";
export { mountQueryApi, type QueryApi, type QueryApiOptions, type ReaderFactory, sqliteReader } from "./query_api.ts";
export {
  createIngestApp,
  createIngestCore,
  GroupCommitter,
  type GroupCommitterOptions,
  type IngestAppOptions,
  type IngestCore,
  type IngestOutcome,
  type VerifyHook,
  type VerifyResult,
} from "./server.ts";
export type { TlsMaterial } from "./listen.ts";

/** Options for {@link startCesc}. */
export interface CescOptions {
  /** OVDS SQLite file (default `./ovdsCESC.db`); ignored when `store` is given. */
  db?: string;
  /** A ready store (e.g. PostgreSQL later); closed by `close()`. */
  store?: OvdsStore;
  /** Run SQLite in a Worker so commits do not block request handling (default false: measured slower, see docs/cesc.md). */
  storeInWorker?: boolean;
  /** Checkpoint the WAL from a Worker instead of inside commits (default true: no checkpoint stalls in ingest). */
  checkpointInWorker?: boolean;
  /**
   * `full` (default): a request is answered after its data is fsynced (the fsync runs off the event loop
   * and is shared by concurrent requests); `normal`: after the commit (durable across a process crash only).
   */
  synchronous?: "full" | "normal";
  /** Plain HTTP port (default 8000, 0 = any free port). */
  port?: number;
  /** Address to bind (default `127.0.0.1`; `0.0.0.0` for all interfaces). */
  hostname?: string;
  /** TLS port (default 4443, 0 = any); the TLS listener starts only with `tls`. */
  tlsPort?: number;
  /** TLS certificate, key and optional client CA (PEM text). */
  tls?: TlsMaterial;
  /** `dig`, `http`, `none` (default), or a backend instance. */
  backend?: "dig" | "http" | "none" | ForwardBackend;
  /** Backend URL (DIG base URL, or the HTTP backend's endpoint). */
  backendUrl?: string;
  /** DIG credentials (required for `dig`). */
  credentials?: DigCredentials;
  /** VSS→DIG map (default: the shipped map). */
  dataMap?: Map<string, DataMapItem>;
  /** Flush a vehicle above this many new data points (default 25). */
  maxDatapoints?: number;
  /** Flush timer in ms (default 30 000). */
  flushIntervalMs?: number;
  /** Largest request body (default 1 MiB). */
  maxBody?: number;
  /** Delete forwarded rows older than this many ms. */
  retentionMs?: number;
  /** Retry backoff base/cap in ms. */
  backoff?: { baseMs?: number; maxMs?: number };
  /** Request verification hook (signed envelopes) → 401 on failure. */
  verify?: VerifyHook;
  /** Logger. */
  log?: Logger;
  /** Also ingest from an MQTT broker (the VEC's MQTT sink topics), stored like HTTP data. */
  mqtt?: {
    url: string;
    tls?: import("./mqtt_ingest.ts").IngestTlsOptions;
    shareGroup?: string | null;
    clientId?: string;
    /** Verifies signed envelopes (throw a PipelineError to refuse). */
    unwrap?: (topic: string, body: Uint8Array) => Uint8Array | Promise<Uint8Array>;
  };
  /** Read side for `/v1/vehicles*` and `/ui` (default: a read-only connection on `db`; none for `:memory:`). */
  query?: ReaderFactory;
  /** Bearer token the read API requires (`CESC_READ_TOKEN` in `deno task cesc`). */
  readToken?: string;
}

/** A running CESC. */
export interface Cesc {
  /** Plain HTTP base URL, e.g. `http://127.0.0.1:8000/`. */
  url: string;
  /** HTTPS base URL when TLS is on. */
  tlsUrl?: string;
  /** The store (tests read it). */
  store: OvdsStore;
  /** The forwarder (tests call `idle()` / `flushAll()`). */
  forwarder: Forwarder;
  /** Metrics registry. */
  metrics: Metrics;
  /** Stops listening, finishes commits and forwarding calls, closes the store. */
  close(): Promise<void>;
}

function describeMetrics(m: Metrics): void {
  m.describe("cesc_ingest_requests_total", "Ingest requests by HTTP status");
  m.describe("cesc_ingested_datapoints_total", "Data points stored");
  m.describe("cesc_duplicate_datapoints_total", "Data points ignored as duplicates of (path, ts)");
  m.describe("cesc_rejected_requests_total", "Rejected requests by reason");
  m.describe("cesc_forwarded_datapoints_total", "Data points accepted by the backend");
  m.describe("cesc_skipped_datapoints_total", "Data points with no backend record");
  m.describe("cesc_unmapped_datapoints_total", "Data points skipped by the DIG mapping, by reason");
  m.describe("cesc_dead_letters_total", "Data points the backend refused for good");
  m.describe("cesc_forward_errors_total", "Failed backend calls (retried) by kind");
  m.describe("cesc_backlog_datapoints", "Stored data points not yet forwarded");
  m.describe("cesc_commits_total", "Ingest transactions");
  m.describe("cesc_ingest_latency_seconds", "Ingest request latency up to the commit");
  m.describe("cesc_forward_latency_seconds", "Backend call latency");
  m.describe("cesc_wal_fsync_seconds", "WAL fsync duration (--sync full; not with --store-worker)");
  m.describe("cesc_wal_fsync_commits_total", "Transactions made durable by WAL fsyncs (divide by the fsync count)");
}

/** Starts a CESC: store, HTTP (and TLS) listeners, forwarder. Use port 0 in tests. */
export async function startCesc(options: CescOptions = {}): Promise<Cesc> {
  const log = options.log;
  const metrics = new Metrics();
  describeMetrics(metrics);
  const db = options.db ?? "./ovdsCESC.db";
  const store = options.store ??
    (options.storeInWorker !== true
      ? openSqliteStore(db, {
        synchronous: options.synchronous,
        checkpointInWorker: options.checkpointInWorker,
        onWalSync: (seconds, commits) => {
          metrics.observe("cesc_wal_fsync_seconds", seconds);
          metrics.inc("cesc_wal_fsync_commits_total", undefined, commits);
        },
      })
      : await openSqliteStoreInWorker(db, {
        synchronous: options.synchronous,
        checkpointInWorker: options.checkpointInWorker,
      }));
  let backend: ForwardBackend;
  const kind = options.backend ?? "none";
  if (typeof kind === "object") backend = kind;
  else if (kind === "none") backend = createNoneBackend();
  else if (kind === "http") {
    if (!options.backendUrl) throw new PipelineError("config.invalid", "--backend http needs --backend-url");
    backend = createHttpBackend(options.backendUrl);
  } else {
    if (!options.credentials) throw new PipelineError("config.invalid", "--backend dig needs DIG credentials");
    backend = createDigBackend({
      baseUrl: options.backendUrl,
      credentials: options.credentials,
      dataMap: options.dataMap ?? await loadDataMap(),
      log: log?.child("dig"),
      onSkip: (reason, n) => metrics.inc("cesc_unmapped_datapoints_total", { reason }, n),
    });
  }
  const forwarder = new Forwarder(store, backend, {
    maxDatapoints: options.maxDatapoints,
    flushIntervalMs: options.flushIntervalMs,
    retentionMs: options.retentionMs,
    backoff: options.backoff,
    log: log?.child("forwarder"),
    metrics,
  });
  const committer = new GroupCommitter(store, {
    onCommit: (res) => {
      metrics.inc("cesc_commits_total");
      forwarder.noteInserted(res.perVin);
    },
  });
  const appOptions = {
    store,
    committer,
    metrics,
    maxBody: options.maxBody,
    verify: options.verify,
    backend: () => ({ name: backend.name, state: backend.state() }),
    log,
  };
  const app = createIngestApp(appOptions);
  const fast = nodeIngestFastPath(createIngestCore(appOptions));
  const readApi = mountQueryApi(app, { open: sqliteReader(options), token: options.readToken });
  const hostname = options.hostname ?? "127.0.0.1";
  let server: TlsListener;
  try {
    server = await serveNode(app.fetch, { port: options.port ?? 8000, hostname, fast });
  } catch (e) {
    await store.close();
    throw e;
  }
  let tls: TlsListener | undefined;
  if (options.tls) {
    try {
      tls = await serveNode(app.fetch, { tls: options.tls, port: options.tlsPort ?? 4443, hostname, fast });
    } catch (e) {
      await server.close();
      await store.close();
      throw e;
    }
  }
  forwarder.start();
  let mqtt: import("./mqtt_ingest.ts").MqttIngest | undefined;
  if (options.mqtt) {
    // Loaded only when used: the MQTT client library is large.
    const { startMqttIngest } = await import("./mqtt_ingest.ts");
    mqtt = await startMqttIngest({
      ...options.mqtt,
      logger: log?.child("mqtt"),
      onData: async (vin, datapoints) => {
        let batch;
        try {
          batch = parseIngestBody(toVissData(vin, datapoints));
        } catch (e) {
          // Acknowledged without storing: the same data would be refused over HTTP too.
          metrics.inc("cesc_rejected_requests_total", { reason: `mqtt.${(e as PipelineError).code ?? "invalid"}` });
          log?.warn("MQTT data refused", { vin, error: (e as Error).message });
          return;
        }
        const stored = await committer.submit(batch);
        metrics.inc("cesc_ingested_datapoints_total", undefined, stored);
      },
      onReject: (e, topic) => {
        metrics.inc("cesc_rejected_requests_total", { reason: `mqtt.${e.code}` });
        log?.warn("MQTT message refused", { topic, error: e.message });
      },
    });
  }
  const host = hostname === "0.0.0.0" ? "127.0.0.1" : hostname;
  log?.info("**** Cloud Edge Server/Client started... ****", {
    port: server.port,
    tlsPort: tls?.port,
    backend: backend.name,
  });
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${server.port}/`,
    tlsUrl: tls ? `https://localhost:${tls.port}/` : undefined,
    store,
    forwarder,
    metrics,
    close: () =>
      closing ??= (async () => {
        await mqtt?.close();
        await server.close();
        await tls?.close();
        await committer.drain();
        await forwarder.close();
        await backend.close();
        await store.close();
        await readApi.close();
      })(),
  };
}
