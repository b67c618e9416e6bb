import assert from "node:assert/strict";
import { join } from "node:path";
import { GroupCommitter, openSqliteStore } from "../core/ovds/mod.ts";
import type { Cesc } from "./mod.ts";
import { ovdsRows, until } from "../testing/mod.ts";
import { postIngest, withCesc } from "../testing/cesc.ts";

const T1 = "2020-04-15T13:00:00Z";
const T2 = "2020-04-15T13:00:03.5Z";

async function storedCount(cesc: Cesc): Promise<number> {
  let n = 0;
  for (const v of await cesc.store.vehicles()) n += (await cesc.store.unforwarded(v.vin, { limit: 1e9 })).length;
  return n;
}

Deno.test("cesc ingest: the four VISSv2 forms on POST / and /v1/data, 200 after commit", async () => {
  await withCesc(async (cesc) => {
    const forms = [
      { path: "Vehicle.Speed", dp: { value: "55.0", ts: T1 } },
      { path: "Vehicle.Acceleration.Longitudinal", dp: [{ value: "0.123", ts: T1 }, { value: "0.125", ts: T2 }] },
      [
        { path: "Vehicle.CurrentLocation.Latitude", dp: { value: "56.02", ts: T1 } },
        { path: "Vehicle.CurrentLocation.Longitude", dp: { value: "12.59", ts: T1 } },
      ],
      [
        { path: "Vehicle.Speed", dp: [{ value: 50, ts: T2 }, { value: "52", ts: "2020-04-15T13:00:06Z" }] },
        { path: "Vehicle.LowVoltageSystemState", dp: { value: "ON", ts: T1 } },
      ],
    ];
    const expect = [1, 2, 2, 3];
    for (let i = 0; i < forms.length; i++) {
      const url = i % 2 ? cesc.url + "v1/data" : cesc.url;
      const r = await postIngest(url, { vin: "ULF001", data: forms[i] });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { stored: expect[i], duplicates: 0 });
    }
    // Re-sending is idempotent: (path, ts) duplicates are ignored, as in OVDS.
    assert.deepEqual((await postIngest(cesc.url, { vin: "ULF001", data: forms[0] })).body, {
      stored: 0,
      duplicates: 1,
    });
    const rows = await cesc.store.unforwarded("ULF001", { limit: 100 });
    assert.equal(rows.length, 8);
    // Stored in the one canonical form (issue 18): typed by the VSS catalog, time as YYYY-MM-DDTHH:MM:SS.sssZ.
    assert.ok(rows.some((r) => r.path === "Vehicle.Speed" && r.value === "50" && r.ts === "2020-04-15T13:00:03.500Z"));
    assert.ok(rows.some((r) => r.path === "Vehicle.Speed" && r.value === "55" && r.ts === "2020-04-15T13:00:00.000Z"));
  });
});

Deno.test("cesc ingest: bad inputs get a JSON error and store nothing", async () => {
  await withCesc(async (cesc) => {
    const good = { path: "Vehicle.Speed", dp: { value: "1", ts: T1 } };
    const cases: {
      name: string;
      body: unknown;
      status: number;
      code: string;
      path?: string;
      ct?: string;
      method?: string;
      refused?: string[];
    }[] = [
      { name: "invalid JSON", body: '{"vin":', status: 400, code: "viss.json", path: "$" },
      { name: "missing vin", body: { data: good }, status: 400, code: "viss.vin", path: "vin" },
      { name: "empty vin", body: { vin: "", data: good }, status: 400, code: "viss.vin", path: "vin" },
      { name: "non-string vin", body: { vin: 7, data: good }, status: 400, code: "viss.vin", path: "vin" },
      { name: "missing data", body: { vin: "V" }, status: 400, code: "viss.type", path: "data" },
      {
        name: "data null (VEC error event)",
        body: { vin: "V", data: null },
        status: 400,
        code: "viss.type",
        path: "data",
      },
      // Per-datapoint problems (issue 18): 400 viss.refused naming each refused datapoint; path = the first's JSON path.
      {
        name: "bad path",
        body: { vin: "V", data: { path: "Vehicle/Speed", dp: good.dp } },
        status: 400,
        code: "viss.refused",
        path: "data.path",
        refused: ["datapoint.path"],
      },
      {
        name: "bad ts in the 2nd object, after a good one",
        body: {
          vin: "V",
          data: [good, { path: "A.B", dp: [{ value: "1", ts: T1 }, { value: "1", ts: "2020-04-15 13:00:00" }] }],
        },
        status: 400,
        code: "viss.refused",
        path: "data[1].dp[1].ts",
        refused: ["datapoint.ts"],
      },
      {
        name: "object value",
        body: { vin: "V", data: { path: "A.B", dp: { value: {}, ts: T1 } } },
        status: 400,
        code: "viss.refused",
        path: "data.dp.value",
        refused: ["datapoint.type"],
      },
      {
        name: "missing ts",
        body: { vin: "V", data: { path: "A.B", dp: { value: "1" } } },
        status: 400,
        code: "viss.refused",
        path: "data.dp.ts",
        refused: ["datapoint.ts"],
      },
      {
        name: "text/plain",
        body: { vin: "V", data: good },
        ct: "text/plain",
        status: 415,
        code: "http.unsupported_media_type",
      },
      { name: "GET /", body: undefined, method: "GET", status: 405, code: "http.method_not_allowed" },
      {
        name: "PUT /v1/data",
        body: { vin: "V", data: good },
        method: "PUT",
        status: 405,
        code: "http.method_not_allowed",
      },
    ];
    for (const c of cases) {
      const res = await fetch(c.method === "PUT" ? cesc.url + "v1/data" : cesc.url, {
        method: c.method ?? "POST",
        headers: { "content-type": c.ct ?? "application/json" },
        body: c.body === undefined ? undefined : typeof c.body === "string" ? c.body : JSON.stringify(c.body),
      });
      const body = await res.json();
      assert.equal(res.status, c.status, c.name);
      assert.equal(body.error.code, c.code, c.name);
      assert.equal(typeof body.error.message, "string", c.name);
      if (c.path) assert.equal(body.error.path, c.path, c.name);
      if (c.refused) {
        assert.deepEqual(body.error.datapoints.map((d: { code: string }) => d.code), c.refused, c.name);
        assert.equal(body.error.refused, c.refused.length, c.name);
      }
      if (c.status === 405) assert.equal(res.headers.get("allow"), "POST");
    }
    assert.equal(await storedCount(cesc), 0);
    assert.equal((await cesc.store.vehicles()).length, 0);
    const metrics = await (await fetch(cesc.url + "metrics")).text();
    assert.match(metrics, /cesc_datapoints_refused_total\{reason="datapoint.ts"\} 2/);
    assert.match(metrics, /cesc_rejected_requests_total\{reason="viss.refused"\} 4/);
    const nf = await fetch(cesc.url + "nope", { method: "POST" });
    assert.equal(nf.status, 404);
    assert.equal((await nf.json()).error.code, "http.not_found");
  });
});

