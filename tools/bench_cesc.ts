/**
 * Load script for the CESC: N concurrent clients POST requests of M data points each (loopback),
 * then print req/s, data points/s, p50/p99 latency, server RSS, the ratio against the original Go
 * CESC (220 req/s, p99 154 ms) and whether a 100 MiB body is refused without memory growth.
 *
 *   deno run -A tools/bench_cesc.ts [--clients 10] [--dps 10] [--seconds 10] [--sync full|normal] [--checkpoint worker|inline] [--url URL] [--client wrk|deno]
 *   deno run -A tools/bench_cesc.ts --modes full,normal,full-inline --rounds 2 --seconds 6   (side by side, ratios)
 *   deno run -A tools/bench_cesc.ts --against /path/to/other/checkout --rounds 4 --dps 100   (before vs after)
 *
 * Without `--url` it starts `cesc/main.ts` as a subprocess (temp DB, `--backend none`) and removes it after.
 *
 * The load comes from wrk (`--client wrk`, the default when `wrk` is on PATH; Debian package `wrk`), a
 * C load generator whose CPU use is a fraction of the server's, so on a small machine it measures the
 * server rather than the client. `--client deno` uses the built-in keep-alive client instead. Either
 * way each connection is a closed-loop client, the requests spread over `clients` VINs and no two
 * carry the same (path, timestamp), so every request stores new rows; after the run the rows in the
 * database are counted against the acknowledged requests.
 * @module
 */
import { parseArgs } from "node:util";
import { DatabaseSync } from "node:sqlite";
import { type CescProcess, spawnCesc } from "../testing/cesc.ts";

const ORIGINAL = { rps: 220, p99ms: 154 };

/** CPU seconds (user + system) used so far by process `pid`, all threads. */
function cpuSeconds(pid: number): number {
  try {
    const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return NaN;
  }
}

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** The CESC as `deno task cesc` runs it (a 4 MiB young generation), storing into `db`, no backend. */
function spawnBenchCesc(db: string, sync: string, extra: string[], main?: string): Promise<CescProcess> {
  return spawnCesc(["--db", db, "--backend", "none", "--sync", sync, "--loglevel", "error", ...extra], {
    v8Flags: "--max-semi-space-size=4",
    stderr: "inherit",
    main,
  });
}

/**
 * A minimal HTTP/1.1 keep-alive client over one TCP connection (Deno's fetch tops out near
 * 1,500 req/s on this machine, below what the server can take, so it would measure the client).
 */
class KeepAliveConn {
  /** Connections the server closed after a response. */
  reconnects = 0;
  #url: URL;
  #conn?: Deno.TcpConn;
  #buf = new Uint8Array(64 * 1024);
  #enc = new TextEncoder();
  #dec = new TextDecoder();

  constructor(url: string) {
    this.#url = new URL(url);
  }

  async post(path: string, body: string): Promise<number> {
    if (!this.#conn) {
      this.#conn = await Deno.connect({ hostname: this.#url.hostname, port: Number(this.#url.port) });
      this.#conn.setNoDelay(true);
    }
    const b = this.#enc.encode(body);
    const head = this.#enc.encode(
      `POST ${path} HTTP/1.1\r\nhost: ${this.#url.host}\r\ncontent-type: application/json\r\ncontent-length: ${b.byteLength}\r\n\r\n`,
    );
    const req = new Uint8Array(head.byteLength + b.byteLength);
    req.set(head);
    req.set(b, head.byteLength);
    let off = 0;
    while (off < req.byteLength) off += await this.#conn.write(req.subarray(off));
    let text = "";
    for (;;) {
      const n = await this.#conn.read(this.#buf);
      if (n === null) throw new Error("connection closed");
      text += this.#dec.decode(this.#buf.subarray(0, n));
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) continue;
      const head = text.slice(0, end);
      const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
      if (text.length >= end + 4 + len) {
        // Deno 2.9.5 answers `connection: close` to bodies over ~500 B (denoland/deno#36657): reconnect.
        if (/\r\nconnection: close/i.test(head)) {
          this.#conn.close();
          this.#conn = undefined;
          this.reconnects++;
        }
        return Number(text.slice(9, 12));
      }
    }
  }

  close(): void {
    this.#conn?.close();
  }
}

