/**
 * MQTT payload encoders/decoders shared by the VEC publisher and the CESC ingest.
 * @module
 */
import { PipelineError } from "../errors/mod.ts";

/** A datapoint value as published: VISS strings, or raw numbers/booleans/string lists. */
export type MqttValue = string | number | boolean | readonly string[] | null;

/** One datapoint in VISSv2 form (value as a string, ts ISO 8601 UTC), as produced by ingest. */
export interface MqttDatapoint {
  /** VSS path, e.g. `Vehicle.Speed`. */
  path: string;
  /** Value as a string. */
  value: string;
  /** ISO 8601 UTC time. */
  ts: string;
}

/** Turns one datapoint into a payload body. */
export interface PayloadEncoder {
  /** MIME type, sent as the MQTT 5 `contentType` property. */
  readonly contentType: string;
  /**
   * Encode one value.
   * @param path VSS path (or the topic suffix for events)
   * @param value the value
   * @param ts ms since the epoch or an ISO 8601 string
   */
  encode(path: string, value: MqttValue, ts: number | string): Uint8Array | string;
}

/** Turns a received payload back into datapoints. */
export type PayloadDecoder = (body: Uint8Array, context: { path?: string; receivedAt: number }) => MqttDatapoint[];

let cachedSecond = NaN;
let cachedPrefix = "";
const MAX_4_DIGIT_YEAR_MS = 253_402_300_799_999;

/** ISO 8601 of ms since the epoch (strings pass through); the `YYYY-MM-DDTHH:MM:SS.` part is cached per second. */
export function isoTime(ts: number | string): string {
  if (typeof ts === "string") return ts;
  if (!(ts >= 0 && ts <= MAX_4_DIGIT_YEAR_MS)) return new Date(ts).toISOString();
  const sec = Math.floor(ts / 1000);
  if (sec !== cachedSecond) {
    cachedPrefix = new Date(sec * 1000).toISOString().slice(0, 20);
    cachedSecond = sec;
  }
  const ms = Math.floor(ts - sec * 1000);
  return cachedPrefix + (ms < 10 ? "00" : ms < 100 ? "0" : "") + ms + "Z";
}

function jsonValue(value: MqttValue): string {
  if (typeof value === "number") return Number.isFinite(value) ? "" + value : "null";
  return JSON.stringify(value);
}

/**
 * Default JSON encoding: `{"path":"Vehicle.Speed","value":55,"ts":"2026-01-01T00:00:00.000Z"}`.
 * Numbers stay numbers; non-finite numbers become `null`.
 */
export const jsonEncoder: PayloadEncoder = {
  contentType: "application/json",
  encode(path, value, ts) {
    return `{"path":${JSON.stringify(path)},"value":${jsonValue(value)},"ts":"${isoTime(ts)}"}`;
  },
};

function asString(v: unknown): string {
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return v.map(String).join(",");
  return v === null || v === undefined ? "" : String(v);
}

/**
 * Default JSON decoding. Accepts `{path?, value, ts?}`, an array of those, or a bare JSON scalar
 * (the ESP gateway's `3500`). A missing path comes from the topic table, a missing ts is the receive time.
 */
export const jsonDecoder: PayloadDecoder = (body, context): MqttDatapoint[] => {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(body));
  } catch (e) {
    throw new PipelineError("mqtt.payload", `payload is not JSON: ${(e as Error).message}`, { cause: e });
  }
  const list = Array.isArray(doc) && doc.length > 0 && typeof doc[0] === "object" && doc[0] !== null ? doc : [doc];
  const out: MqttDatapoint[] = [];
  for (const item of list) {
    let path = context.path;
    let value: unknown = item;
    let ts: unknown = undefined;
    if (item !== null && typeof item === "object" && !Array.isArray(item)) {
      const o = item as Record<string, unknown>;
      if (typeof o.path === "string" && o.path) path = o.path;
      value = o.value;
      ts = o.ts;
    }
    if (!path) {
      throw new PipelineError("mqtt.payload", "payload has no path and the topic is not in the topic table");
    }
    if (value === undefined) throw new PipelineError("mqtt.payload", `payload for ${path} has no value`);
    const t = ts === undefined
      ? new Date(context.receivedAt).toISOString()
      : typeof ts === "number"
      ? new Date(ts).toISOString()
      : String(ts);
    out.push({ path, value: asString(value), ts: t });
  }
  return out;
};
