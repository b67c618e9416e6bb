import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
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
 * Serves `handler` (a fetch-style handler such as `app.fetch`) over HTTPS, TLS 1.2+. Uses node:https
 * because Deno.serve cannot require and verify client certificates.
 */
export function serveTls(
  handler: (req: Request) => Response | Promise<Response>,
  options: TlsMaterial & { port: number; hostname: string },
): Promise<TlsListener> {
  const server = https.createServer({
    cert: options.cert,
    key: options.key,
    ...(options.ca ? { ca: options.ca, requestCert: true, rejectUnauthorized: true } : {}),
    minVersion: "TLSv1.2",
  }, (req: IncomingMessage, res: ServerResponse) => void bridge(handler, req, res));
  return new Promise((resolve, reject) => {
    server.once(
      "error",
      (e: Error) => reject(new PipelineError("cesc.listen", `cannot listen on TLS port ${options.port}: ${e.message}`)),
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
    const request = new Request(`https://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, {
      method: req.method,
      headers,
      body: hasBody ? Readable.toWeb(req) as ReadableStream<Uint8Array> : undefined,
    });
    const response = await handler(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (response.body) {
      for await (const chunk of response.body) res.write(chunk);
    }
    res.end();
    if (!req.readableEnded) req.destroy();
  } catch {
    if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
    res.end('{"error":{"code":"internal","message":"internal error"}}');
  }
}
