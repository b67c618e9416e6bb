import assert from "node:assert/strict";
import { until } from "../../testing/mod.ts";
import { DiskQueue } from "../../core/queue/mod.ts";
import {
  AVRO_CONTENT_TYPE,
  decodeAvroPayload,
  encodeDatapointsAvro,
  loadDatatypeCatalog,
} from "../../core/codec/mod.ts";
import { CescSink, type CescSinkOptions } from "./cesc.ts";
import type { VissDatapoint } from "./types.ts";

/** A loopback HTTP server standing in for the CESC's ingest path, with a switchable failure mode. */
function recorder() {
  const bodies: { vin: string; data: { path: string; dp: { value: string; ts: string }[] }[] }[] = [];
  const state = { status: 200, headers: [] as Headers[] };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const text = await req.text();
    state.headers.push(req.headers);
    if (state.status !== 200) return new Response(`{"error":{"code":"x","message":"down"}}`, { status: state.status });
    bodies.push(JSON.parse(text));
    return Response.json({ stored: 1 });
  });
  return { bodies, state, server, url: `http://127.0.0.1:${server.addr.port}` };
}

type Recorder = ReturnType<typeof recorder>;

/**
 * Runs `fn` with a started CescSink (`options`) that posts to a {@link recorder} from a disk queue in a
 * temp dir; closes the sink, the queue and the server and removes the dir afterwards.
 */
