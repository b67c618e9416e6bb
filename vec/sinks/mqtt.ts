/**
 * MQTT publisher of the VEC: the ESP CAN gateway's cloud link (AWS IoT Core style), a sink on the uplink layer
 * (`core/uplink`): this module decides topic, QoS and queueing per datapoint and encodes it; the durable queue and
 * the {@link Forwarder} (inflight window, drain rate, acks, drop accounting in datapoints) deliver what is queued
 * through the {@link MqttTransport} (`./mqtt_transport.ts`: the connection, reconnects, Last Will, the live QoS 0
 * writer).
 *
 * - MQTT 3.1.1 (`protocolVersion: 4`) or 5 (default), plain or mutual TLS (client certificate + key + CA; ECC
 *   P-256 recommended, RSA accepted). {@link mqttSinkOptionsFromConfig} reads the ESP gateway's `config.json` keys
 *   (`endpoint`, `thing_name`, `client_id`, `cert_path`, `key_path`, `ca_path`) plus the `mqtt` section
 *   (`./mqtt_config.ts`).
 * - Topics `vehicles/{thing_name}/…` with per-topic QoS, minimum interval and retain (`core/mqtt`). QoS 0 for
 *   telemetry, QoS 1 for DTCs and connection events. `gateway/connection_state` is published retained
 *   (`connected`) and registered as the retained Last Will (`disconnected`).
 * - QoS 1 messages are written to the offline queue (`core/queue`, on disk when `queuePath` is given) before
 *   they are sent and deleted only after the broker's PUBACK. Selected QoS 0 topics (policy `queue: true`) are
 *   queued while disconnected. The queue is drained in order on (re)connect at `drainRatePerSec` (default 100,
 *   the AWS IoT Core per-connection limit) with at most `maxInflight` unacknowledged messages. After a restart
 *   everything not acknowledged is sent again (at-least-once).
 * - Events ({@link MqttSink.event}, the `DatapointSink` typed path for DTCs and diagnostics) go to their topic
 *   suffix with their QoS.
 * - Payloads: JSON by default, AVRO with `mqtt.encoding: "avro"` (`avroEncoder` of `core/mqtt`), or any
 *   {@link PayloadEncoder} (typed datapoints in); an optional `signer(topic, body)` wraps each body (e.g. the
 *   `core/security` envelope). Bodies over `maxPayloadBytes` (128 KiB, the AWS IoT Core limit) are refused with
 *   `mqtt.payload_too_large`.
 * - Every dropped datapoint is counted by reason (`stats().drops`) and logged once per reason and minute.
 *
 * User documentation: `docs/mqtt.md`.
 *
 * @example
 * ```ts ignore
 * import { MqttSink } from "./mqtt.ts";
 * const sink = new MqttSink({
 *   endpoint: "xxxxxxxx-ats.iot.eu-west-1.amazonaws.com",
 *   thingName: "gw-1",
 *   tls: { certPath: "certs/certificate.pem.crt", keyPath: "certs/private.pem.key", caPath: "certs/AmazonRootCA1.pem" },
 *   queuePath: "state/mqtt-queue.db",
 * });
 * await sink.start();
 * sink.publish({ path: "Vehicle.Speed", value: 55, tsMs: Date.now() });
 * sink.event({ topic: "diagnostics/dtc", payload: { code: "P0300", type: "new" }, qos: 1, tsMs: Date.now() });
 * console.log(sink.stats());
 * await sink.close();
 * ```
 * @module
 */
