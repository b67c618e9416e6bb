/**
 * Builds and runs a VEC from a validated configuration. {@link startVec} is wiring over small build functions:
 *
 * ```
 * setUpInput (CAN: DBC → WASM decoder, mapping → VSS mapper, replay | SocketCAN, SecOC; or a VISSv2 source)
 *   → buildSinks (vec/uplinks.ts: CESC and MQTT transports over durable queues)
 *   → Pipeline (one DatapointValidator on the input's catalog) → OBD-II (optional) → REST API (optional)
 * ```
 *
 * @module
 */
import { PipelineError } from "../core/errors/mod.ts";
import type { Logger } from "../core/log/mod.ts";
import { silentLogger } from "../core/log/mod.ts";
import type { CanLink } from "../core/isotp/mod.ts";
import { createVecApi } from "./api.ts";
import { redactConfig, type VecConfig } from "./config.ts";
import { setUpInput, type VecInput } from "./inputs.ts";
import type { ObdHandle, openObdLink } from "./obd.ts";
import { Pipeline } from "./pipeline.ts";
import type { DatapointSink } from "./sinks/types.ts";
import { buildSinks } from "./uplinks.ts";

/** What a finished run reports. */
export interface VecSummary {
  /** CAN frames read. */
  frames: number;
  /** Signal values decoded. */
  signals: number;
  /** VSS datapoints produced. */
  datapoints: number;
  /** Datapoints refused before any sink, by reason code. */
  refused: Record<string, number>;
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
  /** The running pipeline (stats, refusals, latest values). */
  readonly pipeline: Pipeline;
  /** The sinks, extra ones first. */
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

/** The OBD-II part, loaded only when `obd.enabled` (its module costs resident memory on a Pi). */
interface ObdPart {
  readonly module: typeof import("./obd.ts");
  readonly link: CanLink;
  /** The SocketCAN link the VEC opened (closed at the end), when no link was given. */
  readonly ownLink?: ReturnType<typeof openObdLink>;
}

/** Checks the OBD-II settings and opens its link first, so a missing interface fails before anything started. */
async function prepareObd(config: VecConfig, options: StartVecOptions): Promise<ObdPart | undefined> {
  if (!config.obd.enabled) return undefined;
  const iface = config.obd.interface ?? config.can.interface;
  if (!iface && !options.obdLink) {
    throw new PipelineError(
      "config.invalid",
      "obd.enabled needs obd.interface or can.interface: OBD-II polls a live bus, it cannot run on a replay",
      { path: "obd.interface" },
    );
  }
  const module = await import("./obd.ts");
  if (options.obdLink) return { module, link: options.obdLink };
  const ownLink = module.openObdLink(iface!, config.obd);
  return { module, link: ownLink, ownLink };
}

/** Starts the sinks; the VIN (configured or from the bus/server) goes to every sink. */
async function startSinks(sinks: readonly DatapointSink[], config: VecConfig, log: Logger): Promise<void> {
  if (sinks.length === 0) log.warn("no sink configured: datapoints are only kept for GET /signals", {});
  for (const sink of sinks) {
    if (config.vin) sink.setVin?.(config.vin);
    await sink.start?.();
  }
}

/** Hands a VIN learnt from the bus, OBD or the VISSv2 server to the sinks, unless the config names one. */
function vinListener(config: VecConfig, sinks: readonly DatapointSink[], log: Logger, from: string) {
  return (vin: string) => {
    if (config.vin) return;
    log.info(`VIN from ${from}`, { vin });
    for (const sink of sinks) sink.setVin?.(vin);
  };
}

/** The pipeline over the input, its validator and the sinks. */
function buildPipeline(config: VecConfig, input: VecInput, sinks: DatapointSink[], log: Logger): Pipeline {
  const can = input.kind === "can" ? input : undefined;
  return new Pipeline({
    source: can?.source,
    filter: can?.secoc,
    decoder: can?.decoder,
    mapper: can?.mapper,
    sinks,
    validator: input.validator,
    logger: log.child("refusals"),
    onVin: vinListener(config, sinks, log, "the bus"),
  });
}

/** Starts OBD-II polling: values through the pipeline (validated), DTC/health events to the sinks' typed path. */
function startObdPolling(
  config: VecConfig,
  obd: ObdPart,
  pipeline: Pipeline,
  sinks: readonly DatapointSink[],
  log: Logger,
) {
  return obd.module.startObd(config.obd, {
    link: obd.link,
    inject: (dps) => void pipeline.inject(dps, { source: "obd" }),
    onEvent: (e) => {
      for (const s of sinks) s.event?.(e);
    },
    log: log.child("obd"),
  });
}

/** Connects the VISSv2 source to the pipeline and starts it. */
function startViss(
  config: VecConfig,
  input: VecInput,
  pipeline: Pipeline,
  sinks: readonly DatapointSink[],
  log: Logger,
) {
  if (input.kind !== "viss") return;
  input.source.onData = (dps, refusals) => {
    pipeline.refuse(refusals, { source: "viss" });
    pipeline.inject(dps, { source: "viss" });
  };
  input.source.onVin = vinListener(config, sinks, log, "the VISSv2 server");
  input.source.start();
}

/** What the API and the summary read. */
interface Running {
  readonly config: VecConfig;
  readonly input: VecInput;
  readonly pipeline: Pipeline;
  readonly sinks: readonly DatapointSink[];
  readonly obd?: ObdHandle;
}

function sinkStats(r: Running): Record<string, object> {
  return Object.fromEntries(r.sinks.map((s) => [s.name, s.stats()]));
}

function health(r: Running) {
  const { pipeline, input, config } = r;
  return {
    status: "ok" as const,
    source: input.kind === "viss" ? { viss: input.url, ...input.source.stats() } : input.describe,
    vin: config.vin ?? pipeline.vin ?? (input.kind === "viss" ? input.source.vin : undefined) ?? null,
    uptime_s: Math.round((Date.now() - pipeline.stats.startedAt) / 1000),
    message_rate: pipeline.stats.frameRate,
    frames: pipeline.stats.frames,
    datapoints: pipeline.stats.datapoints,
    refused: Object.fromEntries(pipeline.refusals.counts()),
    sinks: sinkStats(r),
    ...(r.obd ? { obd: r.obd.stats() } : {}),
    ...(input.kind === "can" && input.secoc ? { secoc: input.secoc.metrics() } : {}),
  };
}

/** Serves the REST API; the metrics library is loaded on the first scrape. */
function serveApi(r: Running, log: Logger): Deno.HttpServer<Deno.NetAddr> {
  let metrics: import("prom-client").Registry | undefined;
  const app = createVecApi({
    health: () => health(r),
    publish: (raw) => r.pipeline.accept(raw, { atomic: true, knownPathsOnly: true, source: "api" }),
    config: () => redactConfig(r.config),
    signals: () => r.pipeline.latest(),
    metrics: async () => {
      if (!metrics) {
        const { createVecMetrics } = await import("./metrics.ts");
        metrics = createVecMetrics({
          pipeline: () => r.pipeline.stats,
          refusals: () => r.pipeline.refusals.counts(),
          sinks: () => sinkStats(r),
        });
      }
      return await metrics.metrics();
    },
  });
  const { hostname, port } = r.config.api;
  const server = Deno.serve({ hostname, port, onListen() {} }, app.fetch);
  log.info("REST API listening", { url: apiUrlOf(server, hostname) });
  return server;
}

function apiUrlOf(server: Deno.HttpServer<Deno.NetAddr>, hostname: string): string {
  return `http://${hostname === "0.0.0.0" ? "127.0.0.1" : hostname}:${server.addr.port}`;
}

/** Starts a VEC; see the module doc. */
export async function startVec(config: VecConfig, options: StartVecOptions = {}): Promise<VecHandle> {
  const log = options.logger ?? silentLogger;
  const t0 = performance.now();
  const obdPart = await prepareObd(config, options);
  const input = await setUpInput(config, log);
  const uplinks = await buildSinks(config, { catalog: input.catalog, logger: log });
  const sinks = [...(options.sinks ?? []), ...uplinks.sinks];
  await startSinks(sinks, config, log);
  const pipeline = buildPipeline(config, input, sinks, log);
  const obd = obdPart && startObdPolling(config, obdPart, pipeline, sinks, log);
  const running: Running = { config, input, pipeline, sinks, obd };
  const server = config.api.enabled ? serveApi(running, log) : undefined;
  startViss(config, input, pipeline, sinks, log);

  const done = (async (): Promise<VecSummary> => {
    try {
      await pipeline.run();
    } finally {
      await closeInput(input);
      await obd?.stop();
      await obdPart?.ownLink?.close();
      for (const sink of sinks) await sink.close({ drainMs: options.drainMs ?? 10_000 });
      await uplinks.close();
      await server?.shutdown();
    }
    return summary(running, (performance.now() - t0) / 1000);
  })();

  return {
    done,
    apiUrl: server && apiUrlOf(server, config.api.hostname),
    pipeline,
    sinks,
    stop() {
      pipeline.stop();
      input.source.close();
    },
  };
}

async function closeInput(input: VecInput): Promise<void> {
  await input.source.close();
  if (input.kind === "viss") input.client?.close();
}

function summary(r: Running, seconds: number): VecSummary {
  const { stats } = r.pipeline;
  return {
    frames: stats.frames,
    signals: stats.signals,
    datapoints: stats.datapoints,
    refused: Object.fromEntries(r.pipeline.refusals.counts()),
    seconds,
    framesPerSecond: Math.round(stats.frames / seconds),
    sinks: sinkStats(r),
    ...(r.input.kind === "can" && r.input.secoc ? { secoc: r.input.secoc.metrics() } : {}),
  };
}
