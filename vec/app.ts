/**
 * Builds and runs a VEC from a validated configuration: DBC → decode plan → WASM decoder, Kuksa mapping → VSS
 * mapper, a frame source (candump replay or SocketCAN), the sinks (CESC push, MQTT) over on-disk queues, and the
 * REST API.
 *
 * @module
 */
import { compileDecodePlan, parseDbc } from "../core/can/mod.ts";
import { PipelineError } from "../core/errors/mod.ts";
import type { Logger } from "../core/log/mod.ts";
import { silentLogger } from "../core/log/mod.ts";
import { DiskQueue } from "../core/queue/mod.ts";
import { createSecOcFilter, createSigner, KeyStore, type SecOcFilter, type Signer } from "../core/security/mod.ts";
import { compileVssMapping, loadVssCatalog, physicalChoices } from "../core/vss/mod.ts";
import { createWasmDecoder } from "../core/can/mod.ts";
import { createVecApi } from "./api.ts";
import { redactConfig, type VecConfig } from "./config.ts";
import type { ObdHandle, openObdLink } from "./obd.ts";
import type { CanLink } from "../core/isotp/mod.ts";
import { type FrameSource, Pipeline } from "./pipeline.ts";
import { CescSink, type PushEncoder } from "./sinks/cesc.ts";
import type { DatapointSink, VissDatapoint } from "./sinks/types.ts";
import { CandumpSource, filtersForIds, SocketCanReader } from "./sources/mod.ts";
import { parseVissRequests, VissSource, vissUrl } from "./sources/viss.ts";

/** What a finished run reports. */
export interface VecSummary {
  /** CAN frames read. */
  frames: number;
  /** Signal values decoded. */
  signals: number;
  /** VSS datapoints produced. */
  datapoints: number;
  /** Run time in seconds. */
  seconds: number;
  /** Frames per second over the whole run. */
  framesPerSecond: number;
  /** Counters per sink, by sink name. */
  sinks: Record<string, object>;
  /** SecOC counters, when verification is on. */
  secoc?: object;
}

/** A running VEC. */
export interface VecHandle {
  /** Resolves when the source ended (replay) or {@link VecHandle.stop} was called, after sinks drained. */
  readonly done: Promise<VecSummary>;
  /** URL of the REST API, when enabled. */
  readonly apiUrl?: string;
  /** The running pipeline (stats, latest values). */
  readonly pipeline: Pipeline;
  /** Counters per sink, by sink name. */
  readonly sinks: readonly DatapointSink[];
  /** Stops reading; sinks flush to their queues. */
  stop(): void;
}

/** Options of {@link startVec}. */
export interface StartVecOptions {
  /** Structured logger (default: silent). */
  logger?: Logger;
  /** How long to wait at the end for sinks to deliver queued data (default 10 s). */
  drainMs?: number;
  /** Extra sinks (tests, embedding). */
  sinks?: DatapointSink[];
  /** CAN link for OBD-II instead of a SocketCAN socket on `obd.interface` (tests, simulators); the caller owns it. */
  obdLink?: CanLink;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new PipelineError(`vec.${what}_unreadable`, `${what} ${path}: ${(e as Error).message}`, { path, cause: e });
  }
}

