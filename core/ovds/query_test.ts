import assert from "node:assert/strict";
import { join } from "node:path";
import { openSqliteQuery, openSqliteStore, type SeriesPoint } from "./mod.ts";
import { PipelineError } from "../errors/mod.ts";
import { type Datapoint, parseTime, type VssValue } from "../datapoint/mod.ts";

const BASE = Date.parse("2024-03-01T00:00:00Z");
const at = (ms: number) => new Date(BASE + ms).toISOString();
/** A typed datapoint at the RFC 3339 time `ts`. */
const dp = (path: string, value: VssValue, ts: string): Datapoint => ({ path, value, tsMs: parseTime(ts) });

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ovds_query_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Speed i at 100 ms steps, a few other signals. */
function speedPoints(n: number, startMs = 0) {
  return Array.from({ length: n }, (_, i) => dp("Vehicle.Speed", i, at(startMs + i * 100)));
}

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e) => e instanceof PipelineError && e.code === code);
}

Deno.test("ovds query: vehicles with time span, counts and backlog", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "ovds.db");
    const store = openSqliteStore(file);
    await store.insertBatches([
      { vin: "VIN_B", datapoints: speedPoints(10) },
      {
        vin: "VIN_A",
        datapoints: [
          dp("Vehicle.Speed", 1, at(5000)),
          dp("Vehicle.Cabin.Door.Row1.Left.IsOpen", true, at(1000)),
          dp("Vehicle.Cabin.Door.Row1.Left.IsOpen", false, at(9000)),
        ],
      },
    ]);
    const rows = await store.unforwarded("VIN_B", { limit: 4 });
    await store.advanceWatermark("VIN_B", rows[3].id);
    // The writer keeps a moved watermark in memory for up to 50 ms; vehicles() writes it out now.
    await store.vehicles();
    const q = openSqliteQuery(file);
    try {
      assert.deepEqual(await q.vehicles(), [
        { vin: "VIN_A", firstSeen: at(1000), lastSeen: at(9000), datapoints: 3, signals: 2, backlog: 3 },
        { vin: "VIN_B", firstSeen: at(0), lastSeen: at(900), datapoints: 10, signals: 1, backlog: 6 },
      ]);
      assert.deepEqual(await q.signals("VIN_A"), [
        { path: "Vehicle.Cabin.Door.Row1.Left.IsOpen", value: "false", ts: at(9000) },
        { path: "Vehicle.Speed", value: "1", ts: at(5000) },
      ]);
      await rejectsCode(q.signals("NOPE"), "query.vin_unknown");
      await rejectsCode(q.series("VIN_A", "Vehicle.Nope"), "query.path_unknown");
      // Data stored after the reader opened is visible (WAL reader, no snapshot held between calls).
      await store.insertBatches([{ vin: "VIN_C", datapoints: speedPoints(1) }]);
      assert.deepEqual((await q.vehicles()).map((v) => v.vin), ["VIN_A", "VIN_B", "VIN_C"]);
    } finally {
      await q.close();
      await store.close();
    }
  });
});

Deno.test("ovds query: cursor pages cover a range exactly once, in time order", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "ovds.db");
    const store = openSqliteStore(file);
    // Inserted out of order: pages must still be in time order.
    const pts = speedPoints(250).reverse();
    await store.insertBatches([{ vin: "V1", datapoints: pts }]);
    const q = openSqliteQuery(file);
    try {
      const seen: SeriesPoint[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await q.series("V1", "Vehicle.Speed", { from: at(1000), to: at(21000), limit: 60, cursor });
        assert.equal(page.downsampled, false);
        seen.push(...page.points);
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor);
      assert.equal(pages, 4); // 200 points in [1 s, 21 s): 60+60+60+20
      assert.deepEqual(seen.map((p) => p.value), Array.from({ length: 200 }, (_, i) => String(i + 10)));
      assert.deepEqual(seen.map((p) => p.ts), [...seen.map((p) => p.ts)].sort());
      await rejectsCode(q.series("V1", "Vehicle.Speed", { cursor: "not-a-cursor" }), "query.cursor");
      // maxPoints above the number of points: raw points, no cursor.
      const all = await q.series("V1", "Vehicle.Speed", { maxPoints: 1000 });
      assert.equal(all.downsampled, false);
      assert.equal(all.points.length, 250);
      assert.equal(all.nextCursor, null);
    } finally {
      await q.close();
      await store.close();
    }
  });
});

Deno.test("ovds query: maxPoints buckets keep min, max, average and every point", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "ovds.db");
    const store = openSqliteStore(file);
    await store.insertBatches([{ vin: "V1", datapoints: speedPoints(1000) }]); // 100 s at 10 Hz, values 0..999
    const q = openSqliteQuery(file);
    try {
      const page = await q.series("V1", "Vehicle.Speed", { maxPoints: 100 });
      assert.equal(page.downsampled, true);
      assert.ok(page.points.length <= 100 && page.points.length >= 90, `${page.points.length} buckets`);
      assert.equal(page.points.reduce((s, p) => s + (p.count ?? 0), 0), 1000);
      assert.equal(Math.min(...page.points.map((p) => p.min!)), 0);
      assert.equal(Math.max(...page.points.map((p) => p.max!)), 999);
      for (const p of page.points) {
        assert.ok(p.min! <= (p.value as number) && (p.value as number) <= p.max!);
        assert.equal(p.value, (p.min! + p.max!) / 2); // consecutive integers: the mean is the midpoint
      }
      // With from/to: buckets cover exactly the range.
      const part = await q.series("V1", "Vehicle.Speed", { from: at(10_000), to: at(20_000), maxPoints: 10 });
      assert.equal(part.downsampled, true);
      assert.equal(part.bucketMs, 1000);
      assert.deepEqual(part.points.map((p) => p.count), new Array(10).fill(10));
      assert.deepEqual(part.points.map((p) => p.ts), Array.from({ length: 10 }, (_, i) => at(10_000 + i * 1000)));
      assert.equal(part.points[0].min, 100);
      assert.equal(part.points[9].max, 199);
    } finally {
      await q.close();
      await store.close();
    }
  });
});

