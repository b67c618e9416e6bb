/**
 * Test helpers for the CESC: a DIG-compatible server on loopback with fault injection, a generic
 * HTTP backend receiver, an in-process CESC on a temp database ({@link withCesc}) and a CESC
 * process ({@link spawnCesc}). Used by the CESC and VEC tests and tools/bench_cesc.ts; not part of
 * the service.
 * @module
 */
import { dirname, join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { type Cesc, type CescOptions, startCesc } from "../cesc/mod.ts";

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
export function startFakeDig(
  options: { username?: string; password?: string; tokenTtlMs?: number; refreshStatus?: number } = {},
): FakeDig {
  let valid = new Set<string>();
  let n = 0;
  const token = () => {
    const bearer = `bearer-${++n}`;
    valid.add(bearer);
    const expires = new Date(Date.now() + (options.tokenTtlMs ?? 3600_000)).toISOString().replace(/\.\d+Z$/, "");
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
      const c = JSON.parse(body);
      if (!valid.has(c.BearerToken) || typeof c.RefreshToken !== "string") {
        return json({ Error: ["Token was already refreshed and/or cannot be found"], Data: {} }, 403);
      }
      if (options.refreshStatus) return json({ Error: ["refused"], Data: {} }, options.refreshStatus);
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

/**
 * Runs `fn` with a CESC on loopback (port 0) storing into a temp dir's `ovds.db`, backend `none`,
 * flushing only when a test asks (`options` override); closes it and removes the dir afterwards.
 */
export async function withCesc(
  fn: (cesc: Cesc, dir: string) => Promise<void>,
  options: CescOptions = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cesc_test_" });
  try {
    const cesc = await startCesc({
      db: join(dir, "ovds.db"),
      port: 0,
      backend: "none",
      flushIntervalMs: 3600_000,
      maxDatapoints: 1e9,
      ...options,
    });
    try {
      await fn(cesc, dir);
    } finally {
      await cesc.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A CESC process started by {@link spawnCesc}. */
export interface CescProcess {
  /** The process. */
  child: Deno.ChildProcess;
  /** Its plain HTTP URL (`http://127.0.0.1:<port>/`). */
  url: string;
}

/**
 * Starts `cesc/main.ts` as a process on 127.0.0.1, port 0, with `args` (flags of the CESC command
 * line) and resolves once it prints its URL. `v8Flags` are passed to Deno; stderr is dropped unless
 * `stderr: "inherit"`. `main` runs another checkout's `cesc/main.ts` (from its root, with its `deno.json`),
 * e.g. to benchmark before against after.
 */
export async function spawnCesc(
  args: string[],
  options: { v8Flags?: string; stderr?: "inherit" | "null"; main?: string } = {},
): Promise<CescProcess> {
  const main = options.main ?? new URL("../cesc/main.ts", import.meta.url).pathname;
  const root = dirname(dirname(main));
  const child = new Deno.Command(Deno.execPath(), {
    cwd: root,
    args: [
      "run",
      "-A",
      "--config",
      join(root, "deno.json"),
      ...(options.v8Flags ? [`--v8-flags=${options.v8Flags}`] : []),
      main,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      ...args,
    ],
    stdout: "piped",
    stderr: options.stderr ?? "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/listening on (\S+)/.test(text)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`cesc exited before listening: ${text}`);
    text += value;
  }
  reader.releaseLock();
  void child.stdout.cancel().catch(() => {});
  return { child, url: /listening on (\S+)/.exec(text)![1] };
}

/** Every stored row of `vin` in an OVDS file as `path|timestamp|value` lines, sorted (compare ingest paths). */
export function vinRows(db: string, vin: string): string[] {
  const sqlite = new DatabaseSync(db, { readOnly: true });
  try {
    const row = sqlite.prepare("SELECT vin_id FROM VIN_TIV WHERE vin = ?").get(vin) as { vin_id: number } | undefined;
    if (!row) return [];
    const rows = sqlite.prepare(`SELECT path, timestamp, value FROM TV_${row.vin_id}`).all() as {
      path: string;
      timestamp: string;
      value: string;
    }[];
    return rows.map((r) => `${r.path}|${r.timestamp}|${r.value}`).sort();
  } finally {
    sqlite.close();
  }
}
