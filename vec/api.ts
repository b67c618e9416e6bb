/**
 * The VEC's REST API (the ESP gateway's, on port 5000 by default): `GET /health`, `POST /publish`,
 * `GET /config` (secrets redacted), `GET /signals` (latest VSS values), `GET /metrics` (Prometheus text).
 *
 * `POST /publish` is atomic: every datapoint goes through the VEC's one `DatapointValidator` (and must be a leaf of
 * the VSS catalog); when one is refused nothing is published and the 400 answer (`viss.refused`, the CESC's form)
 * names every refused datapoint with its index, path, reason and JSON path. Values and times are typed inside; this
 * is where they become text (`formatValue`, `formatTime`).
 *
 * @example
 * ```ts
 * import { DatapointValidator } from "../core/datapoint/mod.ts";
 * import { createVecApi } from "./api.ts";
 * import { Pipeline } from "./pipeline.ts";
 * const validator = new DatapointValidator({ get: (p) => p === "Vehicle.Speed" ? { datatype: "float" } : undefined });
 * const pipeline = new Pipeline({ sinks: [], validator });
 * const app = createVecApi({
 *   health: () => ({ status: "ok" }),
 *   publish: (raw) => pipeline.accept(raw, { atomic: true, knownPathsOnly: true, source: "api" }),
 *   config: () => ({}),
 *   signals: () => pipeline.latest(),
 *   metrics: () => "",
 * });
 * const res = await app.request("/publish", {
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: JSON.stringify({ vehicle_speed: 60, warp_speed: 9 }),
 * });
 * console.log(res.status, (await res.json()).error.datapoints[0].path); // 400 warp_speed
 * ```
 * @module
 */
import { Hono } from "hono";
import {
  type Datapoint,
  formatTime,
  formatValue,
  type RawDatapoint,
  type Refusal,
  type VssValue,
} from "../core/datapoint/mod.ts";
import { PipelineError } from "../core/errors/mod.ts";
import { refusedBody } from "../core/viss/mod.ts";

/** The gateway's `/publish` keys and the VSS paths they stand for. */
export const PUBLISH_ALIASES: Readonly<Record<string, string>> = {
  engine_rpm: "Vehicle.Powertrain.CombustionEngine.Speed",
  vehicle_speed: "Vehicle.Speed",
  coolant_temp: "Vehicle.Powertrain.CombustionEngine.ECT",
  engine_load: "Vehicle.OBD.EngineLoad",
  odometer: "Vehicle.TraveledDistance",
  gear_status: "Vehicle.Powertrain.Transmission.SelectedGear",
};

/** A `/publish` datapoint before validation, with where it was in the body. */
export interface PublishDatapoint extends RawDatapoint {
  /** The key as sent (an alias or a VSS path). */
  key: string;
  /** JSON path of the datapoint in the body (`$.engine_rpm`, `$.datapoints[2]`). */
  at: string;
}

/** What publishing a request did (the pipeline's `accept`). */
export interface PublishOutcome {
  /** The datapoints published (none when one was refused). */
  readonly datapoints: readonly Datapoint[];
  /** The refused datapoints (`index` = position in the request). */
  readonly refusals: readonly Refusal[];
}

/** What the API reads from and hands work to. */
export interface VecApiDeps {
  /** Health document (source, sinks, connection states, uptime, rate, queue depth). */
  health(): { status: "ok" | "degraded" | "starting"; [key: string]: unknown };
  /** Validates and publishes the datapoints of one request, all or nothing. */
  publish(datapoints: PublishDatapoint[]): PublishOutcome | Promise<PublishOutcome>;
  /** Redacted configuration. */
  config(): unknown;
  /** Latest value per VSS path, typed. */
  signals(): Iterable<readonly [string, { readonly value: VssValue; readonly tsMs: number }]>;
  /** Prometheus text exposition. */
  metrics(): string | Promise<string>;
  /** Maximum request body, bytes (default 64 KiB). */
  maxBody?: number;
}

const jsonError = (code: string, message: string, path?: string) => new PipelineError(code, message, { path }).toJSON();

/** The text form of a datapoint, as `/signals` and `/publish` answer it. */
function textDatapoint(value: VssValue, tsMs: number): { value: string; ts: string } {
  return { value: formatValue(value), ts: formatTime(tsMs) };
}

