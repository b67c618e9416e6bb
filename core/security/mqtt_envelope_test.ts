import assert from "node:assert/strict";
import { connect } from "mqtt";
import { createSigner, createVerifier, KeyStore, type MessageVerifyResult } from "./mod.ts";

/** A throwaway mosquitto on a free loopback port (never the machine's 1883). */
async function startMosquitto(): Promise<{ url: string; stop: () => Promise<void> }> {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const dir = await Deno.makeTempDir({ prefix: "ccs-security-mqtt-" });
  await Deno.writeTextFile(`${dir}/mosquitto.conf`, `listener ${port} 127.0.0.1\nallow_anonymous true\n`);
  const child = new Deno.Command("mosquitto", {
    args: ["-c", `${dir}/mosquitto.conf`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  };
  for (let i = 0;; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch (e) {
      if (i > 200) {
        await stop();
        throw e;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return { url: `mqtt://127.0.0.1:${port}`, stop };
}

Deno.test("MQTT through a real mosquitto: signed wrappers verify, forged and replayed ones do not", async () => {
  const broker = await startMosquitto();
  const key = new Uint8Array(32).fill(0x5a);
  const verifier = createVerifier({ keys: KeyStore.fromEntries([["k1", key]]) });
  const signer = createSigner({ keyId: "k1", key, senderId: "VIN0001" });
  const results: MessageVerifyResult[] = [];
  const sub = connect(broker.url, { reconnectPeriod: 0 });
  const pub = connect(broker.url, { reconnectPeriod: 0 });
  try {
    await Promise.all([sub, pub].map((c) => new Promise((ok, fail) => (c.once("connect", ok), c.once("error", fail)))));
    sub.on("message", (topic, payload) => results.push(verifier.verifyMessage({ topic, payload })));
    await sub.subscribeAsync("vehicles/+/telemetry", { qos: 1 });
    const topic = "vehicles/VIN0001/telemetry";
    const good = signer.signMessage({ topic, body: '{"Vehicle.Speed":42.5}' });
    await pub.publishAsync(topic, good, { qos: 1 });
    await pub.publishAsync(topic, good, { qos: 1 }); // replayed
    const forged = JSON.parse(signer.signMessage({ topic, body: "{}" }));
    forged.body = btoa('{"Vehicle.Speed":250}');
    await pub.publishAsync(topic, JSON.stringify(forged), { qos: 1 });
    await pub.publishAsync("vehicles/VIN0002/telemetry", signer.signMessage({ topic, body: "{}" }), { qos: 1 });
    await pub.publishAsync(topic, '{"Vehicle.Speed":1}', { qos: 1 }); // unsigned
    for (let i = 0; results.length < 5 && i < 400; i++) await new Promise((r) => setTimeout(r, 25));
    assert.deepEqual(results.map((r) => (r.ok ? "ok" : r.reason)), [
      "ok",
      "replay",
      "bad_signature",
      "bad_signature",
      "missing_signature",
    ]);
    const first = results[0];
    assert.ok(first.ok);
    assert.equal(first.senderId, "VIN0001");
    assert.equal(new TextDecoder().decode(first.body), '{"Vehicle.Speed":42.5}');
    assert.deepEqual(verifier.metrics(), {
      accepted: 1,
      missing_signature: 1,
      unknown_key: 0,
      bad_signature: 2,
      timestamp_drift: 0,
      replay: 1,
      malformed: 0,
    });
  } finally {
    await Promise.all([sub.endAsync(), pub.endAsync()]);
    await broker.stop();
  }
});
