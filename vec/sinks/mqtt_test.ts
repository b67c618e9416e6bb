import assert from "node:assert/strict";
import { connect, type IClientOptions, type MqttClient } from "mqtt";
import { type Datapoint, formatTime } from "../../core/datapoint/mod.ts";
import { PipelineError } from "../../core/errors/mod.ts";
import { avroEncoder } from "../../core/mqtt/mod.ts";
import { DiskQueue } from "../../core/queue/mod.ts";
import {
  makeTestPki,
  type MosquittoOptions,
  startMosquitto,
  type TestBroker,
  type TestPki,
  until,
} from "../../testing/mod.ts";
import { backoffDelay, mqttConfigured, MqttSink, mqttSinkOptionsFromConfig } from "./mqtt.ts";

interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

/** An MQTT client subscribed to a filter, with what it received. */
interface Subscriber {
  client: MqttClient;
  got: Received[];
  /** Disconnects (once; later calls do nothing). */
  end(): Promise<void>;
}

function tlsOf(pki: TestPki, cert = pki.clientCert, key = pki.clientKey) {
  return { ca: Deno.readTextFileSync(pki.caCert), cert: Deno.readTextFileSync(cert), key: Deno.readTextFileSync(key) };
}

async function subscriber(
  broker: TestBroker,
  pki: TestPki,
  filter: string,
  options: IClientOptions = {},
): Promise<Subscriber> {
  const client = connect(broker.url, { ...tlsOf(pki), reconnectPeriod: 50, protocolVersion: 5, ...options });
  const got: Received[] = [];
  client.on("message", (topic, payload, packet) => {
    got.push({ topic, payload: new TextDecoder().decode(payload), qos: packet.qos, retain: packet.retain });
  });
  client.on("error", () => {});
  let ended: Promise<void> | undefined;
  const sub = { client, got, end: () => ended ??= client.endAsync() };
  try {
    await new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("error", reject);
    });
    await client.subscribeAsync(filter, { qos: 1 });
  } catch (e) {
    await sub.end();
    throw e;
  }
  return sub;
}

type SinkOptions = Partial<ConstructorParameters<typeof MqttSink>[0]>;

/** What {@link withBroker} gives a test; everything it opens is closed after the test, newest first. */
interface BrokerFixture {
  pki: TestPki;
  broker: TestBroker;
  /** An MqttSink for thing `gw-1` over mTLS with short reconnect delays, closed (with `close`) after the test. */
  sink(extra?: SinkOptions, close?: { drainMs?: number }): MqttSink;
  /** A subscriber to `filter` (MQTT 5, the test client certificate), ended after the test. */
  subscribe(filter: string, options?: IClientOptions): Promise<Subscriber>;
  /** Runs `fn` after the test, before the broker stops. */
  defer(fn: () => unknown): void;
}

/** Runs `fn` against a real mosquitto with mTLS, on a fresh test PKI; cleans everything up afterwards. */
async function withBroker(
  fn: (f: BrokerFixture) => Promise<void>,
  options: Omit<MosquittoOptions, "pki"> = {},
): Promise<void> {
  const pki = await makeTestPki();
  const cleanups: (() => unknown)[] = [];
  try {
    const broker = await startMosquitto({ pki, ...options });
    cleanups.push(() => broker.close());
    await fn({
      pki,
      broker,
      sink(extra = {}, close = {}) {
        const sink = new MqttSink({
          url: broker.url,
          thingName: "gw-1",
          clientId: "gw-1",
          tls: { caPath: pki.caCert, certPath: pki.clientCert, keyPath: pki.clientKey },
          reconnectMinMs: 50,
          reconnectMaxMs: 400,
          ...extra,
        });
        cleanups.push(() => sink.close(close));
        return sink;
      },
      async subscribe(filter, options) {
        const sub = await subscriber(broker, pki, filter, options);
        cleanups.push(() => sub.end());
        return sub;
      },
      defer: (f) => cleanups.push(f),
    });
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await pki.remove();
  }
}

/** A 1 MiB disk queue in a temp dir, closed and removed after the test (after the sink that uses it). */
async function openQueue(f: BrokerFixture): Promise<DiskQueue> {
  const dir = await Deno.makeTempDir({ prefix: "mqtt_sink_test_" });
  f.defer(() => Deno.remove(dir, { recursive: true }));
  const queue = DiskQueue.open(`${dir}/offline.db`, { maxBytes: 1 << 20 });
  f.defer(() => queue.close());
  return queue;
}