import { PipelineError } from "../../core/errors/mod.ts";
import { type Logger, silentLogger } from "../../core/log/mod.ts";
import type { CatalogLike } from "../../core/codec/mod.ts";
import {
  avroEncoder,
  CONNECTION_STATE_TOPIC,
  jsonEncoder,
  type MqttTlsOptions,
  type PayloadEncoder,
  type TopicPolicy,
  type TopicRoute,
  TopicTable,
} from "../../core/mqtt/mod.ts";
import { DiskQueue, MemoryQueue, type MessageQueue, payloadSize, type QueueStats } from "../../core/queue/mod.ts";
import { DropLog, type DropReason, Forwarder } from "../../core/uplink/mod.ts";
import { type EspMqttConfig, parseMqttConfig } from "./mqtt_config.ts";
import { MqttTransport } from "./mqtt_transport.ts";
import type { Datapoint, VecEvent } from "./types.ts";

export {
  type EspMqttConfig,
  mqttConfigSchema,
  type MqttConfigSection,
  mqttConfigured,
  mqttPolicySchema,
  parseMqttConfig,
} from "./mqtt_config.ts";
export { backoffDelay } from "../../core/uplink/mod.ts";
export type { MqttTlsOptions };

/** AWS IoT Core's largest MQTT payload. */
export const MAX_PAYLOAD_BYTES = 128 * 1024;

/** Wraps a body before it is sent (e.g. a signed envelope). */
export type MqttSigner = (topic: string, body: Uint8Array | string) => Uint8Array | string;

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
  /** Queued messages acknowledged (PUBACK for QoS 1, written for QoS 0) or refused, and deleted. */
  drained: number;
  /** Queued messages sent and not yet acknowledged. */
  inflight: number;
  /** Queued sends that failed and were sent again (connection lost). */
  failures: number;
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
  /** Every datapoint (message) dropped since start, whatever the reason. */
  droppedDatapoints: number;
  /** The same by reason (`offline`, `backpressure`, `queue_bytes`, `queue_age`, `refused`, `too_large`, …). */
  drops: Partial<Record<DropReason, number>>;
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

interface Held {
  dp: Datapoint;
  timer: ReturnType<typeof setTimeout>;
}

interface RouteState {
  route: TopicRoute;
  lastSentAt: number;
  held?: Held;
}

type Route = TopicPolicy & { topic: string };

/** A queued publish: topic, body, QoS, retain and (events of another encoding) the MQTT 5 content type. */
interface ToQueue {
  payload: Uint8Array | string;
  key: string;
  meta: { qos: number; retain: boolean; contentType?: string };
}

