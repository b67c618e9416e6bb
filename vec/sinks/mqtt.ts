/**
 * MQTT publisher of the VEC: the ESP CAN gateway's cloud link (AWS IoT Core style).
 *
 * - MQTT 3.1.1 (`protocolVersion: 4`) or 5 (default), plain or mutual TLS (client certificate + key + CA; ECC
 *   P-256 recommended, RSA accepted). `mqttSinkOptionsFromConfig` reads the ESP gateway's `config.json` keys
 *   (`endpoint`, `thing_name`, `client_id`, `cert_path`, `key_path`, `ca_path`) plus an optional `mqtt` section.
 * - Topics `vehicles/{thing_name}/…` with per-topic QoS, minimum interval and retain (`core/mqtt`). QoS 0 for
 *   telemetry, QoS 1 for DTCs and connection events. `gateway/connection_state` is published retained
 *   (`connected`) and registered as the retained Last Will (`disconnected`).
 * - QoS 1 messages are written to the offline queue (`core/queue`, on disk when `queuePath` is given) before
 *   they are sent and deleted only after the broker's PUBACK. Selected QoS 0 topics (policy `queue: true`) are
 *   queued while disconnected. The queue is drained in order on (re)connect at `drainRatePerSec` (default 100,
 *   the AWS IoT Core per-connection limit) with at most `maxInflight` unacknowledged messages. After a restart
 *   everything not acknowledged is sent again (at-least-once).
 * - Reconnect with exponential backoff and "equal" jitter between `reconnectMinMs` and `reconnectMaxMs`.
 * - Payloads: JSON by default, AVRO with `mqtt.encoding: "avro"` (`avroEncoder` of `core/mqtt`), or any
 *   {@link PayloadEncoder}; an optional `signer(topic, body)` wraps each body
 *   (e.g. the `core/security` envelope). Bodies over `maxPayloadBytes` (128 KiB, the AWS IoT Core limit) are
 *   refused with `mqtt.payload_too_large`.
 * - Live QoS 0 packets are encoded into one buffer per task and written with one socket write.
 *
 * User documentation: `docs/mqtt.md`.
 *
 * @example
 * ```ts
 * import { MqttSink } from "./mqtt.ts";
 * const sink = new MqttSink({
 *   endpoint: "xxxxxxxx-ats.iot.eu-west-1.amazonaws.com",
 *   thingName: "gw-1",
 *   tls: { certPath: "certs/certificate.pem.crt", keyPath: "certs/private.pem.key", caPath: "certs/AmazonRootCA1.pem" },
 *   queuePath: "state/mqtt-queue.db",
 * });
 * await sink.start();
 * sink.publish("Vehicle.Speed", 55, Date.now());
 * sink.publishEvent("diagnostics/dtc", { codes: ["P0300"] }, { qos: 1 });
 * console.log(sink.stats());
 * await sink.close();
 * ```
 * @module
 */
import { connect, type IClientOptions, type IClientPublishOptions, type MqttClient, Store } from "mqtt";
import { z } from "zod";
import { PipelineError } from "../../core/errors/mod.ts";
import { type Logger, silentLogger } from "../../core/log/mod.ts";
import type { CatalogLike } from "../../core/codec/mod.ts";
import {
  avroEncoder,
  CONNECTION_STATE_TOPIC,
  jsonEncoder,
  loadMqttTls,
  type MqttTlsOptions,
  type MqttValue,
  type PayloadEncoder,
  type TopicPolicy,
  type TopicRoute,
  TopicTable,
} from "../../core/mqtt/mod.ts";
import { Qos0Writer } from "./mqtt_packet.ts";
import {
  DiskQueue,
  MemoryQueue,
  type MessageQueue,
  payloadSize,
  type PushItem,
  type QueueStats,
} from "../../core/queue/mod.ts";

/** AWS IoT Core's largest MQTT payload. */
export const MAX_PAYLOAD_BYTES = 128 * 1024;

export type { MqttTlsOptions };

/** Wraps a body before it is sent (e.g. a signed envelope). */
export type MqttSigner = (topic: string, body: Uint8Array | string) => Uint8Array | string;

/** One datapoint given to {@link MqttSink.publishDatapoints}. */
export interface SinkDatapoint {
  /** VSS path. */
  path: string;
  /** Value (VISS string or raw). */
  value: MqttValue;
  /** ms since the epoch or ISO 8601. */
  ts: number | string;
}

