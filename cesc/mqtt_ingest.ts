/**
 * CESC MQTT ingest: subscribes to the vehicles' topics with an MQTT 5 shared subscription
 * (`$share/{shareGroup}/vehicles/+/#`) so several CESC instances split the load, decodes each message into raw
 * datapoints `{path, value, ts}` (topic → VSS path through the reverse topic table of `core/mqtt`, or the payload's
 * own `path`; nothing filled in: a missing `ts` stays missing) and hands them to `onData(vin, datapoints)`, which
 * validates (the CESC's one `DatapointValidator`) and stores them. A QoS 1 message is acknowledged (PUBACK) only after
 * `onData` resolved, i.e. after the OVDS commit; a failing `onData` is retried with backoff and the message is not
 * acknowledged meanwhile. The VIN is the topic's thing name (`vehicles/{vin}/…`).
 *
 * Messages that can never be stored are acknowledged (they would be refused forever): undecodable ones (not JSON, no
 * path for the topic) are counted as `rejected` (and passed to `onReject`); ones whose datapoints validation refused
 * (`onData` resolves with `refused > 0`) as `refused`. Gateway state topics (`gateway/connection_state`) and topics
 * without a VSS path are counted as `skipped`.
 *
 * @example Needs a broker (not run by the doc tests)
 * ```ts ignore
 * import { startMqttIngest } from "./mqtt_ingest.ts";
 * const ingest = await startMqttIngest({
 *   url: "mqtts://broker.example:8883",
 *   tls: { caPath: "ca.pem", certPath: "cesc.pem", keyPath: "cesc.key" },
 *   shareGroup: "cesc",
 *   onData: async (vin, datapoints) => {
 *     console.log(vin, datapoints.length);
 *     return { stored: datapoints.length, refused: 0 };
 *   },
 * });
 * console.log(ingest.stats());
 * await ingest.close();
 * ```
 * @module
 */
import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from "mqtt";
import type { RawDatapoint } from "../core/datapoint/mod.ts";
import { PipelineError } from "../core/errors/mod.ts";
import { type Logger, silentLogger } from "../core/log/mod.ts";
import {
  AVRO_CONTENT_TYPE,
  avroDecoder,
  CONNECTION_STATE_TOPIC,
  DEFAULT_VSS_TOPICS,
  jsonDecoder,
  loadMqttTls,
  type MqttTlsOptions,
  parseTopic,
  type PayloadDecoder,
  reverseTopicMap,
  TOPIC_ROOT,
} from "../core/mqtt/mod.ts";

/** TLS material for the ingest client (paths or PEM). */
export type IngestTlsOptions = MqttTlsOptions;

/** Options of {@link startMqttIngest}. */
export interface MqttIngestOptions {
  /** Broker URL, e.g. `mqtts://127.0.0.1:8883`. */
  url: string;
  /** Client TLS material. */
  tls?: IngestTlsOptions;
  /** Shared subscription group (default `cesc`); `null` subscribes without sharing. */
  shareGroup?: string | null;
  /**
   * Validates and stores one message's datapoints; the message is acknowledged when the promise resolves (with how
   * many rows were stored and how many datapoints were refused; nothing: all stored). A rejection is retried with
   * backoff.
   */
  onData: (vin: string, datapoints: RawDatapoint[]) => Promise<{ stored: number; refused: number } | void>;
  /** Called for messages acknowledged without storing (bad payloads). */
  onReject?: (error: PipelineError, topic: string, payload: Uint8Array) => void;
  /** VSS path → topic suffix (default `DEFAULT_VSS_TOPICS`), reversed for lookups. */
  topics?: Record<string, string>;
  /** Payload decoder (default: AVRO for MQTT 5 content type `application/avro`, else JSON). */
  decoder?: PayloadDecoder;
  /** Optional unwrap/verify of a signed envelope; throw a `PipelineError` to reject. */
  unwrap?: (topic: string, body: Uint8Array) => Uint8Array | Promise<Uint8Array>;
  /** Client id; when set, a persistent session keeps unacknowledged messages across reconnects. */
  clientId?: string;
  /** Session expiry with a `clientId` (default 3600 s). */
  sessionExpirySec?: number;
  /** Reconnect period (default 1000 ms). */
  reconnectMs?: number;
  /** First retry delay of a failing `onData` (default 100 ms, doubling). */
  retryMinMs?: number;
  /** Largest retry delay of a failing `onData` (default 30 s). */
  retryMaxMs?: number;
  /** Logger (default silent). */
  logger?: Logger;
}

