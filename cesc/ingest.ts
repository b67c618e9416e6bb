/**
 * The CESC's ingest: HTTP JSON, HTTP AVRO and MQTT messages all become typed `core/datapoint` datapoints through ONE
 * {@link DatapointValidator} (built on the VSS catalog), then go to the store through one group committer.
 *
 * Atomic per request and per MQTT message: if any datapoint is refused, nothing of it is stored. HTTP answers 400
 * with `refusedBody` (code `viss.refused`) naming every refused datapoint (index, path, code, reason, `at`); an MQTT
 * message is acknowledged (it would be refused forever) and counted. Refused datapoints are counted by reason
 * (`cesc_datapoints_refused_total{reason}`) and logged once per reason and minute (`RefusalLog`); requests refused
 * as a whole (bad JSON, bad AVRO container, 401, 413, 415) are logged once per code and minute, with the code and
 * message the reply carries.
 * @module
 */
import type { IncomingHttpHeaders } from "node:http";
import {
  type Datapoint,
  type DatapointValidator,
  type RawDatapoint,
  type Refusal,
  RefusalLog,
} from "../core/datapoint/mod.ts";
import { PipelineError } from "../core/errors/mod.ts";
import type { Logger } from "../core/log/mod.ts";
import type { GroupCommitter } from "../core/ovds/mod.ts";
import { parseVissIngest, refusedBody } from "../core/viss/mod.ts";
import { errorResponse, type HttpRequest, type HttpResponse, json } from "./http.ts";
import type { Labels, Metrics } from "./metrics.ts";

/** What a request signature check gets: the request as sent and its body bytes (read once). */
export interface VerifyInput {
  /** HTTP method. */
  method: string;
  /** Request target as sent (path and query). */
  path: string;
  /** Request headers (lower-case names). */
  headers: IncomingHttpHeaders;
  /** The body bytes. */
  body: Uint8Array;
}

/** Result of a request verification hook. */
export type VerifyResult = { ok: true; body?: unknown } | { ok: false; reason: string; message: string };

/**
 * Verifies an ingest request (signed envelope, see `core/security`: `verify: (req) => verifier.verifyHttp(req)`).
 * `body`, when returned, replaces the parsed JSON (for envelopes that wrap the payload).
 */
export type VerifyHook = (req: VerifyInput) => VerifyResult | Promise<VerifyResult>;

/** Options of {@link createIngest}. */
export interface IngestOptions {
  /** The group committer writing to the store. */
  committer: GroupCommitter;
  /** The one validation of every ingest path. */
  validator: DatapointValidator;
  /** Metrics registry. */
  metrics: Metrics;
  /** Largest accepted body in bytes (default 1 MiB). */
  maxBody?: number;
  /** Most data points per request (default 10 000). */
  maxDatapoints?: number;
  /** Request verification (signed envelopes); failures answer 401. */
  verify?: VerifyHook;
  /** Logger. */
  log?: Logger;
}

/** The outcome of one MQTT message. */
export interface MessageOutcome {
  /** New rows stored. */
  stored: number;
  /** Refused datapoints (then nothing of the message was stored). */
  refused: number;
}

/** The ingest of one CESC. */
export interface Ingest {
  /** Validates, verifies, stores (after the commit) and answers one HTTP ingest request. */
  http(req: HttpRequest): Promise<HttpResponse>;
  /**
   * Validates and stores one MQTT message's datapoints of vehicle `vin`; refused datapoints refuse the whole
   * message (resolves with `stored: 0`). Rejects only when the store fails (the message is then retried).
   */
  message(vin: string, raw: readonly RawDatapoint[]): Promise<MessageOutcome>;
  /** Counts a request refused before the ingest (WebSocket upgrade, …) and answers it. */
  reject(status: number, code: string, message: string): HttpResponse;
}

const JSON_CT = /^application\/([a-z0-9.+-]*\+)?json\b/i;
const AVRO_CT = /^(application\/avro|avro\/binary)\b/i;
const VIN_RE = /^[\x21-\x7e]{1,64}$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Label objects built once, so that counting allocates nothing per request. */
const STATUS_200: Labels = { status: "200" };
const labelCache = new Map<string, Labels>();
function labels(name: string, value: string): Labels {
  const k = `${name}\0${value}`;
  let l = labelCache.get(k);
  if (!l) labelCache.set(k, l = { [name]: value });
  return l;
}

/** Logs the first of each code per minute, with how many came since the last line. */
class OncePerMinute {
  readonly #last = new Map<string, { at: number; count: number; total: number }>();
  constructor(readonly log?: Logger) {}
  add(code: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    const e = this.#last.get(code) ?? { at: -Infinity, count: 0, total: 0 };
    e.total++;
    this.#last.set(code, e);
    if (now - e.at < 60_000) return;
    this.log?.warn("ingest request refused", { code, ...fields, refused_since_last_log: e.total - e.count });
    e.at = now;
    e.count = e.total;
  }
}

interface Parsed {
  vin: string;
  datapoints: Datapoint[];
  refusals: Refusal[];
  count: number;
}