Deno.test("cesc ingest: WebSocket upgrade is refused with 400 Incorrect protocol", async () => {
  await withCesc(async (cesc) => {
    const res = await fetch(cesc.url, { headers: { upgrade: "websocket", connection: "Upgrade" } });
    const body = await res.json();
    assert.equal(res.status, 400);
    assert.equal(body.error.code, "http.incorrect_protocol");
    assert.match(body.error.message, /400 Incorrect protocol/);
    // A real handshake (fetch drops the Connection header).
    const raw = await rawRequest(
      Number(new URL(cesc.url).port),
      "GET / HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\n" +
        "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      async () => {},
    );
    assert.match(raw.text, /^HTTP\/1.1 400/);
    assert.match(raw.text, /400 Incorrect protocol/);
  });
});

async function rawRequest(port: number, head: string, feed: (w: (b: Uint8Array) => Promise<void>) => Promise<void>) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const enc = new TextEncoder();
  let sent = 0;
  const reading = (async () => {
    const buf = new Uint8Array(4096);
    let text = "";
    for (;;) {
      let n: number | null = null;
      try {
        n = await conn.read(buf);
      } catch {
        break;
      }
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
      if (/\r\n\r\n[\s\S]*\}/.test(text)) break;
    }
    return text;
  })();
  try {
    await conn.write(enc.encode(head));
    await feed(async (b) => {
      await conn.write(b);
      sent += b.byteLength;
    });
  } catch { /* server closed the connection: expected after 413 */ }
  const text = await reading;
  conn.close();
  return { text, sent };
}

Deno.test("cesc ingest: a 100 MiB body is refused with 413 without buffering it", async () => {
  await withCesc(async (cesc) => {
    const port = Number(new URL(cesc.url).port);
    // Declared length: answered from the header, before any body byte is read.
    const declared = await rawRequest(
      port,
      "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 104857600\r\n\r\n",
      async (w) => await w(new Uint8Array(1024)),
    );
    assert.match(declared.text, /^HTTP\/1.1 413/);
    assert.match(declared.text, /http.body_too_large/);
    // Chunked, no length: counted while streaming; the server stops reading after 1 MiB.
    const chunk = new TextEncoder().encode(`100000\r\n${" ".repeat(0x100000)}\r\n`);
    let stop = false;
    const chunked = await rawRequest(
      port,
      "POST /v1/data HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
      async (w) => {
        for (let i = 0; i < 100 && !stop; i++) await w(chunk);
      },
    ).finally(() => stop = true);
    assert.match(chunked.text, /^HTTP\/1.1 413/);
    assert.equal(await storedCount(cesc), 0);
  }, { maxBody: 1 << 20 });
});

Deno.test("cesc ingest: concurrent requests are group-committed, all stored", async () => {
  await withCesc(async (cesc) => {
    const N = 200;
    const results = await Promise.all(Array.from({ length: N }, (_, i) =>
      postIngest(cesc.url, {
        vin: `VIN${i % 7}`,
        data: {
          path: "Vehicle.Speed",
          dp: [{ value: String(i), ts: `2020-01-01T00:00:${String(i % 60).padStart(2, "0")}.${i}Z` }],
        },
      })));
    assert.ok(results.every((r) => r.status === 200));
    assert.equal(await storedCount(cesc), N);
    assert.equal((await cesc.store.vehicles()).length, 7);
    const commits = cesc.metrics.counter("cesc_commits_total");
    assert.ok(commits >= 1 && commits <= N, `commits ${commits}`);
  });
});

