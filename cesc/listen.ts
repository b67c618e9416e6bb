import https from "node:https";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { PipelineError } from "../core/errors/mod.ts";

/** PEM material of the TLS listener. */
export interface TlsMaterial {
  /** Server certificate chain (PEM). */
  cert: string;
  /** Server private key (PEM). */
  key: string;
  /** CA bundle (PEM); when given, clients must present a certificate it signed. */
  ca?: string;
}

/** A running TLS listener. */
export interface TlsListener {
  /** Bound port. */
  port: number;
  /** Stops listening and closes connections. */
  close(): Promise<void>;
}

/**
 * Serves `handler` (a fetch-style handler such as `app.fetch`) over HTTP, or HTTPS (TLS 1.2+) when
 * `tls` is given. Uses node:http(s): Deno.serve cannot require and verify client certificates, and
 * Deno 2.9.5's Deno.serve drops keep-alive after every request body over ~500 bytes
 * (denoland/deno#36657), which costs a TCP connection per ingest request.
 */
export function serveNode(
  handler: (req: Request) => Response | Promise<Response>,
  options: {
    port: number;
    hostname: string;
    tls?: TlsMaterial;
    /** Answers some requests directly (returns true); the rest go to `handler`. */
    fast?: (req: IncomingMessage, res: ServerResponse) => boolean;
  },
): Promise<TlsListener> {
  const fast = options.fast;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (fast?.(req, res)) return;
    void bridge(handler, req, res);
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
    server.once(
      "error",
      (e: Error) =>
        reject(
          new PipelineError("cesc.listen", `cannot listen on ${tls ? "TLS " : ""}port ${options.port}: ${e.message}`),
        ),
    );
    server.listen(options.port, options.hostname, () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
  });
}

/** The request body as a web stream with backpressure; cancelling it stops reading and drops the socket. */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.on("data", (chunk: Uint8Array) => {
        if (done) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 1) <= 0) req.pause();
      });
      req.on("end", () => {
        if (done) return;
        done = true;
        controller.close();
      });
      req.on("error", (e: Error) => {
        if (done) return;
        done = true;
        controller.error(e);
      });
    },
    pull() {
      req.resume();
    },
    cancel() {
      done = true;
      req.pause();
    },
  }, { highWaterMark: 1 });
}

function schemeOf(req: IncomingMessage): string {
  return (req.socket as { encrypted?: boolean }).encrypted ? "https" : "http";
}

async function bridge(
  handler: (req: Request) => Response | Promise<Response>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
    }
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const request = new Request(`${schemeOf(req)}://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, {
      method: req.method,
      headers,
      body: hasBody ? bodyStream(req) : undefined,
    });
    const response = await handler(request);
    const body = new Uint8Array(await response.arrayBuffer());
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(body, () => {
      // A body the handler did not read (413): drop the connection instead of reading it.
      if (!req.readableEnded) req.socket?.destroy();
    });
  } catch {
    if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
    res.end('{"error":{"code":"internal","message":"internal error"}}');
  }
}
