import assert from "node:assert/strict";
import { until } from "../../testing/mod.ts";
import { DiskQueue } from "../../core/queue/mod.ts";
import { loadDatatypeCatalog, parseAvroIngest } from "../../core/codec/mod.ts";
import { type Datapoint, DatapointValidator, formatTime } from "../../core/datapoint/mod.ts";
import { avroContainerEncoder } from "../../core/uplink/mod.ts";
import { parseVissIngest, refusedBody } from "../../core/viss/mod.ts";
import { vinRows, withCesc } from "../../testing/cesc.ts";
import { cescOutcome, CescSink, type CescSinkOptions } from "./cesc.ts";

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

const dp = (i: number): Datapoint => ({
  path: i % 2 ? "Vehicle.Speed" : "Vehicle.Powertrain.TractionBattery.StateOfCharge.Displayed",
  value: i,
  tsMs: 1_700_000_000_000 + i * 10,
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
    encoder: await avroContainerEncoder(catalog),
  });
  try {
    sink.start();
    const sent = [0, 1, 2, 3].map(dp);
    sink.write(sent);
    await until(() => sink.stats().sentDatapoints === 4, "avro push");
    assert.equal(bodies[0].type, "application/avro");
    const decoded = parseAvroIngest(bodies[0].bytes, new DatapointValidator());
    assert.equal(decoded.vin, "AVROVIN000000001");
    assert.deepEqual(decoded.refusals, []);
    assert.deepEqual(
      decoded.datapoints.map((d) => [d.path, d.value, d.tsMs]).sort(),
      sent.map((d) => [d.path, d.value, d.tsMs]).sort(),
    );
  } finally {
    await sink.close();
    queue.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * A loopback CESC ingest that validates like the CESC (one `DatapointValidator`, here: Vehicle.Speed at most 250)
 * and answers a request with any refused datapoint by `400 viss.refused` naming them, storing nothing of it.
 */
function validatingCesc() {
  const validator = new DatapointValidator({
    get: (p) => p === "Vehicle.Speed" ? { datatype: "float", max: 250 } : { datatype: "uint8" },
  });
  const stored: Datapoint[] = [];
  const answers: number[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const r = parseVissIngest(await req.text(), validator);
    const status = r.refusals.length > 0 ? 400 : 200;
    answers.push(status);
    if (status === 400) return Response.json(refusedBody(r.refusals, r.count), { status });
    stored.push(...r.datapoints);
    return Response.json({ stored: r.datapoints.length });
  });
  return { stored, answers, server, url: `http://127.0.0.1:${server.addr.port}` };
}

Deno.test("cesc sink: the CESC refuses 1 of 150 datapoints (400 viss.refused): only it is dropped, the other 149 stored", async () => {
  const dir = await Deno.makeTempDir();
  const cesc = validatingCesc();
  const queue = DiskQueue.open(`${dir}/q.db`, { name: "cesc" });
  const sink = new CescSink({ url: cesc.url, queue, vin: "V", batchMaxDatapoints: 150 });
  try {
    sink.start();
    // Vehicle.Speed 300 (index 41 in the batch) is above the CESC's maximum
    const batch = Array.from({ length: 150 }, (_, i) => i === 41 ? { ...dp(41), value: 300 } : dp(i));
    sink.write(batch);
    await until(() => sink.stats().sentDatapoints === 149, "the 149 good datapoints");
    assert.deepEqual(cesc.answers, [400, 200]);
    const key = (d: Datapoint) => `${d.path}@${formatTime(d.tsMs)}=${Number(d.value)}`;
    assert.deepEqual(cesc.stored.map(key).sort(), batch.filter((_, i) => i !== 41).map(key).sort());
    const s = sink.stats();
    assert.deepEqual([s.sentRequests, s.rejectedRequests, s.rejectedDatapoints, s.partlyRefused], [1, 1, 1, 1]);
    assert.deepEqual(s.drops, { refused: 1 });
    assert.equal(s.queued, 0);
  } finally {
    await sink.close();
    queue.close();
    await cesc.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cesc sink against the real CESC: the one datapoint it refuses is dropped, the other 149 stored", async () => {
  await withCesc(async (cesc, dir) => {
    const qdir = await Deno.makeTempDir();
    const queue = DiskQueue.open(`${qdir}/q.db`, { name: "cesc" });
    const sink = new CescSink({ url: cesc.url, queue, vin: "REALCESC00000001", batchMaxDatapoints: 150 });
    try {
      sink.start();
      // a string for the float Vehicle.Speed: the VEC's pipeline would have refused it, the sink alone does not
      // (the state of charge stays within its VSS range 0..100)
      const batch: Datapoint[] = Array.from(
        { length: 150 },
        (_, i) => ({ ...dp(i), value: i === 99 ? "fast" : i % 2 ? i : i % 100 }),
      );
      sink.write(batch);
      await until(() => sink.stats().sentDatapoints === 149, "the 149 good datapoints");
      assert.deepEqual([sink.stats().rejectedDatapoints, sink.stats().partlyRefused], [1, 1]);
      const rows = vinRows(`${dir}/ovds.db`, "REALCESC00000001");
      assert.equal(rows.length, 149);
      assert.ok(!rows.some((r) => r.endsWith("|fast")));
    } finally {
      await sink.close();
      queue.close();
      await Deno.remove(qdir, { recursive: true });
    }
  });
});

Deno.test("cescOutcome: 2xx ack, viss.refused lists, other permanent statuses, retries with Retry-After", () => {
  assert.equal(cescOutcome(200, "{}").kind, "ack");
  assert.equal(cescOutcome(204, "").kind, "ack");
  const body = JSON.stringify(
    refusedBody([{ index: 3, path: "Vehicle.Speed", code: "datapoint.range", reason: "x" }], 9),
  );
  const refused = cescOutcome(400, body);
  assert.equal(refused.kind, "refused");
  assert.deepEqual(refused.kind === "refused" && refused.refusals?.map((r) => r.index), [3]);
  for (const status of [400, 413, 415, 422]) {
    const o = cescOutcome(status, `{"error":{"code":"x","message":"no"}}`);
    assert.equal(o.kind, "refused", `${status}`);
    assert.equal(o.kind === "refused" && o.refusals, undefined);
  }
  const retry = cescOutcome(503, "busy", "2");
  assert.deepEqual(retry, { kind: "retry", reason: "HTTP 503: busy", retryAfterMs: 2000 });
  assert.equal(cescOutcome(401, "").kind, "retry");
  assert.equal(cescOutcome(500, "").kind, "retry");
});