/** The VEC's MQTT publisher (see the module doc). */
export class MqttSink {
  /** Sink name (for `/health`). */
  readonly name = "mqtt";
  readonly #table: TopicTable;
  readonly #queue: MessageQueue;
  readonly #ownsQueue: boolean;
  readonly #encoder: PayloadEncoder;
  readonly #signer?: MqttSigner;
  readonly #log: Logger;
  readonly #maxPayload: number;
  readonly #maxBuffered: number;
  readonly #clock: () => number;
  readonly #routes = new Map<string, RouteState>();
  readonly #events = new Map<string, RouteState>();
  readonly #url: string;
  readonly #transport: MqttTransport;
  readonly #forwarder: Forwarder;
  readonly #drops: DropLog;
  #closed = false;
  /** The queue may hold items: live QoS 0 of queued topics then goes through it too, to keep order. */
  #backlog = true;
  #toQueue: ToQueue[] = [];
  readonly #commitQueued = () => {
    if (this.#toQueue.length === 0) return;
    const items = this.#toQueue;
    this.#toQueue = [];
    try {
      this.#queue.pushMany(items);
    } catch (e) {
      this.#s.queued -= items.length;
      this.#drops.add("queue_error", items.length, { error: (e as Error).message });
      return;
    }
    this.#forwarder.wake();
  };
  readonly #s = {
    queued: 0,
    coalesced: 0,
    droppedOffline: 0,
    droppedBackpressure: 0,
    unmapped: 0,
    refused: 0,
  };

  /**
   * Validates the options and opens the offline queue; {@link MqttSink.start} connects.
   *
   * @param options connection, topics, queue and payload options
   */
  constructor(options: MqttSinkOptions) {
    this.#table = new TopicTable(options.thingName, options.topics);
    const clientId = options.clientId ?? options.thingName;
    if (options.url) this.#url = options.url;
    else if (options.endpoint) this.#url = `mqtts://${options.endpoint}:${options.port ?? 8883}`;
    else {
      throw new PipelineError("mqtt.config", "MQTT needs a broker: set `endpoint` (config.json) or `url`", {
        path: "endpoint",
      });
    }
    const drainRate = options.drainRatePerSec ?? 100;
    if (!(drainRate > 0)) {
      throw new PipelineError("mqtt.config", "drainRatePerSec must be > 0", { path: "mqtt.drain_rate_per_sec" });
    }
    this.#encoder = options.encoder ?? jsonEncoder;
    this.#signer = options.signer;
    this.#log = options.logger ?? silentLogger;
    this.#maxPayload = options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES;
    this.#maxBuffered = options.maxBufferedBytes ?? 8 * 1024 * 1024;
    this.#clock = options.clock ?? (() => performance.now());
    this.#drops = new DropLog({ sink: this.name, logger: this.#log });
    if (options.queue) {
      this.#queue = options.queue;
      this.#ownsQueue = false;
    } else {
      const qo = {
        maxBytes: options.queueMaxBytes ?? 64 * 1024 * 1024,
        maxAgeMs: options.queueMaxAgeMs ?? 7 * 86_400_000,
        name: `mqtt:${clientId}`,
      };
      this.#queue = options.queuePath ? DiskQueue.open(options.queuePath, qo) : new MemoryQueue(qo);
      this.#ownsQueue = true;
    }
    this.#transport = new MqttTransport({
      url: this.#url,
      clientId,
      stateTopic: this.#table.forSuffix(CONNECTION_STATE_TOPIC).topic,
      protocolVersion: options.protocolVersion,
      contentType: this.#encoder.contentType,
      tls: options.tls,
      keepaliveSec: options.keepaliveSec,
      connectTimeoutMs: options.connectTimeoutMs,
      reconnectMinMs: options.reconnectMinMs,
      reconnectMaxMs: options.reconnectMaxMs,
      backoffResetMs: options.backoffResetMs,
      onLiveLost: (n) => {
        this.#s.droppedOffline += n;
        this.#drops.add("offline", n);
      },
      logger: this.#log,
      random: options.random,
      clock: this.#clock,
    });
    this.#forwarder = new Forwarder({
      name: this.name,
      queue: this.#queue,
      transport: this.#transport,
      maxInflight: Math.max(1, options.maxInflight ?? 20),
      ratePerSec: drainRate,
      clock: this.#clock,
      drops: this.#drops,
      logger: this.#log,
      onIdle: () => (this.#backlog = false),
    });
  }

  /** The broker URL in use. */
  get url(): string {
    return this.#url;
  }

  /** The topic table in use. */
  get topics(): TopicTable {
    return this.#table;
  }

  /**
   * Connect and resolve once connected (or once the first attempt failed: the sink keeps retrying in the
   * background and queues meanwhile). Throws only for configuration errors (unreadable certificates).
   */
  async start(): Promise<void> {
    this.#forwarder.start();
    await this.#transport.start();
  }

  /** Resolves when connected (or immediately when already connected). */
  waitConnected(): Promise<void> {
    return this.#transport.waitConnected();
  }

  /**
   * Skip the rest of the current backoff delay and try to connect now (e.g. when the network came back).
   * Does nothing unless the sink is waiting to reconnect.
   */
  reconnectNow(): void {
    this.#transport.reconnectNow();
  }

  #body(st: RouteState, dp: Datapoint): Uint8Array | string {
    let body = this.#encoder.encode(dp);
    if (this.#signer) body = this.#signer(st.route.topic, body);
    this.#checkSize(body, st.route.topic);
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
   * Publish one VSS datapoint to its topic. Returns false when the path has no topic (counted as `unmapped`) or
   * the value was held back by the topic's minimum interval (the newest held value is sent when the interval ends).
   *
   * @param dp the datapoint
   * @throws PipelineError `mqtt.payload_too_large` when the body is over `maxPayloadBytes`
   */
  publish(dp: Datapoint): boolean {
    const st = this.#routeState(dp.path);
    if (!st) {
      this.#s.unmapped++;
      return false;
    }
    return this.#offer(st, dp);
  }

  #offer(st: RouteState, dp: Datapoint): boolean {
    const interval = st.route.minIntervalMs;
    if (interval > 0) {
      const now = this.#clock();
      if (st.held) {
        st.held.dp = dp;
        this.#s.coalesced++;
        return false;
      }
      const wait = st.lastSentAt + interval - now;
      if (wait > 0) {
        st.held = { dp, timer: setTimeout(() => this.#releaseHeld(st), wait) };
        return false;
      }
      st.lastSentAt = now;
    }
    this.#send(st.route, this.#body(st, dp));
    return true;
  }

  #releaseHeld(st: RouteState): void {
    const h = st.held;
    if (!h) return;
    st.held = undefined;
    st.lastSentAt = this.#clock();
    try {
      this.#send(st.route, this.#body(st, h.dp));
    } catch (e) {
      this.#drops.add("too_large", 1, { topic: st.route.topic });
      this.#log.warn("mqtt held value refused", { err: e, topic: st.route.topic });
    }
  }

  /** Publish several datapoints; same rules as {@link MqttSink.publish}. Returns how many were sent. */
  publishDatapoints(datapoints: readonly Datapoint[]): number {
    let n = 0;
    for (let i = 0; i < datapoints.length; i++) if (this.publish(datapoints[i])) n++;
    return n;
  }

  /**
   * The `DatapointSink` entry point of the VEC pipeline: as {@link MqttSink.publishDatapoints}, except that a body
   * over the size limit is counted and dropped (`drops.too_large`) instead of thrown.
   */
  write(datapoints: readonly Datapoint[]): void {
    if (this.#closed) return;
    for (let i = 0; i < datapoints.length; i++) {
      try {
        this.publish(datapoints[i]);
      } catch (e) {
        if (!(e instanceof PipelineError)) throw e;
        this.#drops.add("too_large", 1, { path: datapoints[i].path, error: e.message });
      }
    }
  }

  /**
   * The typed event path of the VEC (`DatapointSink.event`): DTCs and diagnostics to `vehicles/{thing}/{topic}` with
   * the event's QoS; the body is the encoder's event form (JSON: the payload's members and `ts`), then through the
   * signer. A body over the size limit is counted and dropped.
   */
  event(event: VecEvent): void {
    if (this.#closed) return;
    try {
      const body = this.#encoder.encodeEvent(event.topic, event.payload, event.tsMs);
      this.#publishEvent(event.topic, body, { qos: event.qos, contentType: this.#encoder.eventContentType });
    } catch (e) {
      if (!(e instanceof PipelineError)) throw e;
      this.#drops.add("too_large", 1, { topic: event.topic, error: e.message });
    }
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
    const body: Uint8Array | string = typeof payload === "string" || payload instanceof Uint8Array
      ? payload
      : JSON.stringify(payload);
    this.#publishEvent(suffix, body, { ...options, contentType: "application/json" });
  }

  #publishEvent(
    suffix: string,
    payload: Uint8Array | string,
    options: { qos?: 0 | 1; retain?: boolean; contentType?: string },
  ): void {
    let st = this.#events.get(suffix);
    if (!st) {
      st = { route: this.#table.forSuffix(suffix), lastSentAt: -Infinity };
      this.#events.set(suffix, st);
    }
    let route: Route = st.route;
    if (
      (options.qos !== undefined && options.qos !== route.qos) ||
      (options.retain !== undefined && options.retain !== route.retain)
    ) {
      const qos = options.qos ?? route.qos;
      route = { ...route, qos, retain: options.retain ?? route.retain, queue: route.queue || qos === 1 };
    }
    const body = this.#signer ? this.#signer(route.topic, payload) : payload;
    this.#checkSize(body, route.topic);
    // a signed envelope is JSON whatever it wraps
    const ct = this.#signer || options.contentType === this.#encoder.contentType ? undefined : options.contentType;
    this.#send(route, body, ct);
  }

  #send(route: Route, body: Uint8Array | string, contentType?: string): void {
    const connected = this.#transport.isAlive();
    if (route.qos === 1 || (route.queue && (!connected || this.#backlog))) {
      // Written to the queue in one transaction at the end of this task (before any I/O callback can run).
      const meta = contentType === undefined
        ? { qos: route.qos, retain: route.retain }
        : { qos: route.qos, retain: route.retain, contentType };
      this.#toQueue.push({ payload: body, key: route.topic, meta });
      if (this.#toQueue.length === 1) queueMicrotask(this.#commitQueued);
      this.#s.queued++;
      this.#backlog = true;
      return;
    }
    if (!connected) {
      this.#s.droppedOffline++;
      this.#drops.add("offline", 1);
      return;
    }
    if (this.#transport.bufferedBytes() > this.#maxBuffered) {
      this.#s.droppedBackpressure++;
      this.#drops.add("backpressure", 1);
      return;
    }
    this.#transport.live(route.topic, body, route.retain, contentType);
  }

  /** Counters and the queue's state. */
  stats(): MqttSinkStats {
    this.#commitQueued();
    const queue = this.#queueStats();
    const f = this.#forwarder.stats();
    const t = this.#transport.counters;
    return {
      state: this.#closed ? "closed" : this.#transport.state,
      connected: this.#transport.isAlive(),
      connects: t.connects,
      disconnects: t.disconnects,
      sentLive: t.sentLive,
      queued: this.#s.queued,
      drained: f.drained,
      inflight: f.inflight,
      failures: f.failures,
      coalesced: this.#s.coalesced,
      droppedOffline: this.#s.droppedOffline,
      droppedBackpressure: this.#s.droppedBackpressure,
      unmapped: this.#s.unmapped,
      refused: this.#s.refused,
      refusedByBroker: f.refusedMessages,
      droppedDatapoints: this.#drops.total,
      drops: this.#drops.byReason(),
      queue,
      queueDepth: queue.depth,
      queueBytes: queue.bytes,
      queueDropped: queue.dropped,
      queueOldestAgeMs: queue.oldestAgeMs,
      ...(t.lastError ? { lastError: t.lastError } : {}),
    };
  }

  #queueStats(): QueueStats {
    try {
      return this.#forwarder.queueStats();
    } catch (e) {
      // the owner closed a shared queue before us
      if (e instanceof PipelineError && e.code === "queue.closed") {
        return { depth: 0, bytes: 0, weight: 0, dropped: 0, droppedWeight: 0, oldestAgeMs: 0 };
      }
      throw e;
    }
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
      this.#forwarder.flushAcks();
      if (
        this.#forwarder.inflight === 0 && this.#queue.stats().depth === 0 && this.#transport.bufferedBytes() === 0
      ) return true;
      if (Date.now() >= end) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /**
   * Drain for up to `drainMs` (default 2000), publish the retained `disconnected` state, disconnect
   * gracefully (no Last Will) and close the queue (when the sink opened it). What is not acknowledged stays in a
   * disk queue. Idempotent.
   */
  async close(options: { drainMs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    this.#commitQueued();
    if (this.#transport.isAlive()) await this.flush(options.drainMs ?? 2000);
    this.#closed = true;
    for (const st of [...this.#routes.values(), ...this.#events.values()]) {
      if (st.held) clearTimeout(st.held.timer);
      st.held = undefined;
    }
    this.#forwarder.close();
    await this.#transport.close();
    if (this.#ownsQueue) this.#queue.close();
  }
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
