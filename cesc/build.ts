/**
 * The small build steps `startCesc` wires together: store, backend, validator, listeners, MQTT ingest, and a
 * {@link Closer} that undoes what was built (on shutdown, or when a later step fails at start-up).
 * @module
 */
import { type DatapointSchema, DatapointValidator } from "../core/datapoint/mod.ts";
import { PipelineError } from "../core/errors/mod.ts";
import type { Logger } from "../core/log/mod.ts";
import { openSqliteStore, openSqliteStoreInWorker, type OvdsStore } from "../core/ovds/mod.ts";
import { loadVssCatalog } from "../core/vss/mod.ts";
import { createDigBackend, type DigCredentials } from "./backends/dig.ts";
import { createHttpBackend } from "./backends/http.ts";
import { createNoneBackend } from "./backends/none.ts";
import type { ForwardBackend } from "./backends/types.ts";
import { type DataMapItem, loadDataMap } from "./datamap.ts";
import { type Handler, type Listener, serveHttp, type TlsMaterial } from "./http.ts";
import type { Ingest } from "./ingest.ts";
import type { Metrics } from "./metrics.ts";
import type { IngestTlsOptions, MqttIngest } from "./mqtt_ingest.ts";

/** The VSS catalog every ingest path validates against by default (the VEC's default catalog too). */
export const DEFAULT_CATALOG = new URL("../assets/vss/vss_release_4.0.json", import.meta.url);

/** Things to undo, last built first. */
export class Closer {
  readonly #steps: (() => Promise<void> | void)[] = [];

  /** Adds a step; returns `value` (for `const x = closer.add(await build(), () => x.close())`). */
  add<T>(value: T, close: (v: T) => Promise<void> | void): T {
    this.#steps.push(() => close(value));
    return value;
  }

  /** Runs every step, last added first; failures of one step do not stop the others (the first is thrown). */
  async close(): Promise<void> {
    let first: unknown;
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== undefined) throw first;
  }
}

/** Store options of {@link openStore}. */
export interface StoreOptions {
  /** OVDS SQLite file. */
  db: string;
  /** Run SQLite in a Worker. */
  storeInWorker?: boolean;
  /** Checkpoint the WAL from a Worker. */
  checkpointInWorker?: boolean;
  /** `full` or `normal`. */
  synchronous?: "full" | "normal";
}

/** Opens the SQLite OVDS store; WAL fsyncs are measured in `metrics`. */
export function openStore(options: StoreOptions, metrics: Metrics): Promise<OvdsStore> | OvdsStore {
  const common = { synchronous: options.synchronous, checkpointInWorker: options.checkpointInWorker };
  if (options.storeInWorker) return openSqliteStoreInWorker(options.db, common);
  return openSqliteStore(options.db, {
    ...common,
    onWalSync: (seconds, commits) => {
      metrics.observe("cesc_wal_fsync_seconds", seconds);
      metrics.inc("cesc_wal_fsync_commits_total", undefined, commits);
    },
  });
}

/** Backend options of {@link buildBackend}. */
export interface BackendOptions {
  /** `dig`, `http`, `none` (default), or a backend instance. */
  backend?: "dig" | "http" | "none" | ForwardBackend;
  /** DIG base URL, or the HTTP backend's endpoint. */
  backendUrl?: string;
  /** DIG credentials (required for `dig`). */
  credentials?: DigCredentials;
  /** VSS→DIG map (default: the shipped map). */
  dataMap?: Map<string, DataMapItem>;
}

/** The forwarding backend. */
export async function buildBackend(options: BackendOptions, metrics: Metrics, log?: Logger): Promise<ForwardBackend> {
  const kind = options.backend ?? "none";
  if (typeof kind === "object") return kind;
  if (kind === "none") return createNoneBackend();
  if (kind === "http") {
    if (!options.backendUrl) throw new PipelineError("config.invalid", "--backend http needs --backend-url");
    return createHttpBackend(options.backendUrl);
  }
  if (!options.credentials) throw new PipelineError("config.invalid", "--backend dig needs DIG credentials");
  return createDigBackend({
    baseUrl: options.backendUrl,
    credentials: options.credentials,
    dataMap: options.dataMap ?? await loadDataMap(),
    log: log?.child("dig"),
    onSkip: (reason, n) => metrics.inc("cesc_unmapped_datapoints_total", { reason }, n),
  });
}

/** The one validator of HTTP JSON, HTTP AVRO and MQTT ingest: a schema, a VSS JSON file, or the default catalog. */
export function buildValidator(catalog?: DatapointSchema | string | URL): DatapointValidator {
  if (catalog !== undefined && typeof catalog === "object" && "get" in catalog) return new DatapointValidator(catalog);
  return new DatapointValidator(loadVssCatalog(catalog ?? DEFAULT_CATALOG));
}

/** Listener options of {@link listen}. */
export interface ListenOptions {
  /** Plain HTTP port. */
  port: number;
  /** Address to bind. */
  hostname: string;
  /** TLS port (with `tls`). */
  tlsPort: number;
  /** TLS material; the TLS listener starts only with it. */
  tls?: TlsMaterial;
}

/** Starts the plain HTTP listener and, with TLS material, the HTTPS one; both are closed by `closer`. */
export async function listen(
  handler: Handler,
  options: ListenOptions & { closer: Closer; log?: Logger },
): Promise<{ http: Listener; tls?: Listener }> {
  const { closer, log, hostname } = options;
  const http = closer.add(await serveHttp(handler, { port: options.port, hostname, log }), (l) => l.close());
  if (!options.tls) return { http };
  const tls = await serveHttp(handler, { port: options.tlsPort, hostname, tls: options.tls, log });
  return { http, tls: closer.add(tls, (l) => l.close()) };
}

/** MQTT ingest options (the VEC's MQTT sink topics). */
export interface MqttOptions {
  /** Broker URL. */
  url: string;
  /** Client TLS material. */
  tls?: IngestTlsOptions;
  /** Shared subscription group (default `cesc`); `null` subscribes without sharing. */
  shareGroup?: string | null;
  /** Client id (persistent session). */
  clientId?: string;
  /** Verifies signed envelopes (throw a PipelineError to refuse). */
  unwrap?: (topic: string, body: Uint8Array) => Uint8Array | Promise<Uint8Array>;
}

/** Starts the MQTT ingest into `ingest`; messages refused as a whole are counted by outcome. */
export async function startMqtt(
  options: MqttOptions,
  context: { ingest: Ingest; metrics: Metrics; log?: Logger },
): Promise<MqttIngest> {
  // Loaded only when used: the MQTT client library is large.
  const { startMqttIngest } = await import("./mqtt_ingest.ts");
  const { ingest, metrics, log } = context;
  const mqtt = await startMqttIngest({
    ...options,
    logger: log?.child("mqtt"),
    onData: (vin, datapoints) => ingest.message(vin, datapoints),
    onReject: (e) => metrics.inc("cesc_rejected_requests_total", { reason: `mqtt.${e.code}` }),
  });
  metrics.counterFrom("cesc_mqtt_messages_total", "outcome", () => {
    const s = mqtt.stats();
    return { stored: s.stored, refused: s.refused, rejected: s.rejected, skipped: s.skipped };
  });
  return mqtt;
}
