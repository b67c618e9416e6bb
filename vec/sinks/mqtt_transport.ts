/**
 * The MQTT transport of the uplink layer: one mqtt.js connection (MQTT 3.1.1 or 5, plain or mutual TLS) with the
 * retained `connection_state` topic and Last Will, reconnects with equal-jitter backoff, `send` for queued messages
 * (QoS from the message, answered on PUBACK) and a live QoS 0 path that writes batched packets straight to the socket.
 * It knows nothing of topics tables, queues or encodings: `./mqtt.ts` (the sink) does those.
 * @module
 */
import { connect, type IClientOptions, type IClientPublishOptions, type MqttClient, Store } from "mqtt";
import { PipelineError } from "../../core/errors/mod.ts";
import { type Logger, silentLogger } from "../../core/log/mod.ts";
import { loadMqttTls, type MqttTlsOptions } from "../../core/mqtt/mod.ts";
import { ACK, Backoff, type OutboundMessage, type SendCallback, type Transport } from "../../core/uplink/mod.ts";
import { Qos0Writer } from "./mqtt_packet.ts";

/** Options of {@link MqttTransport}. */
export interface MqttTransportOptions {
  /** Broker URL (`mqtts://host:8883`, `mqtt://127.0.0.1:1883`). */
  url: string;
  /** MQTT client id. */
  clientId: string;
  /** The full `…/gateway/connection_state` topic (retained state and Last Will). */
  stateTopic: string;
  /** 4 = MQTT 3.1.1, 5 = MQTT 5 (default). */
  protocolVersion?: 4 | 5;
  /** MQTT 5 `contentType` property of every publish. */
  contentType?: string;
  /** Mutual TLS material. */
  tls?: MqttTlsOptions;
  /** Keep-alive in seconds (default 30). */
  keepaliveSec?: number;
  /** CONNACK timeout (default 10 000 ms). */
  connectTimeoutMs?: number;
  /** Reconnect backoff lower bound (default 1000 ms). */
  reconnectMinMs?: number;
  /** Reconnect backoff upper bound (default 120 000 ms). */
  reconnectMaxMs?: number;
  /** A connection must last this long before the backoff starts over (default 10 000 ms). */
  backoffResetMs?: number;
  /** Told how many live QoS 0 packets were lost because the connection went away before they were written. */
  onLiveLost?: (packets: number) => void;
  /** Logger (default silent). */
  logger?: Logger;
  /** Random source in [0,1) for the jitter (tests). */
  random?: () => number;
  /** Monotonic ms clock (tests; default `performance.now`). */
  clock?: () => number;
}

/** mqtt.js store that keeps nothing: the uplink's queue owns unacknowledged QoS 1 messages. */
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

const CONNECTED = "connected";

/** One broker connection as an uplink {@link Transport} (see the module doc). */
export class MqttTransport implements Transport {
  /** Transport name. */
  readonly name = "mqtt";
  readonly #o: MqttTransportOptions;
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #backoff: Backoff;
  readonly #writer: Qos0Writer;
  readonly #props?: { contentType: string };
  readonly #v5: boolean;
  readonly #alive: (() => void)[] = [];
  /** Sends not answered yet: answered with `retry` when the connection goes away. */
  readonly #pending = new Set<SendCallback>();
  #client?: MqttClient;
  #state = "idle";
  #connectedAt = 0;
  #reconnectTimer?: ReturnType<typeof setTimeout>;
  #corked = false;
  #waiters: (() => void)[] = [];
  readonly #s = { connects: 0, disconnects: 0, sentLive: 0, lostLive: 0, lastError: undefined as string | undefined };

