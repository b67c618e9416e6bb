/**
 * The CESC's one HTTP stack: node:http(s) servers hand every request to one {@link Handler} as an
 * {@link HttpRequest} (headers as node parsed them, no copy; the body read once, on demand, with a size limit) and
 * write its {@link HttpResponse}. A small {@link Router} maps method and path (with `:name` segments) to handlers.
 *
 * Why node:http and no fetch `Request`/`Response`: `Deno.serve` cannot require and verify client certificates
 * (mutual TLS, denoland/deno#26825), and one stack means one body reader, one header path and one set of limits;
 * see docs/cesc.md "Performance".
 * @module
 */
import { Buffer } from "node:buffer";
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { PipelineError } from "../core/errors/mod.ts";
import type { Logger } from "../core/log/mod.ts";

/** One HTTP request as the CESC's handlers see it. */
export interface HttpRequest {
  /** Method, upper case. */
  readonly method: string;
  /** Request target as sent: path and query (what request signatures cover). */
  readonly target: string;
  /** The path part of {@link target}, not percent-decoded. */
  readonly path: string;
  /** Headers with lower-case names, as node parsed them. */
  readonly headers: IncomingHttpHeaders;
  /** Route parameters (`:vin` → `params.vin`), percent-decoded. */
  params: Readonly<Record<string, string>>;
  /** A header's value (lower-case name); repeated headers joined with `, `. */
  header(name: string): string | undefined;
  /** A query parameter (decoded), or undefined. */
  query(name: string): string | undefined;
  /**
   * Reads the whole body, at most `max` bytes: `null` when it is larger (reading stops at once and the
   * connection is closed after the answer). Call it once.
   */
  body(max: number): Promise<Uint8Array | null>;
}

/** What a handler answers. */
export interface HttpResponse {
  /** HTTP status. */
  status: number;
  /** Response headers (lower-case names). */
  headers?: Record<string, string>;
  /** Body: text is sent as UTF-8. */
  body?: string | Uint8Array;
  /** Close the connection after answering (a body that was not read must not be parsed as the next request). */
  close?: boolean;
}

/** A request handler. */
export type Handler = (req: HttpRequest) => HttpResponse | Promise<HttpResponse>;

/** A JSON response. */
export function json(status: number, body: unknown, headers?: Record<string, string>): HttpResponse {
  return { status, body: JSON.stringify(body), headers: { "content-type": "application/json", ...headers } };
}

/** A JSON error response `{"error":{"code","message","path"}}`. */
export function errorResponse(status: number, code: string, message: string, path?: string): HttpResponse {
  return json(status, new PipelineError(code, message, { path }).toJSON());
}

interface Route {
  re: RegExp;
  names: string[];
  methods: Map<string, Handler>;
}

/** Method + path routing; `:name` matches one path segment. Unknown paths answer 404, known ones 405. */
export class Router {
  readonly #exact = new Map<string, Map<string, Handler>>();
  readonly #patterns: Route[] = [];

  /** Adds `handler` for `method` (`*` for any) on `path`. */
  on(method: string, path: string, handler: Handler): this {
    if (!path.includes(":")) {
      let m = this.#exact.get(path);
      if (!m) this.#exact.set(path, m = new Map());
      m.set(method, handler);
      return this;
    }
    const names: string[] = [];
    const re = new RegExp(
      "^" + path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:(\w+)/g, (_, n) => (names.push(n), "([^/]+)")) +
        "$",
    );
    let route = this.#patterns.find((r) => r.re.source === re.source);
    if (!route) this.#patterns.push(route = { re, names, methods: new Map() });
    route.methods.set(method, handler);
    return this;
  }

  /** Adds a GET handler. */
  get(path: string, handler: Handler): this {
    return this.on("GET", path, handler);
  }

  /** Adds a POST handler. */
  post(path: string, handler: Handler): this {
    return this.on("POST", path, handler);
  }

  /** Answers `req` with its route's handler, or 404 / 405. */
  handle(req: HttpRequest): HttpResponse | Promise<HttpResponse> {
    const exact = this.#exact.get(req.path);
    if (exact) return dispatch(exact, req);
    for (const r of this.#patterns) {
      const m = r.re.exec(req.path);
      if (!m) continue;
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => params[n] = decode(m[i + 1]));
      req.params = params;
      return dispatch(r.methods, req);
    }
    return errorResponse(
      404,
      "http.not_found",
      `no route ${req.method} ${req.path.slice(0, 200)}; POST to / or /v1/data`,
    );
  }
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function dispatch(methods: Map<string, Handler>, req: HttpRequest): HttpResponse | Promise<HttpResponse> {
  const h = methods.get(req.method) ?? methods.get("*");
  if (h) return h(req);
  const allow = [...methods.keys()].join(", ");
  const r = errorResponse(405, "http.method_not_allowed", `${req.method} is not allowed here; use ${allow}`);
  r.headers!.allow = allow;
  return r;
}