/** Counters of a running ingest. */
export interface MqttIngestStats {
  /** True while connected to the broker. */
  connected: boolean;
  /** Messages received (including redeliveries). */
  received: number;
  /** Messages stored through `onData` and acknowledged. */
  stored: number;
  /** Datapoints stored (new rows). */
  datapoints: number;
  /** Messages acknowledged without storing because validation refused datapoints in them. */
  refused: number;
  /** Messages acknowledged without storing (undecodable payloads, failed signature checks). */
  rejected: number;
  /** Messages acknowledged without storing (state topics, topics without VSS path). */
  skipped: number;
  /** `onData` failures retried. */
  retries: number;
}

/** A running ingest. */
export interface MqttIngest {
  /** The subscription filter in use. */
  readonly filter: string;
  /** Counters. */
  stats(): MqttIngestStats;
  /** Stop: pending messages stay unacknowledged (the broker redelivers them). */
  close(): Promise<void>;
}

/**
 * Connect, subscribe with MQTT 5 and start handing messages to `onData`. Resolves once the subscription is
 * acknowledged; rejects with `mqtt.connect` when the first connection fails (bad URL, refused certificate).
 *
 * @param options broker, TLS, share group and the `onData` callback
 */
export async function startMqttIngest(options: MqttIngestOptions): Promise<MqttIngest> {
  const log = options.logger ?? silentLogger;
  const reverse = reverseTopicMap(options.topics ?? DEFAULT_VSS_TOPICS);
  // Without an explicit decoder: AVRO when the MQTT 5 content type says so, JSON otherwise.
  const pickDecoder = (packet: IPublishPacket): PayloadDecoder =>
    options.decoder ?? (packet.properties?.contentType === AVRO_CONTENT_TYPE ? avroDecoder : jsonDecoder);
  const group = options.shareGroup === undefined ? "cesc" : options.shareGroup;
  const filter = group === null ? `${TOPIC_ROOT}/+/#` : `$share/${group}/${TOPIC_ROOT}/+/#`;
  const tls = options.tls ?? {};
  const { cert, key, ca } = loadMqttTls(tls);
  const persistent = options.clientId !== undefined;
  const clientOpts: IClientOptions = {
    protocolVersion: 5,
    clientId: options.clientId ?? `cesc-ingest-${crypto.randomUUID().slice(0, 8)}`,
    clean: !persistent,
    ...(persistent ? { properties: { sessionExpiryInterval: options.sessionExpirySec ?? 3600 } } : {}),
    reconnectPeriod: options.reconnectMs ?? 1000,
    connectTimeout: 10_000,
    ...(cert !== undefined ? { cert, key } : {}),
    ...(ca !== undefined ? { ca } : {}),
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
    manualConnect: true,
  };
  const s: MqttIngestStats = {
    connected: false,
    received: 0,
    stored: 0,
    datapoints: 0,
    refused: 0,
    rejected: 0,
    skipped: 0,
    retries: 0,
  };
  let closing = false;
  let gen = 0;
  const sleepers = new Set<{ timer: ReturnType<typeof setTimeout>; resolve: () => void }>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          sleepers.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      sleepers.add(entry);
    });

  const client: MqttClient = connect(options.url, clientOpts);

  const reject = (e: unknown, topic: string, payload: Uint8Array) => {
    const err = e instanceof PipelineError
      ? e
      : new PipelineError("mqtt.payload", `cannot read the message on ${topic}: ${(e as Error).message}`, {
        cause: e,
      });
    s.rejected++;
    log.warn("mqtt message rejected", { topic, code: err.code, msg: err.message });
    options.onReject?.(err, topic, payload);
  };

  /** Returns true when the message may be acknowledged. */
  const process = async (packet: IPublishPacket, myGen: number): Promise<boolean> => {
    s.received++;
    const topic = packet.topic;
    const raw = typeof packet.payload === "string"
      ? new TextEncoder().encode(packet.payload)
      : packet.payload as Uint8Array;
    const parts = parseTopic(topic);
    if (!parts) {
      s.skipped++;
      return true;
    }
    if (parts.suffix === CONNECTION_STATE_TOPIC) {
      s.skipped++;
      return true;
    }
    let body = raw;
    if (options.unwrap) {
      try {
        body = await options.unwrap(topic, raw);
      } catch (e) {
        reject(e, topic, raw); // not authentic: acknowledged, never stored
        return true;
      }
    }
    let datapoints: RawDatapoint[];
    try {
      const path = reverse.get(parts.suffix);
      datapoints = pickDecoder(packet)(body, { path, receivedAt: Date.now() });
    } catch (e) {
      if (e instanceof PipelineError && e.code === "mqtt.payload" && !reverse.has(parts.suffix)) {
        s.skipped++; // an event topic without VSS path (gateway metrics, security counters)
        return true;
      }
      reject(e, topic, raw);
      return true;
    }
    let delay = options.retryMinMs ?? 100;
    for (;;) {
      if (closing || myGen !== gen) return false;
      try {
        const out = await options.onData(parts.thingName, datapoints);
        if (out && out.refused > 0) s.refused++;
        else {
          s.stored++;
          s.datapoints += out ? out.stored : datapoints.length;
        }
        return true;
      } catch (e) {
        s.retries++;
        log.error("mqtt ingest: storing failed, retrying", { err: e, topic, retryInMs: delay });
        await sleep(delay);
        delay = Math.min(delay * 2, options.retryMaxMs ?? 30_000);
      }
    }
  };

  // mqtt.js sends the PUBACK of a QoS 1 message when this callback is called (MQTT 3.1.1 and 5 alike).
  client.handleMessage = (packet, callback) => {
    const myGen = gen;
    process(packet as IPublishPacket, myGen).then((ack) => {
      if (ack && !closing && myGen === gen) callback();
    }, (e) => log.error("mqtt ingest: unexpected failure", { err: e }));
  };
  client.on("connect", () => {
    s.connected = true;
    log.info("mqtt ingest connected", { url: options.url, filter });
  });
  client.on("close", () => {
    s.connected = false;
    gen++;
  });

  await new Promise<void>((resolve, rejectStart) => {
    let first = true;
    const fail = (err: Error) => {
      if (!first) return;
      first = false;
      closing = true;
      client.end(true);
      rejectStart(
        new PipelineError("mqtt.connect", `cannot connect to ${options.url}: ${err.message}`, { cause: err }),
      );
    };
    client.once("connect", async () => {
      try {
        const granted = await client.subscribeAsync(filter, { qos: 1 });
        if (granted.some((g) => g.qos > 2)) throw new Error(`subscription to ${filter} refused by the broker`);
        first = false;
        resolve();
      } catch (e) {
        fail(e as Error);
      }
    });
    client.on("error", (err) => {
      log.warn("mqtt ingest error", { err });
      fail(err);
    });
    client.once("close", () => fail(new Error("connection closed before the subscription")));
    client.connect();
  });

  return {
    filter,
    stats: () => ({ ...s }),
    async close() {
      if (closing) return;
      closing = true;
      for (const e of sleepers) {
        clearTimeout(e.timer);
        e.resolve();
      }
      sleepers.clear();
      await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
    },
  };
}
