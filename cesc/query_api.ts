import { timingSafeEqual } from "node:crypto";
import { formatTime, isVssPath, parseTime } from "../core/datapoint/mod.ts";
import { PipelineError } from "../core/errors/mod.ts";
import {
  MAX_SERIES_LIMIT,
  MAX_SERIES_POINTS,
  openSqliteQuery,
  type OvdsQuery,
  type SeriesOptions,
} from "../core/ovds/mod.ts";
import { type Handler, type HttpRequest, type HttpResponse, json, type Router } from "./http.ts";

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

function intParam(req: HttpRequest, name: string, range: { min: number; max: number }): number | undefined {
  const raw = req.query(name);
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < range.min || n > range.max) {
    throw param(`${name} must be an integer from ${range.min} to ${range.max}, got "${raw.slice(0, 40)}"`, name);
  }
  return n;
}

/** A time parameter in any RFC 3339 form, as ms; an unencoded `+01:00` offset (read as a space) is taken as meant. */
function tsParam(req: HttpRequest, name: string): number | undefined {
  const raw = req.query(name);
  if (raw === undefined || raw === "") return undefined;
  const ms = parseTime(raw.replace(/ (\d\d:\d\d)$/, "+$1"));
  if (Number.isNaN(ms)) {
    throw param(
      `${name} must be an RFC 3339 time like 2024-03-01T12:00:00Z or 2024-03-01T13:00:00.250+01:00, got "${
        raw.slice(0, 40)
      }"`,
      name,
    );
  }
  return ms;
}

/** Parses and checks the series query string; throws `query.param` errors naming the parameter. */
export function parseSeriesQuery(req: HttpRequest): { path: string; options: SeriesOptions } {
  const path = req.query("path");
  if (!path) throw param("path is required, e.g. ?path=Vehicle.Speed", "path");
  if (!isVssPath(path)) throw param(`path must be a VSS path like Vehicle.Speed, got "${path.slice(0, 60)}"`, "path");
  const from = tsParam(req, "from");
  const to = tsParam(req, "to");
  if (from !== undefined && to !== undefined && from >= to) throw param("from must be before to", "from");
  const limit = intParam(req, "limit", { min: 1, max: MAX_SERIES_LIMIT });
  const maxPoints = intParam(req, "maxPoints", { min: 2, max: MAX_SERIES_POINTS });
  const cursor = req.query("cursor") || undefined;
  return {
    path,
    options: {
      // The canonical text of the instant: the store compares instants, whatever form the caller used.
      from: from === undefined ? undefined : formatTime(from),
      to: to === undefined ? undefined : formatTime(to),
      limit,
      maxPoints,
      cursor,
    },
  };
}

function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const NO_STORE = { "cache-control": "no-store" };

/**
 * Adds the read side to a CESC router: `GET /v1/vehicles`, `GET /v1/vehicles/{vin}/signals`,
 * `GET /v1/vehicles/{vin}/series?path=&from=&to=&limit=&cursor=&maxPoints=` (JSON, errors as
 * `{"error":{"code","message","path"}}`: 400 bad parameter or cursor, 401 missing/wrong bearer token,
 * 404 unknown vehicle or path, 503 no reader) and the dashboard at `GET /ui`.
 */
export function mountQueryApi(router: Router, options: QueryApiOptions): QueryApi {
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

  const fail = (e: unknown): HttpResponse => {
    if (!(e instanceof PipelineError) || !STATUS[e.code]) throw e;
    const headers: Record<string, string> = { ...NO_STORE };
    if (e.code === "auth.token") headers["www-authenticate"] = 'Bearer realm="cesc-read"';
    return json(STATUS[e.code], e.toJSON(), headers);
  };

  const authorize = (req: HttpRequest): void => {
    if (!options.token) return;
    const m = /^Bearer\s+(.+)$/i.exec(req.header("authorization") ?? "");
    if (!m || !sameSecret(m[1].trim(), options.token)) {
      throw new PipelineError(
        "auth.token",
        m ? "the bearer token is wrong" : "this CESC's read API needs Authorization: Bearer <CESC_READ_TOKEN>",
      );
    }
  };

  /** A read route: bearer token checked, `cache-control: no-store`, errors as JSON. */
  const read = (answer: (req: HttpRequest) => Promise<unknown>): Handler => async (req) => {
    try {
      authorize(req);
      return json(200, await answer(req), NO_STORE);
    } catch (e) {
      return fail(e);
    }
  };

  router.get("/v1/vehicles", read(async () => ({ vehicles: await query().vehicles() })));
  router.get(
    "/v1/vehicles/:vin/signals",
    read(async (req) => {
      const vin = req.params.vin;
      return { vin, signals: await query().signals(vin) };
    }),
  );
  router.get(
    "/v1/vehicles/:vin/series",
    read((req) => {
      const { path, options: o } = parseSeriesQuery(req);
      return query().series(req.params.vin, path, o);
    }),
  );

  const notFound = (name: string) =>
    json(404, new PipelineError("http.not_found", `no file ${name.slice(0, 80)} in the dashboard`).toJSON());
  const serveFile = async (name: string): Promise<HttpResponse> => {
    if (!/^[a-zA-Z0-9_.-]+$/.test(name) || name.startsWith(".")) return notFound(name);
    let body = files.get(name);
    if (!body) {
      try {
        body = await Deno.readFile(new URL(name, uiDir));
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
        if (name === "index.html") {
          return fail(
            new PipelineError("ui.missing", "the dashboard is not built; run `deno task ui:build` and restart"),
          );
        }
        return notFound(name);
      }
      files.set(name, body);
    }
    const ext = name.slice(name.lastIndexOf(".") + 1);
    return {
      status: 200,
      body,
      headers: { "content-type": CONTENT_TYPES[ext] ?? "application/octet-stream", "cache-control": "no-cache" },
    };
  };
  router.get("/ui", () => serveFile("index.html"));
  router.get("/ui/", () => serveFile("index.html"));
  router.get("/ui/:file", (req) => serveFile(req.params.file));

  return {
    close: async () => {
      closed = true;
      await reader?.close();
      reader = undefined;
    },
  };
}
