/**
 * The VEC's `config.json`: the ESP CAN gateway's keys (`endpoint`, `thing_name`, `client_id`, `cert_path`,
 * `key_path`, `ca_path`, `publish_interval_seconds`) plus sections for CAN, a VISSv2 source, the CESC uplink, MQTT,
 * OBD-II, security, the on-disk queue and the REST API. One zod schema types every section (the `mqtt` section's
 * schema comes from `vec/sinks/mqtt_config.ts`, the `obd` section's from `vec/obd_config.ts`; neither loads its
 * runtime); every error names the key.
 *
 * @example
 * ```ts
 * import { parseVecConfig } from "./config.ts";
 * const config = parseVecConfig({ thing_name: "car-1", cesc: { url: "http://127.0.0.1:8000" } });
 * console.log(config.can.dbc, config.api.port);
 * ```
 * @module
 */
import { z } from "zod";
import { PipelineError } from "../core/errors/mod.ts";
import { obdConfigSchema } from "./obd_config.ts";
import { mqttConfigSchema } from "./sinks/mqtt_config.ts";

const assets = new URL("../assets/", import.meta.url);
const assetPath = (name: string) => decodeURIComponent(new URL(name, assets).pathname);

/** Default DBC shipped with the project (Tesla Model 3, from Kuksa). */
export const DEFAULT_DBC = assetPath("dbc/Model3CAN.dbc");
/** Default Kuksa `vss_dbc.json` mapping (VSS 4.0). */
export const DEFAULT_MAPPING = assetPath("vss/vss_dbc_4.0.json");
/** Default VSS catalog (VSS 4.0). */
export const DEFAULT_CATALOG = assetPath("vss/vss_release_4.0.json");

const port = z.number().int().min(0).max(65535);

const canSchema = z.strictObject({
  /** SocketCAN interface, e.g. `can0`. Mutually exclusive with `log`. */
  interface: z.string().min(1).optional(),
  /** candump log to replay. */
  log: z.string().min(1).optional(),
  /** Replay speed: 1 = real time, N = N times faster, 0 = as fast as possible. */
  speed: z.number().min(0).default(1),
  /** Loop the replay log forever. */
  loop: z.boolean().default(false),
  /** Skip malformed candump lines instead of stopping. */
  lenient: z.boolean().default(false),
  /** Receive CAN FD frames on SocketCAN. */
  fd: z.boolean().default(true),
  dbc: z.string().min(1).default(DEFAULT_DBC),
  mapping: z.string().min(1).default(DEFAULT_MAPPING),
  catalog: z.string().min(1).default(DEFAULT_CATALOG),
  /** Frames per decode batch. */
  batch_frames: z.number().int().min(1).max(65536).default(1024),
});

const tlsSchema = z.strictObject({
  cert_path: z.string().min(1).optional(),
  key_path: z.string().min(1).optional(),
  ca_path: z.string().min(1).optional(),
});

const vissSchema = z.strictObject({
  /** VISSv2 server: `ws://host:port`, `wss://…`, or a host (then `ws://host:8081`, as the original `-w`). */
  url: z.string().min(1).default("ws://127.0.0.1:8081"),
  /** Request file in the original format (`{"request": [...]}`). */
  requests: z.string().min(1).default("./vecRequests.json"),
  /** Wait between VIN gets while the server has no VIN (ms). */
  vin_retry_ms: z.number().int().min(10).default(10_000),
  reconnect_min_ms: z.number().int().min(1).default(500),
  reconnect_max_ms: z.number().int().min(1).default(30_000),
  /** For `wss://`: the server's CA and, for mutual TLS, the VEC's client certificate. */
  tls: tlsSchema.prefault({}),
});

const cescSchema = z.strictObject({
  /** CESC base URL; the VEC posts to `<url>/` (the original's path). Unset: no CESC sink. */
  url: z.url({ protocol: /^https?$/ }).optional(),
  /** Request path on the CESC. */
  path: z.string().startsWith("/").default("/"),
  /** Datapoints per push, at most. */
  batch_max_datapoints: z.number().int().min(1).max(100_000).default(500),
  /** Oldest datapoint in a pending push, at most (ms). */
  batch_max_ms: z.number().int().min(1).default(1000),
  timeout_ms: z.number().int().min(100).default(10_000),
  /** Backoff bounds for retries (ms). */
  retry_min_ms: z.number().int().min(1).default(250),
  retry_max_ms: z.number().int().min(1).default(30_000),
  encoding: z.enum(["json", "avro"]).default("json"),
  tls: tlsSchema.prefault({}),
});

const queueSchema = z.strictObject({
  /** Folder of the on-disk queues (created if missing). */
  dir: z.string().min(1).default("./state"),
  max_bytes: z.number().int().min(1024).default(256 * 1024 * 1024),
  max_age_hours: z.number().positive().default(7 * 24),
});

const secocMessageSchema = z.strictObject({
  id: z.number().int().min(0).max(0x1fffffff),
  extended: z.boolean().default(false),
  key_id: z.string().min(1),
  data_id: z.number().int().min(0).max(0xffff).optional(),
  payload_length: z.number().int().min(0).max(64),
  freshness_bits: z.union([z.literal(8), z.literal(16), z.literal(24), z.literal(32), z.literal(40), z.literal(48)]),
  mac_bits: z.number().int().min(32).max(256).multipleOf(8),
});