/** Options of {@link MqttSink}. */
export interface MqttSinkOptions {
  /** Broker URL (`mqtts://host:8883`, `mqtt://127.0.0.1:1883`); default `mqtts://{endpoint}:{port ?? 8883}`. */
  url?: string;
  /** Broker host name (the ESP config's `endpoint`). */
  endpoint?: string;
  /** Broker port with `endpoint` (default 8883). */
  port?: number;
  /** Thing name: the second topic level. */
  thingName: string;
  /** MQTT client id (default: the thing name). */
  clientId?: string;
  /** 4 = MQTT 3.1.1, 5 = MQTT 5 (default). */
  protocolVersion?: 4 | 5;
  /** Mutual TLS material. */
  tls?: MqttTlsOptions;
  /** Keep-alive in seconds (default 30). */
  keepaliveSec?: number;
  /** CONNACK timeout (default 10 000 ms). */
  connectTimeoutMs?: number;
  /** Topic map and policies. */
  topics?: ConstructorParameters<typeof TopicTable>[1];
  /** Offline queue; default a {@link DiskQueue} at `queuePath`, else an in-memory queue. */
  queue?: MessageQueue;
  /** SQLite file of the offline queue (ignored with `queue`). */
  queuePath?: string;
  /** Byte bound of the offline queue (default 64 MiB). */
  queueMaxBytes?: number;
  /** Age bound of the offline queue (default 7 days). */
  queueMaxAgeMs?: number;
  /** Queue drain rate (publishes per second, default 100). `Infinity` disables throttling. */
  drainRatePerSec?: number;
  /** Unacknowledged queued publishes at a time (default 20). */
  maxInflight?: number;
  /** Bytes buffered in the socket above which live QoS 0 publishes are dropped (default 8 MiB). */
  maxBufferedBytes?: number;
  /** Reconnect backoff lower bound (default 1000 ms). */
  reconnectMinMs?: number;
  /** Reconnect backoff upper bound (default 120 000 ms). */
  reconnectMaxMs?: number;
  /** A connection must last this long before the backoff starts over from `reconnectMinMs` (default 10 000 ms). */
  backoffResetMs?: number;
  /** Largest body after encoding and signing (default {@link MAX_PAYLOAD_BYTES}). */
  maxPayloadBytes?: number;
  /** Payload encoder (default JSON). */
  encoder?: PayloadEncoder;
  /** Optional envelope hook applied to every body. */
  signer?: MqttSigner;
  /** Logger (default silent). */
  logger?: Logger;
  /** Random source in [0,1) for the jitter (tests). */
  random?: () => number;
  /** Monotonic ms clock for rate limits (tests; default `performance.now`). */
  clock?: () => number;
}

/** Counters of {@link MqttSink.stats}. */
export interface MqttSinkStats {
  /** `idle`, `connecting`, `connected`, `backoff`, `closed`. */
  state: string;
  /** True while connected to the broker. */
  connected: boolean;
  /** Successful connections so far. */
  connects: number;
  /** Connection attempts that failed or connections that dropped. */
  disconnects: number;
  /** Live QoS 0 publishes handed to the socket. */
  sentLive: number;
  /** Messages written to the offline queue. */
  queued: number;
  /** Queued messages acknowledged (PUBACK for QoS 1, written for QoS 0) and deleted. */
  drained: number;
  /** Queued messages sent and not yet acknowledged. */
  inflight: number;
  /** Values replaced by a newer one within a topic's minimum interval. */
  coalesced: number;
  /** QoS 0 values dropped while disconnected (topics without `queue`). */
  droppedOffline: number;
  /** QoS 0 values dropped because more than `maxBufferedBytes` waited in the socket. */
  droppedBackpressure: number;
  /** Datapoints whose path has no topic. */
  unmapped: number;
  /** Bodies refused for size. */
  refused: number;
  /** Queued messages the broker refused with an MQTT 5 reason code (deleted, not retried). */
  refusedByBroker: number;
  /** The offline queue (its `dropped` counts drop-oldest). */
  queue: QueueStats;
  /** Same as `queue.depth` (flat, for `/metrics`). */
  queueDepth: number;
  /** Same as `queue.bytes`. */
  queueBytes: number;
  /** Same as `queue.dropped`: messages lost to the byte/age bounds. */
  queueDropped: number;
  /** Same as `queue.oldestAgeMs`. */
  queueOldestAgeMs: number;
  /** Last connection error message, if any. */
  lastError?: string;
}

/** Reads `ms` in the next backoff step: `base = min(max, min·2^attempt)`, delay uniform in `[base/2, base]`. */
export function backoffDelay(attempt: number, options: { minMs: number; maxMs: number; random: () => number }): number {
  const base = Math.min(options.maxMs, options.minMs * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + options.random() * (base / 2));
}

/** mqtt.js store that keeps nothing: the offline queue owns unacknowledged QoS 1 messages. */
class NullStore extends Store {
  override put(_packet: unknown, cb: () => void): this {
    cb();
    return this;
  }
  override del(packet: { messageId?: number }, cb: (err?: Error, packet?: never) => void): this {
    cb(undefined, packet as never);
    return this;
  }
}

