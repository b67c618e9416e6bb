/**
 * What the MQTT publisher (VEC) and the MQTT ingest (CESC) share: the ESP gateway's topic hierarchy
 * `vehicles/{thing_name}/<group>/<name>` with per-topic QoS / rate / retain / offline-queue policy, the default
 * VSS path → topic table and its reverse, and the JSON payload encoder/decoder.
 *
 * Default topics (seed `001`): `engine/rpm` (100 ms), `engine/coolant_temp` (1 s), `engine/load`,
 * `vehicle/speed`, `vehicle/odometer`, `vehicle/gear_status`, `diagnostics/dtc` (QoS 1),
 * `diagnostics/error_count`, `diagnostics/health`, `security/auth_failures`, `security/timestamp_drift`,
 * `security/policy_violations`, `gateway/connection_state` (QoS 1, retained, Last Will), `gateway/uptime`,
 * `gateway/message_rate`.
 *
 * Payloads: JSON by default ({@link jsonEncoder} / {@link jsonDecoder}); AVRO with {@link avroEncoder} /
 * {@link avroDecoder} (MQTT 5 content type `application/avro`). Encoders take typed `core/datapoint` datapoints
 * (`encode(dp)`; events `encodeEvent(topicSuffix, payload, tsMs)`), so JSON numbers stay numbers and 64-bit integers
 * keep their digits; decoders hand on the payload's `{path, value, ts}` untyped ({@link RawDatapoint}) for the one
 * `DatapointValidator` (a `null` or object value, a missing `ts` are refused there, never filled in).
 *
 * @example
 * ```ts
 * import { DatapointValidator } from "../datapoint/mod.ts";
 * import { jsonDecoder, jsonEncoder, TopicTable } from "./mod.ts";
 * const table = new TopicTable("gw-1", { map: { "Vehicle.Cabin.Light.IsDomeOn": "vehicle/dome_light" } });
 * const route = table.forPath("Vehicle.Speed")!;
 * console.log(route.topic, route.qos); // vehicles/gw-1/vehicle/speed 0
 * const body = jsonEncoder.encode({ path: route.path, value: 55, tsMs: 0 });
 * console.log(body); // {"path":"Vehicle.Speed","value":55,"ts":"1970-01-01T00:00:00.000Z"}
 * console.log(table.reverse().get("engine/rpm")); // Vehicle.Powertrain.CombustionEngine.Speed
 * const validator = new DatapointValidator();
 * const [raw] = jsonDecoder(new TextEncoder().encode("3500"), { path: "Vehicle.Speed", receivedAt: Date.now() });
 * const checked = validator.accept(raw, 0);
 * if (!checked.ok) console.log(checked.refusal.code); // datapoint.ts (a bare value has no time: refused)
 * ```
 * @module
 */
export {
  checkTopicLevel,
  checkTopicSuffix,
  CONNECTION_STATE_TOPIC,
  DEFAULT_TOPIC_POLICIES,
  DEFAULT_VSS_TOPICS,
  parseTopic,
  reverseTopicMap,
  TOPIC_ROOT,
  topicOf,
  type TopicPolicy,
  type TopicRoute,
  TopicTable,
  type TopicTableOptions,
} from "./topics.ts";
export { AVRO_CONTENT_TYPE, avroDecoder, avroEncoder } from "./avro.ts";
export { loadMqttTls, type MqttTlsMaterial, type MqttTlsOptions } from "./tls.ts";
export {
  jsonDecoder,
  jsonEncoder,
  jsonEventBody,
  type PayloadContext,
  type PayloadDecoder,
  type PayloadEncoder,
  type RawDatapoint,
  valueJson,
} from "./payload.ts";