/**
 * The wrk script: the n-th request of thread t goes to VIN `BENCH<t><n mod conns>` with timestamps
 * from `n div conns` (plus the run's `epoch`, so the warm-up and the measured run do not overlap), so
 * VINs are used evenly and no (VIN, path, timestamp) repeats.
 */
const WRK_SCRIPT = `
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  dps = tonumber(args[1])
  conns = tonumber(args[2])
  epoch = tonumber(args[3])
  counter = 0
end
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
function request()
  local k = counter % conns
  local base = math.floor(counter / conns) * dps
  counter = counter + 1
  local dp = {}
  for i = 0, dps - 1 do
    local ms = 1700000000000 + epoch + base + i
    dp[#dp + 1] = string.format('{"value":"%d","ts":"%s.%03dZ"}', (base + i) % 250,
      os.date("!%Y-%m-%dT%H:%M:%S", math.floor(ms / 1000)), ms % 1000)
  end
  local body = string.format('{"vin":"BENCH%06d%06d","data":{"path":"Vehicle.Speed","dp":[%s]}}', tid, k, table.concat(dp, ","))
  return wrk.format(nil, "/v1/data", nil, body)
end
`;

/** True when `wrk` can be run. */
async function haveWrk(): Promise<boolean> {
  try {
    await new Deno.Command("wrk", { args: ["--version"], stdout: "null", stderr: "null" }).output();
    return true;
  } catch {
    return false;
  }
}

/** Result of one wrk run. */
interface WrkResult {
  requests: number;
  non2xx: number;
  p50: number;
  p99: number;
  max: number;
}