  /** @param options see {@link MqttTransportOptions} */
  constructor(options: MqttTransportOptions) {
    this.#o = options;
    this.#log = options.logger ?? silentLogger;
    this.#clock = options.clock ?? (() => performance.now());
    this.#backoff = new Backoff({
      minMs: options.reconnectMinMs ?? 1000,
      maxMs: options.reconnectMaxMs ?? 120_000,
      jitter: "equal",
      random: options.random,
    });
    const version = options.protocolVersion ?? 5;
    this.#v5 = version === 5;
    this.#props = this.#v5 && options.contentType ? { contentType: options.contentType } : undefined;
    this.#writer = new Qos0Writer((chunk, packets) => {
      const client = this.#client;
      if (!client || this.#state !== CONNECTED) return this.#lost(packets);
      client.stream.write(chunk);
    }, { version, contentType: this.#props?.contentType });
  }

  /** `idle`, `connecting`, `connected`, `backoff`, `closed`. */
  get state(): string {
    return this.#state;
  }

  /** Counters: connections, live packets written and lost, the last connection error. */
  get counters(): Readonly<{ connects: number; disconnects: number; sentLive: number; lastError?: string }> {
    return this.#s;
  }

  /** True while connected. */
  isAlive(): boolean {
    return this.#state === CONNECTED;
  }

  /** Registers a callback for every (re)connection. */
  onAlive(listener: () => void): void {
    this.#alive.push(listener);
  }

  #lost(packets: number): void {
    if (packets === 0) return;
    this.#s.sentLive -= packets;
    this.#s.lostLive += packets;
    this.#o.onLiveLost?.(packets);
  }

  #clientOptions(): IClientOptions {
    const o = this.#o;
    const tls = o.tls ?? {};
    const { cert, key, ca } = loadMqttTls(tls);
    return {
      clientId: o.clientId,
      protocolVersion: o.protocolVersion ?? 5,
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
        topic: o.stateTopic,
        payload: new TextEncoder().encode(
          JSON.stringify({ state: "disconnected", clientId: o.clientId, reason: "last-will" }),
        ) as unknown as Buffer,
        qos: 1,
        retain: true,
      },
    };
  }

  /**
   * Connects; resolves once connected or once the first attempt failed (reconnects go on in the background).
   * Throws only for configuration errors (unreadable certificates, a bad URL).
   */
  async start(): Promise<void> {
    if (this.#client) return;
    const opts = this.#clientOptions();
    this.#state = "connecting";
    let client: MqttClient;
    try {
      client = connect(this.#o.url, opts);
    } catch (e) {
      this.#state = "idle";
      throw new PipelineError("mqtt.config", `cannot use broker URL ${this.#o.url}: ${(e as Error).message}`, {
        path: "mqtt.url",
        cause: e,
      });
    }
    this.#client = client;
    client.on("connect", () => this.#onConnect());
    client.on("close", () => this.#onClose());
    client.on("error", (err) => {
      this.#s.lastError = err.message;
      this.#log.warn("mqtt error", { err, url: this.#o.url });
    });
    await new Promise<void>((resolve) => {
      let settled = false;
      const done = () => {
        if (settled) return;
        settled = true;
        client.off("close", done);
        resolve();
      };
      this.#waiters.push(done);
      client.on("close", done);
    });
  }

  /** Resolves when connected (at once when already). */
  waitConnected(): Promise<void> {
    if (this.#state === CONNECTED) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #publishState(state: "connected" | "disconnected", cb?: () => void): void {
    this.#client!.publish(
      this.#o.stateTopic,
      JSON.stringify({ state, clientId: this.#o.clientId, ts: new Date().toISOString() }),
      { qos: 1, retain: true },
      cb,
    );
  }

  #onConnect(): void {
    this.#state = CONNECTED;
    this.#s.connects++;
    this.#connectedAt = this.#clock();
    this.#log.info("mqtt connected", { url: this.#o.url, clientId: this.#o.clientId });
    this.#publishState("connected");
    for (const l of this.#alive) l();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  #onClose(): void {
    if (this.#state === "closed") return;
    const wasConnected = this.#state === CONNECTED;
    // The backoff starts over only after a connection that lasted (not one the broker drops at once).
    if (wasConnected && this.#clock() - this.#connectedAt >= (this.#o.backoffResetMs ?? 10_000)) this.#backoff.reset();
    this.#state = "backoff";
    this.#s.disconnects++;
    this.#lost(this.#writer.discard());
    this.#abandon();
    if (this.#reconnectTimer !== undefined) return;
    const delay = this.#backoff.next();
    if (wasConnected) this.#log.warn("mqtt disconnected", { url: this.#o.url, retryInMs: delay });
    this.#reconnectTimer = setTimeout(() => this.#reconnect(), delay);
  }

  /** Everything sent and not acknowledged is answered `retry`: it is still in the queue and goes again. */
  #abandon(): void {
    const client = this.#client!;
    for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const done of pending) done({ kind: "retry", reason: "connection lost" });
  }

  #reconnect(): void {
    this.#reconnectTimer = undefined;
    if (this.#state === "closed" || !this.#client) return;
    this.#state = "connecting";
    this.#client.reconnect({ incomingStore: new Store(), outgoingStore: new NullStore() });
  }

  /** Skips the rest of the reconnect delay (e.g. the network came back); nothing unless waiting to reconnect. */
  reconnectNow(): void {
    if (this.#state !== "backoff" || this.#reconnectTimer === undefined) return;
    clearTimeout(this.#reconnectTimer);
    this.#reconnect();
  }

  /** MQTT 5 properties for a body of `contentType` (default: the transport's). */
  #properties(contentType: unknown): { contentType: string } | undefined {
    if (!this.#v5) return undefined;
    return typeof contentType === "string" && contentType !== this.#props?.contentType ? { contentType } : this.#props;
  }

  /**
   * Sends a queued message: `meta.qos`, `meta.retain`, `meta.contentType` (MQTT 5; default the transport's); answered
   * on PUBACK (QoS 1) or once written (QoS 0).
   */
  send(message: OutboundMessage, done: SendCallback): void {
    const client = this.#client;
    if (!client || this.#state !== CONNECTED) return done({ kind: "retry", reason: "not connected" });
    this.#cork(client);
    const meta = message.meta as { qos?: number; retain?: boolean; contentType?: string } | undefined;
    const opts: IClientPublishOptions = { qos: meta?.qos === 1 ? 1 : 0, retain: meta?.retain === true };
    const props = this.#properties(meta?.contentType);
    if (props) opts.properties = props;
    this.#pending.add(done);
    client.publish(message.key!, message.body as string, opts, (err) => {
      if (!this.#pending.delete(done)) return; // answered already (connection lost)
      if (!err) return done(ACK);
      const code = (err as { code?: unknown }).code;
      if (typeof code === "number") {
        // the broker refused this message (MQTT 5 PUBACK reason code): retrying cannot help
        this.#log.warn("mqtt broker refused a message", { topic: message.key, err });
        return done({ kind: "refused", reason: `broker reason code ${code}: ${err.message}` });
      }
      done({ kind: "retry", reason: err.message });
    });
  }

  /**
   * Writes a live QoS 0 publish (batched into one socket write per task; a body of another MQTT 5 content type than
   * the transport's goes through mqtt.js). False when not connected (the caller counts it as dropped).
   */
  live(topic: string, body: Uint8Array | string, retain: boolean, contentType?: string): boolean {
    if (this.#state !== CONNECTED) return false;
    this.#s.sentLive++;
    const props = contentType === undefined ? this.#props : this.#properties(contentType);
    if (props === this.#props) this.#writer.append(topic, body, retain);
    else this.#client!.publish(topic, body as string, { qos: 0, retain, ...(props ? { properties: props } : {}) });
    return true;
  }

  /** Bytes waiting to be written to the socket (encoded live packets and the socket's own buffer). */
  bufferedBytes(): number {
    const stream = this.#client?.stream as unknown as { writableLength?: number } | undefined;
    return this.#writer.pendingBytes + (stream?.writableLength ?? 0);
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

  /**
   * Publishes the retained `disconnected` state (when connected), disconnects gracefully (no Last Will) and stops
   * reconnecting. Sends still unanswered are answered `retry`. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    const client = this.#client;
    if (client && this.#state === CONNECTED) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        this.#publishState("disconnected", () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    this.#state = "closed";
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    if (client) {
      this.#abandon();
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => client.end(true, {}, () => resolve()), 2000);
        client.end(false, {}, () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    for (const w of this.#waiters) w();
    this.#waiters = [];
  }
}
