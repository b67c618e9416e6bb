import type { Context, Hono } from "hono";
import { timingSafeEqual } from "node:crypto";
import { PipelineError } from "../core/errors/mod.ts";
import {
  MAX_SERIES_LIMIT,
  MAX_SERIES_POINTS,
  openSqliteQuery,
  type OvdsQuery,
  type SeriesOptions,
} from "../core/ovds/mod.ts";
import { isVissTimestamp, isVssPath } from "../core/viss/mod.ts";

/** Opens a reader (called on the first read request). */
export type ReaderFactory = () => OvdsQuery;

/**
 * The CESC's default reader: `query` when given, else a read-only connection in a Worker on the `db`
 * file (default `./ovdsCESC.db`); `undefined` (routes answer 503) for `:memory:` or a custom `store`.
 */
export function sqliteReader(
  options: { db?: string; store?: unknown; query?: ReaderFactory },
): ReaderFactory | undefined {
  if (options.query) return options.query;
  const db = options.db ?? "./ovdsCESC.db";
  if (options.store || db === ":memory:") return undefined;
  return () => openSqliteQuery(db, { worker: true });
}

/** Options for {@link mountQueryApi}. */
export interface QueryApiOptions {
  /**
   * Opens the reader on first use (so nothing is opened when the CESC fails to start). `undefined`
   * when the store has no file a second connection can read (`:memory:`): the routes answer 503.
   */
  open?: ReaderFactory;
  /** Bearer token required on `/v1/vehicles*` (the dashboard page itself is public, it holds no data). */
  token?: string;
  /** Folder with the built dashboard (default `cesc/ui/dist/`, made by `deno task ui:build`). */
  uiDir?: URL;
}

/** The mounted read side; `close()` closes the reader. */
export interface QueryApi {
  /** Closes the reader if it was opened. */
  close(): Promise<void>;
}

const STATUS: Record<string, number> = {
  "query.vin_unknown": 404,
  "query.path_unknown": 404,
  "query.cursor": 400,
  "query.param": 400,
  "auth.token": 401,
  "query.unavailable": 503,
  "ui.missing": 503,
};

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  json: "application/json",
};

function param(message: string, path: string): PipelineError {
  return new PipelineError("query.param", message, { path });
}

function intParam(c: Context, name: string, range: { min: number; max: number }): number | undefined {
  const raw = c.req.query(name);
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < range.min || n > range.max) {
    throw param(`${name} must be an integer from ${range.min} to ${range.max}, got "${raw.slice(0, 40)}"`, name);
  }
  return n;
}

function tsParam(c: Context, name: string): string | undefined {
  const raw = c.req.query(name);
  if (raw === undefined || raw === "") return undefined;
  if (!isVissTimestamp(raw)) {
    throw param(`${name} must be ISO 8601 UTC like 2024-03-01T12:00:00Z, got "${raw.slice(0, 40)}"`, name);
  }
  return raw;
}

/** Parses and checks the series query string; throws `query.param` errors naming the parameter. */
export function parseSeriesQuery(c: Context): { path: string; options: SeriesOptions } {
  const path = c.req.query("path");
  if (!path) throw param("path is required, e.g. ?path=Vehicle.Speed", "path");
  if (!isVssPath(path)) throw param(`path must be a VSS path like Vehicle.Speed, got "${path.slice(0, 60)}"`, "path");
  const from = tsParam(c, "from");
  const to = tsParam(c, "to");
  if (from && to && Date.parse(from) >= Date.parse(to)) throw param("from must be before to", "from");
  const limit = intParam(c, "limit", { min: 1, max: MAX_SERIES_LIMIT });
  const maxPoints = intParam(c, "maxPoints", { min: 2, max: MAX_SERIES_POINTS });
  const cursor = c.req.query("cursor") || undefined;
  return { path, options: { from, to, limit, maxPoints, cursor } };
}

