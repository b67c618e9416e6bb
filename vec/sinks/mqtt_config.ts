/**
 * The `mqtt` section of the VEC's `config.json` and the ESP gateway keys the MQTT sink reads, as a zod schema and its
 * types. Importing this module does not load the MQTT client library: the VEC config is validated without it and
 * the sink (`./mqtt.ts`) is loaded only when configured.
 *
 * @example
 * ```ts
 * import { mqttConfigSchema, mqttConfigured, parseMqttConfig } from "./mqtt_config.ts";
 * const section = parseMqttConfig({ url: "mqtt://127.0.0.1:1883", topics: { "Vehicle.Speed": "vehicle/speed" } });
 * console.log(section.url, mqttConfigured({ mqtt: section })); // mqtt://127.0.0.1:1883 true
 * console.log(mqttConfigSchema.safeParse({ qos: 2 }).success); // false
 * ```
 * @module
 */
import { z } from "zod";
import { PipelineError } from "../../core/errors/mod.ts";

/** Per-topic policy overrides (`policies` of the section). */
export const mqttPolicySchema = z.strictObject({
  /** 0 (telemetry) or 1 (events: through the offline queue until PUBACK). */
  qos: z.union([z.literal(0), z.literal(1)]).optional(),
  /** At most one value per this many ms; the newest value in between is sent when it ends. */
  minIntervalMs: z.number().min(0).optional(),
  /** Publish retained. */
  retain: z.boolean().optional(),
  /** QoS 0: keep in the offline queue while disconnected instead of dropping. */
  queue: z.boolean().optional(),
});

/** Schema of the `mqtt` section of `config.json` (all keys optional). */
export const mqttConfigSchema = z.strictObject({
  /** Set false to keep the MQTT sink off although `endpoint` is set. */
  enabled: z.boolean().optional(),
  /** Broker URL; overrides `mqtts://{endpoint}:{port}`. */
  url: z.url({ protocol: /^(mqtts?|wss?|tcp|ssl)$/ }).optional(),
  /** Broker port with the ESP `endpoint` (default 8883). */
  port: z.number().int().min(1).max(65535).optional(),
  /** 4 = MQTT 3.1.1, 5 = MQTT 5 (default). */
  protocol_version: z.union([z.literal(4), z.literal(5)]).optional(),
  /** VSS path → topic suffix, merged over the default table. */
  topics: z.record(z.string().min(1), z.string().min(1)).optional(),
  /** Per-suffix policy overrides, e.g. `{"engine/rpm": {"minIntervalMs": 200}}`. */
  policies: z.record(z.string().min(1), mqttPolicySchema).optional(),
  /** Offline queue drain rate, messages per second (default 100, the AWS IoT Core per-connection limit). */
  drain_rate_per_sec: z.number().positive().optional(),
  /** Queued messages unacknowledged at a time (default 20). */
  max_inflight: z.number().int().min(1).max(65535).optional(),
  /** Reconnect backoff bounds (ms). */
  reconnect_min_ms: z.number().int().min(1).optional(),
  reconnect_max_ms: z.number().int().min(1).optional(),
  /** Largest body after encoding and signing (default 128 KiB, the AWS IoT Core limit). */
  max_payload_bytes: z.number().int().min(1).max(268_435_455).optional(),
  /** MQTT keep-alive in seconds (default 30). */
  keepalive_sec: z.number().int().min(0).max(65535).optional(),
  /** Payload encoding (default `json`); `avro` needs the signals' VSS datatypes (the catalog). */
  encoding: z.enum(["json", "avro"]).optional(),
});

/** The `mqtt` section of `config.json`. */
export type MqttConfigSection = z.infer<typeof mqttConfigSchema>;

/** A per-topic policy override. */
export type MqttPolicyConfig = z.infer<typeof mqttPolicySchema>;

/** The ESP gateway's `config.json` keys plus the `mqtt` section. */
export interface EspMqttConfig {
  /** Broker host (AWS IoT Core data endpoint). */
  endpoint?: string;
  /** Thing name: the second topic level (default `can-gateway`). */
  thing_name?: string;
  /** MQTT client id (default: the thing name). */
  client_id?: string;
  /** Client certificate (PEM). */
  cert_path?: string;
  /** Client private key (PEM). */
  key_path?: string;
  /** CA certificate(s) (PEM). */
  ca_path?: string;
  /** The `mqtt` section: already validated, or validated with {@link mqttConfigSchema} on use. */
  mqtt?: MqttConfigSection | Record<string, unknown>;
}

/** Validates the `mqtt` section; errors name the key (`config.invalid`, path `mqtt.<key>`). */
export function parseMqttConfig(section: unknown): MqttConfigSection {
  const r = mqttConfigSchema.safeParse(section ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `mqtt${i.path.length ? "." + i.path.join(".") : ""}: ${i.message}`);
  throw new PipelineError("config.invalid", `config: ${issues.join("; ")}`, {
    path: ["mqtt", ...(r.error.issues[0]?.path ?? [])].join("."),
  });
}

/** True when the config asks for an MQTT sink: `endpoint` or `mqtt.url` set and `mqtt.enabled` not false. */
export function mqttConfigured(config: EspMqttConfig): boolean {
  const m = parseMqttConfig(config.mqtt);
  return m.enabled !== false && Boolean(config.endpoint || m.url);
}