/**
 * Waits until `sub` has seen every `seq` from 0 to `total - 1` (messages `{seq}`) and returns the
 * sequence numbers in the order of their first delivery (QoS 1 may deliver some twice).
 */
async function firstDeliveries(sub: Subscriber, total: number): Promise<number[]> {
  const seen = new Set<number>();
  const firsts: number[] = [];
  await until(() => {
    for (const m of sub.got.splice(0)) {
      const seq = JSON.parse(m.payload).seq as number;
      if (!seen.has(seq)) {
        seen.add(seq);
        firsts.push(seq);
      }
    }
    return seen.size === total;
  }, "every sequence number");
  return firsts;
}

/** A typed datapoint (the sink's input). */
const at = (path: string, value: Datapoint["value"], tsMs = 0): Datapoint => ({ path, value, tsMs });

function assertAllInOrder(firsts: number[]): void {
  assert.deepEqual(firsts, [...firsts].sort((a, b) => a - b), "first deliveries are in order");
}

Deno.test("MqttSink: topic layout, QoS, retained connection state and JSON payloads over mTLS", async () => {
  await withBroker(async (f) => {
    const sink = f.sink();
    await sink.start();
    assert.equal(sink.stats().state, "connected");
    const sub = await f.subscribe("vehicles/gw-1/#");
    await until(() => sub.got.some((m) => m.topic.endsWith("gateway/connection_state")), "retained state");
    const state = sub.got.find((m) => m.topic === "vehicles/gw-1/gateway/connection_state")!;
    assert.equal(state.retain, true);
    assert.equal(JSON.parse(state.payload).state, "connected");

    assert.equal(sink.publish(at("Vehicle.Speed", 55, Date.UTC(2026, 0, 1))), true);
    assert.equal(sink.publish(at("Vehicle.Powertrain.CombustionEngine.Speed", 3500, Date.UTC(2026, 0, 1))), true);
    assert.equal(sink.publish(at("Vehicle.OBD.DTCList", ["P0300", "U0100"])), true);
    assert.equal(sink.publish(at("Vehicle.No.Such.Path", 1)), false);
    sink.event({ topic: "gateway/uptime", payload: { seconds: 42 }, qos: 0, tsMs: Date.UTC(2026, 0, 1) });
    sink.publishEvent("security/auth_failures", "3");
    await until(() => sub.got.length >= 6, "6 messages");
    const by = new Map(sub.got.map((m) => [m.topic, m]));
    const speed = by.get("vehicles/gw-1/vehicle/speed")!;
    assert.equal(speed.qos, 0);
    assert.deepEqual(JSON.parse(speed.payload), { path: "Vehicle.Speed", value: 55, ts: "2026-01-01T00:00:00.000Z" });
    // typed values: a number stays a JSON number, the time is the one canonical text
    assert.deepEqual(JSON.parse(by.get("vehicles/gw-1/engine/rpm")!.payload), {
      path: "Vehicle.Powertrain.CombustionEngine.Speed",
      value: 3500,
      ts: "2026-01-01T00:00:00.000Z",
    });
    const dtc = by.get("vehicles/gw-1/diagnostics/dtc")!;
    assert.equal(dtc.qos, 1, "DTCs are QoS 1");
    assert.deepEqual(JSON.parse(dtc.payload).value, ["P0300", "U0100"]);
    // a typed event carries its time
    assert.deepEqual(JSON.parse(by.get("vehicles/gw-1/gateway/uptime")!.payload), {
      seconds: 42,
      ts: "2026-01-01T00:00:00.000Z",
    });
    assert.equal(by.get("vehicles/gw-1/security/auth_failures")!.payload, "3");
    const s = sink.stats();
    assert.equal(s.unmapped, 1);
    assert.equal(s.queueDepth, s.queue.depth);
    await until(() => sink.stats().queue.depth === 0, "queue drained");

    assert.throws(
      () => sink.publishEvent("diagnostics/health", new Uint8Array(128 * 1024 + 1)),
      (e) => e instanceof PipelineError && e.code === "mqtt.payload_too_large" && /131073 bytes/.test(e.message),
    );
    assert.throws(
      () => sink.publish(at("Vehicle.OBD.DTCList", "x".repeat(200_000))),
      (e) => e instanceof PipelineError && e.code === "mqtt.payload_too_large",
    );
    assert.equal(sink.stats().refused, 2);
    // through the pipeline's entry point a body over the limit is counted and dropped, not thrown
    sink.write([at("Vehicle.OBD.DTCList", "x".repeat(200_000))]);
    assert.equal(sink.stats().refused, 3);
    assert.deepEqual(sink.stats().drops, { too_large: 1 });

    await sink.close();
    await until(() => JSON.parse(sub.got.at(-1)!.payload).state === "disconnected", "disconnected state");
  });
});

