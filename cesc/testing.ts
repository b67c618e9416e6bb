/**
 * Test helpers for the CESC: a DIG-compatible server on loopback with fault injection, and a
 * generic HTTP backend receiver. Used by the CESC and VEC tests; not part of the service.
 * @module
 */

/** One record received by the fake DIG / HTTP backend. */
export type ReceivedRecord = Record<string, unknown>;

/** A fake DIG server. */
export interface FakeDig {
  /** Base URL, e.g. `http://127.0.0.1:1234`. */
  url: string;
  /** Records accepted by `/records` (2xx), in order. */
  records: ReceivedRecord[];
  /** Every `/records` call with its answer status. */
  calls: { status: number; count: number; auth: string }[];
  /** Statuses to answer the next `/records` calls with, before accepting again (e.g. `[429, 500]`). */
  faults: number[];
  /** Largest accepted records per call; more gives 413 (default 5000). */
  maxRecords: number;
  /** Reject (400) any record for which this returns true. */
  badRecord?: (r: ReceivedRecord) => boolean;
  /** Number of authenticate and refresh calls. */
  auth: { authenticate: number; refresh: number };
  /** Makes the current bearer token invalid (the next `/records` call gets 401). */
  expireToken(): void;
  /** Stops the server. */
  close(): Promise<void>;
}

/** Starts a DIG-compatible server (authenticate, refresh-token, records) on 127.0.0.1, port 0. */
export function startFakeDig(options: { username?: string; password?: string } = {}): FakeDig {
  let valid = new Set<string>();
  let n = 0;
  const token = () => {
    const bearer = `bearer-${++n}`;
    valid.add(bearer);
    const expires = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, "");
    return {
      Error: [],
      Data: {
        Authenticated: true,
        UserId: "dig@geo.tab",
        BearerToken: { TokenString: bearer, Created: new Date().toISOString(), Expires: expires },
        RefreshToken: { TokenString: `refresh-${n}`, Created: new Date().toISOString(), Expires: expires },
      },
    };
  };
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  const dig: FakeDig = {
    url: "",
    records: [],
    calls: [],
    faults: [],
    maxRecords: 5000,
    auth: { authenticate: 0, refresh: 0 },
    expireToken() {
      valid = new Set();
    },
    close: () => server.shutdown(),
  };
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const body = await req.text();
    if (path === "/authentication/authenticate") {
      dig.auth.authenticate++;
      const c = JSON.parse(body);
      if (
        (c.Username ?? c.username) !== (options.username ?? "user") ||
        (c.Password ?? c.password) !== (options.password ?? "pw")
      ) return json({ Error: ["bad credentials"], Data: {} }, 401);
      return json(token());
    }
    if (path === "/authentication/refresh-token") {
      dig.auth.refresh++;
      return json(token());
    }
    if (path === "/records") {
      const auth = req.headers.get("authorization") ?? "";
      const records = JSON.parse(body) as ReceivedRecord[];
      let status = 202;
      if (!valid.has(auth.replace(/^Bearer /, ""))) status = 401;
      else if (dig.faults.length > 0) status = dig.faults.shift()!;
      else if (records.length > dig.maxRecords) status = 413;
      else if (dig.badRecord && records.some(dig.badRecord)) status = 400;
      dig.calls.push({ status, count: records.length, auth });
      if (status === 202) {
        dig.records.push(...records);
        return json({ Error: [], Data: crypto.randomUUID() }, 202);
      }
      return json({ Error: [`fault ${status}`], Data: {} }, status);
    }
    return json({ Error: ["not found"], Data: {} }, 404);
  });
  dig.url = `http://127.0.0.1:${server.addr.port}`;
  return dig;
}

/** A generic HTTP backend receiver (for `--backend http`). */
export interface FakeHttpBackend {
  /** Endpoint URL. */
  url: string;
  /** Records accepted, in order. */
  records: { vin: string; path: string; value: string; ts: string }[];
  /** Statuses for the next calls. */
  faults: number[];
  /** Stops the server. */
  close(): Promise<void>;
}

/** Starts a generic HTTP backend receiver on 127.0.0.1, port 0 (or `port`). */
export function startFakeHttpBackend(options: { port?: number } = {}): FakeHttpBackend {
  const b: FakeHttpBackend = { url: "", records: [], faults: [], close: () => server.shutdown() };
  const server = Deno.serve({ port: options.port ?? 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const body = await req.text();
    const status = b.faults.shift() ?? 200;
    if (status === 200) b.records.push(...JSON.parse(body));
    return new Response(status === 200 ? "{}" : '{"error":"fault"}', { status });
  });
  b.url = `http://127.0.0.1:${server.addr.port}/ingest`;
  return b;
}

/** Polls `cond` until it is true (fails after `timeoutMs`, default 20 s). Not a timing assertion. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** POSTs an ingest body as JSON; returns status and parsed body. */
export async function postIngest(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: res.status, body: parsed };
}
