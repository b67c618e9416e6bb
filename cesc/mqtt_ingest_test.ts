import assert from "node:assert/strict";
import { connect, type MqttClient } from "mqtt";
import { PipelineError } from "../core/errors/mod.ts";
import type { RawDatapoint } from "../core/datapoint/mod.ts";
import { makeTestPki, startMosquitto, type TestBroker, type TestPki, until } from "../testing/mod.ts";
import { type MqttIngestOptions, startMqttIngest } from "./mqtt_ingest.ts";

function ingestOptions(broker: TestBroker, pki: TestPki, onData: MqttIngestOptions["onData"]): MqttIngestOptions {
  return {
    url: broker.url,
    tls: { caPath: pki.caCert, certPath: pki.clientCert, keyPath: pki.clientKey },
    shareGroup: "cesc",
    onData,
    reconnectMs: 100,
  };
}

/** A plain publisher (what the VEC's MqttSink sends: JSON `{path, value, ts}` on vehicles/{vin}/…). */
async function publisher(broker: TestBroker, pki: TestPki): Promise<MqttClient> {
  const client = connect(broker.url, {
    ca: Deno.readTextFileSync(pki.caCert),
    cert: Deno.readTextFileSync(pki.clientCert),
    key: Deno.readTextFileSync(pki.clientKey),
    protocolVersion: 5,
    reconnectPeriod: 0,
  });
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", reject);
  });
  return client;
}

function speed(client: MqttClient, value: number, ts: string) {
  return client.publishAsync(
    "vehicles/VIN0001/vehicle/speed",
    JSON.stringify({ path: "Vehicle.Speed", value, ts }),
    { qos: 1 },
  );
}

Deno.test("MQTT ingest: two instances sharing $share/cesc each store every message once", async () => {
  const pki = await makeTestPki();
  const broker = await startMosquitto({ pki });
  const stored: { a: RawDatapoint[]; b: RawDatapoint[] } = { a: [], b: [] };
  const vins = new Set<string>();
  const a = await startMqttIngest(ingestOptions(broker, pki, (vin, dps) => {
    vins.add(vin);
    stored.a.push(...dps);
    return Promise.resolve();
  }));
  const b = await startMqttIngest(ingestOptions(broker, pki, async (vin, dps) => {
    vins.add(vin);
    await new Promise((r) => setTimeout(r, 1)); // a slower store
    stored.b.push(...dps);
  }));
  const pub = await publisher(broker, pki);
  try {
    assert.equal(a.filter, "$share/cesc/vehicles/+/#");
    await pub.publishAsync("vehicles/VIN0001/gateway/connection_state", '{"state":"connected"}', {
      qos: 1,
      retain: true,
    });
    const n = 200;
    for (let i = 0; i < n; i++) await speed(pub, i, new Date(Date.UTC(2026, 0, 1, 0, 0, i % 60)).toISOString());
    await until(() => stored.a.length + stored.b.length >= n, `${n} datapoints`);
    await new Promise((r) => setTimeout(r, 100)); // room for duplicates to show up
    const all = [...stored.a, ...stored.b];
    assert.equal(all.length, n, "each message stored once");
    assert.deepEqual(new Set(all.map((d) => Number(d.value))).size, n);
    assert.ok(stored.a.length > 0 && stored.b.length > 0, "the load is split");
    assert.deepEqual([...vins], ["VIN0001"]);
    assert.deepEqual(stored.a[0].path, "Vehicle.Speed");
    assert.match(String(stored.a[0].ts), /^2026-01-01T00:00:\d\d\.000Z$/);
    assert.equal(a.stats().stored + b.stats().stored, n);
    assert.equal(a.stats().skipped + b.stats().skipped, 1, "the connection state is skipped");
  } finally {
    await pub.endAsync();
    await a.close();
    await b.close();
    await broker.close();
    await pki.remove();
  }
});

Deno.test("MQTT ingest: a QoS 1 message is acknowledged only after onData resolved", async () => {
  const pki = await makeTestPki();
  const broker = await startMosquitto({ pki });
  let release = () => {};
  const hanging = new Promise<void>((r) => release = r);
  const seenFirst: string[] = [];
  const first = await startMqttIngest({
    ...ingestOptions(broker, pki, (_vin, dps) => {
      seenFirst.push(String(dps[0].value));
      return hanging; // the "commit" never finishes
    }),
    clientId: "cesc-a",
  });
  const pub = await publisher(broker, pki);
  let second: Awaited<ReturnType<typeof startMqttIngest>> | undefined;
  try {
    await speed(pub, 77, "2026-01-01T00:00:00Z"); // resolves on the broker's PUBACK
    await until(() => seenFirst.length === 1, "first delivery");
    await first.close();
    const seenSecond: string[] = [];
    second = await startMqttIngest({
      ...ingestOptions(broker, pki, (_vin, dps) => {
        seenSecond.push(String(dps[0].value));
        return Promise.resolve();
      }),
      clientId: "cesc-a",
    });
    await until(() => seenSecond.length === 1, "redelivery of the unacknowledged message");
    assert.deepEqual(seenSecond, ["77"]);
    assert.equal(second.stats().stored, 1);
  } finally {
    release();
    await pub.endAsync();
    await first.close();
    await second?.close();
    await broker.close();
    await pki.remove();
  }
});