/** Parses wrk's `--latency` report; latencies in ms. */
export function parseWrk(text: string): WrkResult {
  const ms = (v: string, unit: string) => Number(v) * ({ us: 0.001, ms: 1, s: 1000, m: 60000 }[unit] ?? NaN);
  const lat = (q: string) => {
    const m = new RegExp(`^\\s*${q}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(text);
    return m ? ms(m[1], m[2]) : NaN;
  };
  const max = /^\s*Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s|m)/m.exec(text);
  return {
    requests: Number(/^\s*(\d+) requests in/m.exec(text)?.[1] ?? NaN),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0),
    p50: lat("50"),
    p99: lat("99"),
    max: max ? ms(max[1], max[2]) : NaN,
  };
}

/** Runs wrk against `url` for `seconds` with `clients` connections on 2 threads. */
async function runWrk(
  url: string,
  options: { clients: number; dps: number; seconds: number; script: string; epoch: number },
) {
  const threads = Math.min(2, options.clients);
  const out = await new Deno.Command("wrk", {
    args: [
      `-t${threads}`,
      `-c${options.clients}`,
      `-d${options.seconds}s`,
      "--latency",
      "-s",
      options.script,
      url,
      "--",
      String(options.dps),
      String(options.clients / threads),
      String(options.epoch),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`wrk failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  return parseWrk(text);
}

/**
 * A reference point on the same machine: PostgreSQL (`conninfo`, a libpq connection string) taking the
 * same load through pgbench, each client running one transaction that inserts `dps` rows into a table
 * shaped like an OVDS `TV_` table, with `synchronous_commit` on (fsync before the commit returns, group
 * commit) or off. Returns transactions/s and the mean latency in ms (pgbench prints no percentiles).
 */
async function runPgbench(
  conninfo: string,
  options: { clients: number; dps: number; seconds: number; durable: boolean; dir: string },
): Promise<{ tps: number; meanMs: number }> {
  const run = async (cmd: string, args: string[], env: Record<string, string> = {}) => {
    const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    if (!out.success) throw new Error(`${cmd} failed: ${text.trim().split("\n").slice(-2).join(" ")}`);
    return text;
  };
  await run("psql", [
    conninfo,
    "-qc",
    "DROP TABLE IF EXISTS cesc_bench_tv; CREATE TABLE cesc_bench_tv (value text NOT NULL, timestamp text NOT NULL, path text, UNIQUE (path, timestamp))",
  ]);
  const script = `${options.dir}/pgbench.sql`;
  await Deno.writeTextFile(
    script,
    `\\set r random(1, 1000000000)
INSERT INTO cesc_bench_tv SELECT ((:r + g) % 250)::text, to_char(to_timestamp((:r::bigint * ${options.dps} + g) / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'Vehicle.Speed' FROM generate_series(0, ${
      options.dps - 1
    }) g ON CONFLICT DO NOTHING;
`,
  );
  try {
    const text = await run(
      "pgbench",
      ["-n", "-c", String(options.clients), "-j", "2", "-T", String(options.seconds), "-f", script, conninfo],
      { PGOPTIONS: `-c synchronous_commit=${options.durable ? "on" : "off"}` },
    );
    return {
      tps: Number(/tps = ([\d.]+)/.exec(text)?.[1] ?? NaN),
      meanMs: Number(/latency average = ([\d.]+) ms/.exec(text)?.[1] ?? NaN),
    };
  } finally {
    await run("psql", [conninfo, "-qc", "DROP TABLE IF EXISTS cesc_bench_tv"]).catch(() => {});
  }
}

/** Rows in all TV_ tables of an OVDS file (what the server stored). */
function storedRows(db: string): number {
  const conn = new DatabaseSync(db, { readOnly: true });
  try {
    let n = 0;
    for (
      const t of conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'TV\\_%' ESCAPE '\\'")
        .all()
    ) {
      n += Number(conn.prepare(`SELECT count(*) AS n FROM "${String(t.name)}"`).get()?.n ?? 0);
    }
    return n;
  } finally {
    conn.close();
  }
}

async function hugeBody(url: string): Promise<number> {
  const u = new URL(url);
  const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
  const reading = (async () => {
    const buf = new Uint8Array(4096);
    let text = "";
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
        if (text.includes("\r\n\r\n")) break;
      }
    } catch { /* closed */ }
    return text;
  })();
  const chunk = new TextEncoder().encode(`100000\r\n${" ".repeat(0x100000)}\r\n`);
  try {
    await conn.write(
      new TextEncoder().encode(
        "POST /v1/data HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
      ),
    );
    for (let i = 0; i < 100; i++) await conn.write(chunk);
  } catch { /* the server closed after 413 */ }
  const text = await reading;
  conn.close();
  return Number(/^HTTP\/1.1 (\d+)/.exec(text)?.[1] ?? 0);
}

interface RunResult {
  label: string;
  ok: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  peakRss: number;
  cpuPct: number;
  cpuUsPerReq: number;
  hugeStatus: number;
  rssBefore: number;
  rssAfter: number;
}

/** One load run against `url`, or against a CESC started with `serverArgs` when `url` is not given. */
async function runOnce(
  label: string,
  options: {
    clients: number;
    dps: number;
    seconds: number;
    url?: string;
    serverArgs: string[];
    sync: string;
    client: "wrk" | "deno";
    /** Another checkout's `cesc/main.ts` to start instead of this one's. */
    main?: string;
  },
): Promise<RunResult> {
  const { clients, dps, seconds } = options;
  const dir = options.url ? undefined : await Deno.makeTempDir({ prefix: "bench_cesc_" });
  const proc = options.url
    ? undefined
    : await spawnBenchCesc(`${dir}/ovds.db`, options.sync, options.serverArgs, options.main);
  const url = options.url ?? proc!.url;
  try {
    let peakRss = 0;
    const rssTimer = proc ? setInterval(() => peakRss = Math.max(peakRss, rssMiB(proc.child.pid)), 200) : undefined;
    const measured = seconds - 1;
    let load: { ok: number; errors: number; p50: number; p99: number; max: number; cpu: number };
    try {
      load = options.client === "wrk"
        ? await wrkLoad(url, { clients, dps, seconds, pid: proc?.child.pid, dir: dir ?? "." })
        : await denoLoad(url, { clients, dps, seconds, pid: proc?.child.pid });
    } finally {
      if (rssTimer) clearInterval(rssTimer);
    }
    const rssBefore = proc ? rssMiB(proc.child.pid) : NaN;
    const hugeStatus = await hugeBody(url);
    await new Promise((r) => setTimeout(r, 300));
    const rssAfter = proc ? rssMiB(proc.child.pid) : NaN;
    return {
      label,
      ok: load.ok,
      errors: load.errors,
      rps: load.ok / measured,
      p50: load.p50,
      p99: load.p99,
      max: load.max,
      peakRss,
      cpuPct: load.cpu / measured * 100,
      cpuUsPerReq: load.cpu * 1e6 / load.ok,
      hugeStatus,
      rssBefore,
      rssAfter,
    };
  } finally {
    if (proc) {
      proc.child.kill("SIGTERM");
      await proc.child.status;
      if (dir) {
        // Every acknowledged request must have stored its rows (the warm-up's included).
        const stored = storedRows(`${dir}/ovds.db`);
        console.error(`  stored ${stored} rows for ${acknowledged} acknowledged requests x ${dps} data points`);
        if (stored < acknowledged * dps) console.error("  MISSING ROWS: acknowledged data was not stored");
      }
    }
    if (dir) await Deno.remove(dir, { recursive: true });
  }
}

