import assert from "node:assert/strict";
import fc from "fast-check";
import { PipelineError } from "../errors/mod.ts";
import {
  DEFAULT_TOPIC_POLICIES,
  DEFAULT_VSS_TOPICS,
  isoTime,
  jsonDecoder,
  jsonEncoder,
  parseTopic,
  reverseTopicMap,
  TopicTable,
} from "./mod.ts";

Deno.test("isoTime matches Date#toISOString", () => {
  fc.assert(
    fc.property(fc.integer({ min: -1e13, max: 3e14 }), (ms) => {
      assert.equal(isoTime(ms), new Date(ms).toISOString());
    }),
  );
  assert.equal(isoTime(1.5), "1970-01-01T00:00:00.001Z");
  assert.equal(isoTime("2020-06-08T23:37:19Z"), "2020-06-08T23:37:19Z");
});

Deno.test("TopicTable: the seed's fifteen topics, default VSS table, overrides", () => {
  assert.equal(Object.keys(DEFAULT_TOPIC_POLICIES).length, 15);
  const t = new TopicTable("gateway-001");
  assert.equal(t.forPath("Vehicle.Powertrain.CombustionEngine.Speed")?.topic, "vehicles/gateway-001/engine/rpm");
  assert.equal(t.forPath("Vehicle.Powertrain.CombustionEngine.Speed")?.minIntervalMs, 100);
  assert.equal(t.forPath("Vehicle.Powertrain.CombustionEngine.ECT")?.minIntervalMs, 1000);
  const dtc = t.forPath("Vehicle.OBD.DTCList")!;
  assert.equal(dtc.qos, 1);
  assert.equal(dtc.queue, true);
  const state = t.forSuffix("gateway/connection_state");
  assert.deepEqual([state.qos, state.retain], [1, true]);
  assert.equal(t.forPath("Vehicle.Nope"), undefined);

  const custom = new TopicTable("gw", {
    map: { "Vehicle.Speed": "vehicle/velocity" },
    policies: { "vehicle/velocity": { qos: 1 } },
  });
  assert.equal(custom.forPath("Vehicle.Speed")?.topic, "vehicles/gw/vehicle/velocity");
  assert.equal(custom.forPath("Vehicle.Speed")?.queue, true, "QoS 1 is always queued");
  assert.equal(custom.reverse().get("vehicle/velocity"), "Vehicle.Speed");
  const only = new TopicTable("gw", { map: { "Vehicle.Speed": "vehicle/speed" }, replace: true });
  assert.equal(only.routes().length, 1);

  for (const bad of ["", "a/b", "a+", "#"]) {
    assert.throws(() => new TopicTable(bad), (e) => e instanceof PipelineError && e.code === "mqtt.topic", bad);
  }
  assert.throws(() => new TopicTable("gw", { map: { "Vehicle.Speed": "vehicle/#" } }), PipelineError);
  assert.throws(() => new TopicTable("gw", { policies: { "engine/rpm": { qos: 2 as 0 } } }), PipelineError);
  assert.throws(() => reverseTopicMap({ "A.B": "x/y", "A.C": "x/y" }), PipelineError);
});

Deno.test("parseTopic splits vehicles/{thing}/{suffix}", () => {
  assert.deepEqual(parseTopic("vehicles/VIN1/engine/rpm"), { thingName: "VIN1", suffix: "engine/rpm" });
  assert.equal(parseTopic("cars/VIN1/engine/rpm"), undefined);
  assert.equal(parseTopic("vehicles/VIN1"), undefined);
  assert.equal(parseTopic("vehicles//x"), undefined);
});

Deno.test("JSON payloads round-trip through encoder and decoder", () => {
  const reverse = reverseTopicMap();
  assert.equal(reverse.size, Object.keys(DEFAULT_VSS_TOPICS).length);
  const enc = new TextEncoder();
  const body = jsonEncoder.encode("Vehicle.Speed", 55.5, Date.UTC(2026, 0, 2, 3, 4, 5, 6));
  assert.deepEqual(jsonDecoder(enc.encode(body as string), { receivedAt: 0 }), [
    { path: "Vehicle.Speed", value: "55.5", ts: "2026-01-02T03:04:05.006Z" },
  ]);
  assert.equal(JSON.parse(jsonEncoder.encode("X.Y", NaN, 0) as string).value, null);
  assert.deepEqual(
    jsonDecoder(enc.encode("3500"), { path: "Vehicle.Powertrain.CombustionEngine.Speed", receivedAt: 0 }),
    [{ path: "Vehicle.Powertrain.CombustionEngine.Speed", value: "3500", ts: "1970-01-01T00:00:00.000Z" }],
  );
  assert.deepEqual(
    jsonDecoder(enc.encode('[{"value":1,"ts":0},{"path":"A.B","value":true,"ts":"2020-01-01T00:00:00Z"}]'), {
      path: "X.Y",
      receivedAt: 0,
    }).map((d) => `${d.path}=${d.value}@${d.ts}`),
    ["X.Y=1@1970-01-01T00:00:00.000Z", "A.B=true@2020-01-01T00:00:00Z"],
  );
  assert.throws(
    () => jsonDecoder(enc.encode("{"), { receivedAt: 0 }),
    (e) => (e as PipelineError).code === "mqtt.payload",
  );
  assert.throws(() => jsonDecoder(enc.encode("1"), { receivedAt: 0 }), /no path/);
  assert.throws(() => jsonDecoder(enc.encode('{"path":"A.B"}'), { receivedAt: 0 }), /no value/);
});
