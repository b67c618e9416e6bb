import assert from "node:assert/strict";
import { connect } from "mqtt";
import { parseAvroIngest } from "../core/codec/mod.ts";
import { DatapointValidator } from "../core/datapoint/mod.ts";
import { createLogger, silentLogger } from "../core/log/mod.ts";
import { createVerifier, KeyStore } from "../core/security/mod.ts";
import { parseVissIngest } from "../core/viss/mod.ts";
import { loadVssCatalog } from "../core/vss/mod.ts";
import { startMosquitto, until } from "../testing/mod.ts";
import { parseVecConfig } from "./config.ts";
import type { DatapointSink } from "./sinks/types.ts";
import { buildSinks } from "./uplinks.ts";

const catalog = loadVssCatalog(parseVecConfig({}).can.catalog);
const speed = (v: number) => ({ path: "Vehicle.Speed", value: v, tsMs: Date.UTC(2026, 0, 1, 0, 0, v) });

/** A loopback CESC ingest that keeps each request's headers and body. */
function recorder() {
  const requests: { headers: Headers; body: Uint8Array }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    requests.push({ headers: req.headers, body: new Uint8Array(await req.arrayBuffer()) });
    return Response.json({ stored: 1 });
  });
  return { requests, server, url: `http://127.0.0.1:${server.addr.port}` };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "uplinks_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function run(sinks: readonly DatapointSink[], fn: () => Promise<void>): Promise<void> {
  for (const s of sinks) {
    s.setVin?.("VINUPLINK0000001");
    await s.start?.();
  }
  try {
    await fn();
  } finally {
    for (const s of sinks) await s.close({ drainMs: 2000 });
  }
}

Deno.test("buildSinks: no sink configured gives none; a CESC url gives the CESC sink over <queue.dir>/cesc-queue.db", async () => {
  await withDir(async (dir) => {
    const none = await buildSinks(parseVecConfig({ queue: { dir } }), { catalog, logger: silentLogger });
    assert.deepEqual(none.sinks, []);
    await none.close();
    const cesc = recorder();
    try {
      const config = parseVecConfig({ cesc: { url: cesc.url, batch_max_ms: 10 }, queue: { dir, max_bytes: 1 << 20 } });
      const built = await buildSinks(config, { catalog, logger: silentLogger });
      assert.deepEqual(built.sinks.map((s) => s.name), ["cesc"]);
      await run(built.sinks, async () => {
        built.sinks[0].write([speed(1), speed(2)]);
        await until(() => cesc.requests.length === 1, "one push");
      });
      await built.close();
      await built.close();
      const r = parseVissIngest(cesc.requests[0].body, new DatapointValidator(catalog));
      assert.equal(r.vin, "VINUPLINK0000001");
      assert.deepEqual(r.datapoints, [speed(1), speed(2)]);
      assert.equal(cesc.requests[0].headers.get("content-type"), "application/json");
      assert.ok((await Deno.stat(`${dir}/cesc-queue.db`)).isFile);
    } finally {
      await cesc.server.shutdown();
    }
  });
});

Deno.test("buildSinks: cesc.encoding avro pushes AVRO containers; security.sign signs them (verifiable)", async () => {
  await withDir(async (dir) => {
    const cesc = recorder();
    const keyText = "k1=hex:" + "2a".repeat(32);
    await Deno.writeTextFile(`${dir}/keys`, keyText);
    try {
      const config = parseVecConfig({
        cesc: { url: cesc.url, encoding: "avro", batch_max_ms: 10 },
        security: { sign: true, key_id: "k1", key_file: `${dir}/keys` },
        queue: { dir },
      });
      const lines: Record<string, unknown>[] = [];
      const logger = createLogger("vec", { sink: { write: (l) => lines.push(JSON.parse(l)) } });
      const built = await buildSinks(config, { catalog, logger });
      assert.ok(lines.some((l) => l.msg === "signing uplinks" && l.key_id === "k1"));
      await run(built.sinks, async () => {
        built.sinks[0].write([speed(3)]);
        await until(() => cesc.requests.length === 1, "one push");
      });
      await built.close();
      const { headers, body } = cesc.requests[0];
      assert.equal(headers.get("content-type"), "application/avro");
      assert.deepEqual(parseAvroIngest(body, new DatapointValidator(catalog)).datapoints, [speed(3)]);
      const verified = createVerifier({ keys: KeyStore.parse(keyText) }).verifyHttp({
        method: "POST",
        path: "/",
        headers,
        body,
      });
      assert.ok(verified.ok, JSON.stringify(verified));
    } finally {
      await cesc.server.shutdown();
    }
  });
});

