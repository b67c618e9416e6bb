/**
 * The VEC's REST API (the ESP gateway's, on port 5000 by default): `GET /health`, `POST /publish`,
 * `GET /config` (secrets redacted), `GET /signals` (latest VSS values), `GET /metrics` (Prometheus text).
 *
 * @module
 */
import { Hono } from "hono";
import { PipelineError } from "../core/errors/mod.ts";
import type { VissDatapoint } from "./sinks/types.ts";

/** The gateway's `/publish` keys and the VSS paths they stand for. */
export const PUBLISH_ALIASES: Readonly<Record<string, string>> = {
  engine_rpm: "Vehicle.Powertrain.CombustionEngine.Speed",
  vehicle_speed: "Vehicle.Speed",
  coolant_temp: "Vehicle.Powertrain.CombustionEngine.ECT",
  engine_load: "Vehicle.OBD.EngineLoad",
  odometer: "Vehicle.TraveledDistance",
  gear_status: "Vehicle.Powertrain.Transmission.SelectedGear",
};

/** What the API reads from and hands work to. */
export interface VecApiDeps {
  /** Health document (source, sinks, connection states, uptime, rate, queue depth). */
  health(): { status: "ok" | "degraded" | "starting"; [key: string]: unknown };
  /** Publishes datapoints now; resolves with the number accepted. */
  publish(datapoints: VissDatapoint[]): number | Promise<number>;
  /** Redacted configuration. */
  config(): unknown;
  /** Latest value per VSS path. */
  signals(): Record<string, { value: string; ts: string }>;
  /** Prometheus text exposition. */
  metrics(): string | Promise<string>;
  /** Is this a known VSS leaf path? (for validating `/publish`). */
  isKnownPath?(path: string): boolean;
  /** Maximum request body, bytes (default 64 KiB). */
  maxBody?: number;
}

const jsonError = (code: string, message: string, path?: string) => new PipelineError(code, message, { path }).toJSON();

/** Builds the Hono app of the VEC REST API. */
export function createVecApi(deps: VecApiDeps): Hono {
  const app = new Hono();
  const maxBody = deps.maxBody ?? 64 * 1024;

  app.get("/health", (c) => {
    const h = deps.health();
    return c.json(h, h.status === "ok" ? 200 : 503);
  });

  app.get("/config", (c) => c.json(deps.config()));
  app.get("/signals", (c) => c.json(deps.signals()));
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
    let datapoints: VissDatapoint[];
    try {
      datapoints = publishBodyToDatapoints(body, { isKnownPath: deps.isKnownPath });
    } catch (e) {
      if (e instanceof PipelineError) return c.json(e.toJSON(), 400);
      throw e;
    }
    const published = await deps.publish(datapoints);
    return c.json({ published, datapoints });
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

/**
 * Turns a `/publish` body into datapoints. Accepts the gateway's flat form (`{"engine_rpm": 1500}`), VSS paths as
 * keys (`{"Vehicle.Speed": 60}`), or `{"datapoints": [{"path", "value", "ts"?}]}`.
 * @throws PipelineError `api.invalid` with the JSON path of the first problem.
 */
export function publishBodyToDatapoints(
  body: unknown,
  options: { isKnownPath?: (path: string) => boolean; now?: Date } = {},
): VissDatapoint[] {
  const now = (options.now ?? new Date()).toISOString();
  const bad = (message: string, path: string) => new PipelineError("api.invalid", message, { path });
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw bad('body must be a JSON object such as {"engine_rpm": 1500, "vehicle_speed": 60}', "$");
  }
  const entries: [string, unknown, string | undefined, string][] = [];
  const obj = body as Record<string, unknown>;
  if ("datapoints" in obj) {
    if (!Array.isArray(obj.datapoints)) throw bad("datapoints must be an array", "$.datapoints");
    obj.datapoints.forEach((d, i) => {
      const at = `$.datapoints[${i}]`;
      if (!d || typeof d !== "object") throw bad("expected {path, value, ts?}", at);
      const { path, value, ts } = d as Record<string, unknown>;
      if (typeof path !== "string") throw bad("path must be a string", `${at}.path`);
      if (ts !== undefined && (typeof ts !== "string" || Number.isNaN(Date.parse(ts)))) {
        throw bad("ts must be an ISO 8601 time", `${at}.ts`);
      }
      entries.push([path, value, ts as string | undefined, at]);
    });
  } else {
    for (const [key, value] of Object.entries(obj)) entries.push([key, value, undefined, `$.${key}`]);
  }
  if (entries.length === 0) throw bad("nothing to publish: the body has no signals", "$");
  return entries.map(([key, value, ts, at]) => {
    const path = PUBLISH_ALIASES[key] ?? key;
    if (!path.startsWith("Vehicle.") || (options.isKnownPath && !options.isKnownPath(path))) {
      const known = Object.keys(PUBLISH_ALIASES).join(", ");
      throw bad(`unknown signal "${key}": use a VSS leaf path or one of ${known}`, at);
    }
    if (typeof value !== "number" && typeof value !== "string" && typeof value !== "boolean") {
      throw bad(`value of "${key}" must be a number, string or boolean`, at);
    }
    if (typeof value === "number" && !Number.isFinite(value)) throw bad(`value of "${key}" must be finite`, at);
    return { path, value: String(value), ts: ts ? new Date(ts).toISOString() : now };
  });
}