/** Builds the Hono app of the VEC REST API. */
export function createVecApi(deps: VecApiDeps): Hono {
  const app = new Hono();
  const maxBody = deps.maxBody ?? 64 * 1024;

  app.get("/health", (c) => {
    const h = deps.health();
    return c.json(h, h.status === "ok" ? 200 : 503);
  });

  app.get("/config", (c) => c.json(deps.config()));
  app.get("/signals", (c) => {
    const out: Record<string, { value: string; ts: string }> = {};
    for (const [path, v] of deps.signals()) out[path] = textDatapoint(v.value, v.tsMs);
    return c.json(out);
  });
  app.get(
    "/metrics",
    async (c) => c.body(await deps.metrics(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }),
  );

  app.post("/publish", async (c) => {
    const type = c.req.header("content-type") ?? "";
    if (!type.includes("application/json")) {
      return c.json(jsonError("api.unsupported_media_type", "send Content-Type: application/json"), 415);
    }
    const length = Number(c.req.header("content-length") ?? 0);
    if (length > maxBody) {
      return c.json(jsonError("api.too_large", `body over ${maxBody} bytes`), 413);
    }
    const text = await c.req.text();
    if (text.length > maxBody) return c.json(jsonError("api.too_large", `body over ${maxBody} bytes`), 413);
    let body: unknown;
    try {
      body = text.trim() === "" ? {} : JSON.parse(text);
    } catch (e) {
      return c.json(jsonError("api.invalid_json", `body is not valid JSON: ${(e as Error).message}`), 400);
    }
    let raw: PublishDatapoint[];
    try {
      raw = publishBodyToDatapoints(body);
    } catch (e) {
      if (e instanceof PipelineError) return c.json(e.toJSON(), 400);
      throw e;
    }
    const outcome = await deps.publish(raw);
    if (outcome.refusals.length > 0) return c.json(publishRefusedBody(raw, outcome.refusals), 400);
    return c.json({
      published: outcome.datapoints.length,
      datapoints: outcome.datapoints.map((d) => ({ path: d.path, ...textDatapoint(d.value, d.tsMs) })),
    });
  });

  app.all("/publish", (c) => c.json(jsonError("api.method_not_allowed", "use POST /publish"), 405));
  app.notFound((c) =>
    c.json(
      jsonError("api.not_found", `no route ${c.req.method} ${c.req.path}; try /health, /publish, /config, /signals`),
      404,
    )
  );
  app.onError((e, c) => c.json(jsonError("api.internal", (e as Error).message), 500));
  return app;
}

/** The `viss.refused` 400 body of a `/publish` request: every refusal with its JSON path and the key as sent. */
export function publishRefusedBody(raw: readonly PublishDatapoint[], refusals: readonly Refusal[]) {
  const known = Object.keys(PUBLISH_ALIASES).join(", ");
  const named = refusals.map((r): Refusal => {
    const d = raw[r.index];
    if (!d) return r;
    const member = d.at.startsWith("$.datapoints[") ? `.${r.code === "datapoint.ts" ? "ts" : "value"}` : "";
    if (r.code === "datapoint.path") {
      const at = member ? `${d.at}.path` : d.at;
      return { ...r, path: d.key, at, reason: `unknown signal "${d.key}": use a VSS leaf path or one of ${known}` };
    }
    return { ...r, at: d.at + member };
  });
  const body = refusedBody(named, raw.length);
  body.error.message = `${refusals.length} of ${raw.length} datapoints refused; nothing published`;
  return body;
}

/**
 * Turns a `/publish` body into datapoints to validate. Accepts the gateway's flat form (`{"engine_rpm": 1500}`), VSS
 * paths as keys (`{"Vehicle.Speed": 60}`), or `{"datapoints": [{"path", "value", "ts"?}]}` (`ts`: RFC 3339 text or
 * integer ms). A datapoint without `ts` gets the current time. Values and times are checked by the validator, per
 * datapoint.
 * @throws PipelineError `api.invalid` for a body of the wrong shape, with the JSON path of the problem.
 */
export function publishBodyToDatapoints(body: unknown, options: { nowMs?: number } = {}): PublishDatapoint[] {
  const now = options.nowMs ?? Date.now();
  const bad = (message: string, path: string) => new PipelineError("api.invalid", message, { path });
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw bad('body must be a JSON object such as {"engine_rpm": 1500, "vehicle_speed": 60}', "$");
  }
  const out: PublishDatapoint[] = [];
  const obj = body as Record<string, unknown>;
  if ("datapoints" in obj) {
    if (!Array.isArray(obj.datapoints)) throw bad("datapoints must be an array", "$.datapoints");
    obj.datapoints.forEach((d, i) => {
      const at = `$.datapoints[${i}]`;
      if (!d || typeof d !== "object" || Array.isArray(d)) throw bad("expected {path, value, ts?}", at);
      const { path, value, ts } = d as Record<string, unknown>;
      if (typeof path !== "string") throw bad("path must be a string", `${at}.path`);
      out.push({ key: path, path: PUBLISH_ALIASES[path] ?? path, value, ts: ts ?? now, at });
    });
  } else {
    for (const [key, value] of Object.entries(obj)) {
      out.push({ key, path: PUBLISH_ALIASES[key] ?? key, value, ts: now, at: `$.${key}` });
    }
  }
  if (out.length === 0) throw bad("nothing to publish: the body has no signals", "$");
  return out;
}
