import assert from "node:assert/strict";
import { type Cesc, startCesc } from "./mod.ts";
import { postIngest, withCesc } from "../testing/cesc.ts";

const BASE = Date.parse("2024-03-01T08:00:00Z");
const at = (ms: number) => new Date(BASE + ms).toISOString();

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text,
  };
}

async function fill(cesc: Cesc): Promise<void> {
  const speed = Array.from({ length: 300 }, (_, i) => ({ value: String(i % 120), ts: at(i * 100) }));
  const r1 = await postIngest(cesc.url, { vin: "TESTVIN01", data: { path: "Vehicle.Speed", dp: speed } });
  assert.equal(r1.status, 200);
  const r2 = await postIngest(`${cesc.url}v1/data`, {
    vin: "TESTVIN02",
    data: [
      { path: "Vehicle.Speed", dp: { value: "12.5", ts: at(0) } },
      { path: "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", dp: { value: "81.2", ts: at(5000) } },
    ],
  });
  assert.equal(r2.status, 200);
}

Deno.test("cesc read API: vehicles, signals and series of data POSTed to the same CESC", async () => {
  await withCesc(async (cesc) => {
    await fill(cesc);
    const v = await get(`${cesc.url}v1/vehicles`);
    assert.equal(v.status, 200);
    assert.equal(v.headers.get("cache-control"), "no-store");
    assert.deepEqual(v.body, {
      vehicles: [
        { vin: "TESTVIN01", firstSeen: at(0), lastSeen: at(29_900), datapoints: 300, signals: 1, backlog: 300 },
        { vin: "TESTVIN02", firstSeen: at(0), lastSeen: at(5000), datapoints: 2, signals: 2, backlog: 2 },
      ],
    });
    const s = await get(`${cesc.url}v1/vehicles/TESTVIN02/signals`);
    assert.deepEqual(s.body, {
      vin: "TESTVIN02",
      signals: [
        { path: "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", value: "81.2", ts: at(5000) },
        { path: "Vehicle.Speed", value: "12.5", ts: at(0) },
      ],
    });
    // Pages: 300 points by 128, following nextCursor.
    const values: string[] = [];
    let url: string | null = `${cesc.url}v1/vehicles/TESTVIN01/series?path=Vehicle.Speed&limit=128`;
    let pages = 0;
    while (url) {
      const p = await get(url);
      assert.equal(p.status, 200);
      values.push(...p.body.points.map((x: { value: string }) => x.value));
      pages++;
      url = p.body.nextCursor
        ? `${cesc.url}v1/vehicles/TESTVIN01/series?path=Vehicle.Speed&limit=128&cursor=${p.body.nextCursor}`
        : null;
    }
    assert.equal(pages, 3);
    assert.deepEqual(values, Array.from({ length: 300 }, (_, i) => String(i % 120)));
    // Downsampled over a window.
    const d = await get(
      `${cesc.url}v1/vehicles/TESTVIN01/series?path=Vehicle.Speed&from=${at(0)}&to=${at(30_000)}&maxPoints=30`,
    );
    assert.equal(d.body.downsampled, true);
    assert.equal(d.body.bucketMs, 1000);
    assert.equal(d.body.points.length, 30);
    assert.deepEqual(d.body.points[0], { ts: at(0), value: 4.5, min: 0, max: 9, count: 10 });
    // The ingest path is unchanged.
    assert.equal(
      (await postIngest(cesc.url, { vin: "TESTVIN03", data: { path: "Vehicle.Speed", dp: { value: "1", ts: at(0) } } }))
        .status,
      200,
    );
  });
});

Deno.test("cesc read API: 400 and 404 answers name the problem", async () => {
  await withCesc(async (cesc) => {
    await fill(cesc);
    const cases: [string, number, string, string | undefined][] = [
      ["v1/vehicles/NOPE/signals", 404, "query.vin_unknown", "vin"],
      ["v1/vehicles/NOPE/series?path=Vehicle.Speed", 404, "query.vin_unknown", "vin"],
      ["v1/vehicles/TESTVIN01/series?path=Vehicle.Nope", 404, "query.path_unknown", "path"],
      ["v1/vehicles/TESTVIN01/series", 400, "query.param", "path"],
      ["v1/vehicles/TESTVIN01/series?path=not%20a%20path", 400, "query.param", "path"],
      ["v1/vehicles/TESTVIN01/series?path=Vehicle.Speed&from=yesterday", 400, "query.param", "from"],
      [`v1/vehicles/TESTVIN01/series?path=Vehicle.Speed&from=${at(10)}&to=${at(0)}`, 400, "query.param", "from"],
      ["v1/vehicles/TESTVIN01/series?path=Vehicle.Speed&limit=0", 400, "query.param", "limit"],
      ["v1/vehicles/TESTVIN01/series?path=Vehicle.Speed&limit=2.5", 400, "query.param", "limit"],
      ["v1/vehicles/TESTVIN01/series?path=Vehicle.Speed&maxPoints=1", 400, "query.param", "maxPoints"],
      ["v1/vehicles/TESTVIN01/series?path=Vehicle.Speed&cursor=garbage", 400, "query.cursor", "cursor"],
      ["ui/..%2Fbuild.ts", 404, "http.not_found", undefined],
      ["ui/nothing.js", 404, "http.not_found", undefined],
    ];
    for (const [path, status, code, where] of cases) {
      const r = await get(`${cesc.url}${path}`);
      assert.equal(r.status, status, path);
      assert.equal(r.body.error.code, code, path);
      assert.equal(r.body.error.path, where, path);
      assert.ok(r.body.error.message.length > 10, path);
    }
  });
});

Deno.test("cesc read API: bearer token protects reads, not ingest or the page", async () => {
  await withCesc(async (cesc) => {
    await fill(cesc);
    const none = await get(`${cesc.url}v1/vehicles`);
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, "auth.token");
    assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
    const wrong = await get(`${cesc.url}v1/vehicles/TESTVIN01/signals`, { authorization: "Bearer nope" });
    assert.equal(wrong.status, 401);
    const ok = await get(`${cesc.url}v1/vehicles/TESTVIN01/signals`, { authorization: "Bearer s3cret-token" });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.signals.length, 1);
    const page = await get(`${cesc.url}ui`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(page.body, /uPlot\.iife\.min\.js/);
    const lib = await fetch(`${cesc.url}ui/uPlot.iife.min.js`);
    assert.equal(lib.status, 200);
    assert.match(await lib.text(), /uPlot/);
  }, { readToken: "s3cret-token" });
});

Deno.test("cesc read API: an in-memory store answers 503 with what to do", async () => {
  const cesc = await startCesc({ db: ":memory:", port: 0, backend: "none", flushIntervalMs: 3600_000 });
  try {
    const r = await get(`${cesc.url}v1/vehicles`);
    assert.equal(r.status, 503);
    assert.equal(r.body.error.code, "query.unavailable");
    assert.match(r.body.error.message, /--db FILE/);
  } finally {
    await cesc.close();
  }
});
