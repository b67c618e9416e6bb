import assert from "node:assert/strict";
import fc from "fast-check";
import { type Datapoint, DatapointValidator, formatTime } from "../datapoint/mod.ts";
import { PipelineError } from "../errors/mod.ts";
import { catalogFromMap } from "../codec/mod.ts";
import {
  avroDecoder,
  avroEncoder,
  DEFAULT_TOPIC_POLICIES,
  DEFAULT_VSS_TOPICS,
  jsonDecoder,
  jsonEncoder,
  parseTopic,
  reverseTopicMap,
  TopicTable,
} from "./mod.ts";

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

const enc = new TextEncoder();
const T = Date.UTC(2026, 0, 2, 3, 4, 5, 6);

Deno.test("JSON payloads are typed: numbers, booleans, bigints, arrays, canonical time", () => {
  const body = (dp: Datapoint) => jsonEncoder.encode(dp) as string;
  assert.equal(
    body({ path: "Vehicle.Speed", value: 55.5, tsMs: T }),
    '{"path":"Vehicle.Speed","value":55.5,"ts":"2026-01-02T03:04:05.006Z"}',
  );
  assert.equal(JSON.parse(body({ path: "A.B", value: true, tsMs: 0 })).value, true);
  assert.equal(body({ path: "A.B", value: 9007199254740993n, tsMs: 0 }).includes('"value":9007199254740993,'), true);
  assert.deepEqual(JSON.parse(body({ path: "A.B", value: [1, "x", false], tsMs: 0 })).value, [1, "x", false]);
  assert.ok(Object.is(JSON.parse(body({ path: "A.B", value: -0, tsMs: 0 })).value, -0));
  assert.equal(JSON.parse(body({ path: "A.B", value: 'a"b', tsMs: 0 })).value, 'a"b');
  assert.throws(() => body({ path: "A.B", value: 1, tsMs: 1e16 }), (e) => (e as PipelineError).code === "mqtt.payload");
  assert.deepEqual(
    JSON.parse(jsonEncoder.encodeEvent("diagnostics/dtc", { value: ["P0301"], ecu: "7E8" }, T) as string),
    {
      value: ["P0301"],
      ecu: "7E8",
      ts: "2026-01-02T03:04:05.006Z",
    },
  );
});

Deno.test("JSON decoder hands on what the payload says; the validator refuses null, objects, missing ts", () => {
  assert.equal(reverseTopicMap().size, Object.keys(DEFAULT_VSS_TOPICS).length);
  const ctx = { path: "Vehicle.Powertrain.CombustionEngine.Speed", receivedAt: T };
  const validator = new DatapointValidator({
    get: (p) => p === "Vehicle.Powertrain.CombustionEngine.Speed" ? { datatype: "float" } : undefined,
  });
  const check = (text: string, c: { path?: string; receivedAt: number } = ctx) =>
    jsonDecoder(enc.encode(text), c).map((raw, i) => {
      const r = validator.accept(raw, i);
      return r.ok ? `${r.datapoint.path}=${String(r.datapoint.value)}@${formatTime(r.datapoint.tsMs)}` : r.refusal.code;
    });
  assert.deepEqual(check('{"value":3500,"ts":"2026-01-02T04:04:05.006+01:00"}'), [
    "Vehicle.Powertrain.CombustionEngine.Speed=3500@2026-01-02T03:04:05.006Z",
  ]);
  assert.deepEqual(check(`{"value":1,"ts":${T}}`), [
    "Vehicle.Powertrain.CombustionEngine.Speed=1@2026-01-02T03:04:05.006Z",
  ]);
  // issue 18: these were stored as "[object Object]", "1,2,3" and "" with the receive time
  assert.deepEqual(check('{"value":{"a":1},"ts":"2026-01-01T00:00:00Z"}'), ["datapoint.type"]);
  assert.deepEqual(check('{"value":[1,2,3],"ts":"2026-01-01T00:00:00Z"}'), ["datapoint.type"]);
  assert.deepEqual(check("null"), ["datapoint.ts"]);
  assert.deepEqual(check('{"value":null,"ts":"2026-01-01T00:00:00Z"}'), ["datapoint.type"]);
  assert.deepEqual(check("3500"), ["datapoint.ts"], "a bare value has no time: refused, not stamped");
  assert.deepEqual(check('{"value":1}'), ["datapoint.ts"]);
  assert.deepEqual(check('{"ts":"2026-01-01T00:00:00Z"}'), ["datapoint.type"]);
  assert.deepEqual(
    check('[{"value":1,"ts":0},{"path":"A.B","value":true,"ts":"2020-01-01T00:00:00Z"},{"path":5,"value":1,"ts":0}]'),
    [
      "Vehicle.Powertrain.CombustionEngine.Speed=1@1970-01-01T00:00:00.000Z",
      "A.B=true@2020-01-01T00:00:00.000Z",
      "datapoint.path",
    ],
  );
  const big = jsonDecoder(enc.encode('{"path":"A.B","value":18446744073709551615,"ts":0}'), { receivedAt: 0 });
  assert.equal(big[0].value, 18446744073709551615n);
  assert.throws(
    () => jsonDecoder(enc.encode("{"), { receivedAt: 0 }),
    (e) => (e as PipelineError).code === "mqtt.payload",
  );
  assert.throws(
    () => jsonDecoder(new Uint8Array([0xff]), { receivedAt: 0 }),
    (e) => (e as PipelineError).code === "mqtt.payload",
  );
  assert.throws(() => jsonDecoder(enc.encode("1"), { receivedAt: 0 }), /no path/);
});