Deno.test("ovds query: opening a missing file fails with an actionable error", async () => {
  await withDir((dir) => {
    assert.throws(
      () => openSqliteQuery(join(dir, "missing.db")),
      (e) => e instanceof PipelineError && e.code === "ovds.open",
    );
    return Promise.resolve();
  });
});

Deno.test("ovds query: the worker reader gives the same answers and errors", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "ovds.db");
    const store = openSqliteStore(file);
    await store.insertBatches([{ vin: "V1", datapoints: speedPoints(500) }]);
    const direct = openSqliteQuery(file);
    const worker = openSqliteQuery(file, { worker: true });
    const missing = openSqliteQuery(join(dir, "missing.db"), { worker: true });
    try {
      assert.deepEqual(await worker.vehicles(), await direct.vehicles());
      assert.deepEqual(await worker.signals("V1"), await direct.signals("V1"));
      const opts = { maxPoints: 50 };
      assert.deepEqual(
        await worker.series("V1", "Vehicle.Speed", opts),
        await direct.series("V1", "Vehicle.Speed", opts),
      );
      await rejectsCode(worker.series("V1", "Vehicle.Nope"), "query.path_unknown");
      await rejectsCode(missing.vehicles(), "ovds.open");
    } finally {
      await missing.close();
      await worker.close();
      await direct.close();
      await store.close();
    }
    await rejectsCode(worker.vehicles(), "ovds.closed");
  });
});

Deno.test("ovds query: long ranges come from minute tiles, exact against a brute-force sum, also after new and late rows", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "ovds.db");
    const store = openSqliteStore(file);
    // 10 h, one point every 7 s (not minute-aligned), values with a pattern.
    const rows: { ts: number; v: number }[] = [];
    const add = (ms: number, v: number) => rows.push({ ts: ms, v });
    for (let i = 0; i < 5143; i++) add(i * 7000 + 1300, Math.round(100 * Math.sin(i / 50)) / 4);
    const toDps = (rs: { ts: number; v: number }[]) => rs.map((r) => dp("Vehicle.Speed", r.v, at(r.ts)));
    await store.insertBatches([{ vin: "V1", datapoints: toDps(rows) }]);
    const q = openSqliteQuery(file);
    const check = async (opts: { from?: string; to?: string; maxPoints: number }) => {
      const page = await q.series("V1", "Vehicle.Speed", opts);
      assert.equal(page.downsampled, true);
      assert.ok(page.bucketMs! % 60_000 === 0, `tile buckets are whole minutes, got ${page.bucketMs}`);
      assert.ok(page.points.length <= opts.maxPoints, `${page.points.length} > ${opts.maxPoints}`);
      const lo = opts.from ? Date.parse(opts.from) : BASE + Math.min(...rows.map((r) => r.ts));
      const hi = opts.to ? Date.parse(opts.to) : BASE + Math.max(...rows.map((r) => r.ts)) + 1;
      const inRange = rows.filter((r) => BASE + r.ts >= lo && BASE + r.ts < hi);
      assert.equal(page.points.reduce((s, p) => s + p.count!, 0), inRange.length);
      // Each bucket runs from its ts to the next bucket's ts (or the end of the range).
      const starts = page.points.map((p) => Date.parse(p.ts));
      const edges = [...starts];
      for (let i = 0; i < page.points.length; i++) {
        const end = i + 1 < edges.length ? edges[i + 1] : hi;
        const mine = inRange.filter((r) => BASE + r.ts >= Math.max(edges[i], lo) && BASE + r.ts < end);
        const p = page.points[i];
        assert.equal(p.count, mine.length, `bucket ${p.ts}`);
        assert.equal(p.min, Math.min(...mine.map((r) => r.v)));
        assert.equal(p.max, Math.max(...mine.map((r) => r.v)));
        assert.ok(Math.abs((p.value as number) - mine.reduce((s, r) => s + r.v, 0) / mine.length) < 1e-9);
      }
      return page;
    };
    try {
      await check({ maxPoints: 100 });
      await check({ from: at(3_600_000 + 12_345), to: at(7 * 3_600_000 + 999), maxPoints: 50 });
      // New rows after the end and late rows inside the range: the cached tiles take them in.
      const more = [{ ts: 36_001_000, v: 500 }, { ts: 36_002_000, v: -500 }, { ts: 3_700_500, v: 999 }];
      await store.insertBatches([{ vin: "V1", datapoints: toDps(more) }]);
      rows.push(...more);
      const p = await check({ maxPoints: 100 });
      assert.equal(Math.max(...p.points.map((x) => x.max!)), 999);
      await check({ from: at(3_600_000 + 12_345), to: at(7 * 3_600_000 + 999), maxPoints: 50 });
    } finally {
      await q.close();
      await store.close();
    }
  });
});
