import assert from "node:assert/strict";
import { createVecApi, publishBodyToDatapoints } from "./api.ts";
import type { VissDatapoint } from "./sinks/types.ts";

function setup() {
  const published: VissDatapoint[] = [];
  const app = createVecApi({
    health: () => ({ status: "ok", uptime_s: 1 }),
    publish: (dps) => (published.push(...dps), dps.length),
    config: () => ({ thing_name: "t", security: { key: "[redacted]" } }),
    signals: () => ({ "Vehicle.Speed": { value: "12", ts: "2026-01-01T00:00:00.000Z" } }),
    metrics: () => "vec_frames_total 3\n",
    isKnownPath: (p) => p === "Vehicle.Speed" || p === "Vehicle.Powertrain.CombustionEngine.Speed",
  });
  return { app, published };
}

const post = (app: ReturnType<typeof setup>["app"], body: string, type = "application/json") =>
  app.request("/publish", { method: "POST", body, headers: { "content-type": type } });

Deno.test("api: /publish takes the gateway's payload and maps aliases to VSS", async () => {
  const { app, published } = setup();
  const res = await post(app, JSON.stringify({ engine_rpm: 1500, vehicle_speed: 60 }));
  assert.equal(res.status, 200);
  assert.equal((await res.json()).published, 2);
  assert.deepEqual(published.map((d) => [d.path, d.value]), [
    ["Vehicle.Powertrain.CombustionEngine.Speed", "1500"],
    ["Vehicle.Speed", "60"],
  ]);
});

Deno.test("api: /publish errors are JSON with a path", async () => {
  const { app, published } = setup();
  const cases: [string, string, number, string][] = [
    ["{nope", "application/json", 400, "api.invalid_json"],
    ["[]", "application/json", 400, "api.invalid"],
    [JSON.stringify({ warp_speed: 9 }), "application/json", 400, "api.invalid"],
    [JSON.stringify({ vehicle_speed: { x: 1 } }), "application/json", 400, "api.invalid"],
    ["{}", "application/json", 400, "api.invalid"],
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

Deno.test("api: health, config, signals, metrics", async () => {
  const { app } = setup();
  assert.equal((await (await app.request("/health")).json()).status, "ok");
  assert.equal((await (await app.request("/config")).json()).security.key, "[redacted]");
  assert.equal((await (await app.request("/signals")).json())["Vehicle.Speed"].value, "12");
  const m = await app.request("/metrics");
  assert.match(m.headers.get("content-type") ?? "", /text\/plain/);
  assert.equal(await m.text(), "vec_frames_total 3\n");
  const nf = await app.request("/nope");
  assert.equal(nf.status, 404);
  assert.match((await nf.json()).error.message, /\/health/);
});

Deno.test("api: datapoints form keeps ts; bad ts is rejected", () => {
  const dps = publishBodyToDatapoints({
    datapoints: [{ path: "Vehicle.Speed", value: 3, ts: "2026-01-01T00:00:00Z" }],
  });
  assert.deepEqual(dps, [{ path: "Vehicle.Speed", value: "3", ts: "2026-01-01T00:00:00.000Z" }]);
  assert.throws(
    () => publishBodyToDatapoints({ datapoints: [{ path: "Vehicle.Speed", value: 3, ts: "yesterday" }] }),
    /ts must be/,
  );
});
