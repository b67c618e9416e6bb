import assert from "node:assert/strict";
import { type Datapoint, DatapointValidator } from "../core/datapoint/mod.ts";
import { loadVssCatalog } from "../core/vss/mod.ts";
import { readRefusals } from "../core/viss/mod.ts";
import { createVecApi, publishBodyToDatapoints } from "./api.ts";
import { DEFAULT_CATALOG } from "./config.ts";
import { Pipeline } from "./pipeline.ts";

const catalog = loadVssCatalog(DEFAULT_CATALOG);

/** The API over a real pipeline with the VEC's validator on the shipped VSS catalog, into a memory sink. */
function setup() {
  const published: Datapoint[] = [];
  const sink = {
    name: "memory",
    write: (dps: readonly Datapoint[]) => void published.push(...dps),
    stats: () => ({}),
    close: () => Promise.resolve(),
  };
  const pipeline = new Pipeline({ sinks: [sink], validator: new DatapointValidator(catalog) });
  const app = createVecApi({
    health: () => ({ status: "ok", uptime_s: 1 }),
    publish: (raw) => pipeline.accept(raw, { atomic: true, knownPathsOnly: true, source: "api" }),
    config: () => ({ thing_name: "t", security: { key: "[redacted]" } }),
    signals: () => pipeline.latest(),
    metrics: () => "vec_frames_total 3\n",
  });
  return { app, published, pipeline };
}

const post = (app: ReturnType<typeof setup>["app"], body: string, type = "application/json") =>
  app.request("/publish", { method: "POST", body, headers: { "content-type": type } });

Deno.test("api: /publish takes the gateway's payload, maps aliases to VSS and types the values", async () => {
  const { app, published } = setup();
  const res = await post(app, JSON.stringify({ engine_rpm: 1500, vehicle_speed: "60.5" }));
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.published, 2);
  assert.deepEqual(body.datapoints.map((d: { value: string }) => d.value), ["1500", "60.5"]);
  assert.deepEqual(published.map((d) => [d.path, d.value]), [
    ["Vehicle.Powertrain.CombustionEngine.Speed", 1500],
    ["Vehicle.Speed", 60.5],
  ]);
});

Deno.test("api: /publish shape errors are JSON with a path", async () => {
  const { app, published } = setup();
  const cases: [string, string, number, string][] = [
    ["{nope", "application/json", 400, "api.invalid_json"],
    ["[]", "application/json", 400, "api.invalid"],
    ["{}", "application/json", 400, "api.invalid"],
    [JSON.stringify({ datapoints: [{ value: 1 }] }), "application/json", 400, "api.invalid"],
    ["a=1", "application/x-www-form-urlencoded", 415, "api.unsupported_media_type"],
    [JSON.stringify({ x: "y".repeat(70_000) }), "application/json", 413, "api.too_large"],
  ];
  for (const [body, type, status, code] of cases) {
    const res = await post(app, body, type);
    assert.equal(res.status, status, body.slice(0, 40));
    assert.equal((await res.json()).error.code, code);
  }
  assert.equal(published.length, 0);
  const res = await app.request("/publish");
  assert.equal(res.status, 405);
  await res.body?.cancel();
});

Deno.test("api: /publish is atomic and its 400 names every refused datapoint (index, path, reason, JSON path)", async () => {
  const { app, published, pipeline } = setup();
  const res = await post(
    app,
    JSON.stringify({
      datapoints: [
        { path: "Vehicle.Speed", value: 60, ts: "2024-01-01T00:00:00Z" },
        { path: "warp_speed", value: 9 },
        { path: "Vehicle.Speed", value: { a: 1 } },
        { path: "Vehicle.Speed", value: 61, ts: "11476-01-01T00:00:00Z" },
        { path: "Vehicle.Cabin.Infotainment.Media.Played.Track", value: "x".repeat(5000) },
        { path: "Vehicle.Powertrain.CombustionEngine.Speed", value: 70000 },
      ],
    }),
  );
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.error.code, "viss.refused");
  assert.match(body.error.message, /^5 of 6 datapoints refused; nothing published$/);
  assert.deepEqual(
    body.error.datapoints.map((d: Record<string, unknown>) => [d.index, d.path, d.code, d.at]),
    [
      [1, "warp_speed", "datapoint.path", "$.datapoints[1].path"],
      [2, "Vehicle.Speed", "datapoint.type", "$.datapoints[2].value"],
      [3, "Vehicle.Speed", "datapoint.ts", "$.datapoints[3].ts"],
      [4, "Vehicle.Cabin.Infotainment.Media.Played.Track", "datapoint.too_long", "$.datapoints[4].value"],
      [5, "Vehicle.Powertrain.CombustionEngine.Speed", "datapoint.range", "$.datapoints[5].value"],
    ],
  );
  assert.match(body.error.datapoints[0].reason, /unknown signal "warp_speed".*engine_rpm/);
  assert.deepEqual(readRefusals(body)?.map((r) => r.index), [1, 2, 3, 4, 5]);
  // nothing of the request was queued; the refusals are counted by reason
  assert.equal(published.length, 0);
  assert.equal(pipeline.stats.refused, 5);
  assert.equal(pipeline.refusals.counts().get("datapoint.path"), 1);
  // the flat form names the key
  const flat = await (await post(app, JSON.stringify({ vehicle_speed: 60, warp_speed: 9 }))).json();
  assert.deepEqual(flat.error.datapoints.map((d: Record<string, unknown>) => [d.path, d.at]), [
    ["warp_speed", "$.warp_speed"],
  ]);
  assert.equal(published.length, 0);
});

Deno.test("api: health, config, signals (text at the edge), metrics", async () => {
  const { app } = setup();
  await post(
    app,
    JSON.stringify({ datapoints: [{ path: "Vehicle.Speed", value: 12, ts: "2026-01-01T01:00:00+01:00" }] }),
  );
  assert.equal((await (await app.request("/health")).json()).status, "ok");
  assert.equal((await (await app.request("/config")).json()).security.key, "[redacted]");
  assert.deepEqual((await (await app.request("/signals")).json())["Vehicle.Speed"], {
    value: "12",
    ts: "2026-01-01T00:00:00.000Z",
  });
  const m = await app.request("/metrics");
  assert.match(m.headers.get("content-type") ?? "", /text\/plain/);
  assert.equal(await m.text(), "vec_frames_total 3\n");
  const nf = await app.request("/nope");
  assert.equal(nf.status, 404);
  assert.match((await nf.json()).error.message, /\/health/);
});

Deno.test("api: the datapoints form keeps ts as given (validated later); without ts the current time", () => {
  const dps = publishBodyToDatapoints(
    {
      datapoints: [{ path: "Vehicle.Speed", value: 3, ts: "2026-01-01T00:00:00Z" }, {
        path: "vehicle_speed",
        value: 4,
      }],
    },
    { nowMs: 5 },
  );
  assert.deepEqual(dps, [
    { key: "Vehicle.Speed", path: "Vehicle.Speed", value: 3, ts: "2026-01-01T00:00:00Z", at: "$.datapoints[0]" },
    { key: "vehicle_speed", path: "Vehicle.Speed", value: 4, ts: 5, at: "$.datapoints[1]" },
  ]);
  assert.throws(() => publishBodyToDatapoints({ datapoints: {} }), /datapoints must be an array/);
});
