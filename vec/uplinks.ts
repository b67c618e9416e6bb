/**
 * The VEC's uplinks from its configuration: one durable queue per sink (`<queue.dir>/<sink>-queue.db`, bounded by
 * `queue.max_bytes` and `queue.max_age_hours`), the CESC push (`cesc.url`: HTTP(S) with `cesc.tls`, VISSv2 JSON or
 * AVRO, signed with `security.sign`) and the MQTT sink (`endpoint` or `mqtt.url`; its module and the MQTT library
 * are loaded only then). Each is a transport on the `core/uplink` layer; a new one (Kafka, …) is one more branch here.
 *
 * @example
 * ```ts
 * import { loadVssCatalog } from "../core/vss/mod.ts";
 * import { silentLogger } from "../core/log/mod.ts";
 * import { parseVecConfig } from "./config.ts";
 * import { buildSinks } from "./uplinks.ts";
 * const dir = Deno.makeTempDirSync();
 * const config = parseVecConfig({ vin: "VIN0001", cesc: { url: "http://127.0.0.1:8000" }, queue: { dir } });
 * const built = await buildSinks(config, { catalog: loadVssCatalog(config.can.catalog), logger: silentLogger });
 * console.log(built.sinks.map((s) => s.name)); // [ "cesc" ]
 * for (const sink of built.sinks) await sink.close();
 * await built.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 * @module
 */
import { PipelineError } from "../core/errors/mod.ts";
import type { Logger } from "../core/log/mod.ts";
import { DiskQueue } from "../core/queue/mod.ts";
import { createSigner, KeyStore, type Signer } from "../core/security/mod.ts";
import { avroContainerEncoder, vissJsonEncoder } from "../core/uplink/mod.ts";
import type { VssCatalog } from "../core/vss/mod.ts";
import type { VecConfig } from "./config.ts";
import { CescSink } from "./sinks/cesc.ts";
import { mqttConfigured } from "./sinks/mqtt_config.ts";
import type { DatapointSink } from "./sinks/types.ts";
import { tlsHttpClient } from "./tls.ts";

/** What {@link buildSinks} needs besides the config. */
export interface UplinkDeps {
  /** The VSS catalog the datapoints are typed by (AVRO encoders take the datatypes from it). */
  catalog: VssCatalog;
  /** Structured logger; each sink logs as a child (`cesc`, `mqtt`). */
  logger: Logger;
}

/** The uplinks {@link buildSinks} built. */
export interface BuiltSinks {
  /** The sinks, not started (the caller sets the VIN and calls `start()`). */
  sinks: DatapointSink[];
  /** Closes every sink not closed yet (without draining), then the queues and the HTTP client. Idempotent. */
  close(): Promise<void>;
}

/** The uplink signer (`core/security` envelope) from `security.key_file` or `security.key_env`. */
async function uplinkSigner(config: VecConfig): Promise<Signer> {
  const { key_id, key_file, key_env, sender_id, tag_bits } = config.security;
  if (!key_id) {
    throw new PipelineError("config.invalid", "security.sign needs security.key_id", { path: "security.key_id" });
  }
  const store = key_file ? await KeyStore.fromFile(key_file) : KeyStore.fromEnv({ name: key_env });
  const key = store.get(key_id);
  if (!key) {
    throw new PipelineError(
      "security.unknown_key",
      `${key_file ?? `$${key_env}`} has no key "${key_id}" (it has: ${store.ids().join(", ")})`,
      { path: "security.key_id" },
    );
  }
  return createSigner({
    keyId: key_id,
    key,
    senderId: sender_id ?? config.vin ?? config.thing_name,
    tagBits: tag_bits,
  });
}

/** Opens `<queue.dir>/<name>-queue.db` with the configured bounds. */
async function openQueue(config: VecConfig, name: string): Promise<DiskQueue> {
  await Deno.mkdir(config.queue.dir, { recursive: true });
  return DiskQueue.open(`${config.queue.dir}/${name}-queue.db`, {
    name,
    maxBytes: config.queue.max_bytes,
    maxAgeMs: config.queue.max_age_hours * 3_600_000,
  });
}

/** Resources the sinks share, closed after them. */
interface Resources {
  queues: DiskQueue[];
  client?: Deno.HttpClient;
}

async function cescSink(config: VecConfig, deps: UplinkDeps, signer: Signer | undefined, res: Resources) {
  const c = config.cesc;
  res.client = await tlsHttpClient(c.tls, "cesc.tls");
  const queue = await openQueue(config, "cesc");
  res.queues.push(queue);
  return new CescSink({
    url: c.url!,
    path: c.path,
    queue,
    vin: config.vin,
    batchMaxDatapoints: c.batch_max_datapoints,
    batchMaxMs: c.batch_max_ms,
    timeoutMs: c.timeout_ms,
    retryMinMs: c.retry_min_ms,
    retryMaxMs: c.retry_max_ms,
    client: res.client,
    encoder: c.encoding === "avro" ? await avroContainerEncoder(deps.catalog) : vissJsonEncoder,
    signer: signer && ((req) => signer.signHttp(req)),
    logger: deps.logger.child("cesc"),
  });
}

async function mqttSink(config: VecConfig, deps: UplinkDeps, signer: Signer | undefined, res: Resources) {
  // The MQTT client library is loaded only for configurations that use it.
  const { MqttSink, mqttSinkOptionsFromConfig } = await import("./sinks/mqtt.ts");
  const queue = await openQueue(config, "mqtt");
  res.queues.push(queue);
  return new MqttSink(mqttSinkOptionsFromConfig(config, {
    queue,
    logger: deps.logger.child("mqtt"),
    avroCatalog: deps.catalog,
    // With security.sign, every MQTT payload travels in the signed JSON envelope.
    ...(signer ? { signer: (topic: string, body: Uint8Array | string) => signer.signMessage({ topic, body }) } : {}),
  }));
}

/**
 * Builds the configured uplinks (see the module doc). On a failure, what was opened so far is closed again.
 *
 * @param config the validated VEC config
 * @param deps the catalog and the logger
 * @throws PipelineError `config.invalid`, `security.unknown_key`, `vec.cesc.tls.*_unreadable`, `queue.open`
 */
export async function buildSinks(config: VecConfig, deps: UplinkDeps): Promise<BuiltSinks> {
  const res: Resources = { queues: [] };
  const sinks: DatapointSink[] = [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const sink of sinks) await sink.close();
    for (const q of res.queues) q.close();
    res.client?.close();
  };
  try {
    const signer = config.security.sign ? await uplinkSigner(config) : undefined;
    if (signer) {
      deps.logger.info("signing uplinks", { key_id: config.security.key_id, tag_bits: config.security.tag_bits });
    }
    if (config.cesc.url) sinks.push(await cescSink(config, deps, signer, res));
    if (mqttConfigured(config)) sinks.push(await mqttSink(config, deps, signer, res));
  } catch (e) {
    await close();
    throw e;
  }
  return { sinks, close };
}