Deno.test("buildSinks: a bad security key fails with what is wrong, and nothing stays open", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/keys`, "other=hex:" + "2a".repeat(32));
    const config = parseVecConfig({
      cesc: { url: "http://127.0.0.1:9" },
      security: { sign: true, key_id: "k1", key_file: `${dir}/keys` },
      queue: { dir },
    });
    await assert.rejects(
      buildSinks(config, { catalog, logger: silentLogger }),
      (e: Error & { code?: string }) => e.code === "security.unknown_key" && /has no key "k1"/.test(e.message),
    );
  });
});

Deno.test("buildSinks: mqtt.url gives the MQTT sink (lazy module) with its queue; events reach the broker typed", async () => {
  await withDir(async (dir) => {
    const broker = await startMosquitto({});
    const sub = connect(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    const got: { topic: string; payload: Record<string, unknown>; qos: number }[] = [];
    sub.on("message", (topic, p, packet) => got.push({ topic, payload: JSON.parse(p.toString()), qos: packet.qos }));
    try {
      await new Promise<void>((resolve, reject) => {
        sub.once("connect", () => resolve());
        sub.once("error", reject);
      });
      await sub.subscribeAsync("vehicles/car-9/#", { qos: 1 });
      const config = parseVecConfig({ thing_name: "car-9", mqtt: { url: broker.url }, queue: { dir } });
      const built = await buildSinks(config, { catalog, logger: silentLogger });
      assert.deepEqual(built.sinks.map((s) => s.name), ["mqtt"]);
      await run(built.sinks, async () => {
        built.sinks[0].write([speed(4)]);
        built.sinks[0].event!({
          topic: "diagnostics/dtc",
          payload: { code: "P0420" },
          qos: 1,
          tsMs: Date.UTC(2026, 0, 1),
        });
        await until(() => got.some((g) => g.topic.endsWith("diagnostics/dtc")), "the DTC event");
        await until(() => got.some((g) => g.topic.endsWith("vehicle/speed")), "the speed");
      });
      await built.close();
      const dtc = got.find((g) => g.topic === "vehicles/car-9/diagnostics/dtc")!;
      assert.deepEqual([dtc.qos, dtc.payload], [1, { code: "P0420", ts: "2026-01-01T00:00:00.000Z" }]);
      assert.deepEqual(got.find((g) => g.topic === "vehicles/car-9/vehicle/speed")!.payload, {
        path: "Vehicle.Speed",
        value: 4,
        ts: "2026-01-01T00:00:04.000Z",
      });
      assert.ok((await Deno.stat(`${dir}/mqtt-queue.db`)).isFile);
    } finally {
      await sub.endAsync();
      await broker.close();
    }
  });
});

Deno.test("buildSinks: an unreadable cesc.tls file is a config error naming the key", async () => {
  await withDir(async (dir) => {
    const config = parseVecConfig({
      cesc: { url: "https://127.0.0.1:9", tls: { ca_path: `${dir}/missing.pem` } },
      queue: { dir },
    });
    await assert.rejects(
      buildSinks(config, { catalog, logger: silentLogger }),
      (e: Error & { path?: string }) => /cesc\.tls\.ca_path/.test(e.message) && e.path === `${dir}/missing.pem`,
    );
  });
});
