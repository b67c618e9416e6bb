/**
 * The VEC's inputs, built from the config: the CAN path (DBC → decode plan → WASM decoder, Kuksa mapping → VSS
 * mapper, a candump replay or SocketCAN, optional SecOC verification) or a VISSv2 WebSocket source. Each input
 * carries the VSS catalog it was checked against and the VEC's one `DatapointValidator` built on it (the pipeline,
 * `POST /publish`, OBD-II and the VISSv2 source use it; the uplinks' encoders use the catalog).
 * @module
 */
import { compileDecodePlan, createWasmDecoder, parseDbc } from "../core/can/mod.ts";
import { DatapointValidator } from "../core/datapoint/mod.ts";
import { PipelineError } from "../core/errors/mod.ts";
import type { Logger } from "../core/log/mod.ts";
import { createSecOcFilter, KeyStore, type SecOcFilter } from "../core/security/mod.ts";
import {
  compileVssMapping,
  loadVssCatalog,
  physicalChoices,
  type VssCatalog,
  type VssMapper,
} from "../core/vss/mod.ts";
import type { VecConfig } from "./config.ts";
import type { DecodeStage, FrameSource } from "./pipeline.ts";
import { CandumpSource, filtersForIds, LoopingSource, SocketCanReader } from "./sources/mod.ts";
import { parseVissRequests, VissSource, vissUrl } from "./sources/viss.ts";
import { tlsHttpClient } from "./tls.ts";

/** The CAN input: frames → SecOC → WASM decode → VSS map. */
export interface CanInput {
  /** Discriminant. */
  readonly kind: "can";
  /** The frame source (replay or SocketCAN). */
  readonly source: FrameSource;
  /** The WASM decoder. */
  readonly decoder: DecodeStage;
  /** The VSS mapper. */
  readonly mapper: VssMapper;
  /** The VSS catalog the mapping was compiled against. */
  readonly catalog: VssCatalog;
  /** The one validator, on {@link CanInput.catalog}. */
  readonly validator: DatapointValidator;
  /** SecOC verification, when configured. */
  readonly secoc?: SecOcFilter;
  /** What `/health` shows as the source. */
  readonly describe: Record<string, unknown>;
}

/** The VISSv2 input: a WebSocket client of an in-vehicle VISSv2 server. */
export interface VissInput {
  /** Discriminant. */
  readonly kind: "viss";
  /** The client (its `onData` and `onVin` are attached by the wiring). */
  readonly source: VissSource;
  /** The server URL. */
  readonly url: string;
  /** The VSS catalog (`can.catalog`) the server's datapoints are typed by. */
  readonly catalog: VssCatalog;
  /** The one validator, on {@link VissInput.catalog}. */
  readonly validator: DatapointValidator;
  /** The TLS client of `wss://`, when configured. */
  readonly client?: Deno.HttpClient;
}

/** Either input. */
export type VecInput = CanInput | VissInput;

async function readText(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new PipelineError(`vec.${what}_unreadable`, `${what} ${path}: ${(e as Error).message}`, { path, cause: e });
  }
}

/** Builds the configured input (`config.source`). */
export function setUpInput(config: VecConfig, log: Logger): Promise<VecInput> {
  return config.source === "viss" ? setUpViss(config, log) : setUpCan(config, log);
}

/** The CAN input: decode plan, WASM decoder, mapper, frame source and SecOC filter. */
export async function setUpCan(config: VecConfig, log: Logger): Promise<CanInput> {
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
  const messages = [...new Set(mapper.mappedSignalIds.map((id) => plan.signalMessage[id]))].map((i) =>
    plan.messageDefs[i]
  );
  const source = await openFrameSource(config, messages);
  const secoc = config.security.secoc ? await createSecOc(config.security.secoc) : undefined;
  if (secoc) log.info("SecOC verification on", { messages: config.security.secoc!.messages.length });
  const describe = config.can.interface ? { interface: config.can.interface } : { replay: config.can.log };
  return { kind: "can", source, decoder, mapper, catalog, validator: new DatapointValidator(catalog), secoc, describe };
}

/** A candump replay (looping if asked) or a SocketCAN socket filtered to the mapped messages. */
async function openFrameSource(
  config: VecConfig,
  messages: readonly { id: number; extended: boolean }[],
): Promise<FrameSource> {
  if (config.can.log) {
    const path = config.can.log;
    const open = () => CandumpSource.open(path, { speed: config.can.speed, source: path, lenient: config.can.lenient });
    return config.can.loop ? new LoopingSource(open, await open()) : await open();
  }
  if (config.can.interface) {
    return SocketCanReader.open(config.can.interface, {
      filters: filtersForIds(messages.map((m) => ({ id: m.id, extended: m.extended }))),
      fd: config.can.fd,
      maxBatch: config.can.batch_frames,
    });
  }
  throw new PipelineError("vec.no_source", "no CAN source: set can.interface or can.log");
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

/** The VISSv2 input: request file, catalog, TLS client and the (not yet started) client. */
export async function setUpViss(config: VecConfig, log: Logger): Promise<VissInput> {
  const requests = parseVissRequests(await readText(config.viss.requests, "requests"), {
    source: config.viss.requests,
  });
  const url = vissUrl(config.viss.url);
  const catalog = loadVssCatalog(config.can.catalog);
  const client = await tlsHttpClient(config.viss.tls, "viss.tls");
  const validator = new DatapointValidator(catalog);
  // onData/onVin are attached once the pipeline exists.
  const source = new VissSource({
    validator,
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
  return { kind: "viss", source, url, catalog, validator, client };
}