/** Requests answered 200 in the current run, warm-up included (checked against the stored rows). */
let acknowledged = 0;

/** wrk: a 1 s warm-up run, then the measured `seconds - 1`; `cpu` = server CPU seconds in the measured run. */
async function wrkLoad(
  url: string,
  options: { clients: number; dps: number; seconds: number; pid?: number; dir: string },
) {
  const script = `${options.dir}/bench.lua`;
  await Deno.writeTextFile(script, WRK_SCRIPT);
  const warm = await runWrk(url, { ...options, seconds: 1, script, epoch: 0 });
  const cpu0 = options.pid ? cpuSeconds(options.pid) : NaN;
  // Timestamps a day later than the warm-up's.
  const r = await runWrk(url, { ...options, seconds: options.seconds - 1, script, epoch: 86_400_000 });
  const cpu = options.pid ? cpuSeconds(options.pid) - cpu0 : NaN;
  acknowledged = warm.requests - warm.non2xx + r.requests - r.non2xx;
  return { ok: r.requests - r.non2xx, errors: r.non2xx, p50: r.p50, p99: r.p99, max: r.max, cpu };
}

/** The built-in client: `clients` keep-alive connections in closed loop; the first second is warm-up. */
async function denoLoad(url: string, options: { clients: number; dps: number; seconds: number; pid?: number }) {
  const { clients, dps, seconds } = options;
  const latencies: number[] = [];
  let errors = 0;
  let seq = 0;
  acknowledged = 0;
  const end = performance.now() + seconds * 1000;
  const warmEnd = performance.now() + 1000;
  let cpuAtWarm = NaN;
  const cpuTimer = options.pid ? setTimeout(() => cpuAtWarm = cpuSeconds(options.pid!), 1000) : undefined;
  const worker = async (c: number) => {
    const vin = `BENCH${String(c).padStart(12, "0")}`;
    const conn = new KeepAliveConn(url);
    try {
      while (performance.now() < end) {
        const base = seq;
        seq += dps;
        const dp = [];
        for (let i = 0; i < dps; i++) {
          dp.push({ value: String((base + i) % 250), ts: new Date(1_700_000_000_000 + base + i).toISOString() });
        }
        const body = JSON.stringify({ vin, data: { path: "Vehicle.Speed", dp } });
        const t0 = performance.now();
        const status = await conn.post("/v1/data", body);
        const dt = performance.now() - t0;
        if (status !== 200) errors++;
        else {
          acknowledged++;
          if (t0 > warmEnd) latencies.push(dt);
        }
      }
    } finally {
      conn.close();
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, c) => worker(c)));
  const cpu = options.pid ? cpuSeconds(options.pid) - cpuAtWarm : NaN;
  if (cpuTimer) clearTimeout(cpuTimer);
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { ok: latencies.length, errors, p50: p(0.5), p99: p(0.99), max: p(1), cpu };
}

