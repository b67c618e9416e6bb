/**
 * CESC, the cloud ingest service: VISSv2 data from vehicles over HTTP(S) into an OVDS SQLite store,
 * batched forwarding to Geotab DIG (or a generic HTTP backend).
 *
 * - Ingest (`ingest.ts`): `POST /` (the original's path) and `POST /v1/data`, body `{"vin","data"}` with `data` in
 *   any of the four VISSv2 forms, or an AVRO container (`Content-Type: application/avro`); and MQTT (`mqtt`).
 *   Every path turns the data into typed datapoints through ONE `DatapointValidator` on the VSS catalog. A request
 *   is atomic: 200 `{"stored":n,"duplicates":d}` only after commit (group commit: concurrent requests share one
 *   transaction); 400 `viss.refused` naming every refused datapoint (index, path, code, reason, `at`) when any is
 *   refused, and nothing stored. Other errors `{"error":{"code","message","path"}}`: 400 (structure, with the JSON
 *   path), 401 (verification hook), 405, 413 (over `maxBody`, counted while streaming), 415; WebSocket upgrades
 *   get 400 "Incorrect protocol" as in the original.
 * - One HTTP stack (`http.ts`): node:http(s) (client certificates verified with a CA), a small router, bodies read
 *   once with a limit; signatures are checked on the body bytes.
 * - `GET /health` (db writable, backlog, backend state), `GET /metrics` (Prometheus text, prom-client).
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
 * const res = await fetch(cesc.url, {
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: JSON.stringify({ vin: "ULF001", data: { path: "Vehicle.Speed", dp: { value: "55.0", ts: "2020-06-08T23:37:19Z" } } }),
 * });
 * console.log(res.status, await res.json()); // 200 { stored: 1, duplicates: 0 }
 * await cesc.close();
 * ```
 * @module
 */
import type { DatapointSchema } from "../core/datapoint/mod.ts";
import type { Logger } from "../core/log/mod.ts";
import { GroupCommitter, type OvdsStore } from "../core/ovds/mod.ts";
import type { DigCredentials } from "./backends/dig.ts";
import type { ForwardBackend } from "./backends/types.ts";
import { buildBackend, buildValidator, Closer, listen, type MqttOptions, openStore, startMqtt } from "./build.ts";
import type { DataMapItem } from "./datamap.ts";
import { Forwarder } from "./forwarder.ts";
import type { TlsMaterial } from "./http.ts";
import { createIngest, type VerifyHook } from "./ingest.ts";
import { Metrics } from "./metrics.ts";
import { type ReaderFactory, sqliteReader } from "./query_api.ts";
import { buildRoutes } from "./routes.ts";

export { createDigBackend, type DigBackendOptions, type DigCredentials, loadDigCredentials } from "./backends/dig.ts";
export { createHttpBackend, type HttpBackendOptions } from "./backends/http.ts";
export { createNoneBackend } from "./backends/none.ts";
export { type ForwardBackend, type Rejected, RetryableError, type SendOutcome } from "./backends/types.ts";
export { DEFAULT_CATALOG, type MqttOptions } from "./build.ts";
export { type DataMapItem, DEFAULT_DATAMAP_URL, loadDataMap, parseDataMap } from "./datamap.ts";
export { Forwarder, type ForwarderOptions } from "./forwarder.ts";
export {
  errorResponse,
  type Handler,
  type HttpRequest,
  type HttpResponse,
  json,
  type Listener,
  Router,
  serveHttp,
  type ServeOptions,
  type TlsMaterial,
} from "./http.ts";
export {
  createIngest,
  type Ingest,
  type IngestOptions,
  type MessageOutcome,
  type VerifyHook,
  type VerifyInput,
  type VerifyResult,
} from "./ingest.ts";
export { type CounterName, type GaugeName, type HistogramName, METRICS, Metrics } from "./metrics.ts";
export { mountQueryApi, type QueryApi, type QueryApiOptions, type ReaderFactory, sqliteReader } from "./query_api.ts";
export { buildRoutes, type RoutesOptions } from "./routes.ts";

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
  /**
   * The VSS leaves every ingest path validates against (datatype, min/max, allowed): a schema (a `core/vss`
   * `VssCatalog` fits) or a VSS JSON file. Default {@link DEFAULT_CATALOG}; paths it does not know stay untyped.
   */
  catalog?: DatapointSchema | string | URL;
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
  /** Request verification hook (signed envelopes) → 401 on failure: `(req) => verifier.verifyHttp(req)`. */
  verify?: VerifyHook;
  /** Logger. */
  log?: Logger;
  /** Also ingest from an MQTT broker (the VEC's MQTT sink topics), validated and stored like HTTP data. */
  mqtt?: MqttOptions;
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

/** Starts a CESC: store, forwarder, ingest, HTTP (and TLS) listeners, MQTT ingest. Use port 0 in tests. */
export async function startCesc(options: CescOptions = {}): Promise<Cesc> {
  const { log } = options;
  const metrics = new Metrics();
  const closer = new Closer();
  try {
    const validator = buildValidator(options.catalog);
    const store = closer.add(
      options.store ?? await openStore({ ...options, db: options.db ?? "./ovdsCESC.db" }, metrics),
      (s) => s.close(),
    );
    const backend = closer.add(await buildBackend(options, metrics, log), (b) => b.close());
    const forwarder = closer.add(
      new Forwarder(store, backend, {
        maxDatapoints: options.maxDatapoints,
        flushIntervalMs: options.flushIntervalMs,
        retentionMs: options.retentionMs,
        backoff: options.backoff,
        log: log?.child("forwarder"),
        metrics,
      }),
      (f) => f.close(),
    );
    const committer = closer.add(
      new GroupCommitter(store, {
        onCommit: (res) => {
          metrics.inc("cesc_commits_total");
          forwarder.noteInserted(res.perVin);
        },
      }),
      (c) => c.drain(),
    );
    const ingest = createIngest({
      committer,
      validator,
      metrics,
      maxBody: options.maxBody,
      verify: options.verify,
      log,
    });
    const routes = buildRoutes({
      ingest,
      store,
      metrics,
      backend: () => ({ name: backend.name, state: backend.state() }),
      query: { open: sqliteReader(options), token: options.readToken },
    });
    closer.add(routes.queryApi, (q) => q.close());
    const hostname = options.hostname ?? "127.0.0.1";
    const { http, tls } = await listen(routes.handler, {
      port: options.port ?? 8000,
      tlsPort: options.tlsPort ?? 4443,
      hostname,
      tls: options.tls,
      closer,
      log,
    });
    forwarder.start();
    if (options.mqtt) closer.add(await startMqtt(options.mqtt, { ingest, metrics, log }), (m) => m.close());
    log?.info("**** Cloud Edge Server/Client started... ****", {
      port: http.port,
      tlsPort: tls?.port,
      backend: backend.name,
    });
    let closing: Promise<void> | undefined;
    return {
      url: `http://${hostname === "0.0.0.0" ? "127.0.0.1" : hostname}:${http.port}/`,
      tlsUrl: tls ? `https://localhost:${tls.port}/` : undefined,
      store,
      forwarder,
      metrics,
      close: () => closing ??= closer.close(),
    };
  } catch (e) {
    await closer.close().catch(() => {});
    throw e;
  }
}
