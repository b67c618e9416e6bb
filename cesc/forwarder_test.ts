import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { openSqliteStore } from "../core/ovds/mod.ts";
import { type Cesc, type CescOptions, Forwarder, loadDataMap, startCesc } from "./mod.ts";
import { chunkRecords } from "./backends/delivery.ts";
import { createNoneBackend } from "./backends/none.ts";
import { until } from "../testing/mod.ts";
import { type FakeDig, postIngest, startFakeDig, startFakeHttpBackend } from "../testing/cesc.ts";

const ts = (i: number) => new Date(Date.UTC(2022, 6, 27, 12, 0, 0) + i * 1000).toISOString();

async function withDig(
  fn: (cesc: Cesc, dig: FakeDig) => Promise<void>,
  opts: Partial<CescOptions> = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cesc_fwd_test_" });
  const dig = startFakeDig();
  const cesc = await startCesc({
    db: join(dir, "ovds.db"),
    port: 0,
    backend: "dig",
    backendUrl: dig.url,
    credentials: { username: "user", password: "pw", serialNo: "CX0B21338D8D" },
    dataMap: await loadDataMap(),
    flushIntervalMs: 3600_000,
    maxDatapoints: 1e9,
    backoff: { baseMs: 2, maxMs: 20 },
    ...opts,
  });
  try {
    await fn(cesc, dig);
  } finally {
    await cesc.close();
    await dig.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function speedBody(vin: string, from: number, n: number) {
  return {
    vin,
    data: {
      path: "Vehicle.Speed",
      dp: Array.from({ length: n }, (_, i) => ({ value: `${from + i}.7`, ts: ts(from + i) })),
    },
  };
}

async function forwardAll(cesc: Cesc): Promise<void> {
  await until(async () => {
    await cesc.forwarder.flushAll();
    await cesc.forwarder.idle();
    return (await cesc.store.vehicles()).every((v) => v.backlog === 0);
  }, "backlog to drain");
}

Deno.test("dig: records per the data map, valid JSON, GPS pairs per vehicle, unmapped skipped", async () => {
  await withDig(async (cesc, dig) => {
    const r = await postIngest(cesc.url, {
      vin: "VIN-A",
      data: [
        { path: "Vehicle.LowVoltageSystemState", dp: [{ value: "ON", ts: ts(0) }, { value: "OFF", ts: ts(9) }] },
        { path: "Vehicle.Speed", dp: { value: "55.9", ts: ts(1) } },
        { path: "Vehicle.CurrentLocation.Latitude", dp: { value: "56.02", ts: ts(2) } },
        { path: "Vehicle.CurrentLocation.Longitude", dp: { value: "12.59", ts: ts(2) } },
        { path: "Vehicle.VehicleIdentification.VIN", dp: { value: "1NZI3SA5WPAJE2YR3", ts: ts(3) } },
        { path: "Vehicle.Cabin.Unmapped", dp: { value: "x", ts: ts(4) } },
      ],
    });
    assert.equal(r.status, 200);
    // Another vehicle's lone latitude must not pair with VIN-A's longitude.
    await postIngest(cesc.url, {
      vin: "VIN-B",
      data: { path: "Vehicle.CurrentLocation.Latitude", dp: { value: "1", ts: ts(2) } },
    });
    await forwardAll(cesc);
    const byType = (t: string) => dig.records.filter((x) => x.Type === t);
    assert.deepEqual(byType("GenericStatusRecord").map((x) => [x.Code, x.Value]), [[10000, 1], [10000, 0], [2185, 55]]);
    assert.deepEqual(byType("GpsRecord"), [{
      DateTime: ts(2),
      SerialNo: "CX0B21338D8D",
      Type: "GpsRecord",
      IsGpsValid: true,
      IsIgnitionOn: false, // the OFF at ts(9) came earlier in row order
      Latitude: 56.02,
      Longitude: 12.59,
      Speed: 55.9,
    }]);
    assert.deepEqual(byType("VinRecord").map((x) => x.VehicleIdentificationNumber), ["1NZI3SA5WPAJE2YR3"]);
    assert.equal(dig.auth.authenticate, 1);
    assert.ok(dig.calls.every((c) => c.auth === "Bearer bearer-1"));
    const m = await (await fetch(cesc.url + "metrics")).text();
    assert.match(m, /cesc_unmapped_datapoints_total\{reason="unmapped"\} 1/);
    assert.match(m, /cesc_unmapped_datapoints_total\{reason="gps_pending"\} 2/);
  });
});

Deno.test("dig: 429, 5xx, 401 token expiry and 413 lose nothing", async () => {
  await withDig(async (cesc, dig) => {
    dig.faults.push(429, 500, 503);
    for (let i = 0; i < 10; i++) assert.equal((await postIngest(cesc.url, speedBody("V1", i * 10, 10))).status, 200);
    await forwardAll(cesc);
    assert.equal(dig.records.length, 100);
    assert.deepEqual(dig.calls.slice(0, 3).map((c) => c.status), [429, 500, 503]);

    dig.expireToken();
    await postIngest(cesc.url, speedBody("V1", 100, 10));
    await forwardAll(cesc);
    assert.equal(dig.records.length, 110);
    assert.equal(dig.auth.authenticate, 2);

    dig.maxRecords = 3; // 413 until the chunks are small enough
    await postIngest(cesc.url, speedBody("V1", 110, 10));
    await forwardAll(cesc);
    assert.equal(dig.records.length, 120);
    assert.ok(dig.calls.some((c) => c.status === 413));
    const values = new Set(dig.records.map((r) => r.Value));
    for (let i = 0; i < 120; i++) assert.ok(values.has(i), `value ${i} forwarded`);
    const m = await (await fetch(cesc.url + "metrics")).text();
    assert.match(m, /cesc_forward_errors_total\{kind="http_429"\} 1/);
    assert.match(m, /cesc_forward_errors_total\{kind="http_5xx"\} 2/);
  });
});

Deno.test("dig: connection refused, then the backend comes up: nothing lost", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cesc_fwd_test_" });
  // A port nothing listens on: take a free one and close it.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const cesc = await startCesc({
    db: join(dir, "ovds.db"),
    port: 0,
    backend: "http",
    backendUrl: `http://127.0.0.1:${port}/ingest`,
    flushIntervalMs: 3600_000,
    maxDatapoints: 5,
    backoff: { baseMs: 5, maxMs: 30 },
  });
  try {
    assert.equal((await postIngest(cesc.url, speedBody("V", 0, 20))).status, 200);
    await until(() => cesc.metrics.counter("cesc_forward_errors_total", { kind: "network" }) >= 2, "refused calls");
    assert.equal((await cesc.store.vehicles())[0].backlog, 20);
    const backend = startFakeHttpBackend({ port });
    try {
      await until(() => backend.records.length === 20, "retry after the backend came up");
      assert.deepEqual(backend.records.map((r) => r.value), Array.from({ length: 20 }, (_, i) => `${i}.7`));
    } finally {
      await cesc.close();
      await backend.close();
    }
  } finally {
    await cesc.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dig: a record refused with 400 is dead-lettered without blocking the rest", async () => {
  await withDig(async (cesc, dig) => {
    dig.badRecord = (r) => r.Value === 13;
    await postIngest(cesc.url, speedBody("V1", 0, 40));
    await forwardAll(cesc);
    assert.equal(dig.records.length, 39);
    const dead = await cesc.store.deadLetters();
    assert.equal(dead.length, 1);
    assert.equal(dead[0].row.value, "13.7");
    assert.match(dead[0].reason, /^http 400/);
  });
});