Deno.test("JSON and AVRO payloads round-trip typed datapoints (property)", () => {
  const catalog = catalogFromMap({
    "A.F": "float",
    "A.I": "int64",
    "A.S": "string",
    "A.B": "boolean",
    "A.A": "uint16[]",
  });
  const avro = avroEncoder({ catalog });
  assert.equal(avro.contentType, "application/avro");
  assert.equal(avro.eventContentType, "application/json");
  const validator = new DatapointValidator({ get: (p) => ({ datatype: catalog.datatypeOf(p)! }) });
  const dp = fc.oneof(
    fc.record({
      path: fc.constant("A.F"),
      value: fc.float({ noNaN: true, noDefaultInfinity: true }).map((f) => Number(String(Math.fround(f)))),
    }),
    fc.record({
      path: fc.constant("A.I"),
      value: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((b) =>
        Number.isSafeInteger(Number(b)) ? Number(b) : b
      ),
    }),
    fc.record({ path: fc.constant("A.S"), value: fc.string({ maxLength: 30 }) }),
    fc.record({ path: fc.constant("A.B"), value: fc.boolean() }),
    fc.record({ path: fc.constant("A.A"), value: fc.array(fc.integer({ min: 0, max: 65535 }), { maxLength: 5 }) }),
  );
  fc.assert(fc.property(dp, fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }), (d, tsMs) => {
    const v = validator.accept({ path: d.path, value: d.value, ts: tsMs }, 0);
    assert.ok(v.ok);
    const typed = v.datapoint;
    for (const [encode, decode] of [[jsonEncoder.encode, jsonDecoder], [avro.encode, avroDecoder]] as const) {
      const body = encode(typed);
      const bytes = typeof body === "string" ? enc.encode(body) : body;
      const back = decode(bytes, { receivedAt: 0 }).map((raw, i) => validator.accept(raw, i));
      assert.deepEqual(back, [{ ok: true, datapoint: typed }]);
    }
  }));
  assert.equal(
    JSON.parse(avro.encodeEvent("diagnostics/health", { value: "ok" }, 0) as string).ts,
    "1970-01-01T00:00:00.000Z",
  );
  assert.throws(
    () => avro.encode({ path: "A.Nope", value: 1, tsMs: 0 }),
    (e) => (e as PipelineError).code === "mqtt.payload",
  );
  assert.throws(
    () => avroDecoder(new Uint8Array([2, 14]), { receivedAt: 0 }),
    (e) => (e as PipelineError).code === "mqtt.payload",
  );
});
