/**
 * End to end over MQTT: a generated candump log → VEC (real WASM decoder and mapping, MqttSink with mTLS) → a real
 * mosquitto → the CESC MQTT ingest (shared subscription) → the datapoints handed to onData equal the encoded values.
 */
import assert from "node:assert/strict";
import { parseTime, type RawDatapoint } from "../core/datapoint/mod.ts";
import { candumpFrame, makeTestPki, model3Message, startMosquitto } from "../testing/mod.ts";
import { MqttSink, mqttSinkOptionsFromConfig, parseVecConfig, startVec } from "../vec/mod.ts";
import { startMqttIngest } from "./mqtt_ingest.ts";
import { startCesc } from "./mod.ts";
import { createVerifier, KeyStore } from "../core/security/mod.ts";
import { PipelineError } from "../core/errors/mod.ts";
import { DatabaseSync } from "node:sqlite";

const msg = model3Message;
const frame = candumpFrame;
const T0 = 1_700_000_000;

Deno.test("e2e MQTT: candump replay → VEC MqttSink (mTLS) → mosquitto → CESC ingest gets every speed value", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mqtt_e2e_" });
  const pki = await makeTestPki();
  const broker = await startMosquitto({ pki });
  const got: RawDatapoint[] = [];
  const vins = new Set<string>();
  const ingest = await startMqttIngest({
    url: broker.url,
    tls: { caPath: pki.caCert, certPath: pki.clientCert, keyPath: pki.clientKey },
    onData: (vin, dps) => {
      vins.add(vin);
      got.push(...dps);
      return Promise.resolve();
    },
  });
  try {
    const lines: string[] = [];
    const speeds: [unknown, unknown][] = [];
    for (let i = 0; i < 20; i++) {
      const t = T0 + i * 0.15;
      lines.push(`(${t.toFixed(6)}) can0 ${frame(msg(599), { DI_uiSpeed: 10 + i })}`);
      speeds.push([new Date(t * 1000).toISOString(), 10 + i]); // typed on the wire: a JSON number, canonical time
    }
    await Deno.writeTextFile(`${dir}/drive.log`, lines.join("\n") + "\n");
    const vec = await startVec(parseVecConfig({
      thing_name: "E2EVIN0000000002",
      cert_path: pki.clientCert,
      key_path: pki.clientKey,
      ca_path: pki.caCert,
      mqtt: {
        url: broker.url,
        // replayed as fast as possible: no rate limit, and QoS 1 so every value is acknowledged
        policies: { "vehicle/speed": { minIntervalMs: 0, qos: 1 } },
      },
      can: { log: `${dir}/drive.log`, speed: 0 },
      queue: { dir: `${dir}/state` },
      api: { enabled: false },
    }));
    const summary = await vec.done;
    assert.equal(summary.frames, 20);
    const mqtt = summary.sinks.mqtt as { queue: { depth: number }; connects: number };
    assert.equal(mqtt.connects, 1);
    assert.equal(mqtt.queue.depth, 0, "everything acknowledged before the VEC stopped");
    const end = Date.now() + 10_000;
    while (got.filter((d) => d.path === "Vehicle.Speed").length < 20 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(got.filter((d) => d.path === "Vehicle.Speed").map((d) => [d.ts, d.value]), speeds);
    assert.deepEqual([...vins], ["E2EVIN0000000002"]);
  } finally {
    await ingest.close();
    await broker.close();
    await pki.remove();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("e2e MQTT: AVRO payloads (MQTT 5 content type) are decoded by the ingest without configuration", async () => {
  const pki = await makeTestPki();
  const broker = await startMosquitto({ pki });
  const got: RawDatapoint[] = [];
  const ingest = await startMqttIngest({
    url: broker.url,
    tls: { caPath: pki.caCert, certPath: pki.clientCert, keyPath: pki.clientKey },
    onData: (_vin, dps) => {
      got.push(...dps);
      return Promise.resolve();
    },
  });
  const sink = new MqttSink(mqttSinkOptionsFromConfig({
    thing_name: "AVROVIN",
    cert_path: pki.clientCert,
    key_path: pki.clientKey,
    ca_path: pki.caCert,
    mqtt: { url: broker.url, encoding: "avro", policies: { "vehicle/speed": { minIntervalMs: 0 } } },
  }));
  try {
    await sink.start();
    const at = (ts: string) => parseTime(ts);
    sink.publish({ path: "Vehicle.Speed", value: 23.5, tsMs: at("2026-11-23T10:30:00.000Z") });
    sink.publish({ path: "Vehicle.OBD.DTCList", value: ["P0300", "U0100"], tsMs: at("2026-11-23T10:30:01.000Z") });
    sink.publish({
      path: "Vehicle.Powertrain.Transmission.SelectedGear",
      value: 127,
      tsMs: at("2026-11-23T10:30:02Z"),
    });
    assert.ok(await sink.flush(10_000));
    const end = Date.now() + 10_000;
    while (got.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    const by = Object.fromEntries(got.map((d) => [d.path, d]));
    // AVRO carries typed values and ms timestamps: the raw datapoints are typed already.
    assert.deepEqual(by["Vehicle.Speed"], { path: "Vehicle.Speed", value: 23.5, ts: Date.UTC(2026, 10, 23, 10, 30) });
    assert.equal(by["Vehicle.Powertrain.Transmission.SelectedGear"].value, 127);
    assert.ok(by["Vehicle.OBD.DTCList"], "the DTC list arrived");
  } finally {
    await sink.close();
    await ingest.close();
    await broker.close();
    await pki.remove();
  }
});

Deno.test("e2e MQTT: VEC → mosquitto (mTLS) → startCesc({mqtt}) stores OVDS rows; two CESCs share the subscription", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mqtt_cesc_e2e_" });
  const pki = await makeTestPki();
  const broker = await startMosquitto({ pki });
  const tls = { caPath: pki.caCert, certPath: pki.clientCert, keyPath: pki.clientKey };
  // Two CESC instances on one database file split the stream through $share/cesc/vehicles/+/#.
  const a = await startCesc({ db: `${dir}/ovds.db`, port: 0, backend: "none", mqtt: { url: broker.url, tls } });
  const b = await startCesc({ db: `${dir}/ovds.db`, port: 0, backend: "none", mqtt: { url: broker.url, tls } });
  try {
    const lines: string[] = [];
    const speeds: [string, string][] = [];
    for (let i = 0; i < 40; i++) {
      const t = T0 + i * 0.15;
      lines.push(`(${t.toFixed(6)}) can0 ${frame(msg(599), { DI_uiSpeed: 10 + i })}`);
      speeds.push([new Date(t * 1000).toISOString(), String(10 + i)]);
    }
    await Deno.writeTextFile(`${dir}/drive.log`, lines.join("\n") + "\n");
    const vec = await startVec(parseVecConfig({
      thing_name: "MQTTVIN000000001",
      cert_path: pki.clientCert,
      key_path: pki.clientKey,
      ca_path: pki.caCert,
      mqtt: { url: broker.url, policies: { "vehicle/speed": { minIntervalMs: 0, qos: 1 } } },
      can: { log: `${dir}/drive.log`, speed: 0 },
      queue: { dir: `${dir}/state` },
      api: { enabled: false },
    }));
    await vec.done;
    const rows = () => {
      const db = new DatabaseSync(`${dir}/ovds.db`, { readOnly: true });
      try {
        const v = db.prepare("SELECT vin_id FROM VIN_TIV WHERE vin = ?").get("MQTTVIN000000001") as
          | { vin_id: number }
          | undefined;
        if (!v) return [];
        return (db.prepare(
          `SELECT timestamp, value FROM TV_${v.vin_id} WHERE path = 'Vehicle.Speed' ORDER BY timestamp`,
        )
          .all() as { timestamp: string; value: string }[]).map((r) => [r.timestamp, r.value]);
      } finally {
        db.close();
      }
    };
    const end = Date.now() + 15_000;
    while (rows().length < 40 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(rows(), speeds, "every value stored once");
    const ingested = (c: typeof a) => c.metrics.counter("cesc_ingested_datapoints_total");
    assert.ok(ingested(a) > 0 && ingested(b) > 0, "both instances took a share");
  } finally {
    await a.close();
    await b.close();
    await broker.close();
    await pki.remove();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("e2e MQTT: signed envelopes (security.sign) are verified by the CESC ingest; unsigned ones are refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mqtt_signed_" });
  const pki = await makeTestPki();
  const broker = await startMosquitto({ pki });
  await Deno.writeTextFile(`${dir}/keys`, "k1=hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n");
  const verifier = createVerifier({ keys: await KeyStore.fromFile(`${dir}/keys`) });
  const tls = { caPath: pki.caCert, certPath: pki.clientCert, keyPath: pki.clientKey };
  const cesc = await startCesc({
    db: `${dir}/ovds.db`,
    port: 0,
    backend: "none",
    mqtt: {
      url: broker.url,
      tls,
      unwrap: (topic, body) => {
        const r = verifier.verifyMessage({ topic, payload: body });
        if (!r.ok) throw new PipelineError(`auth.${r.reason}`, r.message);
        return r.body;
      },
    },
  });
  try {
    const lines: string[] = [];
    for (let i = 0; i < 10; i++) {
      lines.push(`(${(T0 + i * 0.15).toFixed(6)}) can0 ${frame(msg(599), { DI_uiSpeed: 10 + i })}`);
    }
    await Deno.writeTextFile(`${dir}/drive.log`, lines.join("\n") + "\n");
    const run = async (vin: string, sign: boolean) => {
      const vec = await startVec(parseVecConfig({
        thing_name: vin,
        cert_path: pki.clientCert,
        key_path: pki.clientKey,
        ca_path: pki.caCert,
        mqtt: { url: broker.url, policies: { "vehicle/speed": { minIntervalMs: 0, qos: 1 } } },
        can: { log: `${dir}/drive.log`, speed: 0 },
        queue: { dir: `${dir}/state-${vin}` },
        security: sign ? { sign: true, key_id: "k1", key_file: `${dir}/keys` } : {},
        api: { enabled: false },
      }));
      await vec.done;
    };
    const count = (vin: string) => {
      const db = new DatabaseSync(`${dir}/ovds.db`, { readOnly: true });
      try {
        const v = db.prepare("SELECT vin_id FROM VIN_TIV WHERE vin = ?").get(vin) as { vin_id: number } | undefined;
        return v ? (db.prepare(`SELECT COUNT(*) AS n FROM TV_${v.vin_id}`).get() as { n: number }).n : 0;
      } finally {
        db.close();
      }
    };
    await run("SIGNEDMQTT000001", true);
    await run("UNSIGNEDMQTT0001", false);
    const end = Date.now() + 10_000;
    while (count("SIGNEDMQTT000001") < 10 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.equal(count("SIGNEDMQTT000001"), 10);
    const end2 = Date.now() + 10_000;
    while (verifier.metrics().missing_signature + verifier.metrics().malformed < 10 && Date.now() < end2) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(count("UNSIGNEDMQTT0001"), 0, "nothing unsigned is stored");
    assert.ok(verifier.metrics().accepted >= 10);
  } finally {
    await cesc.close();
    await broker.close();
    await pki.remove();
    await Deno.remove(dir, { recursive: true });
  }
});
