/**
 * MQTT payload encoders/decoders shared by the VEC publisher and the CESC ingest. Encoders read typed datapoints
 * (JSON numbers stay numbers, booleans booleans, 64-bit integers beyond 2^53 JSON numbers with their exact digits,
 * arrays arrays; time as the canonical RFC 3339 text). Decoders hand on what the payload says, untyped
 * ({@link RawDatapoint}); the CESC runs it through the one `DatapointValidator`, so a `null` or object value or a
 * missing `ts` is refused there, never filled in.
 * @module
 */
import { type Datapoint, formatTime, type RawDatapoint, type VssValue } from "../datapoint/mod.ts";
import { PipelineError } from "../errors/mod.ts";
import { jsonParseExact } from "../viss/mod.ts";

export type { RawDatapoint };

/** Turns one datapoint (or one event) into a payload body. */
export interface PayloadEncoder {
  /** MIME type of datapoint bodies, sent as the MQTT 5 `contentType` property. */
  readonly contentType: string;
  /** MIME type of event bodies ({@link PayloadEncoder.encodeEvent}), when it differs from `contentType`. */
  readonly eventContentType?: string;
  /** Encode one typed datapoint. */
  encode(dp: Datapoint): Uint8Array | string;
  /**
   * Encode an event (`diagnostics/dtc`, `diagnostics/health`, …): its payload members plus `ts` (canonical time).
   * @param topicSuffix topic below `vehicles/{thing_name}/`
   * @param payload JSON-serialisable members
   * @param tsMs observation time, integer ms since the epoch
   */
  encodeEvent(topicSuffix: string, payload: Readonly<Record<string, unknown>>, tsMs: number): Uint8Array | string;
}

/** Where a payload came from. */
export interface PayloadContext {
  /** VSS path of the topic (reverse topic table), used when the payload names none. */
  path?: string;
  /** Receive time, ms since the epoch (for logs; never a datapoint's time). */
  receivedAt: number;
}

/**
 * Turns a received payload into datapoints as the payload gives them (untyped).
 * @throws PipelineError `mqtt.payload` when the body cannot be read at all (not JSON, not AVRO, no path)
 */
export type PayloadDecoder = (body: Uint8Array, context: PayloadContext) => RawDatapoint[];

function scalarJson(v: unknown): string {
  switch (typeof v) {
    case "number":
      return Number.isFinite(v) ? (Object.is(v, -0) ? "-0" : "" + v) : "null";
    case "bigint":
      return "" + v;
    case "boolean":
      return v ? "true" : "false";
    default:
      return JSON.stringify(v) ?? "null";
  }
}

/** The JSON text of a typed value: numbers as numbers (bigint with its exact digits), arrays as arrays. */
export function valueJson(value: VssValue): string {
  if (!Array.isArray(value)) return scalarJson(value);
  let out = "[";
  for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ",") + scalarJson(value[i]);
  return out + "]";
}

function eventJson(payload: Readonly<Record<string, unknown>>, tsMs: number): string {
  const ts = formatTime(tsMs);
  return JSON.stringify(
    { ...payload, ts },
    (_k, v) => (typeof v === "bigint" ? (Number.isSafeInteger(Number(v)) ? Number(v) : String(v)) : v),
  );
}

function timeText(tsMs: number, what: string): string {
  try {
    return formatTime(tsMs);
  } catch (e) {
    throw new PipelineError("mqtt.payload", `${what}: ${(e as Error).message}; validate datapoints before encoding`, {
      cause: e,
    });
  }
}

/**
 * Default JSON encoding: `{"path":"Vehicle.Speed","value":55,"ts":"2026-01-01T00:00:00.000Z"}`; events
 * `{...payload,"ts":"…"}`.
 * @throws PipelineError `mqtt.payload` for a time outside 0000..9999 (datapoints are validated before)
 */
export const jsonEncoder: PayloadEncoder = {
  contentType: "application/json",
  encode(dp) {
    return `{"path":${JSON.stringify(dp.path)},"value":${valueJson(dp.value)},"ts":"${timeText(dp.tsMs, dp.path)}"}`;
  },
  encodeEvent(topicSuffix, payload, tsMs) {
    timeText(tsMs, topicSuffix);
    return eventJson(payload, tsMs);
  },
};

/** JSON text of an event body, for encoders whose datapoint form cannot carry events (AVRO). */
export function jsonEventBody(topicSuffix: string, payload: Readonly<Record<string, unknown>>, tsMs: number): string {
  return jsonEncoder.encodeEvent(topicSuffix, payload, tsMs) as string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function readDoc(body: Uint8Array): unknown {
  try {
    return jsonParseExact(utf8.decode(body));
  } catch (e) {
    throw new PipelineError("mqtt.payload", `payload is not JSON: ${(e as Error).message}`, { cause: e });
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Default JSON decoding. Accepts `{path?, value, ts}`, an array of those, or a bare JSON value (the ESP gateway's
 * `3500`). A missing path comes from the topic (`context.path`); value and ts are handed on as they are (a missing
 * ts stays missing: the validator refuses it).
 * @throws PipelineError `mqtt.payload` for a body that is not JSON, or that names no path on a topic with none
 */
export const jsonDecoder: PayloadDecoder = (body, context): RawDatapoint[] => {
  const doc = readDoc(body);
  const list = Array.isArray(doc) && doc.length > 0 && isRecord(doc[0]) ? doc : [doc];
  const out: RawDatapoint[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    let path: unknown = context.path;
    let value: unknown = item;
    let ts: unknown = undefined;
    if (isRecord(item)) {
      if (item.path !== undefined) path = item.path;
      value = item.value;
      ts = item.ts;
    }
    if (path === undefined) {
      throw new PipelineError("mqtt.payload", "payload has no path and the topic is not in the topic table");
    }
    out[i] = { path, value, ts };
  }
  return out;
};
