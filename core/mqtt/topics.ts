/**
 * The ESP CAN gateway's MQTT topic hierarchy (`vehicles/{thing_name}/<group>/<name>`), per-topic QoS, rate,
 * retain and offline-queue policy, and the default VSS path → topic table (and its reverse for ingest).
 * @module
 */
import { PipelineError } from "../errors/mod.ts";

/** Root of every topic. */
export const TOPIC_ROOT = "vehicles";

/** Policy of one topic (suffix under `vehicles/{thing_name}/`). */
export interface TopicPolicy {
  /** MQTT QoS: 0 telemetry, 1 DTCs and connection events. */
  qos: 0 | 1;
  /** Minimum interval between two publishes in ms (0 = every value); newer values replace a held one. */
  minIntervalMs: number;
  /** Publish retained. */
  retain: boolean;
  /** Keep in the on-disk offline queue while disconnected (always true for QoS 1). */
  queue: boolean;
}

/** The seed's topics and their defaults. Rates: `engine/rpm` 100 ms and `engine/coolant_temp` 1 s per the seed. */
export const DEFAULT_TOPIC_POLICIES: Readonly<Record<string, Readonly<TopicPolicy>>> = Object.freeze({
  "engine/rpm": { qos: 0, minIntervalMs: 100, retain: false, queue: false },
  "engine/coolant_temp": { qos: 0, minIntervalMs: 1000, retain: false, queue: false },
  "engine/load": { qos: 0, minIntervalMs: 1000, retain: false, queue: false },
  "vehicle/speed": { qos: 0, minIntervalMs: 100, retain: false, queue: false },
  "vehicle/odometer": { qos: 0, minIntervalMs: 1000, retain: false, queue: true },
  "vehicle/gear_status": { qos: 0, minIntervalMs: 0, retain: false, queue: true },
  "diagnostics/dtc": { qos: 1, minIntervalMs: 0, retain: false, queue: true },
  "diagnostics/error_count": { qos: 0, minIntervalMs: 1000, retain: false, queue: true },
  "diagnostics/health": { qos: 0, minIntervalMs: 1000, retain: false, queue: true },
  "security/auth_failures": { qos: 0, minIntervalMs: 1000, retain: false, queue: true },
  "security/timestamp_drift": { qos: 0, minIntervalMs: 1000, retain: false, queue: true },
  "security/policy_violations": { qos: 0, minIntervalMs: 1000, retain: false, queue: true },
  "gateway/connection_state": { qos: 1, minIntervalMs: 0, retain: true, queue: false },
  "gateway/uptime": { qos: 0, minIntervalMs: 1000, retain: false, queue: false },
  "gateway/message_rate": { qos: 0, minIntervalMs: 1000, retain: false, queue: false },
});

/** Topic suffix of the connection state (retained; also the Last Will). */
export const CONNECTION_STATE_TOPIC = "gateway/connection_state";

/**
 * Default VSS path (VSS 4.0) → topic suffix. Gateway-internal topics (`diagnostics/health`, `security/*`,
 * `gateway/*`, `diagnostics/error_count`) have no VSS path and are published with `publishEvent`.
 */
export const DEFAULT_VSS_TOPICS: Readonly<Record<string, string>> = Object.freeze({
  "Vehicle.Powertrain.CombustionEngine.Speed": "engine/rpm",
  "Vehicle.Powertrain.CombustionEngine.ECT": "engine/coolant_temp",
  "Vehicle.OBD.EngineLoad": "engine/load",
  "Vehicle.Speed": "vehicle/speed",
  "Vehicle.TraveledDistance": "vehicle/odometer",
  "Vehicle.Powertrain.Transmission.SelectedGear": "vehicle/gear_status",
  "Vehicle.OBD.DTCList": "diagnostics/dtc",
});

