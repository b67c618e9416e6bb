/**
 * The CESC's routes on its one HTTP stack: ingest (`POST /`, `POST /v1/data`), `GET /health`, `GET /metrics` and
 * the read side (`query_api.ts`). WebSocket upgrades are refused on every path, as the original did.
 * @module
 */
import type { OvdsStore } from "../core/ovds/mod.ts";
import { type Handler, json, Router } from "./http.ts";
import type { Ingest } from "./ingest.ts";
import type { Metrics } from "./metrics.ts";
import { mountQueryApi, type QueryApi, type QueryApiOptions } from "./query_api.ts";

/** Options of {@link buildRoutes}. */
export interface RoutesOptions {
  /** The ingest. */
  ingest: Ingest;
  /** The store (health, backlog). */
  store: OvdsStore;
  /** Metrics registry. */
  metrics: Metrics;
  /** Backend name and state for `/health`. */
  backend?: () => { name: string; state: string };
  /** The read side. */
  query: QueryApiOptions;
}

const UPGRADE_REFUSED =
  '400 Incorrect protocol: the CESC ingest port takes HTTP POST, not WebSocket; POST {"vin","data"} to / or /v1/data';

async function backlog(store: OvdsStore): Promise<{ backlog: number; vehicles: number } | undefined> {
  try {
    let n = 0, vehicles = 0;
    for (const v of await store.vehicles()) {
      n += v.backlog;
      vehicles++;
    }
    return { backlog: n, vehicles };
  } catch {
    return undefined;
  }
}

/** The request handler of a CESC and its read side (closed with the CESC). */
export function buildRoutes(options: RoutesOptions): { handler: Handler; queryApi: QueryApi } {
  const { ingest, store, metrics } = options;
  const router = new Router();
  const post: Handler = (req) => ingest.http(req);
  const notAllowed: Handler = (req) => {
    const r = ingest.reject(405, "http.method_not_allowed", `${req.method} is not allowed here; use POST`);
    return { ...r, headers: { ...r.headers, allow: "POST" } };
  };
  for (const path of ["/", "/v1/data"]) router.post(path, post).on("*", path, notAllowed);
  router.get("/health", async () => {
    const writable = await store.ping();
    const b = await backlog(store);
    if (b) metrics.set("cesc_backlog_datapoints", b.backlog);
    const backend = options.backend?.() ?? { name: "none", state: "ok" };
    return json(writable ? 200 : 503, {
      status: writable ? "ok" : "unavailable",
      db: { writable },
      backlog: b?.backlog ?? 0,
      vehicles: b?.vehicles ?? 0,
      backend,
    });
  });
  router.get("/metrics", async () => {
    const b = await backlog(store);
    if (b) metrics.set("cesc_backlog_datapoints", b.backlog);
    return { status: 200, body: await metrics.render(), headers: { "content-type": metrics.contentType } };
  });
  const queryApi = mountQueryApi(router, options.query);
  const handler: Handler = (req) => {
    if (req.headers.upgrade?.toLowerCase() === "websocket") {
      return { ...ingest.reject(400, "http.incorrect_protocol", UPGRADE_REFUSED), close: true };
    }
    return router.handle(req);
  };
  return { handler, queryApi };
}