Deno.test("forwarder: count trigger flushes above --max-datapoints; restart resends nothing and skips nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cesc_fwd_test_" });
  const backend = startFakeHttpBackend();
  const db = join(dir, "ovds.db");
  const opts = {
    db,
    port: 0,
    backend: "http" as const,
    backendUrl: backend.url,
    flushIntervalMs: 3600_000,
    maxDatapoints: 25,
  };
  try {
    let cesc = await startCesc(opts);
    await postIngest(cesc.url, speedBody("V", 0, 25)); // 25: not above the limit
    await cesc.forwarder.idle();
    assert.equal(backend.records.length, 0);
    await postIngest(cesc.url, speedBody("V", 25, 1)); // 26th data point triggers
    await until(() => backend.records.length === 26, "count-triggered flush");
    // Same timestamp as the last forwarded row, and an older one: the original lost these.
    await postIngest(cesc.url, {
      vin: "V",
      data: { path: "Vehicle.Other", dp: [{ value: "a", ts: ts(25) }, { value: "b", ts: ts(0) }] },
    });
    await cesc.close();
    assert.equal(backend.records.length, 26);

    cesc = await startCesc(opts); // start() flushes the backlog left by the previous run
    await until(() => backend.records.length === 28, "backlog flushed after restart");
    await cesc.close();
    cesc = await startCesc(opts);
    await cesc.forwarder.flushAll();
    await cesc.forwarder.idle();
    await cesc.close();
    assert.equal(backend.records.length, 28, "no resend after restart");
    assert.deepEqual(backend.records.slice(26).map((r) => r.value), ["a", "b"]);
    const store = openSqliteStore(db);
    assert.deepEqual((await store.vehicles()).map((v) => v.backlog), [0]);
    await store.close();
  } finally {
    await backend.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dig: tokens close to expiry are refreshed; a refused refresh re-authenticates", async () => {
  for (const refreshStatus of [undefined, 403]) {
    const dir = await Deno.makeTempDir({ prefix: "cesc_fwd_test_" });
    const dig = startFakeDig({ tokenTtlMs: 60_000, refreshStatus }); // inside the 5-minute refresh margin
    const cesc = await startCesc({
      db: join(dir, "ovds.db"),
      port: 0,
      backend: "dig",
      backendUrl: dig.url,
      credentials: { username: "user", password: "pw", serials: { V1: "SERIAL-V1" } },
      flushIntervalMs: 3600_000,
      maxDatapoints: 1e9,
      backoff: { baseMs: 2, maxMs: 20 },
    });
    try {
      await postIngest(cesc.url, speedBody("V1", 0, 3));
      await forwardAll(cesc);
      await postIngest(cesc.url, speedBody("V1", 3, 3));
      await forwardAll(cesc);
      assert.equal(dig.records.length, 6);
      assert.ok(dig.records.every((r) => r.SerialNo === "SERIAL-V1"));
      assert.equal(dig.auth.refresh, 1);
      assert.equal(dig.auth.authenticate, refreshStatus ? 2 : 1);
      assert.equal(dig.calls.at(-1)!.auth, "Bearer bearer-2");
    } finally {
      await cesc.close();
      await dig.close();
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("forwarder: retention deletes only forwarded rows older than the limit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cesc_fwd_test_" });
  const store = openSqliteStore(join(dir, "ovds.db"));
  const forwarder = new Forwarder(store, createNoneBackend(), {
    flushIntervalMs: 3600_000,
    retentionMs: 3600_000,
    retentionCheckMs: 0,
  });
  try {
    const old = Array.from({ length: 5 }, (_, i) => ({ path: "Vehicle.Speed", value: i, tsMs: Date.parse(ts(i)) }));
    const fresh = [{ path: "Vehicle.Speed", value: "new", tsMs: Date.now() }];
    await store.insertBatches([{ vin: "V", datapoints: [...old, ...fresh] }]);
    await store.insertBatches([{ vin: "W", datapoints: old }]); // never forwarded: kept
    await forwarder.flushAll(); // forwards V and W ...
    await forwarder.idle();
    await store.insertBatches([{
      vin: "W",
      datapoints: [{ path: "Vehicle.Other", value: "x", tsMs: Date.parse(ts(0)) }],
    }]);
    await forwarder.flushAll(); // ... and now deletes the old forwarded rows
    await forwarder.idle();
    const [v, w] = await store.vehicles();
    assert.equal(v.backlog, 0);
    assert.equal(w.backlog, 0);
    const db = new DatabaseSync(join(dir, "ovds.db"), { readOnly: true });
    const count = (t: string) => Number(db.prepare(`SELECT count(*) AS n FROM ${t}`).get()!.n);
    assert.equal(count("TV_1"), 1); // only the fresh row of V
    assert.equal(count("TV_2"), 1); // W keeps its newest row (rowid high-water mark)
    db.close();
  } finally {
    await forwarder.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("delivery: chunks respect both the record and the byte limit", () => {
  const rec = (n: number) => ({ json: "x".repeat(n), rows: [] });
  const sizes = (chunks: { json: string }[][]) => chunks.map((c) => c.length);
  assert.deepEqual(sizes(chunkRecords(Array.from({ length: 12 }, () => rec(1)), { maxRecords: 5, maxBytes: 1e9 })), [
    5,
    5,
    2,
  ]);
  assert.deepEqual(sizes(chunkRecords(Array.from({ length: 4 }, () => rec(40)), { maxRecords: 5000, maxBytes: 100 })), [
    2,
    2,
  ]);
  assert.deepEqual(sizes(chunkRecords([rec(500)], { maxRecords: 5000, maxBytes: 100 })), [1]); // alone even if too big
});