const secocSchema = z.strictObject({
  /** Key file (`<keyId>=hex:…` lines) or environment variable with the same content. */
  keys_file: z.string().min(1).optional(),
  keys_env: z.string().min(1).optional(),
  /** Frames of messages not listed: decode them (`pass`) or drop them (`drop`). */
  unsecured: z.enum(["pass", "drop"]).default("pass"),
  messages: z.array(secocMessageSchema).min(1),
});

const securitySchema = z.strictObject({
  /** Sign uplink messages with the envelope of `core/security`. */
  sign: z.boolean().default(false),
  key_id: z.string().min(1).optional(),
  /** File holding the key (hex or base64). */
  key_file: z.string().min(1).optional(),
  /** Environment variable holding the key (hex or base64). */
  key_env: z.string().min(1).optional(),
  /** Sender id in the envelope (default: the VIN or thing name). */
  sender_id: z.string().min(1).optional(),
  tag_bits: z.number().int().min(32).max(256).multipleOf(8).default(128),
  /** SecOC-style authenticated CAN frames, verified in WASM before decoding. */
  secoc: secocSchema.optional(),
});

const apiSchema = z.strictObject({
  enabled: z.boolean().default(true),
  hostname: z.string().min(1).default("0.0.0.0"),
  port: port.default(5000),
});

/** The schema of `config.json`. */
export const vecConfigSchema = z.strictObject({
  // The ESP CAN gateway's keys, unchanged.
  endpoint: z.string().min(1).optional(),
  thing_name: z.string().min(1).default("can-gateway"),
  client_id: z.string().min(1).optional(),
  cert_path: z.string().min(1).optional(),
  key_path: z.string().min(1).optional(),
  ca_path: z.string().min(1).optional(),
  publish_interval_seconds: z.number().positive().default(300),
  // Additions.
  /** Vehicle identification number; otherwise taken from `Vehicle.VehicleIdentification.VIN`. */
  vin: z.string().min(1).max(64).optional(),
  /** Where data comes from: the CAN bus (SocketCAN or a candump replay) or a VISSv2 server over WebSocket. */
  source: z.enum(["can", "viss"]).default("can"),
  can: canSchema.prefault({}),
  viss: vissSchema.prefault({}),
  cesc: cescSchema.prefault({}),
  /** MQTT uplink settings (`vec/sinks/mqtt_config.ts`); the ESP keys above give endpoint and certificates. */
  mqtt: mqttConfigSchema.prefault({}),
  /** OBD-II polling settings (`vec/obd_config.ts`). */
  obd: obdConfigSchema.prefault({}),
  queue: queueSchema.prefault({}),
  security: securitySchema.prefault({}),
  api: apiSchema.prefault({}),
});

/** A validated VEC configuration. */
export type VecConfig = z.infer<typeof vecConfigSchema>;

/**
 * Validates a parsed `config.json` object.
 * @throws PipelineError `config.invalid` naming the first bad key (all problems in the message).
 */
export function parseVecConfig(input: unknown, options: { source?: string } = {}): VecConfig {
  const result = vecConfigSchema.safeParse(input ?? {});
  if (!result.success) {
    const issues = result.error.issues.map((i) => {
      const key = i.path.length ? i.path.join(".") : "(root)";
      return `${key}: ${i.message}`;
    });
    const first = result.error.issues[0]?.path.join(".") || undefined;
    throw new PipelineError(
      "config.invalid",
      `${options.source ?? "config"}: ${issues.join("; ")}`,
      { path: first },
    );
  }
  const config = result.data;
  if (config.can.interface && config.can.log) {
    throw new PipelineError(
      "config.invalid",
      `${options.source ?? "config"}: can.interface and can.log are mutually exclusive; choose one source`,
      { path: "can" },
    );
  }
  if (config.security.sign && !config.security.key_file && !config.security.key_env) {
    throw new PipelineError(
      "config.invalid",
      `${options.source ?? "config"}: security.sign needs security.key_file or security.key_env`,
      { path: "security" },
    );
  }
  return config;
}

/**
 * Reads and validates a `config.json` file. A missing file at the default location gives the defaults;
 * a missing file that was named explicitly is an error.
 */
export async function loadVecConfig(path: string, options: { required?: boolean } = {}): Promise<VecConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound && !options.required) return parseVecConfig({});
    throw new PipelineError("config.unreadable", `${path}: ${(e as Error).message}`, { path, cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PipelineError("config.invalid", `${path}: not valid JSON (${(e as Error).message})`, {
      path,
      cause: e,
    });
  }
  return parseVecConfig(json, { source: path });
}

const SECRET_KEYS = /(^|_)(key|secret|password|token)(_|$)/i;

/** A copy of the configuration safe to show (`GET /config`): secret values replaced by `"[redacted]"`. */
export function redactConfig(config: VecConfig): Record<string, unknown> {
  const walk = (value: unknown, key: string): unknown => {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]));
    }
    // Paths to key files are fine to show; inline secrets are not.
    if (SECRET_KEYS.test(key) && !key.endsWith("_path") && !key.endsWith("_file") && !key.endsWith("_env")) {
      return key === "key_id" ? value : "[redacted]";
    }
    return value;
  };
  return walk(config, "") as Record<string, unknown>;
}
