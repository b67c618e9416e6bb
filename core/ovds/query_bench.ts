// Read side on 10 h of 10 Hz data (360 000 rows of one path): downsampled, raw page, vehicles.
// The week-long figures (6 M rows) come from `deno task bench:query` (tools/bench_query.ts).
import { join } from "node:path";
import { openSqliteQuery, openSqliteStore } from "./mod.ts";

const ROWS = 360_000;
const BASE = Date.parse("2024-03-04T00:00:00Z");
const dir = Deno.makeTempDirSync({ prefix: "ovds_query_bench_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const file = join(dir, "ovds.db");
const store = openSqliteStore(file, { synchronous: "normal" });
for (let i = 0; i < ROWS; i += 20_000) {
  const datapoints = [];
  for (let j = i; j < i + 20_000; j++) {
    datapoints.push({
      path: "Vehicle.Speed",
      value: Math.round(6000 + 4000 * Math.sin(j / 3000)) / 100,
      tsMs: BASE + j * 100,
    });
  }
  await store.insertBatches([{ vin: "BENCHVIN", datapoints }]);
}
await store.close();
const q = openSqliteQuery(file);
const hour = { from: new Date(BASE + 3600_000).toISOString(), to: new Date(BASE + 7200_000).toISOString() };

Deno.bench("ovds query: series 10 h (360k rows), maxPoints=1000", { group: "series", baseline: true }, async () => {
  await q.series("BENCHVIN", "Vehicle.Speed", { maxPoints: 1000 });
});
Deno.bench("ovds query: series 1 h (36k rows), maxPoints=1000", { group: "series" }, async () => {
  await q.series("BENCHVIN", "Vehicle.Speed", { ...hour, maxPoints: 1000 });
});
Deno.bench("ovds query: raw page of 1000", { group: "series" }, async () => {
  await q.series("BENCHVIN", "Vehicle.Speed", { ...hour, limit: 1000 });
});
Deno.bench("ovds query: vehicles()", async () => {
  await q.vehicles();
});