Deno.test("cesc ingest: verification hook answers 401 with the reason", async () => {
  await withCesc(async (cesc) => {
    const data = { path: "Vehicle.Speed", dp: { value: "1", ts: T1 } };
    const bad = await postIngest(cesc.url, { vin: "V", data, sig: "nope" });
    assert.equal(bad.status, 401);
    assert.equal((bad.body as { error: { code: string } }).error.code, "auth.bad_signature");
    const ok = await postIngest(cesc.url, { vin: "V", data, sig: "good" });
    assert.equal(ok.status, 200);
    assert.equal(await storedCount(cesc), 1);
  }, {
    verify: (req) => {
      const body = JSON.parse(new TextDecoder().decode(req.body)); // the body bytes, read once by the CESC
      return body.sig === "good"
        ? { ok: true }
        : { ok: false, reason: "bad_signature", message: "signature does not verify with any configured key" };
    },
  });
});

Deno.test("cesc health and metrics", async () => {
  await withCesc(async (cesc) => {
    await postIngest(cesc.url, { vin: "V", data: { path: "Vehicle.Speed", dp: { value: "1", ts: T1 } } });
    const h = await (await fetch(cesc.url + "health")).json();
    assert.deepEqual(h, {
      status: "ok",
      db: { writable: true },
      backlog: 1,
      vehicles: 1,
      backend: { name: "none", state: "ok" },
    });
    const res = await fetch(cesc.url + "metrics");
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    const m = await res.text();
    assert.match(m, /cesc_ingested_datapoints_total 1/);
    assert.match(m, /cesc_backlog_datapoints 1/);
    assert.match(m, /cesc_ingest_latency_seconds_count 1/);
    // The answer came after an fsync of the WAL, which the metrics show.
    assert.match(m, /cesc_wal_fsync_seconds_count [1-9]/);
    assert.match(m, /cesc_wal_fsync_commits_total [1-9]/);
  });
});

Deno.test("cesc ingest: a failed fsync answers 503 (nothing acknowledged) and /health turns unavailable", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cesc_test_" });
  let fail = false;
  const store = openSqliteStore(join(dir, "ovds.db"), {
    walSync: (f) => fail ? Promise.reject(new Error("Input/output error (os error 5)")) : f.syncData(),
  });
  try {
    await withCesc(async (cesc) => {
      const data = { path: "Vehicle.Speed", dp: { value: "1", ts: T1 } };
      assert.equal((await postIngest(cesc.url, { vin: "V", data })).status, 200);
      fail = true;
      const res = await postIngest(cesc.url, { vin: "V", data: { path: "Vehicle.Speed", dp: { value: "2", ts: T2 } } });
      assert.equal(res.status, 503);
      assert.equal((res.body as { error: { code: string } }).error.code, "ovds.write");
      const h = await fetch(cesc.url + "health");
      assert.equal(h.status, 503);
      assert.equal((await h.json()).db.writable, false);
    }, { store });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("group commit: the next transaction commits while the previous one waits for its fsync", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cesc_test_" });
  const held: (() => void)[] = [];
  let holding = true;
  const store = openSqliteStore(join(dir, "ovds.db"), {
    walSync: (f) => holding ? new Promise((r) => held.push(() => f.syncData().then(r))) : f.syncData(),
  });
  const commits: number[] = [];
  const committer = new GroupCommitter(store, { onCommit: (_r, n) => commits.push(n) });
  try {
    const dp = (s: number) => [{ path: "Vehicle.Speed", value: s, tsMs: Date.UTC(2024, 0, 1, 0, 0, s) }];
    const a = committer.submit({ vin: "A", datapoints: dp(1) });
    await until(() => held.length > 0, "an fsync to start");
    // Two requests arriving together while A's fsync runs: one transaction, committed now.
    const b = committer.submit({ vin: "B", datapoints: dp(2) });
    const c = committer.submit({ vin: "C", datapoints: dp(3) });
    const file = join(dir, "ovds.db");
    await until(
      () => ["A", "B", "C"].every((vin) => ovdsRows(file, vin, "Vehicle.Speed").length === 1),
      "B and C committed while A's fsync runs",
    );
    assert.deepEqual(commits, [], "nothing acknowledged before an fsync");
    held.shift()!(); // A's fsync ends; B and C share the next one
    assert.equal(await a, 1);
    await until(() => held.length > 0, "an fsync to start");
    assert.deepEqual(commits, [1]);
    holding = false;
    for (const release of held.splice(0)) release();
    assert.deepEqual(await Promise.all([b, c]), [1, 1]);
    assert.deepEqual(commits, [1, 2]);
    await committer.drain();
  } finally {
    holding = false;
    for (const release of held.splice(0)) release();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