// deno-lint-ignore no-control-regex -- NUL is forbidden in MQTT topics
const SEGMENT_BAD = /[+#\u0000]/;

/** Throws unless `name` can be one topic level (no `/`, `+`, `#`, NUL; not empty). */
export function checkTopicLevel(name: string, what: string): void {
  if (!name || name.includes("/") || SEGMENT_BAD.test(name)) {
    throw new PipelineError(
      "mqtt.topic",
      `${what} "${name}" cannot be an MQTT topic level: it must be non-empty without "/", "+", "#"`,
      { path: what },
    );
  }
}

/** Throws unless `suffix` is a valid topic suffix (levels without wildcards). */
export function checkTopicSuffix(suffix: string, what = "topic"): void {
  if (!suffix || suffix.startsWith("/") || suffix.endsWith("/") || SEGMENT_BAD.test(suffix)) {
    throw new PipelineError(
      "mqtt.topic",
      `${what} "${suffix}" is not a valid topic suffix (like "engine/rpm": no wildcards, no leading/trailing "/")`,
      { path: what },
    );
  }
}

/** Full topic of a suffix: `vehicles/{thingName}/{suffix}`. */
export function topicOf(thingName: string, suffix: string): string {
  return `${TOPIC_ROOT}/${thingName}/${suffix}`;
}

/** Splits `vehicles/{thing}/{suffix}`; undefined when the topic is outside the hierarchy. */
export function parseTopic(topic: string): { thingName: string; suffix: string } | undefined {
  if (!topic.startsWith(TOPIC_ROOT + "/")) return undefined;
  const rest = topic.slice(TOPIC_ROOT.length + 1);
  const slash = rest.indexOf("/");
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  return { thingName: rest.slice(0, slash), suffix: rest.slice(slash + 1) };
}

/** One resolved route: where a VSS path goes and how. */
export interface TopicRoute extends TopicPolicy {
  /** The VSS path, or the suffix itself for events. */
  path: string;
  /** Topic suffix (`engine/rpm`). */
  suffix: string;
  /** Full topic (`vehicles/gw-1/engine/rpm`). */
  topic: string;
}

/** Options of {@link TopicTable}. */
export interface TopicTableOptions {
  /** VSS path → topic suffix; replaces the default table when `replace`, else merged over it. */
  map?: Record<string, string>;
  /** Drop the default VSS table and use only `map`. */
  replace?: boolean;
  /** Per-suffix policy overrides (also defines new suffixes). */
  policies?: Record<string, Partial<TopicPolicy>>;
}

const FALLBACK_POLICY: TopicPolicy = { qos: 0, minIntervalMs: 0, retain: false, queue: false };

/** Resolves VSS paths and topic suffixes to routes for one thing name. */
export class TopicTable {
  /** The thing name (second topic level). */
  readonly thingName: string;
  readonly #byPath = new Map<string, TopicRoute>();
  readonly #bySuffix = new Map<string, TopicRoute>();
  readonly #policies = new Map<string, TopicPolicy>();

  /**
   * Builds the routes of one thing name.
   *
   * @param thingName second topic level (`vehicles/{thingName}/…`)
   * @param options path map and policy overrides
   */
  constructor(thingName: string, options: TopicTableOptions = {}) {
    checkTopicLevel(thingName, "thing_name");
    this.thingName = thingName;
    for (const [suffix, p] of Object.entries(DEFAULT_TOPIC_POLICIES)) this.#policies.set(suffix, { ...p });
    for (const [suffix, p] of Object.entries(options.policies ?? {})) {
      checkTopicSuffix(suffix, `topics.policies.${suffix}`);
      const merged = { ...(this.#policies.get(suffix) ?? FALLBACK_POLICY), ...p };
      if (merged.qos !== 0 && merged.qos !== 1) {
        throw new PipelineError("mqtt.topic", `QoS of "${suffix}" must be 0 or 1, got ${merged.qos}`, {
          path: `topics.policies.${suffix}.qos`,
        });
      }
      if (!(merged.minIntervalMs >= 0)) {
        throw new PipelineError("mqtt.topic", `minIntervalMs of "${suffix}" must be >= 0`, {
          path: `topics.policies.${suffix}.minIntervalMs`,
        });
      }
      this.#policies.set(suffix, merged);
    }
    const map = options.replace ? { ...(options.map ?? {}) } : { ...DEFAULT_VSS_TOPICS, ...(options.map ?? {}) };
    for (const [path, suffix] of Object.entries(map)) {
      checkTopicSuffix(suffix, `topics.map.${path}`);
      this.#byPath.set(path, this.#route(path, suffix));
    }
  }

  #route(path: string, suffix: string): TopicRoute {
    const p = this.#policies.get(suffix) ?? FALLBACK_POLICY;
    return { ...p, queue: p.queue || p.qos === 1, path, suffix, topic: topicOf(this.thingName, suffix) };
  }

  /** The route of a VSS path, or undefined when unmapped. */
  forPath(path: string): TopicRoute | undefined {
    return this.#byPath.get(path);
  }

  /** The route of a topic suffix (created on first use for unknown suffixes, QoS 0). */
  forSuffix(suffix: string): TopicRoute {
    let r = this.#bySuffix.get(suffix);
    if (!r) {
      checkTopicSuffix(suffix);
      r = this.#route(suffix, suffix);
      this.#bySuffix.set(suffix, r);
    }
    return r;
  }

  /** Every path route. */
  routes(): TopicRoute[] {
    return [...this.#byPath.values()];
  }

  /** Topic suffix → VSS path, for ingest. */
  reverse(): Map<string, string> {
    return reverseTopicMap(Object.fromEntries([...this.#byPath].map(([p, r]) => [p, r.suffix])));
  }
}

/** Topic suffix → VSS path of a VSS path → suffix map (default: {@link DEFAULT_VSS_TOPICS}). */
export function reverseTopicMap(map: Record<string, string> = DEFAULT_VSS_TOPICS): Map<string, string> {
  const out = new Map<string, string>();
  for (const [path, suffix] of Object.entries(map)) {
    if (out.has(suffix)) {
      throw new PipelineError(
        "mqtt.topic",
        `topic "${suffix}" is mapped from both ${out.get(suffix)} and ${path}; ingest could not tell them apart`,
        { path: `topics.map.${path}` },
      );
    }
    out.set(suffix, path);
  }
  return out;
}