interface Held {
  value: MqttValue;
  ts: number | string;
  timer: ReturnType<typeof setTimeout>;
}

interface RouteState {
  route: TopicRoute;
  lastSentAt: number;
  held?: Held;
  prefix?: string;
}

const STATE_CONNECTED = "connected";

/** The VEC's MQTT publisher. */
export class MqttSink {
  /** Sink name (for `/health`). */
  readonly name = "mqtt";
  readonly #o: MqttSinkOptions;
  readonly #table: TopicTable;
  readonly #queue: MessageQueue;
  readonly #ownsQueue: boolean;
  readonly #encoder: PayloadEncoder;
  readonly #signer?: MqttSigner;
  readonly #log: Logger;
  readonly #maxPayload: number;
  readonly #drainRate: number;
  readonly #maxInflight: number;
  readonly #maxBuffered: number;
  readonly #random: () => number;
  readonly #clock: () => number;
  readonly #routes = new Map<string, RouteState>();
  readonly #events = new Map<string, RouteState>();
  readonly #url: string;
  readonly #stateTopic: string;
  readonly #clientId: string;
  #client?: MqttClient;
  #state = "idle";
  #gen = 0;
  #attempt = 0;
  #connectedAt = 0;
  #reconnectTimer?: ReturnType<typeof setTimeout>;
  #drainTimer?: ReturnType<typeof setTimeout>;
  #cursor = 0;
  #inflight = 0;
  #acks: number[] = [];
  #tokens = 0;
  #tokensAt = 0;
  /** The queue may hold items: live QoS 0 of queued topics then goes through it too, to keep order. */
  #backlog = true;
  #finalQueueStats?: QueueStats;
  #toQueue: PushItem[] = [];
  readonly #commitQueued = () => {
    if (this.#toQueue.length === 0) return;
    const items = this.#toQueue;
    this.#toQueue = [];
    try {
      this.#queue.pushMany(items);
    } catch (e) {
      this.#s.queued -= items.length;
      this.#log.error("mqtt offline queue write failed", { err: e, messages: items.length });
    }
    if (this.#state === STATE_CONNECTED) this.#scheduleDrain(0);
  };
  #corked = false;
  #connectedWaiters: (() => void)[] = [];
  readonly #writer: Qos0Writer;
  #qos0Opts: IClientPublishOptions;
  #s = {
    connects: 0,
    disconnects: 0,
    sentLive: 0,
    queued: 0,
    drained: 0,
    coalesced: 0,
    droppedOffline: 0,
    droppedBackpressure: 0,
    unmapped: 0,
    refused: 0,
    refusedByBroker: 0,
    lastError: undefined as string | undefined,
  };

  /**
   * Validates the options and opens the offline queue; {@link MqttSink.start} connects.
   *
   * @param options connection, topics, queue and payload options
   */
  constructor(options: MqttSinkOptions) {
    this.#o = options;
    this.#table = new TopicTable(options.thingName, options.topics);
    this.#clientId = options.clientId ?? options.thingName;
    if (options.url) this.#url = options.url;
    else if (options.endpoint) this.#url = `mqtts://${options.endpoint}:${options.port ?? 8883}`;
    else {
      throw new PipelineError("mqtt.config", "MQTT needs a broker: set `endpoint` (config.json) or `url`", {
        path: "endpoint",
      });
    }
    this.#encoder = options.encoder ?? jsonEncoder;
    this.#signer = options.signer;
    this.#log = options.logger ?? silentLogger;
    this.#maxPayload = options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES;
    this.#drainRate = options.drainRatePerSec ?? 100;
    if (!(this.#drainRate > 0)) {
      throw new PipelineError("mqtt.config", "drainRatePerSec must be > 0", { path: "mqtt.drain_rate_per_sec" });
    }
    this.#maxInflight = Math.max(1, options.maxInflight ?? 20);
    this.#maxBuffered = options.maxBufferedBytes ?? 8 * 1024 * 1024;
    this.#random = options.random ?? Math.random;
    this.#clock = options.clock ?? (() => performance.now());
    this.#stateTopic = this.#table.forSuffix(CONNECTION_STATE_TOPIC).topic;
    if (options.queue) {
      this.#queue = options.queue;
      this.#ownsQueue = false;
    } else {
      const qo = {
        maxBytes: options.queueMaxBytes ?? 64 * 1024 * 1024,
        maxAgeMs: options.queueMaxAgeMs ?? 7 * 86_400_000,
        name: `mqtt:${this.#clientId}`,
      };
      this.#queue = options.queuePath ? DiskQueue.open(options.queuePath, qo) : new MemoryQueue(qo);
      this.#ownsQueue = true;
    }
    const props = (options.protocolVersion ?? 5) === 5 ? { contentType: this.#encoder.contentType } : undefined;
    this.#qos0Opts = props ? { qos: 0, retain: false, properties: props } : { qos: 0, retain: false };
    this.#writer = new Qos0Writer((chunk, packets) => {
      const client = this.#client;
      if (!client || this.#state !== STATE_CONNECTED) {
        this.#s.sentLive -= packets;
        this.#s.droppedOffline += packets;
        return;
      }
      client.stream.write(chunk);
    }, { version: options.protocolVersion ?? 5, contentType: props?.contentType });
  }

