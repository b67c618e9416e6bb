import assert from "node:assert/strict";
import { until } from "../../testing/mod.ts";
import { PipelineError } from "../../core/errors/mod.ts";
import type { Datapoint, Refusal } from "../../core/datapoint/mod.ts";
import { startVissTestServer } from "../../testing/viss_server.ts";
import { parseVissRequests, VissSource, vissUrl } from "./viss.ts";

const ORIGINAL_REQUESTS = JSON.stringify({
  request: [
    {
      action: "subscribe",
      path: "Vehicle.Speed",
      filter: { type: "timebased", value: { period: "3000" } },
      requestId: "248",
    },
    {
      action: "subscribe",
      path: "Vehicle.LowVoltageSystemState",
      filter: { type: "timebased", parameter: { period: "3000" } },
      requestId: "249",
    },
    {
      action: "subscribe",
      path: "Vehicle",
      filter: [
        { type: "paths", value: ["CurrentLocation.Latitude", "CurrentLocation.Longitude"] },
        { type: "timebased", value: { period: "3000" } },
      ],
      requestId: "250",
    },
  ],
});

Deno.test("viss requests: the original file parses; single object form too", () => {
  const rs = parseVissRequests(ORIGINAL_REQUESTS);
  assert.equal(rs.length, 3);
  assert.equal(rs[2].path, "Vehicle");
  const one = parseVissRequests(JSON.stringify({ action: "subscribe", path: "Vehicle.Speed", requestId: "1" }));
  assert.equal(one.length, 1);
});

Deno.test("viss requests: empty or invalid files give an error naming the file and the entry", () => {
  const cases: [string, RegExp][] = [
    ["", /f\.json: not valid JSON/],
    [`{"request": []}`, /f\.json: no requests/],
    [
      `{"request": [{"action":"subscribe","path":"Vehicle.Speed"}, {"action":"get","path":"Vehicle.Speed"}]}`,
      /request\[1\]: action must be "subscribe"/,
    ],
    [`{"request": [{"action":"subscribe","path":"not a path"}]}`, /request\[0\]: path/],
    [
      `{"request": [{"action":"subscribe","path":"Vehicle.Speed","filter":{"type":"timebased"}}]}`,
      /request\[0\]: filter/,
    ],
    [`{"request": [42]}`, /request\[0\]: must be an object/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseVissRequests(text, { source: "f.json" }), (e) => {
      assert.ok(e instanceof PipelineError);
      assert.match(e.message, re);
      return true;
    });
  }
});

Deno.test("viss url: the original's host form becomes ws://host:8081", () => {
  assert.equal(vissUrl("127.0.0.1"), "ws://127.0.0.1:8081");
  assert.equal(vissUrl("10.0.0.5:8080"), "ws://10.0.0.5:8080");
  assert.equal(vissUrl("wss://car.local:8081"), "wss://car.local:8081");
  assert.throws(() => vissUrl("http://x"), /ws:\/\//);
});

Deno.test("viss source: waits for the VIN, subscribes, forwards all four data forms, counts errors, reconnects and re-subscribes", async () => {
  const server = startVissTestServer({ vin: "WVWZZZ1JZXW000001", vinUnavailableTimes: 1 });
  const got: Datapoint[] = [];
  const refused: Refusal[] = [];
  const vins: string[] = [];
  const source = new VissSource({
    url: server.url,
    requests: parseVissRequests(ORIGINAL_REQUESTS),
    onData: (dps, refusals) => (got.push(...dps), refused.push(...refusals)),
    onVin: (v) => vins.push(v),
    vinRetryMs: 20,
    reconnectMinMs: 10,
    reconnectMaxMs: 40,
  });
  try {
    source.start();
    await server.waitForSubscriptions(3);
    assert.deepEqual(vins, ["WVWZZZ1JZXW000001"]);
    // The VIN was asked twice (first answer: Data-not-available), then the three subscriptions.
    const first = server.received[0];
    assert.equal(first.filter((m) => m.action === "get").length, 2);
    assert.deepEqual(first.filter((m) => m.action === "subscribe").map((m) => m.requestId), ["248", "249", "250"]);
    // 1: single value; 2: several values of one node; 3 and 4: several nodes.
    server.event("Vehicle.Speed", { path: "Vehicle.Speed", dp: { value: "55.0", ts: "2020-06-08T23:37:19Z" } });
    server.event("Vehicle.Speed", {
      path: "Vehicle.Speed",
      dp: [{ value: "56", ts: "2020-06-08T23:37:20Z" }, { value: "57", ts: "2020-06-08T23:37:21Z" }],
    });
    server.event("Vehicle", [
      { path: "Vehicle.CurrentLocation.Latitude", dp: { value: "56.02", ts: "2022-07-27T12:00:00Z" } },
      { path: "Vehicle.CurrentLocation.Longitude", dp: { value: "12.59", ts: "2022-07-27T12:00:00Z" } },
    ]);
    server.event("Vehicle.LowVoltageSystemState", [
      { path: "Vehicle.LowVoltageSystemState", dp: [{ value: "ON", ts: "2020-04-15T13:00:00Z" }] },
    ]);
    // Data-not-available is skipped (counted), a bad time is refused (handed on as a refusal), the rest typed.
    server.event("Vehicle", [
      { path: "Vehicle.CurrentLocation.Latitude", dp: { value: "Data-not-available", ts: "2022-07-27T12:00:01Z" } },
      { path: "Vehicle.CurrentLocation.Longitude", dp: { value: "12.6", ts: "11476-01-01T00:00:00Z" } },
    ]);
    server.errorEvent("Vehicle.Speed");
    server.raw("this is not json");
    await until(() => got.length === 6 && source.stats().errorEvents === 1 && source.stats().malformed === 1, "events");
    // No schema here: values stay as the server sent them; times are integer ms.
    assert.deepEqual(got.map((d) => d.value), ["55.0", "56", "57", "56.02", "12.59", "ON"]);
    assert.equal(got[0].tsMs, Date.parse("2020-06-08T23:37:19Z"));
    assert.deepEqual(refused.map((r) => [r.path, r.code]), [["Vehicle.CurrentLocation.Longitude", "datapoint.ts"]]);
    assert.equal(source.stats().notAvailable, 1);
    assert.equal(source.stats().refused, 1);
    // The socket drops: the source reconnects, asks for nothing it knows (the VIN) and re-subscribes.
    server.drop();
    await until(() => server.connections === 2 && server.subscriptions.size === 3, "re-subscription");
    assert.equal(server.received[1].filter((m) => m.action === "get").length, 0);
    server.event("Vehicle.Speed", { path: "Vehicle.Speed", dp: { value: "60", ts: "2020-06-08T23:38:00Z" } });
    await until(() => got.length === 7, "event after reconnect");
    const s = source.stats();
    assert.equal(s.connects, 2);
    assert.equal(s.disconnects, 1);
    assert.equal(s.subscriptions, 6);
  } finally {
    await source.close();
    await server.close();
  }
});

Deno.test("viss source: keeps retrying when the server is not there yet", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const source = new VissSource({
    url: `ws://127.0.0.1:${port}`,
    requests: parseVissRequests(ORIGINAL_REQUESTS),
    onData: () => {},
    reconnectMinMs: 5,
    reconnectMaxMs: 10,
  });
  source.start();
  await until(() => source.stats().state === "backoff", "backoff");
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(source.stats().connects, 0);
  await source.close();
  assert.equal(source.stats().state, "closed");
});