Deno.test("MQTT ingest: bad payloads are rejected without blocking; onData failures are retried", async () => {
  const pki = await makeTestPki();
  const broker = await startMosquitto({ pki });
  const rejected: string[] = [];
  const stored: RawDatapoint[] = [];
  let failures = 1;
  const ingest = await startMqttIngest({
    ...ingestOptions(broker, pki, (_vin, dps) => {
      if (failures-- > 0) return Promise.reject(new Error("database is locked"));
      stored.push(...dps);
      return Promise.resolve();
    }),
    onReject: (e) => rejected.push(e.code),
    retryMinMs: 10,
  });
  const raw = connect(broker.url, {
    ca: Deno.readTextFileSync(pki.caCert),
    cert: Deno.readTextFileSync(pki.clientCert),
    key: Deno.readTextFileSync(pki.clientKey),
    protocolVersion: 5,
    reconnectPeriod: 0,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      raw.once("connect", () => resolve());
      raw.once("error", reject);
    });
    await raw.publishAsync("vehicles/car-9/vehicle/speed", "{not json", { qos: 1 });
    await raw.publishAsync("vehicles/car-9/engine/rpm", "3500", { qos: 1 }); // the ESP gateway's bare value
    await raw.publishAsync("vehicles/car-9/gateway/uptime", "12", { qos: 1 }); // no VSS path: skipped
    await until(() => stored.length === 1, "the rpm datapoint");
    assert.deepEqual(rejected, ["mqtt.payload"]);
    assert.equal(stored[0].path, "Vehicle.Powertrain.CombustionEngine.Speed");
    // Handed on as the payload gives it (a JSON number, no ts): the CESC's validation refuses it, see ingest_test.
    assert.equal(stored[0].value, 3500);
    assert.equal(stored[0].ts, undefined);
    await until(() => ingest.stats().skipped === 1, "skipped uptime");
    const s = ingest.stats();
    assert.equal(s.retries, 1);
    assert.equal(s.rejected, 1);
  } finally {
    await raw.endAsync();
    await ingest.close();
    await broker.close();
    await pki.remove();
  }
});

Deno.test("MQTT ingest: unwrap hook verifies envelopes; unauthentic messages are rejected, never stored", async () => {
  const pki = await makeTestPki();
  const broker = await startMosquitto({ pki });
  const stored: RawDatapoint[] = [];
  const rejected: string[] = [];
  const ingest = await startMqttIngest({
    ...ingestOptions(broker, pki, (_vin, dps) => {
      stored.push(...dps);
      return Promise.resolve();
    }),
    unwrap: (_topic, body) => {
      const text = new TextDecoder().decode(body);
      if (!text.startsWith("SIGNED:")) throw new PipelineError("security.missing_signature", "no envelope");
      return new TextEncoder().encode(text.slice("SIGNED:".length));
    },
    onReject: (e) => rejected.push(e.code),
  });
  const pub = await publisher(broker, pki);
  try {
    const dp = JSON.stringify({ path: "Vehicle.Speed", value: 5, ts: "2026-01-01T00:00:00Z" });
    await pub.publishAsync("vehicles/V1/vehicle/speed", dp, { qos: 1 });
    await pub.publishAsync("vehicles/V1/gateway/uptime", "1", { qos: 1 }); // unsigned event: rejected too
    await pub.publishAsync("vehicles/V1/vehicle/speed", "SIGNED:" + dp, { qos: 1 });
    await until(() => stored.length === 1 && rejected.length === 2, "one stored, two rejected");
    assert.deepEqual(rejected, ["security.missing_signature", "security.missing_signature"]);
    assert.equal(stored[0].value, 5);
  } finally {
    await pub.endAsync();
    await ingest.close();
    await broker.close();
    await pki.remove();
  }
});

Deno.test("MQTT ingest: a certificate from another CA cannot subscribe", async () => {
  const pki = await makeTestPki();
  const broker = await startMosquitto({ pki });
  const rogue = await pki.issueClient("intruder", { rogue: true });
  try {
    await assert.rejects(
      startMqttIngest({
        url: broker.url,
        tls: { caPath: pki.caCert, certPath: rogue.cert, keyPath: rogue.key },
        onData: () => Promise.resolve(),
      }),
      (e) => e instanceof PipelineError && e.code === "mqtt.connect",
    );
  } finally {
    await broker.close();
    await pki.remove();
  }
});