Deno.test("MqttSink: a client certificate from another CA is refused; QoS 1 waits in the queue", async () => {
  await withBroker(async (f) => {
    const rogue = await f.pki.issueClient("intruder", { rogue: true });
    const sink = f.sink();
    const bad = new MqttSink({
      url: f.broker.url,
      thingName: "gw-bad",
      tls: { caPath: f.pki.caCert, certPath: rogue.cert, keyPath: rogue.key },
      reconnectMinMs: 50,
      reconnectMaxMs: 100,
    });
    f.defer(() => bad.close());
    await bad.start();
    bad.publishEvent("diagnostics/dtc", { codes: ["P0001"] });
    await until(() => bad.stats().disconnects >= 2, "two refused attempts");
    const s = bad.stats();
    assert.equal(s.connects, 0);
    assert.equal(s.connected, false);
    assert.equal(s.queue.depth, 1, "the DTC stays queued");
    assert.ok(s.lastError, "the TLS failure is reported");

    // the same thing with a valid certificate works, so the refusal is about the certificate
    const sub = await f.subscribe("vehicles/+/diagnostics/#");
    await sink.start();
    sink.publishEvent("diagnostics/dtc", { codes: ["P0002"] });
    await until(() => sub.got.length === 1, "valid client's DTC");
    assert.equal(sub.got[0].topic, "vehicles/gw-1/diagnostics/dtc");
  });
});

Deno.test("MqttSink: AVRO datapoints carry content type application/avro, their events JSON (per message, MQTT 5)", async () => {
  await withBroker(async (f) => {
    const sink = f.sink({ encoder: avroEncoder(), topics: { policies: { "vehicle/speed": { minIntervalMs: 0 } } } });
    const sub = await f.subscribe("vehicles/gw-1/#");
    const types = new Map<string, unknown>();
    sub.client.on("message", (topic, _p, packet) => types.set(topic, packet.properties?.contentType));
    await sink.start();
    sink.publish(at("Vehicle.Speed", 42.5, Date.UTC(2026, 0, 1)));
    sink.event({ topic: "diagnostics/dtc", payload: { code: "P0420" }, qos: 1, tsMs: Date.UTC(2026, 0, 1) });
    sink.event({ topic: "gateway/uptime", payload: { seconds: 1 }, qos: 0, tsMs: Date.UTC(2026, 0, 1) });
    await until(() => types.size >= 4, "speed, dtc, uptime and the connection state");
    assert.equal(types.get("vehicles/gw-1/vehicle/speed"), "application/avro");
    assert.equal(types.get("vehicles/gw-1/diagnostics/dtc"), "application/json", "queued (QoS 1)");
    assert.equal(types.get("vehicles/gw-1/gateway/uptime"), "application/json", "live (QoS 0)");
    const dtc = sub.got.find((m) => m.topic.endsWith("diagnostics/dtc"))!;
    assert.deepEqual(JSON.parse(dtc.payload), { code: "P0420", ts: "2026-01-01T00:00:00.000Z" });
  });
});

Deno.test("MqttSink: RSA client certificates and MQTT 3.1.1 work too", async () => {
  await withBroker(async (f) => {
    const rsa = await f.pki.issueClient("rsa-gw", { keyType: "rsa" });
    const sink = f.sink({ protocolVersion: 4, tls: { caPath: f.pki.caCert, certPath: rsa.cert, keyPath: rsa.key } });
    const sub = await f.subscribe("vehicles/gw-1/vehicle/#");
    await sink.start();
    assert.equal(sink.stats().connected, true);
    sink.publish(at("Vehicle.TraveledDistance", 1234.5));
    await until(() => sub.got.length === 1, "odometer");
    assert.equal(JSON.parse(sub.got[0].payload).value, 1234.5);
  });
});