/** Starts a VEC; see the module doc. */
export async function startVec(config: VecConfig, options: StartVecOptions = {}): Promise<VecHandle> {
  const log = options.logger ?? silentLogger;
  const t0 = performance.now();
  // Optional parts are loaded only when configured: each of OBD, AVRO and the metrics library costs
  // 10-20 MB of resident memory on a Raspberry Pi.
  const obdModule = Object.keys(config.obd).length > 0 ? await import("./obd.ts") : undefined;
  const obdConfig = obdModule?.parseObdConfig(config.obd);
  const obdIface = obdConfig?.interface ?? config.can.interface;
  if (obdConfig?.enabled && !obdIface && !options.obdLink) {
    throw new PipelineError(
      "config.invalid",
      "obd.enabled needs obd.interface or can.interface: OBD-II polls a live bus, it cannot run on a replay",
      { path: "obd.interface" },
    );
  }
  // Opened first, so a missing interface or AF_CAN fails before anything else has started.
  const obdOwnLink = obdConfig?.enabled && !options.obdLink ? obdModule!.openObdLink(obdIface!, obdConfig) : undefined;

  const can = config.source === "can" ? await setUpCan(config, log) : undefined;
  const viss = config.source === "viss" ? await setUpViss(config, log) : undefined;
  const sinks: DatapointSink[] = [...(options.sinks ?? [])];
  const queues: DiskQueue[] = [];
  const queueOptions = {
    maxBytes: config.queue.max_bytes,
    maxAgeMs: config.queue.max_age_hours * 3600_000,
  };
  const httpClient = config.cesc.url ? await tlsHttpClient(config.cesc.tls, "cesc.tls") : undefined;
  const signer = config.security.sign ? await createVecSigner(config) : undefined;
  if (signer) log.info("signing uplinks", { key_id: config.security.key_id, tag_bits: config.security.tag_bits });
  if (config.cesc.url) {
    await Deno.mkdir(config.queue.dir, { recursive: true });
    const queue = DiskQueue.open(`${config.queue.dir}/cesc-queue.db`, { ...queueOptions, name: "cesc" });
    queues.push(queue);
    sinks.push(
      new CescSink({
        url: config.cesc.url,
        path: config.cesc.path,
        queue,
        vin: config.vin,
        batchMaxDatapoints: config.cesc.batch_max_datapoints,
        batchMaxMs: config.cesc.batch_max_ms,
        timeoutMs: config.cesc.timeout_ms,
        retryMinMs: config.cesc.retry_min_ms,
        retryMaxMs: config.cesc.retry_max_ms,
        client: httpClient,
        encoder: config.cesc.encoding === "avro" ? await avroEncoder((can ?? viss)!.catalog) : undefined,
        signer: signer && ((req) => signer.signHttp(req)),
        logger: log.child("cesc"),
      }),
    );
  }
  // The MQTT client library is loaded only for configurations that may use it.
  const mqttModule = config.endpoint || Object.keys(config.mqtt).length > 0
    ? await import("./sinks/mqtt.ts")
    : undefined;
  if (mqttModule?.mqttConfigured(config)) {
    const { MqttSink, mqttSinkOptionsFromConfig } = mqttModule;
    await Deno.mkdir(config.queue.dir, { recursive: true });
    const queue = DiskQueue.open(`${config.queue.dir}/mqtt-queue.db`, { ...queueOptions, name: "mqtt" });
    queues.push(queue);
    sinks.push(
      new MqttSink(
        mqttSinkOptionsFromConfig(config, {
          queue,
          logger: log.child("mqtt"),
          avroCatalog: (can ?? viss)?.catalog,
          // With security.sign, every MQTT payload travels in the signed JSON envelope.
          ...(signer
            ? { signer: (topic: string, body: Uint8Array | string) => signer.signMessage({ topic, body }) }
            : {}),
        }),
      ),
    );
  }
  if (sinks.length === 0) log.warn("no sink configured: datapoints are only kept for GET /signals", {});
  for (const sink of sinks) {
    if (config.vin) sink.setVin?.(config.vin);
    await sink.start?.();
  }

  const pipeline = new Pipeline({
    source: can?.source,
    filter: can?.secoc,
    decoder: can?.decoder,
    mapper: can?.mapper,
    sinks,
    onVin: (vin) => {
      if (config.vin) return;
      log.info("VIN from the bus", { vin });
      for (const sink of sinks) sink.setVin?.(vin);
    },
  });

  let obd: { handle: ObdHandle; link?: ReturnType<typeof openObdLink> } | undefined;
  if (obdConfig?.enabled) {
    const handle = obdModule!.startObd(obdConfig, {
      link: options.obdLink ?? obdOwnLink!,
      // Values (and the VIN, which the pipeline hands to the sinks) go through the pipeline like decoded signals.
      inject: (dps) => pipeline.inject(dps),
      // DTC events (QoS 1), error count, health: to every sink that publishes events (the MQTT sink).
      onEvent: (e) => {
        const { topic, qos, ...payload } = e;
        for (const s of sinks) {
          (s as { publishEvent?: (t: string, p: unknown, o: { qos: 0 | 1 }) => void }).publishEvent?.(topic, payload, {
            qos,
          });
        }
      },
      log: log.child("obd"),
    });
    obd = { handle, link: obdOwnLink };
  }

  const sinkStats = () => Object.fromEntries(sinks.map((s) => [s.name, s.stats()]));
  let metrics: import("prom-client").Registry | undefined;
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  let apiUrl: string | undefined;
  if (config.api.enabled) {
    const app = createVecApi({
      health: () => ({
        status: "ok",
        source: viss
          ? { viss: viss.url, ...viss.source.stats() }
          : config.can.interface
          ? { interface: config.can.interface }
          : { replay: config.can.log },
        vin: config.vin ?? pipeline.vin ?? viss?.source.vin ?? null,
        uptime_s: Math.round((Date.now() - pipeline.stats.startedAt) / 1000),
        message_rate: pipeline.stats.frameRate,
        frames: pipeline.stats.frames,
        datapoints: pipeline.stats.datapoints,
        sinks: sinkStats(),
        ...(obd ? { obd: obd.handle.stats() } : {}),
        ...(can?.secoc ? { secoc: can.secoc.metrics() } : {}),
      }),
      publish: (dps: VissDatapoint[]) => {
        pipeline.inject(dps);
        return dps.length;
      },
      config: () => redactConfig(config),
      signals: () => Object.fromEntries(pipeline.latest()),
      // The metrics library is loaded on the first scrape.
      metrics: async () => {
        if (!metrics) {
          const { createVecMetrics } = await import("./metrics.ts");
          metrics = createVecMetrics({ pipeline: () => pipeline.stats, sinks: sinkStats });
        }
        return await metrics.metrics();
      },
      isKnownPath: (path) => (can ?? viss)!.catalog.get(path) !== undefined,
    });
    server = Deno.serve({ hostname: config.api.hostname, port: config.api.port, onListen() {} }, app.fetch);
    const host = config.api.hostname === "0.0.0.0" ? "127.0.0.1" : config.api.hostname;
    apiUrl = `http://${host}:${server.addr.port}`;
    log.info("REST API listening", { url: apiUrl });
  }

  if (viss) {
    viss.source.onData = (dps) => pipeline.inject(dps);
    viss.source.onVin = (vin) => {
      if (config.vin) return;
      log.info("VIN from the VISSv2 server", { vin });
      for (const sink of sinks) sink.setVin?.(vin);
    };
    viss.source.start();
  }

  const done = (async (): Promise<VecSummary> => {
    try {
      await pipeline.run();
    } finally {
      await can?.source.close();
      await viss?.source.close();
      viss?.client?.close();
      await obd?.handle.stop();
      await obd?.link?.close();
      for (const sink of sinks) await sink.close({ drainMs: options.drainMs ?? 10_000 });
      for (const q of queues) q.close();
      httpClient?.close();
      await server?.shutdown();
    }
    const seconds = (performance.now() - t0) / 1000;
    return {
      frames: pipeline.stats.frames,
      signals: pipeline.stats.signals,
      datapoints: pipeline.stats.datapoints,
      seconds,
      framesPerSecond: Math.round(pipeline.stats.frames / seconds),
      sinks: sinkStats(),
      ...(can?.secoc ? { secoc: can.secoc.metrics() } : {}),
    };
  })();

  return {
    done,
    apiUrl,
    pipeline,
    sinks,
    stop() {
      pipeline.stop();
      can?.source.close();
    },
  };
}