/** Creates the ingest; see the module doc. */
export function createIngest(options: IngestOptions): Ingest {
  const { metrics, committer, validator } = options;
  const maxBody = options.maxBody ?? 1 << 20;
  const maxDatapoints = options.maxDatapoints ?? 10_000;
  const refusalLog = new RefusalLog({ logger: options.log });
  const rejectLog = new OncePerMinute(options.log);

  const reject = (status: number, code: string, message: string, path?: string): HttpResponse => {
    metrics.inc("cesc_rejected_requests_total", labels("reason", code));
    metrics.inc("cesc_ingest_requests_total", labels("status", String(status)));
    rejectLog.add(code, { status, message, path });
    return errorResponse(status, code, message, path);
  };
  const countRefusals = (refusals: readonly Refusal[], vin: string, via: string) => {
    for (const r of refusals) {
      metrics.inc("cesc_datapoints_refused_total", labels("reason", r.code));
      refusalLog.add(r, { vin, via, at: r.at });
    }
  };
  const store = async (p: Parsed): Promise<number> => {
    const stored = await committer.submit({ vin: p.vin, datapoints: p.datapoints });
    metrics.inc("cesc_ingested_datapoints_total", undefined, stored);
    metrics.inc("cesc_duplicate_datapoints_total", undefined, p.datapoints.length - stored);
    return stored;
  };

  const parse = async (req: HttpRequest, avro: boolean, bytes: Uint8Array): Promise<Parsed | HttpResponse> => {
    let payload: unknown = bytes;
    if (options.verify) {
      const v = await options.verify({ method: req.method, path: req.target, headers: req.headers, body: bytes });
      if (!v.ok) return reject(401, `auth.${v.reason}`, v.message);
      if (v.body !== undefined && !avro) payload = v.body;
    }
    if (avro) return await parseAvro(bytes, req.header("x-vin"));
    if (payload instanceof Uint8Array) {
      try {
        payload = utf8.decode(payload);
      } catch {
        return reject(400, "viss.json", "body is not valid UTF-8", "$");
      }
    }
    try {
      return parseVissIngest(payload, validator, { maxDatapoints });
    } catch (e) {
      if (e instanceof PipelineError) return reject(400, e.code, e.message, e.path);
      throw e;
    }
  };
  const parseAvro = async (bytes: Uint8Array, vin?: string): Promise<Parsed | HttpResponse> => {
    // AVRO (core/codec, the vss-tools schemas) is loaded on the first AVRO request.
    const { parseAvroIngest } = await import("../core/codec/mod.ts");
    try {
      return parseAvroIngest(bytes, validator, { vin, maxDatapoints });
    } catch (e) {
      // Whatever a mutated container makes the decoder throw, it is the sender's body: 400, never 500.
      if (e instanceof PipelineError) return reject(400, e.code, e.message, e.path);
      return reject(400, "codec.avro", `the AVRO body cannot be read: ${(e as Error).message}`);
    }
  };

  return {
    reject,
    async http(req) {
      const t0 = performance.now();
      const ct = req.header("content-type") ?? "";
      const avro = AVRO_CT.test(ct);
      if (!avro && !JSON_CT.test(ct)) {
        const message = `Content-Type must be application/json or application/avro, got "${ct.slice(0, 60)}"`;
        return { ...reject(415, "http.unsupported_media_type", message), close: true };
      }
      let bytes: Uint8Array | null;
      try {
        bytes = await req.body(maxBody);
      } catch (e) {
        return { ...reject(400, "http.body", `could not read the body: ${(e as Error).message}`), close: true };
      }
      if (bytes === null) {
        const message = `body larger than ${maxBody} bytes; send fewer data points per request`;
        return { ...reject(413, "http.body_too_large", message), close: true };
      }
      const parsed = await parse(req, avro, bytes);
      if (!("vin" in parsed)) return parsed;
      if (parsed.refusals.length > 0) {
        countRefusals(parsed.refusals, parsed.vin, avro ? "http.avro" : "http.json");
        reject(400, "viss.refused", `${parsed.refusals.length} of ${parsed.count} datapoints refused; nothing stored`);
        return json(400, refusedBody(parsed.refusals, parsed.count));
      }
      let stored: number;
      try {
        stored = await store(parsed);
      } catch (e) {
        options.log?.error("commit failed", { err: e });
        return reject(503, "ovds.write", "the data could not be stored; retry later");
      }
      metrics.inc("cesc_ingest_requests_total", STATUS_200);
      metrics.observe("cesc_ingest_latency_seconds", (performance.now() - t0) / 1000);
      return json(200, { stored, duplicates: parsed.datapoints.length - stored });
    },
    async message(vin, raw) {
      if (!VIN_RE.test(vin)) {
        metrics.inc("cesc_rejected_requests_total", labels("reason", "mqtt.viss.vin"));
        rejectLog.add("mqtt.viss.vin", {
          vin: vin.slice(0, 64),
          message: "the topic's VIN is not 1-64 printable ASCII",
        });
        return { stored: 0, refused: raw.length };
      }
      const datapoints: Datapoint[] = [];
      const refusals: Refusal[] = [];
      for (let i = 0; i < raw.length; i++) {
        const c = validator.accept(raw[i], i);
        if (c.ok) datapoints.push(c.datapoint);
        else refusals.push(c.refusal);
      }
      if (refusals.length > 0) {
        countRefusals(refusals, vin, "mqtt");
        metrics.inc("cesc_rejected_requests_total", labels("reason", "mqtt.viss.refused"));
        return { stored: 0, refused: refusals.length };
      }
      if (datapoints.length === 0) return { stored: 0, refused: 0 };
      return { stored: await store({ vin, datapoints, refusals, count: raw.length }), refused: 0 };
    },
  };
}
