/**
 * The VEC process dies (SIGKILL) with QoS 1 messages in its disk queue: the broker publishes the retained Last Will,
 * and a new sink on the same queue file delivers every message after the restart, in order.
 */
import assert from "node:assert/strict";
import { connect } from "mqtt";
import { makeTestPki, startMosquitto, until } from "../../testing/mod.ts";
import { MqttSink } from "./mqtt.ts";

const CHILD = `
import { MqttSink } from ${JSON.stringify(new URL("./mqtt.ts", import.meta.url).href)};
const [url, ca, cert, key, queuePath] = Deno.args;
const sink = new MqttSink({
  url, thingName: "gw-k", clientId: "gw-k", tls: { caPath: ca, certPath: cert, keyPath: key },
  queuePath, drainRatePerSec: 2, maxInflight: 1,
});
await sink.start();
for (let i = 0; i < 100; i++) sink.publishEvent("diagnostics/dtc", { seq: i });
sink.stats(); // commits the queue writes
console.log("queued", sink.stats().connected);
await new Promise(() => {}); // wait to be killed
`;

Deno.test("MqttSink process killed: retained Last Will, and the disk queue is delivered by the next process", async () => {
  const pki = await makeTestPki();
  const broker = await startMosquitto({ pki });
  const dir = await Deno.makeTempDir({ prefix: "mqtt_proc_" });
  const tls = {
    ca: Deno.readTextFileSync(pki.caCert),
    cert: Deno.readTextFileSync(pki.clientCert),
    key: Deno.readTextFileSync(pki.clientKey),
  };
  const sub = connect(broker.url, { ...tls, protocolVersion: 5, reconnectPeriod: 0, clientId: "observer" });
  const got: { topic: string; payload: string; retain: boolean }[] = [];
  sub.on(
    "message",
    (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain }),
  );
  let sink: MqttSink | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      sub.once("connect", () => resolve());
      sub.once("error", reject);
    });
    await sub.subscribeAsync("vehicles/gw-k/#", { qos: 1 });
    await Deno.writeTextFile(`${dir}/child.ts`, CHILD);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--config",
        new URL("../../deno.json", import.meta.url).pathname,
        `${dir}/child.ts`,
        broker.url,
        pki.caCert,
        pki.clientCert,
        pki.clientKey,
        `${dir}/queue.db`,
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    assert.equal(out.trim(), "queued true");
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();

    const state = () =>
      got.filter((m) => m.topic === "vehicles/gw-k/gateway/connection_state").map((m) => JSON.parse(m.payload));
    await until(() => state().some((s) => s.reason === "last-will"), "the Last Will");
    const dtcs = () => got.filter((m) => m.topic.endsWith("diagnostics/dtc")).map((m) => JSON.parse(m.payload).seq);
    const before = dtcs().length;
    assert.ok(before < 100, `the child delivered only part of the queue (${before})`);

    // retained: a new subscriber sees "disconnected" from the Last Will
    const late = connect(broker.url, { ...tls, protocolVersion: 5, reconnectPeriod: 0 });
    const retained = await new Promise<string>((resolve, reject) => {
      late.once("error", reject);
      late.on("message", (_t, p, packet) => packet.retain && resolve(p.toString()));
      late.once("connect", () => late.subscribe("vehicles/gw-k/gateway/connection_state"));
    });
    await late.endAsync();
    assert.equal(JSON.parse(retained).reason, "last-will");

    sink = new MqttSink({
      url: broker.url,
      thingName: "gw-k",
      clientId: "gw-k",
      tls: { caPath: pki.caCert, certPath: pki.clientCert, keyPath: pki.clientKey },
      queuePath: `${dir}/queue.db`,
      drainRatePerSec: 1000,
    });
    assert.equal(sink.stats().queue.depth + before >= 100, true, "the unacknowledged messages are still on disk");
    await sink.start();
    assert.ok(await sink.flush(20_000));
    await until(() => new Set(dtcs()).size === 100, "all 100 messages");
    const firsts = [...new Set(dtcs())];
    assert.deepEqual(firsts, Array.from({ length: 100 }, (_, i) => i), "first deliveries in order");
  } finally {
    await sink?.close();
    await sub.endAsync();
    await broker.close();
    await pki.remove();
    await Deno.remove(dir, { recursive: true });
  }
});