/** CESC pushes as AVRO object container files (deflate), the VIN in the file header (`core/codec`). */
async function avroEncoder(catalog: import("../core/codec/mod.ts").CatalogLike): Promise<PushEncoder> {
  const { AVRO_CONTENT_TYPE, encodeDatapointsAvro, toDatatypeCatalog } = await import("../core/codec/mod.ts");
  const types = toDatatypeCatalog(catalog);
  return (vin, datapoints) => ({
    body: encodeDatapointsAvro(datapoints, { catalog: types, framing: "container", vin }),
    contentType: AVRO_CONTENT_TYPE,
  });
}

/** The uplink signer (`core/security` envelope) from `security.key_file` or `security.key_env`. */
async function createVecSigner(config: VecConfig): Promise<Signer> {
  const { key_id, key_file, key_env, sender_id, tag_bits } = config.security;
  if (!key_id) {
    throw new PipelineError("config.invalid", "security.sign needs security.key_id", { path: "security.key_id" });
  }
  const store = key_file ? await KeyStore.fromFile(key_file) : KeyStore.fromEnv({ name: key_env });
  const key = store.get(key_id);
  if (!key) {
    const where = key_file ?? `$${key_env}`;
    throw new PipelineError(
      "security.unknown_key",
      `${where} has no key "${key_id}" (it has: ${store.ids().join(", ")})`,
      {
        path: "security.key_id",
      },
    );
  }
  return createSigner({
    keyId: key_id,
    key,
    senderId: sender_id ?? config.vin ?? config.thing_name,
    tagBits: tag_bits,
  });
}

/** An HTTP client with a server CA and a client certificate (mutual TLS), when the section configures them. */
async function tlsHttpClient(
  tls: VecConfig["cesc"]["tls"],
  section: string,
): Promise<Deno.HttpClient | undefined> {
  const { cert_path, key_path, ca_path } = tls;
  if (!cert_path && !key_path && !ca_path) return undefined;
  if (!cert_path !== !key_path) {
    throw new PipelineError("config.invalid", `${section}: cert_path and key_path go together (client certificate)`, {
      path: section,
    });
  }
  const ca = ca_path ? [await readText(ca_path, `${section}.ca_path`)] : undefined;
  if (cert_path && key_path) {
    return Deno.createHttpClient({
      caCerts: ca,
      cert: await readText(cert_path, `${section}.cert_path`),
      key: await readText(key_path, `${section}.key_path`),
    });
  }
  return Deno.createHttpClient({ caCerts: ca });
}