function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Adds the read side to a CESC app: `GET /v1/vehicles`, `GET /v1/vehicles/{vin}/signals`,
 * `GET /v1/vehicles/{vin}/series?path=&from=&to=&limit=&cursor=&maxPoints=` (JSON, errors as
 * `{"error":{"code","message","path"}}`: 400 bad parameter or cursor, 401 missing/wrong bearer token,
 * 404 unknown vehicle or path, 503 no reader) and the dashboard at `GET /ui`.
 */
export function mountQueryApi(app: Hono, options: QueryApiOptions): QueryApi {
  let reader: OvdsQuery | undefined;
  let closed = false;
  const uiDir = options.uiDir ?? new URL("./ui/dist/", import.meta.url);
  const files = new Map<string, Uint8Array>();

  const query = (): OvdsQuery => {
    if (closed) throw new PipelineError("query.unavailable", "the CESC is shutting down");
    if (reader) return reader;
    if (!options.open) {
      throw new PipelineError(
        "query.unavailable",
        "the read API needs the OVDS store in a file (--db FILE); an in-memory store cannot be read by a second connection",
      );
    }
    return reader = options.open();
  };

  const fail = (c: Context, e: unknown): Response => {
    if (e instanceof PipelineError && STATUS[e.code]) {
      if (e.code === "auth.token") c.header("www-authenticate", 'Bearer realm="cesc-read"');
      return c.json(e.toJSON(), STATUS[e.code] as 400);
    }
    throw e;
  };

  const guard = async (c: Context, next: () => Promise<void>): Promise<Response | void> => {
    c.header("cache-control", "no-store");
    if (options.token) {
      const m = /^Bearer\s+(.+)$/i.exec(c.req.header("authorization") ?? "");
      if (!m || !sameSecret(m[1].trim(), options.token)) {
        return fail(
          c,
          new PipelineError(
            "auth.token",
            m ? "the bearer token is wrong" : "this CESC's read API needs Authorization: Bearer <CESC_READ_TOKEN>",
          ),
        );
      }
    }
    await next();
  };
  app.use("/v1/vehicles", guard);
  app.use("/v1/vehicles/*", guard);

  app.get("/v1/vehicles", async (c) => {
    try {
      return c.json({ vehicles: await query().vehicles() });
    } catch (e) {
      return fail(c, e);
    }
  });
  app.get("/v1/vehicles/:vin/signals", async (c) => {
    try {
      const vin = c.req.param("vin");
      return c.json({ vin, signals: await query().signals(vin) });
    } catch (e) {
      return fail(c, e);
    }
  });
  app.get("/v1/vehicles/:vin/series", async (c) => {
    try {
      const { path, options: o } = parseSeriesQuery(c);
      return c.json(await query().series(c.req.param("vin"), path, o));
    } catch (e) {
      return fail(c, e);
    }
  });

  const serveFile = async (c: Context, name: string): Promise<Response> => {
    if (!/^[a-zA-Z0-9_.-]+$/.test(name) || name.startsWith(".")) {
      return c.json(new PipelineError("http.not_found", `no file ${name} in the dashboard`).toJSON(), 404);
    }
    let body = files.get(name);
    if (!body) {
      try {
        body = await Deno.readFile(new URL(name, uiDir));
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
        if (name === "index.html") {
          return fail(
            c,
            new PipelineError("ui.missing", "the dashboard is not built; run `deno task ui:build` and restart"),
          );
        }
        return c.json(new PipelineError("http.not_found", `no file ${name} in the dashboard`).toJSON(), 404);
      }
      files.set(name, body);
    }
    const ext = name.slice(name.lastIndexOf(".") + 1);
    return c.body(body as Uint8Array<ArrayBuffer>, 200, {
      "content-type": CONTENT_TYPES[ext] ?? "application/octet-stream",
      "cache-control": "no-cache",
    });
  };
  app.get("/ui", (c) => serveFile(c, "index.html"));
  app.get("/ui/", (c) => serveFile(c, "index.html"));
  app.get("/ui/:file", (c) => serveFile(c, c.req.param("file")));

  return {
    close: async () => {
      closed = true;
      await reader?.close();
      reader = undefined;
    },
  };
}