/** Server flags of the named configurations `--modes` accepts. */
const MODES: Record<string, { sync: string; args: string[] }> = {
  full: { sync: "full", args: [] },
  normal: { sync: "normal", args: [] },
  "full-inline": { sync: "full", args: ["--checkpoint", "inline"] },
  "full-store-worker": { sync: "full", args: ["--store-worker"] },
};

const USAGE =
  `usage: bench_cesc [--clients 10] [--dps 10] [--seconds 10] [--sync full|normal] [--checkpoint worker|inline]
                  [--store-worker] [--url URL] [--modes full,normal,... --rounds N] [--client wrk|deno]
  --client wrk (default when wrk is installed) or deno (the built-in client, which uses more CPU itself).
  --pgbench CONNINFO (with --modes) also runs pgbench against that PostgreSQL each round, the same
  clients each inserting the same rows per transaction, synchronous_commit on and off: a reference for
  what durable commits cost on this machine.
  --modes runs each named configuration (${Object.keys(MODES).join(", ")}) in turn, --rounds times,
  and prints them side by side with ratios to the first one and to the original Go CESC.
  --against DIR also runs each mode on the CESC of another checkout DIR (its cesc/main.ts, e.g. the code
  before a change), alternating with this one in every round: "<mode>" is this checkout, "<mode>@<DIR name>"
  the other (default --modes full).`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: {
      clients: { type: "string", default: "10" },
      dps: { type: "string", default: "10" },
      seconds: { type: "string", default: "10" },
      sync: { type: "string", default: "full" },
      url: { type: "string" },
      checkpoint: { type: "string" },
      "checkpoint-worker": { type: "boolean" },
      "store-worker": { type: "boolean" },
      modes: { type: "string" },
      rounds: { type: "string", default: "1" },
      client: { type: "string" },
      pgbench: { type: "string" },
      against: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const client = (values.client ?? (await haveWrk() ? "wrk" : "deno")) as "wrk" | "deno";
  if (client !== "wrk" && client !== "deno") throw new Error(`--client: "${client}" is not wrk or deno`);
  const clients = Number(values.clients);
  if (client === "wrk" && clients > 1 && clients % 2 !== 0) {
    throw new Error("--clients must be even with wrk (2 threads)");
  }
  const base = { clients, dps: Number(values.dps), seconds: Number(values.seconds), client };
  console.log(`load from ${client === "wrk" ? "wrk (2 threads)" : "the built-in Deno client"}`);
  if (values.modes || values.against) {
    const modes = (values.modes ?? "full").split(",");
    for (const n of modes) if (!MODES[n]) throw new Error(`--modes: unknown "${n}" (${Object.keys(MODES).join(", ")})`);
    const against = values.against ? `${values.against.replace(/\/+$/, "")}/cesc/main.ts` : undefined;
    const tag = values.against?.replace(/\/+$/, "").split("/").pop();
    const runs = modes.flatMap((mode) => [
      { name: mode, mode, main: undefined as string | undefined },
      ...(against ? [{ name: `${mode}@${tag}`, mode, main: against }] : []),
    ]);
    const names = runs.map((r) => r.name);
    const results = new Map<string, RunResult[]>(names.map((n) => [n, []]));
    const pgResults = new Map<boolean, { tps: number; meanMs: number }[]>([[true, []], [false, []]]);
    for (let r = 0; r < Number(values.rounds); r++) {
      for (const { name: n, mode, main } of runs) {
        const res = await runOnce(n, { ...base, sync: MODES[mode].sync, serverArgs: MODES[mode].args, main });
        console.log(
          `round ${r + 1} ${n}: ${res.rps.toFixed(0)} req/s, p99 ${res.p99.toFixed(2)} ms, ${
            res.cpuUsPerReq.toFixed(0)
          } µs CPU/request`,
        );
        results.get(n)!.push(res);
      }
      if (values.pgbench) {
        const dir = await Deno.makeTempDir({ prefix: "bench_cesc_pg_" });
        try {
          for (const durable of [true, false]) {
            const pg = await runPgbench(values.pgbench, { ...base, seconds: base.seconds - 1, durable, dir });
            console.log(
              `round ${r + 1} PostgreSQL synchronous_commit=${durable ? "on" : "off"}: ${
                pg.tps.toFixed(0)
              } transactions/s, mean latency ${pg.meanMs.toFixed(2)} ms`,
            );
            pgResults.get(durable)!.push(pg);
          }
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(results.get(names[0])!.map((r) => r.rps));
    console.log(
      `\n${base.clients} clients x ${base.dps} data points per request, ${base.seconds} s per run (1 s warm-up), ${values.rounds} round(s), means:`,
    );
    console.log("mode                 req/s   p50 ms  p99 ms  CPU µs/req  peak RSS  vs " + names[0] + "  vs Go CESC");
    for (const n of names) {
      const rs = results.get(n)!;
      const rps = mean(rs.map((r) => r.rps));
      console.log(
        `${n.padEnd(19)} ${rps.toFixed(0).padStart(6)}  ${mean(rs.map((r) => r.p50)).toFixed(2).padStart(6)}  ${
          mean(rs.map((r) => r.p99)).toFixed(2).padStart(6)
        }  ${mean(rs.map((r) => r.cpuUsPerReq)).toFixed(0).padStart(10)}  ${
          Math.max(...rs.map((r) => r.peakRss)).toFixed(0).padStart(4)
        } MiB  ${(rps / first).toFixed(2).padStart(5)}x  ${(rps / ORIGINAL.rps).toFixed(1).padStart(8)}x`,
      );
    }
    for (const [durable, rs] of pgResults) {
      if (rs.length === 0) continue;
      const tps = mean(rs.map((r) => r.tps));
      console.log(
        `${`postgres sync ${durable ? "on" : "off"}`.padEnd(19)} ${tps.toFixed(0).padStart(6)}  mean ${
          mean(rs.map((r) => r.meanMs)).toFixed(2)
        } ms (pgbench, 10-row INSERT per transaction)       ${(tps / first).toFixed(2).padStart(5)}x`,
      );
    }
    return;
  }
  const serverArgs = [
    ...(values.checkpoint ? ["--checkpoint", values.checkpoint] : []),
    ...(values["checkpoint-worker"] ? ["--checkpoint-worker"] : []),
    ...(values["store-worker"] ? ["--store-worker"] : []),
  ];
  const r = await runOnce("", { ...base, url: values.url, sync: values.sync!, serverArgs });
  console.log(
    `clients=${base.clients} dps/request=${base.dps} seconds=${base.seconds} (first second is warm-up) sync=${values.sync}` +
      (serverArgs.length ? " " + serverArgs.join(" ") : ""),
  );
  console.log(`requests: ${r.ok} ok, ${r.errors} errors`);
  console.log(`throughput: ${r.rps.toFixed(0)} req/s, ${(r.rps * base.dps).toFixed(0)} data points/s`);
  console.log(`latency: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(2)} ms`);
  if (!values.url) {
    console.log(`server RSS: peak ${r.peakRss.toFixed(1)} MiB`);
    console.log(
      `server CPU: ${r.cpuPct.toFixed(0)}% of one core, ${r.cpuUsPerReq.toFixed(0)} µs per request (all threads)`,
    );
  }
  console.log(
    `vs original Go CESC (${ORIGINAL.rps} req/s, p99 ${ORIGINAL.p99ms} ms): ${
      (r.rps / ORIGINAL.rps).toFixed(1)
    }x req/s, p99 ${(ORIGINAL.p99ms / r.p99).toFixed(1)}x lower`,
  );
  console.log(
    `goal >= 5000 req/s: ${r.rps >= 5000 ? "met" : "NOT met"}; p99 < 20 ms: ${
      r.p99 < 20 ? "met" : "NOT met"
    }; RSS < 150 MB: ${values.url ? "not measured (--url)" : r.peakRss < 150 ? "met" : "NOT met"}`,
  );
  console.log(
    `100 MiB chunked body: HTTP ${r.hugeStatus}, server RSS ${r.rssBefore.toFixed(1)} -> ${r.rssAfter.toFixed(1)} MiB`,
  );
}

if (import.meta.main) await main();
