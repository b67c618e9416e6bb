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
 * {@link avroDecoder} (MQTT 5 content type `application/avro`).
 *
 * @example
 * ```ts
 * import { jsonEncoder, TopicTable } from "./mod.ts";
 * const table = new TopicTable("gw-1", { map: { "Vehicle.Cabin.Light.IsDomeOn": "vehicle/dome_light" } });
 * const route = table.forPath("Vehicle.Speed")!;
 * console.log(route.topic, route.qos); // vehicles/gw-1/vehicle/speed 0
 * console.log(jsonEncoder.encode(route.path, 55, 0)); // {"path":"Vehicle.Speed","value":55,"ts":"1970-01-01T00:00:00.000Z"}
 * console.log(table.reverse().get("engine/rpm")); // Vehicle.Powertrain.CombustionEngine.Speed
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
  isoTime,
  jsonDecoder,
  jsonEncoder,
  type MqttDatapoint,
  type MqttValue,
  type PayloadDecoder,
  type PayloadEncoder,
} from "./payload.ts";