async function setUpCan(config: VecConfig, log: Logger) {
  const dbc = parseDbc(await readText(config.can.dbc, "dbc"), { filename: config.can.dbc });
  const plan = compileDecodePlan(dbc);
  const decoder = await createWasmDecoder(plan, { maxFrames: config.can.batch_frames });
  const catalog = loadVssCatalog(config.can.catalog);
  const mapper = compileVssMapping(config.can.mapping, {
    catalog,
    signals: plan.signalNames,
    choices: physicalChoices(plan.signalDefs),
    source: config.can.mapping,
  });
  for (const w of mapper.warnings) log.warn("mapping", { warning: w });
  log.info("decode plan ready", {
    dbc: config.can.dbc,
    messages: plan.messageCount,
    signals: plan.signalCount,
    mapped_paths: mapper.dbc2vss.length,
  });

  const source = await openSource(config, mapper.mappedSignalIds.map((id) => plan.signalMessage[id]), plan);
  const secoc = config.security.secoc ? await createSecOc(config.security.secoc) : undefined;
  if (secoc) log.info("SecOC verification on", { messages: config.security.secoc!.messages.length });
  return { source, decoder, mapper, catalog, secoc };
}

/** The SecOC filter from `security.secoc` (keys from a file or an environment variable). */
async function createSecOc(cfg: NonNullable<VecConfig["security"]["secoc"]>): Promise<SecOcFilter> {
  if (!cfg.keys_file && !cfg.keys_env) {
    throw new PipelineError("config.invalid", "security.secoc needs keys_file or keys_env", {
      path: "security.secoc",
    });
  }
  const keys = cfg.keys_file ? await KeyStore.fromFile(cfg.keys_file) : KeyStore.fromEnv({ name: cfg.keys_env });
  cfg.messages.forEach((m, i) => {
    if (!keys.has(m.key_id)) {
      throw new PipelineError(
        "config.invalid",
        `security.secoc.messages[${i}]: key "${m.key_id}" is not in ${cfg.keys_file ?? `$${cfg.keys_env}`}`,
        { path: `security.secoc.messages.${i}.key_id` },
      );
    }
  });
  return createSecOcFilter({
    keys,
    unsecured: cfg.unsecured,
    messages: cfg.messages.map((m) => ({
      id: m.id,
      extended: m.extended,
      keyId: m.key_id,
      dataId: m.data_id,
      payloadLength: m.payload_length,
      freshnessBits: m.freshness_bits,
      macBits: m.mac_bits,
    })),
  });
}

async function setUpViss(config: VecConfig, log: Logger) {
  const requests = parseVissRequests(await readText(config.viss.requests, "requests"), {
    source: config.viss.requests,
  });
  const url = vissUrl(config.viss.url);
  const catalog = loadVssCatalog(config.can.catalog);
  const client = await tlsHttpClient(config.viss.tls, "viss.tls");
  // onData/onVin are attached once the pipeline exists.
  const source = new VissSource({
    url,
    requests,
    vin: config.vin,
    vinRetryMs: config.viss.vin_retry_ms,
    reconnectMinMs: config.viss.reconnect_min_ms,
    reconnectMaxMs: config.viss.reconnect_max_ms,
    client,
    onData: () => {},
    logger: log.child("viss"),
  });
  log.info("VISSv2 source", { url, requests: requests.length });
  return { source, url, catalog, client };
}

async function openSource(
  config: VecConfig,
  messageIndexes: number[],
  plan: { messageDefs: { id: number; extended: boolean }[] },
): Promise<FrameSource> {
  if (config.can.log) {
    const path = config.can.log;
    const open = () => CandumpSource.open(path, { speed: config.can.speed, source: path, lenient: config.can.lenient });
    return config.can.loop ? new LoopingSource(open, await open()) : await open();
  }
  if (config.can.interface) {
    const ids = [...new Set(messageIndexes)].map((i) => plan.messageDefs[i]);
    return SocketCanReader.open(config.can.interface, {
      filters: filtersForIds(ids.map((m) => ({ id: m.id, extended: m.extended }))),
      fd: config.can.fd,
      maxBatch: config.can.batch_frames,
    });
  }
  throw new PipelineError("vec.no_source", "no CAN source: set can.interface or can.log");
}

/** Replays a log again and again: when the inner source ends, a fresh one is opened. */
class LoopingSource implements FrameSource {
  #closed = false;
  constructor(private readonly open: () => Promise<FrameSource>, private inner: FrameSource) {}

  async read(batch: Parameters<FrameSource["read"]>[0]): Promise<number> {
    if (this.#closed) return -1;
    const n = await this.inner.read(batch);
    if (n >= 0) return n;
    await this.inner.close();
    if (this.#closed) return -1;
    this.inner = await this.open();
    return 0;
  }

  close(): void {
    this.#closed = true;
    this.inner.close();
  }
}