Deno.test("MqttSink: per-topic minimum interval keeps the newest value", async () => {
  await withBroker(async (f) => {
    const sink = f.sink({ topics: { policies: { "engine/rpm": { minIntervalMs: 1000 } } } });
    const sub = await f.subscribe("vehicles/gw-1/engine/rpm");
    await sink.start();
    const sent = [1000, 1100, 1200, 1300].map((v) => sink.publish(at("Vehicle.Powertrain.CombustionEngine.Speed", v)));
    assert.deepEqual(sent, [true, false, false, false]);
    await until(() => sub.got.length === 2, "first and newest value");
    assert.deepEqual(sub.got.map((m) => JSON.parse(m.payload).value), [1000, 1300]);
    assert.equal(sink.stats().coalesced, 2);
  });
});

Deno.test("MqttSink: broker stopped and restarted while publishing loses no QoS 1 message and drains in order", async () => {
  await withBroker(async (f) => {
    const broker = f.broker;
    const queue = await openQueue(f);
    const sink = f.sink({ queue, drainRatePerSec: 2000, maxInflight: 10 });
    // persistent session: what the broker acknowledged survives its restart
    const sub = await f.subscribe("vehicles/gw-1/diagnostics/dtc", {
      clientId: "observer",
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    await sink.start();
    const total = 600;
    for (let i = 0; i < total; i++) {
      sink.publishEvent("diagnostics/dtc", { seq: i });
      if (i === 200) await broker.stop("SIGTERM");
      if (i === 400) {
        assert.equal(sink.stats().connected, false);
        assert.ok(sink.stats().queue.depth > 0, "messages wait in the disk queue");
        await broker.restart();
      }
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(await sink.flush(30_000), "queue drained");
    assertAllInOrder(await firstDeliveries(sub, total));
    const s = sink.stats();
    assert.ok(s.disconnects >= 1 && s.connects >= 2);
    assert.equal(s.queue.depth, 0);
    assert.equal(s.queue.dropped, 0);
  });
});

Deno.test("MqttSink: broker killed (SIGKILL) mid-stream and restarted: every QoS 1 message arrives, in order", async () => {
  await withBroker(async (f) => {
    const broker = f.broker;
    const queue = await openQueue(f);
    // a long backoff: the test decides when the sink reconnects (after the observer subscribed again)
    const sink = f.sink({ queue, drainRatePerSec: 1000, maxInflight: 20, reconnectMinMs: 60_000 });
    let sub = await f.subscribe("vehicles/gw-1/diagnostics/dtc", { reconnectPeriod: 0 });
    await sink.start();
    const total = 500;
    for (let i = 0; i < 250; i++) sink.publishEvent("diagnostics/dtc", { seq: i });
    await until(() => sub.got.length >= 50, "some deliveries before the kill");
    await broker.stop("SIGKILL");
    await until(() => sink.stats().state === "backoff", "disconnect seen");
    for (let i = 250; i < total; i++) sink.publishEvent("diagnostics/dtc", { seq: i });
    assert.ok(sink.stats().queue.depth >= 250, "unacknowledged and new messages wait on disk");
    await broker.restart();
    const before = sub.got.splice(0);
    await sub.end();
    sub = await f.subscribe("vehicles/gw-1/diagnostics/dtc", { reconnectPeriod: 0 });
    sub.got.unshift(...before);
    sink.reconnectNow();
    assert.ok(await sink.flush(30_000), "queue drained");
    assertAllInOrder(await firstDeliveries(sub, total));
    assert.equal(sink.stats().queue.dropped, 0);
  }, { persistence: false });
});

Deno.test("MqttSink: queue drain is throttled to drainRatePerSec and QoS 0 is dropped offline unless queued", async () => {
  await withBroker(async (f) => {
    const broker = f.broker;
    // a long backoff: the sink reconnects when the test says so (after the observer subscribed)
    const sink = f.sink({ drainRatePerSec: 100, reconnectMinMs: 60_000, reconnectMaxMs: 60_000 });
    await sink.start();
    await broker.stop();
    await until(() => !sink.stats().connected, "disconnect seen");
    for (let i = 0; i < 30; i++) sink.publishEvent("diagnostics/dtc", { seq: i });
    sink.publish(at("Vehicle.Speed", 1)); // QoS 0, not queued: dropped
    sink.publish(at("Vehicle.TraveledDistance", 2)); // QoS 0, queued topic
    assert.equal(sink.stats().droppedOffline, 1);
    assert.deepEqual(sink.stats().drops, { offline: 1 }, "counted in datapoints by reason");
    assert.equal(sink.stats().queue.depth, 31);
    await broker.restart();
    const sub = await f.subscribe("vehicles/gw-1/#");
    sink.reconnectNow();
    await sink.waitConnected();
    assert.ok(await sink.flush(20_000));
    await until(() => sub.got.filter((m) => !m.topic.endsWith("connection_state")).length === 31, "31 messages");
    const seqs = sub.got.filter((m) => m.topic.endsWith("dtc")).map((m) => JSON.parse(m.payload).seq);
    assert.deepEqual(seqs, Array.from({ length: 30 }, (_, i) => i));
    assert.equal(sub.got.at(-1)!.topic, "vehicles/gw-1/vehicle/odometer", "queued QoS 0 keeps its place");
  });
});

Deno.test("MqttSink: the drain spends at most drainRatePerSec tokens (driven by a fake clock)", async () => {
  await withBroker(async (f) => {
    let now = 1_000_000;
    const sink = f.sink({ drainRatePerSec: 100, maxInflight: 1000, clock: () => now }, { drainMs: 0 });
    const sub = await f.subscribe("vehicles/gw-1/diagnostics/dtc");
    await sink.start();
    for (let i = 0; i < 30; i++) sink.publishEvent("diagnostics/dtc", { seq: i });
    const settle = async () => {
      await until(() => sink.stats().inflight === 0, "acknowledgements");
      await new Promise((r) => setTimeout(r, 50)); // room for a wrong extra publish to show up
      return sub.got.length;
    };
    assert.equal(await settle(), 0, "no tokens while the clock stands still");
    now += 20; // 2 tokens at 100/s
    await until(() => sub.got.length >= 2, "2 messages");
    assert.equal(await settle(), 2);
    now += 10_000; // the bucket holds at most 100/20 = 5 tokens
    await until(() => sub.got.length >= 7, "5 more");
    assert.equal(await settle(), 7);
    now += 1000;
    await until(() => sub.got.length >= 12, "5 more");
    assert.equal(await settle(), 12);
    assert.deepEqual(sub.got.map((m) => JSON.parse(m.payload).seq), Array.from({ length: 12 }, (_, i) => i));
  });
});

Deno.test("MqttSink: custom encoder, signer hook and publishDatapoints", async () => {
  await withBroker(async (f) => {
    const signed: string[] = [];
    const sink = f.sink({
      encoder: {
        contentType: "text/plain",
        encode: (dp) => new TextEncoder().encode(`${dp.path}=${dp.value}@${formatTime(dp.tsMs)}`),
        encodeEvent: (_topic, payload) => JSON.stringify(payload),
      },
      signer: (topic, body) => {
        signed.push(topic);
        const text = typeof body === "string" ? body : new TextDecoder().decode(body);
        return JSON.stringify({ sig: "test", topic, body: text });
      },
      topics: { policies: { "vehicle/speed": { minIntervalMs: 0 } } },
      maxPayloadBytes: 200,
    });
    const sub = await f.subscribe("vehicles/gw-1/vehicle/#");
    await sink.start();
    const n = sink.publishDatapoints([
      at("Vehicle.Speed", 10, Date.UTC(2026, 0, 1)),
      at("Vehicle.Unknown", 1),
      at("Vehicle.Speed", 11, Date.UTC(2026, 0, 1, 0, 0, 1)),
    ]);
    assert.equal(n, 2);
    await until(() => sub.got.length === 2, "two signed messages");
    assert.deepEqual(JSON.parse(sub.got[0].payload), {
      sig: "test",
      topic: "vehicles/gw-1/vehicle/speed",
      body: "Vehicle.Speed=10@2026-01-01T00:00:00.000Z",
    });
    assert.deepEqual(signed, ["vehicles/gw-1/vehicle/speed", "vehicles/gw-1/vehicle/speed"]);
    // the limit applies to the signed body
    assert.throws(
      () => sink.publish(at("Vehicle.Speed", "x".repeat(150))),
      (e) => e instanceof PipelineError && e.code === "mqtt.payload_too_large",
    );
  });
});

Deno.test("MqttSink: a message the broker refuses (MQTT 5 reason code) is dropped, not retried forever", async () => {
  const aclDir = await Deno.makeTempDir({ prefix: "mqtt_acl_" });
  try {
    await Deno.writeTextFile(
      `${aclDir}/acl`,
      "user test-client\ntopic read vehicles/#\ntopic write vehicles/+/gateway/#\ntopic write vehicles/+/vehicle/#\n",
    );
    await withBroker(async (f) => {
      const sink = f.sink();
      const sub = await f.subscribe("vehicles/gw-1/#");
      await sink.start();
      sink.publishEvent("diagnostics/dtc", { denied: true }); // no write permission
      sink.publishEvent("vehicle/event", { allowed: true }, { qos: 1 });
      assert.ok(await sink.flush(10_000), "the queue does not get stuck on the refused message");
      await until(() => sub.got.some((m) => m.topic.endsWith("vehicle/event")), "allowed message");
      assert.equal(sink.stats().refusedByBroker, 1);
      assert.ok(!sub.got.some((m) => m.topic.endsWith("diagnostics/dtc")));
    }, { extraConfig: [`acl_file ${aclDir}/acl`] });
  } finally {
    await Deno.remove(aclDir, { recursive: true });
  }
});

Deno.test("backoffDelay grows exponentially within [base/2, base] and is capped", () => {
  const o = { minMs: 100, maxMs: 1000 };
  assert.equal(backoffDelay(0, { ...o, random: () => 0 }), 50);
  assert.equal(backoffDelay(0, { ...o, random: () => 0.999999 }), 100);
  assert.equal(backoffDelay(3, { ...o, random: () => 0 }), 400);
  assert.equal(backoffDelay(20, { ...o, random: () => 1 }), 1000);
  assert.equal(backoffDelay(20, { ...o, random: () => 0 }), 500);
});

Deno.test("mqttSinkOptionsFromConfig reads the ESP gateway keys", () => {
  const o = mqttSinkOptionsFromConfig({
    endpoint: "abc.iot.eu-west-1.amazonaws.com",
    thing_name: "can-gateway",
    client_id: "cg-1",
    cert_path: "./certs/certificate.pem.crt",
    key_path: "./certs/private.pem.key",
    ca_path: "/etc/ssl/AmazonRootCA1.pem",
    mqtt: { topics: { "Vehicle.Cabin.IsDomeOn": "vehicle/dome" }, drain_rate_per_sec: 50 },
  }, { baseDir: "/opt/vec" });
  assert.equal(o.thingName, "can-gateway");
  assert.equal(o.clientId, "cg-1");
  assert.equal(o.tls?.certPath, "/opt/vec/./certs/certificate.pem.crt");
  assert.equal(o.tls?.caPath, "/etc/ssl/AmazonRootCA1.pem");
  assert.equal(o.drainRatePerSec, 50);
  const sink = new MqttSink(o);
  assert.equal(sink.url, "mqtts://abc.iot.eu-west-1.amazonaws.com:8883");
  assert.equal(sink.topics.forPath("Vehicle.Cabin.IsDomeOn")?.topic, "vehicles/can-gateway/vehicle/dome");
  assert.equal(sink.topics.forPath("Vehicle.Speed")?.topic, "vehicles/can-gateway/vehicle/speed");
  assert.throws(
    () => mqttSinkOptionsFromConfig({ mqtt: { drain_rate_per_sec: -1 } }),
    (e) => e instanceof PipelineError && e.code === "config.invalid" && e.path === "mqtt.drain_rate_per_sec",
  );
  assert.throws(
    () => mqttSinkOptionsFromConfig({ mqtt: { policies: { "engine/rpm": { qos: 2 } } } }),
    (e) => e instanceof PipelineError && e.path === "mqtt.policies.engine/rpm.qos",
  );
  assert.throws(() => mqttSinkOptionsFromConfig({ mqtt: { nope: 1 } }), /mqtt: Unrecognized key/);
  assert.equal(mqttConfigured({ thing_name: "x" }), false);
  assert.equal(mqttConfigured({ endpoint: "h" }), true);
  assert.equal(mqttConfigured({ endpoint: "h", mqtt: { enabled: false } }), false);
  assert.equal(mqttConfigured({ mqtt: { url: "mqtt://127.0.0.1:1" } }), true);
  assert.throws(() => new MqttSink({ thingName: "x" }), (e) => e instanceof PipelineError && e.code === "mqtt.config");
  assert.throws(() => new MqttSink({ url: "mqtt://h", thingName: "a/b" }), (e) => e instanceof PipelineError);
  return sink.close();
});
