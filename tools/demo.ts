/**
 * `deno task demo` (the README's main-job command): starts a CESC on loopback with an embedded SQLite database and
 * no backend, and a VEC that replays the bundled candump log (made with `Model3CAN.dbc`) through the WASM decoder
 * and the Kuksa VSS 4.0 mapping into it. Prints what happened and where the database is.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { DatabaseSync } from "node:sqlite";
import { startCesc } from "../cesc/mod.ts";
import { PipelineError } from "../core/errors/mod.ts";
import { createLogger, isLevel } from "../core/log/mod.ts";
import { parseVecConfig } from "../vec/config.ts";
import { startVec } from "../vec/mod.ts";

const here = (p: string) => decodeURIComponent(new URL(p, import.meta.url).pathname);
/** The bundled drive (see `tools/gen_candump.ts`). */
export const DEMO_LOG = here("../assets/demo/model3_drive.log");
/** The demo's VIN (the default mapping has no VIN signal). */
export const DEMO_VIN = "5YJ3E1EA7KF000001";

const HELP = `demo — CAN log → VEC (WASM decode, VSS mapping) → CESC → OVDS SQLite, all on loopback

Usage: deno task demo [--out DIR] [--speed N] [--log FILE] [--loglevel LEVEL]

  --out DIR        where the OVDS database and the VEC's queue go (default ./demo-out, replaced each run)
  --speed N        replay speed: 0 as fast as possible (default), 1 real time, N times faster
  --log FILE       candump log to replay (default: the bundled Model 3 drive)
  --loglevel L     log level of the services (default warn)
  -h, --help       this help
`;

async function main(args: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        out: { type: "string", default: "./demo-out" },
        speed: { type: "string", default: "0" },
        log: { type: "string", default: DEMO_LOG },
        loglevel: { type: "string", default: "warn" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    console.error(`demo: ${(e as Error).message} (see --help)`);
    Deno.exit(2);
  }
  if (values.help) return console.log(HELP);
  const speed = Number(values.speed);
  if (!Number.isFinite(speed) || speed < 0) {
    console.error("demo: --speed must be a number ≥ 0");
    Deno.exit(2);
  }
  if (!isLevel(values.loglevel)) {
    console.error("demo: --loglevel must be one of trace, debug, info, warn, error, fatal, panic");
    Deno.exit(2);
  }
  const out = values.out;
  await Deno.remove(out, { recursive: true }).catch(() => {});
  await Deno.mkdir(out, { recursive: true });
  const db = `${out}/ovdsCESC.db`;
  const logger = createLogger("demo", { level: values.loglevel });

  const cesc = await startCesc({ db, port: 0, backend: "none", log: logger.child("cesc") });
  try {
    console.log(`CESC listening on ${cesc.url} (database ${db})`);
    const config = parseVecConfig({
      vin: DEMO_VIN,
      can: { log: values.log, speed },
      cesc: { url: cesc.url, batch_max_datapoints: 500, batch_max_ms: 200 },
      queue: { dir: `${out}/vec-state` },
      api: { port: 0, hostname: "127.0.0.1" },
    });
    console.log(`VEC replaying ${values.log} at ${speed === 0 ? "full speed" : `${speed}× real time`}`);
    const vec = await startVec(config, { logger: logger.child("vec"), drainMs: 30_000 });
    const summary = await vec.done;
    const cescStats = summary.sinks.cesc as { sentDatapoints: number; queued: number };

    const sqlite = new DatabaseSync(db, { readOnly: true });
    const vin = sqlite.prepare("SELECT vin_id, vin FROM VIN_TIV WHERE vin = ?").get(DEMO_VIN) as
      | { vin_id: number; vin: string }
      | undefined;
    let stored = 0;
    let latest: { path: string; value: string; timestamp: string }[] = [];
    if (vin) {
      const table = `TV_${vin.vin_id}`;
      stored = (sqlite.prepare(`SELECT COUNT(*) AS n FROM "${table}"`).get() as { n: number }).n;
      latest = sqlite.prepare(
        `SELECT path, value, timestamp FROM "${table}" WHERE rowid IN (SELECT MAX(rowid) FROM "${table}" GROUP BY path) ORDER BY path`,
      ).all() as typeof latest;
    }
    sqlite.close();

    const rows = [
      ["CAN frames replayed", summary.frames],
      ["signal values decoded (WASM)", summary.signals],
      ["VSS datapoints mapped", summary.datapoints],
      ["datapoints refused (all reasons)", Object.values(summary.refused).reduce((a, b) => a + b, 0)],
      ["datapoints pushed to the CESC", cescStats.sentDatapoints],
      ["datapoints stored in OVDS", stored],
      ["VEC throughput (frames/s)", summary.framesPerSecond],
    ] as const;
    console.log("");
    for (const [k, v] of rows) console.log(`  ${k.padEnd(32)} ${v.toLocaleString("en-US")}`);
    console.log(`\nLatest values of ${DEMO_VIN} in ${db} (table TV_${vin?.vin_id ?? "?"}):`);
    for (const r of latest.slice(0, 40)) console.log(`  ${r.path.padEnd(60)} ${r.value.padStart(8)}  ${r.timestamp}`);
    console.log(`\nInspect it with: sqlite3 ${db} 'SELECT * FROM TV_${vin?.vin_id ?? 1} LIMIT 10'`);
    if (stored === 0 || cescStats.queued > 0) throw new PipelineError("demo.incomplete", "not every datapoint arrived");
  } finally {
    await cesc.close();
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error(`demo: ${e instanceof PipelineError ? e.message : (e as Error).stack}`);
    Deno.exit(1);
  }
}