  /** The broker URL in use. */
  get url(): string {
    return this.#url;
  }

  /** The topic table in use. */
  get topics(): TopicTable {
    return this.#table;
  }

  #clientOptions(): IClientOptions {
    const o = this.#o;
    const tls = o.tls ?? {};
    const { cert, key, ca } = loadMqttTls(tls);
    const version = o.protocolVersion ?? 5;
    return {
      clientId: this.#clientId,
      protocolVersion: version,
      clean: true,
      keepalive: o.keepaliveSec ?? 30,
      connectTimeout: o.connectTimeoutMs ?? 10_000,
      reconnectPeriod: 0,
      queueQoSZero: false,
      outgoingStore: new NullStore(),
      incomingStore: new Store(),
      ...(cert !== undefined ? { cert, key } : {}),
      ...(ca !== undefined ? { ca } : {}),
      rejectUnauthorized: tls.rejectUnauthorized ?? true,
      ...(tls.servername ? { servername: tls.servername } : {}),
      will: {
        topic: this.#stateTopic,
        payload: new TextEncoder().encode(
          JSON.stringify({ state: "disconnected", clientId: this.#clientId, reason: "last-will" }),
        ) as unknown as Buffer,
        qos: 1,
        retain: true,
      },
    };
  }

  /**
   * Connect and resolve once connected (or once the first attempt failed: the sink keeps retrying in the
   * background and queues meanwhile). Throws only for configuration errors (unreadable certificates).
   */
  async start(): Promise<void> {
    if (this.#client) return;
    const opts = this.#clientOptions();
    this.#state = "connecting";
    let client: MqttClient;
    try {
      client = connect(this.#url, opts);
    } catch (e) {
      this.#state = "idle";
      throw new PipelineError("mqtt.config", `cannot use broker URL ${this.#url}: ${(e as Error).message}`, {
        path: "mqtt.url",
        cause: e,
      });
    }
    this.#client = client;
    client.on("connect", () => this.#onConnect());
    client.on("close", () => this.#onClose());
    client.on("error", (err) => {
      this.#s.lastError = err.message;
      this.#log.warn("mqtt error", { err, url: this.#url });
    });
    await new Promise<void>((resolve) => {
      let settled = false;
      const done = () => {
        if (!settled) {
          settled = true;
          client.off("close", done);
          resolve();
        }
      };
      this.#connectedWaiters.push(done);
      client.on("close", done);
    });
  }

  /** Resolves when connected (or immediately when already connected). */
  waitConnected(): Promise<void> {
    if (this.#state === STATE_CONNECTED) return Promise.resolve();
    return new Promise((resolve) => this.#connectedWaiters.push(resolve));
  }

  #onConnect(): void {
    this.#state = STATE_CONNECTED;
    this.#s.connects++;
    this.#connectedAt = this.#clock();
    this.#log.info("mqtt connected", { url: this.#url, clientId: this.#clientId });
    this.#client!.publish(
      this.#stateTopic,
      JSON.stringify({ state: "connected", clientId: this.#clientId, ts: new Date().toISOString() }),
      { qos: 1, retain: true },
    );
    this.#tokens = 0;
    this.#tokensAt = this.#clock();
    this.#scheduleDrain(0);
    const waiters = this.#connectedWaiters;
    this.#connectedWaiters = [];
    for (const w of waiters) w();
  }

  #onClose(): void {
    if (this.#state === "closed") return;
    const wasConnected = this.#state === STATE_CONNECTED;
    // The backoff starts over only after a connection that lasted (not one the broker drops at once).
    if (wasConnected && this.#clock() - this.#connectedAt >= (this.#o.backoffResetMs ?? 10_000)) this.#attempt = 0;
    this.#state = "backoff";
    this.#s.disconnects++;
    // Everything sent but not acknowledged is still in the queue: start over from its head.
    this.#gen++;
    const lost = this.#writer.discard();
    this.#s.sentLive -= lost;
    this.#s.droppedOffline += lost;
    this.#cursor = 0;
    this.#inflight = 0;
    this.#flushAcks();
    if (this.#drainTimer !== undefined) {
      clearTimeout(this.#drainTimer);
      this.#drainTimer = undefined;
    }
    const client = this.#client!;
    for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
    if (this.#reconnectTimer !== undefined) return;
    const delay = backoffDelay(this.#attempt++, {
      minMs: this.#o.reconnectMinMs ?? 1000,
      maxMs: this.#o.reconnectMaxMs ?? 120_000,
      random: this.#random,
    });
    if (wasConnected) this.#log.warn("mqtt disconnected", { url: this.#url, retryInMs: delay });
    this.#reconnectTimer = setTimeout(() => this.#reconnect(), delay);
  }

  #reconnect(): void {
    this.#reconnectTimer = undefined;
    if (this.#state === "closed" || !this.#client) return;
    this.#state = "connecting";
    this.#client.reconnect({ incomingStore: new Store(), outgoingStore: new NullStore() });
  }

  /**
   * Skip the rest of the current backoff delay and try to connect now (e.g. when the network came back).
   * Does nothing unless the sink is waiting to reconnect.
   */
  reconnectNow(): void {
    if (this.#state !== "backoff" || this.#reconnectTimer === undefined) return;
    clearTimeout(this.#reconnectTimer);
    this.#reconnect();
  }

  #body(route: RouteState, value: MqttValue, ts: number | string): Uint8Array | string {
    let body = this.#encoder.encode(route.route.path, value, ts);
    if (this.#signer) body = this.#signer(route.route.topic, body);
    this.#checkSize(body, route.route.topic);
    return body;
  }

  #checkSize(body: Uint8Array | string, topic: string): void {
    // A string's UTF-8 length is at most 3 × its length: only count when it could be too big.
    const n = typeof body === "string" ? (body.length * 3 <= this.#maxPayload ? 0 : payloadSize(body)) : body.length;
    if (n > this.#maxPayload) {
      this.#s.refused++;
      throw new PipelineError(
        "mqtt.payload_too_large",
        `payload for ${topic} is ${n} bytes; the limit is ${this.#maxPayload} bytes (AWS IoT Core: 128 KiB): ` +
          "split the data or use a more compact encoding",
        { path: topic },
      );
    }
  }

  #routeState(path: string): RouteState | undefined {
    let st = this.#routes.get(path);
    if (!st) {
      const route = this.#table.forPath(path);
      if (!route) return undefined;
      st = { route, lastSentAt: -Infinity };
      this.#routes.set(path, st);
    }
    return st;
  }

  /**
   * Publish one VSS datapoint to its topic. Returns false when the path has no topic (counted as
   * `unmapped`) or the value was held back by the topic's minimum interval (the newest held value is sent
   * when the interval ends).
   *
   * @param path VSS path
   * @param value value
   * @param ts ms since the epoch or ISO 8601 (default now)
   */
  publish(path: string, value: MqttValue, ts: number | string = Date.now()): boolean {
    const st = this.#routeState(path);
    if (!st) {
      this.#s.unmapped++;
      return false;
    }
    return this.#offer(st, value, ts);
  }

  #offer(st: RouteState, value: MqttValue, ts: number | string): boolean {
    const interval = st.route.minIntervalMs;
    if (interval > 0) {
      const now = this.#clock();
      if (st.held) {
        st.held.value = value;
        st.held.ts = ts;
        this.#s.coalesced++;
        return false;
      }
      const wait = st.lastSentAt + interval - now;
      if (wait > 0) {
        st.held = { value, ts, timer: setTimeout(() => this.#releaseHeld(st), wait) };
        return false;
      }
      st.lastSentAt = now;
    }
    this.#send(st.route, this.#body(st, value, ts));
    return true;
  }

  #releaseHeld(st: RouteState): void {
    const h = st.held;
    if (!h) return;
    st.held = undefined;
    st.lastSentAt = this.#clock();
    try {
      this.#send(st.route, this.#body(st, h.value, h.ts));
    } catch (e) {
      this.#log.warn("mqtt held value refused", { err: e, topic: st.route.topic });
    }
  }

  /** Publish several datapoints (VISS form or raw); same rules as {@link publish}. Returns how many were sent. */
  publishDatapoints(datapoints: readonly SinkDatapoint[]): number {
    let n = 0;
    for (let i = 0; i < datapoints.length; i++) {
      const dp = datapoints[i];
      if (this.publish(dp.path, dp.value, dp.ts)) n++;
    }
    return n;
  }

  /** The `DatapointSink` entry point of the VEC pipeline: same as {@link publishDatapoints}. */
  write(datapoints: readonly SinkDatapoint[]): void {
    this.publishDatapoints(datapoints);
  }

  /**
   * Publish an event or gateway metric to a topic suffix (e.g. `diagnostics/dtc`, `gateway/uptime`).
   * Objects are sent as JSON, strings and bytes as they are (then through the signer). QoS 1 goes through the
   * offline queue.
   *
   * @param suffix topic below `vehicles/{thing_name}/`
   * @param payload object, string or bytes
   * @param options QoS and retain (default: the topic's policy)
   */
  publishEvent(suffix: string, payload: unknown, options: { qos?: 0 | 1; retain?: boolean } = {}): void {
    let st = this.#events.get(suffix);
    if (!st) {
      st = { route: this.#table.forSuffix(suffix), lastSentAt: -Infinity };
      this.#events.set(suffix, st);
    }
    let route = st.route;
    if (
      (options.qos !== undefined && options.qos !== route.qos) ||
      (options.retain !== undefined && options.retain !== route.retain)
    ) {
      const qos = options.qos ?? route.qos;
      route = { ...route, qos, retain: options.retain ?? route.retain, queue: route.queue || qos === 1 };
    }
    let body: Uint8Array | string = typeof payload === "string" || payload instanceof Uint8Array
      ? payload
      : JSON.stringify(payload);
    if (this.#signer) body = this.#signer(route.topic, body);
    this.#checkSize(body, route.topic);
    this.#send(route, body);
  }

  #send(route: TopicPolicy & { topic: string }, body: Uint8Array | string): void {
    const connected = this.#state === STATE_CONNECTED;
    if (route.qos === 1 || (route.queue && (!connected || this.#backlog))) {
      // Written to the queue in one transaction at the end of this task (before any I/O callback can run).
      this.#toQueue.push({ payload: body, key: route.topic, meta: { qos: route.qos, retain: route.retain } });
      if (this.#toQueue.length === 1) queueMicrotask(this.#commitQueued);
      this.#s.queued++;
      this.#backlog = true;
      return;
    }
    if (!connected) {
      this.#s.droppedOffline++;
      return;
    }
    const client = this.#client!;
    if (this.#buffered(client) + this.#writer.pendingBytes > this.#maxBuffered) {
      this.#s.droppedBackpressure++;
      return;
    }
    this.#s.sentLive++;
    this.#writer.append(route.topic, body, route.retain);
  }

  /** Coalesce the packets written in this task into one socket write (mqtt-packet writes each field). */
  #cork(client: MqttClient): void {
    if (this.#corked) return;
    const stream = client.stream as unknown as { cork?: () => void; uncork?: () => void };
    if (!stream?.cork) return;
    this.#corked = true;
    stream.cork();
    queueMicrotask(() => {
      this.#corked = false;
      stream.uncork!();
    });
  }

  #buffered(client: MqttClient): number {
    return (client.stream as unknown as { writableLength?: number })?.writableLength ?? 0;
  }

  #scheduleDrain(delayMs: number): void {
    if (this.#drainTimer !== undefined || this.#state !== STATE_CONNECTED) return;
    this.#drainTimer = setTimeout(() => {
      this.#drainTimer = undefined;
      this.#drain();
    }, delayMs);
  }

  #flushAcks(): void {
    if (this.#acks.length === 0) return;
    const ids = this.#acks;
    this.#acks = [];
    try {
      this.#s.drained += this.#queue.ack(ids);
    } catch (e) {
      this.#log.error("mqtt queue ack failed", { err: e });
    }
  }

  #drain(): void {
    this.#flushAcks();
    if (this.#state !== STATE_CONNECTED) return;
    const free = this.#maxInflight - this.#inflight;
    if (free <= 0) return; // an acknowledgement schedules the next step
    let budget = free;
    if (this.#drainRate !== Infinity) {
      const now = this.#clock();
      const burst = Math.max(1, Math.ceil(this.#drainRate / 20));
      this.#tokens = Math.min(burst, this.#tokens + ((now - this.#tokensAt) * this.#drainRate) / 1000);
      this.#tokensAt = now;
      if (this.#tokens < 1) {
        this.#scheduleDrain(Math.ceil(((1 - this.#tokens) * 1000) / this.#drainRate));
        return;
      }
      budget = Math.min(budget, Math.floor(this.#tokens));
    }
    const items = this.#queue.peek(budget, { afterId: this.#cursor });
    const client = this.#client!;
    this.#cork(client);
    const gen = this.#gen;
    let sent = 0;
    for (const item of items) {
      const meta = item.meta as { qos?: number; retain?: boolean } | undefined;
      const qos = meta?.qos === 1 ? 1 : 0;
      const id = item.id;
      this.#cursor = id;
      this.#inflight++;
      sent++;
      client.publish(
        item.key!,
        item.payload as string,
        {
          qos,
          retain: meta?.retain === true,
          ...(this.#qos0Opts.properties ? { properties: this.#qos0Opts.properties } : {}),
        },
        (err) => {
          if (gen !== this.#gen) return; // connection replaced: the item is sent again from the queue
          this.#inflight--;
          if (!err) this.#acks.push(id);
          else if (typeof (err as { code?: unknown }).code === "number") {
            // the broker refused this message (MQTT 5 PUBACK reason code): retrying cannot help
            this.#acks.push(id);
            this.#s.refusedByBroker++;
            this.#log.warn("mqtt broker refused a message", { topic: item.key, err });
          }
          if (this.#acks.length >= 64 || this.#inflight === 0) this.#flushAcks();
          this.#scheduleDrain(0);
        },
      );
    }
    if (this.#drainRate !== Infinity) this.#tokens -= sent;
    if (this.#inflight === 0 && items.length === 0) this.#backlog = false;
    if (sent > 0 && sent === budget) this.#scheduleDrain(0);
  }

  #queueStats(): QueueStats {
    if (this.#state === "closed" && this.#finalQueueStats) return this.#finalQueueStats;
    try {
      return this.#queue.stats();
    } catch (e) {
      // the owner closed a shared queue before us
      if (e instanceof PipelineError && e.code === "queue.closed" && this.#finalQueueStats) {
        return this.#finalQueueStats;
      }
      throw e;
    }
  }

  /** Counters and the queue's state. */
  stats(): MqttSinkStats {
    this.#commitQueued();
    const queue = this.#queueStats();
    return {
      state: this.#state,
      connected: this.#state === STATE_CONNECTED,
      connects: this.#s.connects,
      disconnects: this.#s.disconnects,
      sentLive: this.#s.sentLive,
      queued: this.#s.queued,
      drained: this.#s.drained,
      inflight: this.#inflight,
      coalesced: this.#s.coalesced,
      droppedOffline: this.#s.droppedOffline,
      droppedBackpressure: this.#s.droppedBackpressure,
      unmapped: this.#s.unmapped,
      refused: this.#s.refused,
      refusedByBroker: this.#s.refusedByBroker,
      queue,
      queueDepth: queue.depth,
      queueBytes: queue.bytes,
      queueDropped: queue.dropped,
      queueOldestAgeMs: queue.oldestAgeMs,
      ...(this.#s.lastError ? { lastError: this.#s.lastError } : {}),
    };
  }

  /**
   * Resolves true when the offline queue is empty, nothing is in flight and every live QoS 0 publish was
   * written to the socket; false after `timeoutMs`.
   *
   * @param timeoutMs upper bound (default 10 000)
   */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      this.#commitQueued();
      this.#flushAcks();
      if (
        this.#inflight === 0 && this.#queue.stats().depth === 0 && this.#writer.pendingBytes === 0 &&
        (!this.#client || this.#buffered(this.#client) === 0)
      ) return true;
      if (Date.now() >= end) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /**
   * Drain for up to `drainMs` (default 2000), publish the retained `disconnected` state, disconnect
   * gracefully (no Last Will) and close the queue. What is not acknowledged stays in a disk queue.
   */
  async close(options: { drainMs?: number } = {}): Promise<void> {
    if (this.#state === "closed") return;
    this.#commitQueued();
    const client = this.#client;
    if (client && this.#state === STATE_CONNECTED) {
      await this.flush(options.drainMs ?? 2000);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        client.publish(
          this.#stateTopic,
          JSON.stringify({ state: "disconnected", clientId: this.#clientId, ts: new Date().toISOString() }),
          { qos: 1, retain: true },
          () => {
            clearTimeout(t);
            resolve();
          },
        );
      });
    }
    this.#state = "closed";
    this.#gen++;
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#drainTimer);
    this.#reconnectTimer = this.#drainTimer = undefined;
    for (const st of [...this.#routes.values(), ...this.#events.values()]) {
      if (st.held) clearTimeout(st.held.timer);
      st.held = undefined;
    }
    this.#flushAcks();
    if (client) {
      for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => client.end(true, {}, () => resolve()), 2000);
        client.end(false, {}, () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    for (const w of this.#connectedWaiters) w();
    this.#connectedWaiters = [];
    this.#finalQueueStats = this.#queue.stats();
    if (this.#ownsQueue) this.#queue.close();
  }
}

const policySchema = z.strictObject({
  qos: z.union([z.literal(0), z.literal(1)]).optional(),
  minIntervalMs: z.number().min(0).optional(),
  retain: z.boolean().optional(),
  queue: z.boolean().optional(),
});

/** Schema of the `mqtt` section of `config.json` (all keys optional). */
export const mqttConfigSchema = z.strictObject({
  /** Set false to keep the MQTT sink off although `endpoint` is set. */
  enabled: z.boolean().optional(),
  /** Broker URL; overrides `mqtts://{endpoint}:{port}`. */
  url: z.url({ protocol: /^(mqtts?|wss?|tcp|ssl)$/ }).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  protocol_version: z.union([z.literal(4), z.literal(5)]).optional(),
  /** VSS path → topic suffix, merged over the default table. */
  topics: z.record(z.string().min(1), z.string().min(1)).optional(),
  /** Per-suffix policy overrides, e.g. `{"engine/rpm": {"minIntervalMs": 200}}`. */
  policies: z.record(z.string().min(1), policySchema).optional(),
  drain_rate_per_sec: z.number().positive().optional(),
  max_inflight: z.number().int().min(1).max(65535).optional(),
  reconnect_min_ms: z.number().int().min(1).optional(),
  reconnect_max_ms: z.number().int().min(1).optional(),
  max_payload_bytes: z.number().int().min(1).max(268_435_455).optional(),
  keepalive_sec: z.number().int().min(0).max(65535).optional(),
  /** Payload encoding (default `json`); `avro` needs the signals' VSS datatypes (the catalog). */
  encoding: z.enum(["json", "avro"]).optional(),
});

/** The `mqtt` section of `config.json`. */
export type MqttConfigSection = z.infer<typeof mqttConfigSchema>;

/** The ESP gateway's `config.json` keys plus the `mqtt` section read by {@link mqttSinkOptionsFromConfig}. */
export interface EspMqttConfig {
  /** Broker host (AWS IoT Core data endpoint). */
  endpoint?: string;
  /** Thing name: the second topic level (default `can-gateway`). */
  thing_name?: string;
  /** MQTT client id (default: the thing name). */
  client_id?: string;
  /** Client certificate (PEM). */
  cert_path?: string;
  /** Client private key (PEM). */
  key_path?: string;
  /** CA certificate(s) (PEM). */
  ca_path?: string;
  /** Validated with {@link mqttConfigSchema}. */
  mqtt?: Record<string, unknown>;
}

/** Validates the `mqtt` section; errors name the key (`config.invalid`, path `mqtt.<key>`). */
export function parseMqttConfig(section: unknown): MqttConfigSection {
  const r = mqttConfigSchema.safeParse(section ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `mqtt${i.path.length ? "." + i.path.join(".") : ""}: ${i.message}`);
  throw new PipelineError("config.invalid", `config: ${issues.join("; ")}`, {
    path: ["mqtt", ...(r.error.issues[0]?.path ?? [])].join("."),
  });
}

/** True when the config asks for an MQTT sink: `endpoint` or `mqtt.url` set and `mqtt.enabled` not false. */
export function mqttConfigured(config: EspMqttConfig): boolean {
  const m = parseMqttConfig(config.mqtt);
  return m.enabled !== false && Boolean(config.endpoint || m.url);
}

/**
 * Build {@link MqttSinkOptions} from the ESP gateway's `config.json` (relative certificate paths are resolved
 * against `baseDir` when given, else used as they are).
 *
 * @param config parsed config.json
 * @param extra `baseDir`, `avroCatalog` (VSS datatypes for `encoding: "avro"`), queue and anything else to set
 */
export function mqttSinkOptionsFromConfig(
  config: EspMqttConfig,
  extra: Partial<MqttSinkOptions> & { baseDir?: string; avroCatalog?: CatalogLike } = {},
): MqttSinkOptions {
  const { baseDir, avroCatalog, ...rest } = extra;
  const abs = (p?: string) => p === undefined ? undefined : p.startsWith("/") || !baseDir ? p : `${baseDir}/${p}`;
  const m = parseMqttConfig(config.mqtt);
  const thingName = config.thing_name ?? "can-gateway";
  const certPath = abs(config.cert_path);
  const keyPath = abs(config.key_path);
  const caPath = abs(config.ca_path);
  return {
    url: m.url,
    endpoint: config.endpoint,
    port: m.port,
    thingName,
    clientId: config.client_id ?? thingName,
    protocolVersion: m.protocol_version ?? 5,
    tls: certPath || keyPath || caPath ? { certPath, keyPath, caPath } : undefined,
    topics: { map: m.topics, policies: m.policies },
    drainRatePerSec: m.drain_rate_per_sec,
    maxInflight: m.max_inflight,
    reconnectMinMs: m.reconnect_min_ms,
    reconnectMaxMs: m.reconnect_max_ms,
    maxPayloadBytes: m.max_payload_bytes,
    keepaliveSec: m.keepalive_sec,
    ...(m.encoding === "avro" ? { encoder: avroEncoder({ catalog: avroCatalog }) } : {}),
    ...rest,
  };
}