/** The {@link HttpRequest} of a node request. */
class NodeRequest implements HttpRequest {
  readonly method: string;
  readonly target: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  params: Readonly<Record<string, string>> = {};
  /** True when the body was read to its end (or there is none). */
  consumed: boolean;
  /** True when reading stopped at the size limit. */
  truncated = false;
  readonly #req: IncomingMessage;
  #query?: URLSearchParams;

  constructor(req: IncomingMessage) {
    this.#req = req;
    this.method = req.method ?? "GET";
    this.target = req.url ?? "/";
    const q = this.target.indexOf("?");
    this.path = q < 0 ? this.target : this.target.slice(0, q);
    this.headers = req.headers;
    const cl = req.headers["content-length"];
    this.consumed = (cl === undefined || cl === "0") && req.headers["transfer-encoding"] === undefined;
  }

  header(name: string): string | undefined {
    const v = this.headers[name];
    return Array.isArray(v) ? v.join(", ") : v;
  }

  query(name: string): string | undefined {
    if (!this.#query) {
      const q = this.target.indexOf("?");
      this.#query = new URLSearchParams(q < 0 ? "" : this.target.slice(q + 1));
    }
    return this.#query.get(name) ?? undefined;
  }

  body(max: number): Promise<Uint8Array | null> {
    const req = this.#req;
    const cl = req.headers["content-length"];
    if (cl !== undefined && Number(cl) > max) {
      this.truncated = true;
      return Promise.resolve(null);
    }
    return new Promise((resolve, reject) => {
      const chunks: Uint8Array[] = [];
      let total = 0;
      const done = () => {
        req.off("data", onData);
        req.off("end", onEnd);
        req.off("error", onError);
      };
      const onData = (c: Uint8Array) => {
        total += c.byteLength;
        if (total > max) {
          done();
          req.pause();
          this.truncated = true;
          resolve(null);
          return;
        }
        chunks.push(c);
      };
      const onEnd = () => {
        done();
        this.consumed = true;
        resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total));
      };
      const onError = (e: Error) => {
        done();
        reject(e);
      };
      req.on("data", onData);
      req.on("end", onEnd);
      req.on("error", onError);
    });
  }
}

const INTERNAL = '{"error":{"code":"internal","message":"internal error; see the CESC log"}}';

function write(req: NodeRequest, res: ServerResponse, out: HttpResponse): void {
  const body = out.body ?? "";
  const headers: Record<string, string> = {
    ...out.headers,
    "content-length": String(typeof body === "string" ? Buffer.byteLength(body) : body.byteLength),
  };
  // A body left unread must not be parsed as the next request: close after answering.
  const close = out.close || !req.consumed || req.truncated;
  if (close) headers.connection = "close";
  res.writeHead(out.status, headers);
  if (close) res.end(body, () => res.socket?.destroy());
  else res.end(body);
}

/** PEM material of the TLS listener. */
export interface TlsMaterial {
  /** Server certificate chain (PEM). */
  cert: string;
  /** Server private key (PEM). */
  key: string;
  /** CA bundle (PEM); when given, clients must present a certificate it signed. */
  ca?: string;
}

/** A running listener. */
export interface Listener {
  /** Bound port. */
  port: number;
  /** Stops listening and closes connections. */
  close(): Promise<void>;
}

/** Options of {@link serveHttp}. */
export interface ServeOptions {
  /** Port (0 = any free port). */
  port: number;
  /** Address to bind. */
  hostname: string;
  /** HTTPS (TLS 1.2+) with this material; with `ca`, client certificates are required and verified. */
  tls?: TlsMaterial;
  /** Where handler failures are logged. */
  log?: Logger;
}

/** Serves `handler` over HTTP, or HTTPS when `options.tls` is given. */
export function serveHttp(handler: Handler, options: ServeOptions): Promise<Listener> {
  const onRequest = (raw: IncomingMessage, res: ServerResponse) => {
    const req = new NodeRequest(raw);
    let out: HttpResponse | Promise<HttpResponse>;
    try {
      out = handler(req);
    } catch (e) {
      out = Promise.reject(e);
    }
    Promise.resolve(out).then((r) => write(req, res, r), (e) => {
      options.log?.error("request failed", { err: e, method: req.method, path: req.path.slice(0, 200) });
      write(req, res, { status: 500, headers: { "content-type": "application/json" }, body: INTERNAL, close: true });
    }).catch(() => res.socket?.destroy());
  };
  const tls = options.tls;
  const server = tls
    ? https.createServer({
      cert: tls.cert,
      key: tls.key,
      ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
      minVersion: "TLSv1.2",
    }, onRequest)
    : http.createServer(onRequest);
  return new Promise((resolve, reject) => {
    server.once("error", (e: Error) =>
      reject(
        new PipelineError("cesc.listen", `cannot listen on ${tls ? "TLS " : ""}port ${options.port}: ${e.message}`),
      ));
    server.listen(options.port, options.hostname, () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}
