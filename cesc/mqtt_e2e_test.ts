/**
 * End to end over MQTT: a generated candump log → VEC (real WASM decoder and mapping, MqttSink with mTLS) → a real
 * mosquitto → the CESC MQTT ingest (shared subscription) → the datapoints handed to onData equal the encoded values.
 */
import assert from "node:assert/strict";
import { encodeReference, type MessageDef, parseDbc } from "../core/can/mod.ts";
import type { MqttDatapoint } from "../core/mqtt/mod.ts";
import { makeTestPki, startMosquitto } from "../testing/mod.ts";
import { parseVecConfig, startVec } from "../vec/mod.ts";
import { startMqttIngest } from "./mqtt_ingest.ts";

const dbc = parseDbc(await Deno.readTextFile(new URL("../assets/dbc/Model3CAN.dbc", import.meta.url)));
const msg = (id: number) => dbc.messages.find((m) => m.id === id)!;
const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0").toUpperCase()).join("");
const frame = (m: MessageDef, values: Record<string, number>) => {
  const all = Object.fromEntries(m.signals.map((s) => [s.name, Math.max(0, s.offset)]));
  return `${m.id.toString(16).toUpperCase().padStart(3, "0")}#${hex(encodeReference(m, { ...all, ...values }))}`;
};
const T0 = 1_700_000_000;

Deno.test("e2e MQTT: candump replay → VEC MqttSink (mTLS) → mosquitto → CESC ingest gets every speed value", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mqtt_e2e_" });
  const pki = await makeTestPki();
  const broker = await startMosquitto({ pki });
  const got: MqttDatapoint[] = [];
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
    const speeds: [string, string][] = [];
    for (let i = 0; i < 20; i++) {
      const t = T0 + i * 0.15;
      lines.push(`(${t.toFixed(6)}) can0 ${frame(msg(599), { DI_uiSpeed: 10 + i })}`);
      speeds.push([new Date(t * 1000).toISOString(), String(10 + i)]);
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
