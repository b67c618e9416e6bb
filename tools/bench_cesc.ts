/**
 * Load script for the CESC: N concurrent clients POST requests of M data points each (loopback),
 * then print req/s, data points/s, p50/p99 latency, server RSS, the ratio against the original Go
 * CESC (220 req/s, p99 154 ms) and whether a 100 MiB body is refused without memory growth.
 *
 *   deno run -A tools/bench_cesc.ts [--clients 10] [--dps 10] [--seconds 10] [--sync full|normal] [--checkpoint worker|inline] [--url URL]
 *   deno run -A tools/bench_cesc.ts --modes full,normal,full-inline --rounds 2 --seconds 6   (side by side, ratios)
 *
 * Without `--url` it starts `cesc/main.ts` as a subprocess (temp DB, `--backend none`) and removes it after.
 * @module
 */
import { parseArgs } from "node:util";

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

async function spawnCesc(
  db: string,
  sync: string,
  extra: string[],
  v8Flags = "--max-semi-space-size=4",
): Promise<{ child: Deno.ChildProcess; url: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      // As `deno task cesc` runs it (a 4 MiB young generation: ~25 MiB less RSS, measured within noise in req/s).
      `--v8-flags=${v8Flags}`,
      new URL("../cesc/main.ts", import.meta.url).pathname,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--db",
      db,
      "--backend",
      "none",
      "--sync",
      sync,
      "--loglevel",
      "error",
      ...extra,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/listening on (\S+)/.test(text)) {
    const { done, value } = await reader.read();
    if (done) throw new Error("cesc exited before listening");
    text += value;
  }
  reader.releaseLock();
  void child.stdout.cancel().catch(() => {});
  return { child, url: /listening on (\S+)/.exec(text)![1] };
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
  options: { clients: number; dps: number; seconds: number; url?: string; serverArgs: string[]; sync: string },
): Promise<RunResult> {
  const { clients, dps, seconds } = options;
  const dir = options.url ? undefined : await Deno.makeTempDir({ prefix: "bench_cesc_" });
  const proc = options.url ? undefined : await spawnCesc(`${dir}/ovds.db`, options.sync, options.serverArgs);
  const url = options.url ?? proc!.url;
  try {
    const latencies: number[] = [];
    let errors = 0;
    let seq = 0;
    const end = performance.now() + seconds * 1000;
    const warmEnd = performance.now() + 1000;
    let peakRss = 0;
    const rssTimer = proc ? setInterval(() => peakRss = Math.max(peakRss, rssMiB(proc.child.pid)), 200) : undefined;
    let cpuAtWarm = NaN;
    const cpuTimer = proc ? setTimeout(() => cpuAtWarm = cpuSeconds(proc.child.pid), 1000) : undefined;
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
          else if (t0 > warmEnd) latencies.push(dt);
        }
      } finally {
        conn.close();
      }
    };
    await Promise.all(Array.from({ length: clients }, (_, c) => worker(c)));
    const cpuAtEnd = proc ? cpuSeconds(proc.child.pid) : NaN;
    if (cpuTimer) clearTimeout(cpuTimer);
    if (rssTimer) clearInterval(rssTimer);
    latencies.sort((a, b) => a - b);
    const measured = seconds - 1;
    const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
    const rssBefore = proc ? rssMiB(proc.child.pid) : NaN;
    const hugeStatus = await hugeBody(url);
    await new Promise((r) => setTimeout(r, 300));
    const rssAfter = proc ? rssMiB(proc.child.pid) : NaN;
    return {
      label,
      ok: latencies.length,
      errors,
      rps: latencies.length / measured,
      p50: p(0.5),
      p99: p(0.99),
      max: p(1),
      peakRss,
      cpuPct: (cpuAtEnd - cpuAtWarm) / measured * 100,
      cpuUsPerReq: (cpuAtEnd - cpuAtWarm) * 1e6 / latencies.length,
      hugeStatus,
      rssBefore,
      rssAfter,
    };
  } finally {
    if (proc) {
      proc.child.kill("SIGTERM");
      await proc.child.status;
    }
    if (dir) await Deno.remove(dir, { recursive: true });
  }
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
                  [--store-worker] [--url URL] [--modes full,normal,... --rounds N]
  --modes runs each named configuration (${Object.keys(MODES).join(", ")}) in turn, --rounds times,
  and prints them side by side with ratios to the first one and to the original Go CESC.`;

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
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const base = { clients: Number(values.clients), dps: Number(values.dps), seconds: Number(values.seconds) };
  if (values.modes) {
    const names = values.modes.split(",");
    for (const n of names) if (!MODES[n]) throw new Error(`--modes: unknown "${n}" (${Object.keys(MODES).join(", ")})`);
    const results = new Map<string, RunResult[]>(names.map((n) => [n, []]));
    for (let r = 0; r < Number(values.rounds); r++) {
      for (const n of names) {
        const res = await runOnce(n, { ...base, sync: MODES[n].sync, serverArgs: MODES[n].args });
        console.log(
          `round ${r + 1} ${n}: ${res.rps.toFixed(0)} req/s, p99 ${res.p99.toFixed(2)} ms, ${
            res.cpuUsPerReq.toFixed(0)
          } µs CPU/request`,
        );
        results.get(n)!.push(res);
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