async function withSink(
  options: Omit<CescSinkOptions, "url" | "queue">,
  fn: (cesc: Recorder, sink: CescSink) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const cesc = recorder();
  const queue = DiskQueue.open(`${dir}/q.db`, { name: "cesc" });
  const sink = new CescSink({ url: cesc.url, queue, ...options });
  try {
    sink.start();
    await fn(cesc, sink);
  } finally {
    await sink.close();
    queue.close();
    await cesc.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

const dp = (i: number): VissDatapoint => ({
  path: i % 2 ? "Vehicle.Speed" : "Vehicle.Powertrain.TractionBattery.StateOfCharge.Displayed",
  value: String(i),
  ts: new Date(1_700_000_000_000 + i * 10).toISOString(),
});

const received = (bodies: Recorder["bodies"]) =>
  bodies.flatMap((b) => b.data.flatMap((d) => d.dp.map((x) => Number(x.value)))).sort((a, b) => a - b);

Deno.test("cesc sink: batches by size, VISSv2 array form, CESC down then up: everything arrives once, in order", async () => {
  const options = { vin: "VIN123", batchMaxDatapoints: 10, batchMaxMs: 20, retryMinMs: 5, retryMaxMs: 20 };
  await withSink(options, async (cesc, sink) => {
    cesc.state.status = 503;
    for (let i = 0; i < 100; i++) sink.write([dp(i)]);
    await until(() => sink.stats().failures >= 3, "failures");
    assert.equal(cesc.bodies.length, 0);
    assert.ok(sink.stats().queued >= 9, `queued ${sink.stats().queued}`);
    cesc.state.status = 200;
    await until(() => sink.stats().sentDatapoints === 100, "drain");
    assert.deepEqual(received(cesc.bodies), [...Array(100).keys()]);
    // Order: batches leave in the order they were queued.
    const firstValues = cesc.bodies.map((b) => Math.min(...b.data.flatMap((d) => d.dp.map((x) => Number(x.value)))));
    assert.deepEqual(firstValues, [...firstValues].sort((a, b) => a - b));
    const body = cesc.bodies[0];
    assert.equal(body.vin, "VIN123");
    assert.ok(Array.isArray(body.data) && body.data.every((d) => typeof d.path === "string" && Array.isArray(d.dp)));
    assert.equal(sink.stats().queued, 0);
  });
});

Deno.test("cesc sink: queued batches survive a restart and are sent by the next run", async () => {
  const dir = await Deno.makeTempDir();
  const cesc = recorder();
  try {
    let queue = DiskQueue.open(`${dir}/q.db`, { name: "cesc" });
    // First run: the CESC is unreachable (a port nobody listens on).
    const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadUrl = `http://127.0.0.1:${(dead.addr as Deno.NetAddr).port}`;
    dead.close();
    let sink = new CescSink({ url: deadUrl, queue, vin: "V", batchMaxDatapoints: 5, retryMinMs: 5, retryMaxMs: 10 });
    sink.start();
    for (let i = 0; i < 23; i++) sink.write([dp(i)]);
    await sink.close();
    queue.close();
    // Second run: same queue file, the CESC is back.
    queue = DiskQueue.open(`${dir}/q.db`, { name: "cesc" });
    assert.equal(queue.stats().depth, 5);
    sink = new CescSink({ url: cesc.url, queue, vin: "V", batchMaxDatapoints: 5 });
    sink.start();
    await until(() => sink.stats().sentDatapoints === 23, "drain after restart");
    assert.deepEqual(received(cesc.bodies), [...Array(23).keys()]);
    await sink.close();
    queue.close();
  } finally {
    await cesc.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cesc sink: a batch the CESC rejects (400) is dropped and counted, the rest flows; signer headers are sent", async () => {
  const options: Omit<CescSinkOptions, "url" | "queue"> = {
    vin: "V",
    batchMaxDatapoints: 2,
    signer: ({ method, path, body }) => ({ "x-test-sig": `${method} ${path} ${body.length}` }),
  };
  await withSink(options, async (cesc, sink) => {
    cesc.state.status = 400;
    sink.write([dp(0), dp(1)]);
    await until(() => sink.stats().rejectedRequests === 1, "rejection");
    cesc.state.status = 200;
    sink.write([dp(2), dp(3)]);
    await until(() => sink.stats().sentDatapoints === 2, "second batch");
    assert.deepEqual(received(cesc.bodies), [2, 3]);
    assert.equal(sink.stats().rejectedDatapoints, 2);
    assert.match(cesc.state.headers.at(-1)!.get("x-test-sig") ?? "", /^POST \/ \d+$/);
  });
});

Deno.test("cesc sink: without a VIN data waits; setVin releases it; partial batches leave after batchMaxMs", async () => {
  await withSink({ batchMaxDatapoints: 1000, batchMaxMs: 30 }, async (cesc, sink) => {
    sink.write([dp(0), dp(1), dp(2)]);
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(cesc.bodies.length, 0);
    assert.equal(sink.stats().buffered, 3);
    sink.setVin("LATEVIN");
    sink.write([dp(3)]);
    await until(() => sink.stats().sentDatapoints === 4, "time flush");
    assert.equal(cesc.bodies[0].vin, "LATEVIN");
  });
});

Deno.test("cesc sink: AVRO encoding sends application/avro container files the codec reads back", async () => {
  const dir = await Deno.makeTempDir();
  const bodies: { type: string | null; bytes: Uint8Array }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    bodies.push({ type: req.headers.get("content-type"), bytes: new Uint8Array(await req.arrayBuffer()) });
    return Response.json({ stored: 1 });
  });
  const queue = DiskQueue.open(`${dir}/q.db`, { name: "cesc" });
  const catalog = loadDatatypeCatalog();
  const sink = new CescSink({
    url: `http://127.0.0.1:${server.addr.port}`,
    queue,
    vin: "AVROVIN000000001",
    batchMaxDatapoints: 4,
    encoder: (vin, dps) => ({
      body: encodeDatapointsAvro(dps, { catalog, framing: "container", vin }),
      contentType: AVRO_CONTENT_TYPE,
    }),
  });
  try {
    sink.start();
    const sent = [0, 1, 2, 3].map(dp);
    sink.write(sent);
    await until(() => sink.stats().sentDatapoints === 4, "avro push");
    assert.equal(bodies[0].type, "application/avro");
    const decoded = decodeAvroPayload(bodies[0].bytes);
    assert.equal(decoded.vin, "AVROVIN000000001");
    assert.deepEqual(
      decoded.datapoints.map((d) => [d.path, Number(d.value), d.ts]).sort(),
      sent.map((d) => [d.path, Number(d.value), d.ts]).sort(),
    );
  } finally {
    await sink.close();
    queue.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
