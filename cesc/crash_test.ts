import assert from "node:assert/strict";
import { join } from "node:path";
import { until } from "../testing/mod.ts";
import { spawnCesc, startFakeHttpBackend } from "../testing/cesc.ts";

/** The CESC as a process, forwarding to `backendUrl` every 200 ms or every 25 rows. */
const spawnForwardingCesc = (db: string, backendUrl: string) =>
  spawnCesc([
    "--db",
    db,
    "--backend",
    "http",
    "--backend-url",
    backendUrl,
    "--flush-interval",
    "200ms",
    "--max-datapoints",
    "25",
    "--loglevel",
    "fatal",
  ]);

Deno.test("cesc kill -9 under load: every acknowledged data point is stored and forwarded after restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cesc_crash_test_" });
  const backend = startFakeHttpBackend();
  const db = join(dir, "ovds.db");
  let proc = await spawnForwardingCesc(db, backend.url);
  const acked = new Set<string>();
  let killed = false;
  try {
    let seq = 0;
    const client = async (c: number) => {
      while (!killed) {
        const base = seq;
        seq += 10;
        const dps = Array.from({ length: 10 }, (_, i) => ({
          value: String(base + i),
          ts: new Date(Date.UTC(2024, 0, 1) + (base + i) * 10).toISOString(),
        }));
        try {
          const res = await fetch(proc.url + "v1/data", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ vin: `VIN${c}`, data: { path: "Vehicle.Speed", dp: dps } }),
          });
          const body = await res.json();
          if (res.status === 200 && body.stored === 10) { for (const d of dps) acked.add(`VIN${c}|${d.ts}`); }
        } catch {
          // connection refused / reset once the process is gone: not acknowledged
        }
      }
    };
    const clients = Array.from({ length: 10 }, (_, c) => client(c));
    await until(() => acked.size >= 3000, "load to build up");
    proc.child.kill("SIGKILL");
    await proc.child.status;
    killed = true;
    await Promise.all(clients);
    const ackedAtKill = acked.size;
    assert.ok(ackedAtKill >= 3000);

    proc = await spawnForwardingCesc(db, backend.url);
    const forwarded = () => new Set(backend.records.map((r) => `${r.vin}|${r.ts}`));
    await until(
      () => {
        const f = forwarded();
        for (const k of acked) if (!f.has(k)) return false;
        return true;
      },
      "every acknowledged data point forwarded",
      60_000,
    );
    proc.child.kill("SIGTERM");
    await proc.child.status;

    const sqlite3 = async (sql: string) => {
      const out = await new Deno.Command("sqlite3", { args: [db, sql], stdout: "piped" }).output();
      assert.equal(out.code, 0);
      return new TextDecoder().decode(out.stdout).trim().split("\n");
    };
    const ids = await sqlite3("SELECT vin_id FROM VIN_TIV");
    assert.equal(ids.length, 10);
    const stored = new Set(
      await sqlite3(
        ids.map((id) => `SELECT v.vin || '|' || t.timestamp FROM TV_${id} t JOIN VIN_TIV v ON v.vin_id = ${id}`)
          .join(" UNION ALL "),
      ),
    );
    for (const k of acked) assert.ok(stored.has(k), `acknowledged ${k} is in the database`);
  } finally {
    killed = true;
    try {
      proc.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await proc.child.status;
    await backend.close();
    await Deno.remove(dir, { recursive: true });
  }
});
