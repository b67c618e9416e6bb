/**
 * `deno task bench:query`: how fast the CESC read side answers on a week of 10 Hz data of one signal
 * (6 048 000 rows) plus a second signal at 1 Hz, in a real OVDS SQLite file.
 *
 * Prints the time to build the file, then the median of `--runs` calls of: `vehicles()`, `signals()`,
 * `series(maxPoints)` over the whole week, one day and one hour, a raw 1000-point page, the same
 * series call over HTTP through a CESC, and the latency of POST / while that call runs (`--main-thread`
 * puts the reader on the CESC's event loop instead of its Worker, for comparison). `--db FILE` keeps the file for later runs (built only if missing).
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { type Datapoint, openSqliteQuery, openSqliteStore } from "../core/ovds/mod.ts";
import { startCesc } from "../cesc/mod.ts";

const USAGE = `usage: deno task bench:query [--points N] [--max-points N] [--runs N] [--db FILE]
  --points      rows of Vehicle.Speed at 10 Hz (default 6048000 = one week)
  --max-points  maxPoints of the downsampled queries (default 1000)
  --runs        calls per measurement, the median is printed (default 5)
  --db          keep the OVDS file here (built when missing; each run adds a few rows); default a temp file
  --main-thread the CESC reads on its event loop instead of in a Worker (shows what the Worker buys ingest)`;

const VIN = "BENCHVIN000000001";
const BASE = Date.parse("2024-03-04T00:00:00Z");

async function median(runs: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function build(file: string, points: number): Promise<number> {
  const store = openSqliteStore(file, { synchronous: "normal" });
  const t0 = performance.now();
  const chunk = 20_000;
  for (let i = 0; i < points; i += chunk) {
    const datapoints: Datapoint[] = [];
    for (let j = i; j < Math.min(points, i + chunk); j++) {
      const tsMs = BASE + j * 100;
      datapoints.push({ path: "Vehicle.Speed", value: Math.round(6000 + 4000 * Math.sin(j / 3000)) / 100, tsMs });
      if (j % 10 === 0) {
        datapoints.push({
          path: "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current",
          value: Math.round(9000 - j / 1e3) / 100,
          tsMs,
        });
      }
    }
    await store.insertBatches([{ vin: VIN, datapoints }]);
  }
  await store.close();
  return performance.now() - t0;
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        points: { type: "string" },
        "max-points": { type: "string" },
        runs: { type: "string" },
        db: { type: "string" },
        "main-thread": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (e) {
    console.error(`bench:query: ${(e as Error).message}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const points = Number(values.points ?? 6_048_000);
  const maxPoints = Number(values["max-points"] ?? 1000);
  const runs = Number(values.runs ?? 5);
  if (![points, maxPoints, runs].every((n) => Number.isInteger(n) && n > 0)) {
    console.error("bench:query: --points, --max-points and --runs take positive integers");
    return 2;
  }
  const tmp = values.db ? undefined : await Deno.makeTempDir({ prefix: "bench_query_" });
  const file = values.db ?? join(tmp!, "ovds.db");
  try {
    let exists = false;
    try {
      exists = (await Deno.stat(file)).isFile;
    } catch { /* build it */ }
    if (!exists) {
      const ms = await build(file, points);
      console.log(`build: ${points} + ${Math.ceil(points / 10)} rows in ${(ms / 1000).toFixed(1)} s`);
    }
    console.log(`db: ${file} ${((await Deno.stat(file)).size / 2 ** 20).toFixed(0)} MiB`);
    const q = openSqliteQuery(file);
    const day = {
      from: new Date(BASE + 2 * 86400_000).toISOString(),
      to: new Date(BASE + 3 * 86400_000).toISOString(),
    };
    const hour = { from: day.from, to: new Date(BASE + 2 * 86400_000 + 3600_000).toISOString() };
    const rows: [string, () => Promise<unknown>][] = [
      ["vehicles()", () => q.vehicles()],
      ["signals(vin)", () => q.signals(VIN)],
      [`series(week, maxPoints=${maxPoints})`, () => q.series(VIN, "Vehicle.Speed", { maxPoints })],
      [`series(one day, maxPoints=${maxPoints})`, () => q.series(VIN, "Vehicle.Speed", { ...day, maxPoints })],
      [`series(one hour, maxPoints=${maxPoints})`, () => q.series(VIN, "Vehicle.Speed", { ...hour, maxPoints })],
      ["series(raw page, limit=1000)", () => q.series(VIN, "Vehicle.Speed", { ...day, limit: 1000 })],
    ];
    const t0 = performance.now();
    const week = await q.series(VIN, "Vehicle.Speed", { maxPoints });
    console.log(
      `week downsampled, first call (reads every row, builds the minute tiles): ${
        (performance.now() - t0).toFixed(1)
      } ms, ${week.points.length} buckets of ${week.bucketMs} ms covering ${
        week.points.reduce((s, p) => s + (p.count ?? 0), 0)
      } rows`,
    );
    for (const [name, fn] of rows) {
      console.log(`${name}: ${(await median(runs, fn)).toFixed(1)} ms (median of ${runs})`);
    }
    // Live data: 1 min of new 10 Hz rows (late ones, inside the week) before each call; the tiles take them in.
    const writer = openSqliteStore(file, { synchronous: "normal" });
    let round = 0;
    const fresh = await median(runs, async () => {
      const base = BASE + 86400_000 + (round++) * 60_000 + 50; // ts not used by the generator (it uses multiples of 100)
      const datapoints = Array.from({ length: 600 }, (_, j) => ({
        path: "Vehicle.Speed",
        value: 42,
        tsMs: base + j * 100,
      }));
      await writer.insertBatches([{ vin: VIN, datapoints }]);
      await q.series(VIN, "Vehicle.Speed", { maxPoints });
    });
    await writer.close();
    console.log(
      `insert 600 late rows + series(week, maxPoints=${maxPoints}): ${fresh.toFixed(1)} ms (median of ${runs})`,
    );
    await q.close();
    const cesc = await startCesc({
      db: file,
      port: 0,
      backend: "none",
      flushIntervalMs: 3600_000,
      // --main-thread: the reader on the event loop, to compare the ingest latency with the Worker reader.
      query: values["main-thread"] ? () => openSqliteQuery(file) : undefined,
    });
    try {
      const url = `${cesc.url}v1/vehicles/${VIN}/series?path=Vehicle.Speed&maxPoints=${maxPoints}`;
      // Ingest while the CESC's first week query runs (its reader reads every row and builds the minute tiles):
      // with the reader in its Worker, POST latency stays that of an idle CESC.
      const post = async (i: number) => {
        const t0 = performance.now();
        const res = await fetch(cesc.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            vin: "INGESTVIN",
            data: { path: "Vehicle.Speed", dp: { value: String(i), ts: new Date(Date.now() + i).toISOString() } },
          }),
        });
        await res.body?.cancel();
        return performance.now() - t0;
      };
      const idle: number[] = [];
      for (let i = 0; i < 20; i++) idle.push(await post(i));
      let done = false;
      const read = fetch(url).then((r) => r.json()).then(() => done = true);
      const busy: number[] = [];
      for (let i = 0; !done; i++) busy.push(await post(1000 + i));
      await read;
      const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(1);
      console.log(
        `POST / latency: idle p50 ${p50(idle)} ms; during the first week query p50 ${p50(busy)} ms, max ${
          Math.max(...busy).toFixed(1)
        } ms over ${busy.length} requests`,
      );
      const ms = await median(runs, async () => {
        const res = await fetch(url);
        await res.json();
      });
      console.log(
        `GET /v1/vehicles/{vin}/series?maxPoints=${maxPoints} (week, HTTP): ${ms.toFixed(1)} ms (median of ${runs})`,
      );
    } finally {
      await cesc.close();
    }
    return 0;
  } catch (e) {
    console.error(`bench:query: ${(e as Error).message.split("\n")[0]}`);
    return 1;
  } finally {
    if (tmp) await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main());
