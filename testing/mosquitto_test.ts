import assert from "node:assert/strict";
import { connect, type MqttClient } from "mqtt";
import { makeTestPki, startMosquitto } from "./mod.ts";

function connected(client: MqttClient): Promise<void> {
  return new Promise((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", reject);
  });
}

Deno.test("mosquitto: mTLS broker accepts the CA's client and restarts on the same port", async () => {
  const pki = await makeTestPki();
  const broker = await startMosquitto({ pki });
  try {
    assert.notEqual(broker.port, 1883);
    const client = connect(broker.url, {
      ca: Deno.readTextFileSync(pki.caCert),
      cert: Deno.readTextFileSync(pki.clientCert),
      key: Deno.readTextFileSync(pki.clientKey),
      reconnectPeriod: 0,
    });
    await connected(client);
    await client.endAsync();
    const port = broker.port;
    await broker.restart();
    assert.equal(broker.port, port);
    assert.ok(broker.running);
  } finally {
    await broker.close();
    await pki.remove();
  }
});
