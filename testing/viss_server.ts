/**
 * A VISSv2 WebSocket server for tests (real `Deno.upgradeWebSocket` on loopback). It answers the VIN get (first with
 * `Data-not-available` if asked), acknowledges subscribe requests, and lets the test push subscription events,
 * error events and dropped connections.
 *
 * @module
 */

/** Options of {@link startVissTestServer}. */
export interface VissTestServerOptions {
  vin: string;
  /** Answer the first N VIN gets with `Data-not-available`. */
  vinUnavailableTimes?: number;
  /** Serve `wss://` with this certificate and key (PEM text). */
  tls?: { cert: string; key: string };
}

/** A running test server. */
export interface VissTestServer {
  readonly url: string;
  /** Every request received, per connection (connection index → messages). */
  readonly received: Record<string, unknown>[][];
  /** Subscriptions of the current connection: subscriptionId → request. */
  readonly subscriptions: Map<string, Record<string, unknown>>;
  /** Resolves when the current connection has `n` subscriptions. */
  waitForSubscriptions(n: number, connection?: number): Promise<void>;
  /** Sends a subscription event carrying `data` for the subscription of `path`. */
  event(path: string, data: unknown): void;
  /** Sends an error event for the subscription of `path`. */
  errorEvent(path: string): void;
  /** Sends raw text. */
  raw(text: string): void;
  /** Drops the current connection. */
  drop(): void;
  readonly connections: number;
  close(): Promise<void>;
}

/** Starts the test server on 127.0.0.1 and a free port. */
export function startVissTestServer(options: VissTestServerOptions): VissTestServer {
  const received: Record<string, unknown>[][] = [];
  const subscriptions = new Map<string, Record<string, unknown>>();
  let socket: WebSocket | undefined;
  let vinUnavailable = options.vinUnavailableTimes ?? 0;
  let nextSub = 1;
  const waiters: (() => void)[] = [];
  const ts = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {}, ...(options.tls ?? {}) }, (req) => {
    if (req.headers.get("upgrade") !== "websocket") return new Response("websocket only", { status: 400 });
    const { socket: ws, response } = Deno.upgradeWebSocket(req);
    const log: Record<string, unknown>[] = [];
    received.push(log);
    // Subscriptions belong to one connection: a new one starts with none.
    subscriptions.clear();
    ws.onopen = () => {
      socket = ws;
    };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data as string);
      log.push(msg);
      if (msg.action === "get" && msg.path === "Vehicle.VehicleIdentification.VIN") {
        const value = vinUnavailable-- > 0 ? "Data-not-available" : options.vin;
        ws.send(
          JSON.stringify({
            action: "get",
            requestId: msg.requestId,
            data: { path: msg.path, dp: { value, ts: ts() } },
            ts: ts(),
          }),
        );
      } else if (msg.action === "subscribe") {
        const id = String(nextSub++);
        subscriptions.set(id, msg);
        ws.send(JSON.stringify({ action: "subscribe", subscriptionId: id, requestId: msg.requestId, ts: ts() }));
        for (const w of waiters.splice(0)) w();
      } else {
        ws.send(
          JSON.stringify({
            action: msg.action,
            requestId: msg.requestId,
            error: { number: 400, reason: "bad_request", message: "unsupported" },
            ts: ts(),
          }),
        );
      }
    };
    return response;
  });
  const subFor = (path: string) => {
    for (const [id, r] of subscriptions) if (r.path === path) return id;
    throw new Error(`no subscription for ${path}`);
  };
  return {
    url: options.tls ? `wss://localhost:${server.addr.port}` : `ws://127.0.0.1:${server.addr.port}`,
    received,
    subscriptions,
    get connections() {
      return received.length;
    },
    async waitForSubscriptions(n, connection) {
      while (subscriptions.size < n || (connection !== undefined && received.length < connection)) {
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
    },
    event(path, data) {
      socket?.send(JSON.stringify({ action: "subscription", subscriptionId: subFor(path), data, ts: ts() }));
    },
    errorEvent(path) {
      socket?.send(JSON.stringify({
        action: "subscription",
        subscriptionId: subFor(path),
        error: { number: 404, reason: "unavailable_data", message: "no data" },
        ts: ts(),
      }));
    },
    raw(text) {
      socket?.send(text);
    },
    drop() {
      socket?.close();
      socket = undefined;
      subscriptions.clear();
    },
    async close() {
      socket?.close();
      await server.shutdown();
    },
  };
}
