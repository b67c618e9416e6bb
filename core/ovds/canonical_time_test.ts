import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import fc from "fast-check";
import { openSqliteQuery, openSqliteStore, type OvdsStore, type SeriesPoint, type TimeMigration } from "./mod.ts";
import { type Datapoint, formatTime, parseTime } from "../datapoint/mod.ts";
import { PipelineError } from "../errors/mod.ts";

const BASE = Date.parse("2024-03-01T00:00:00Z");
const PATHS = ["Vehicle.Speed", "Vehicle.Cabin.Door.Row1.Left.IsOpen", "Vehicle.Powertrain.Range"];

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ovds_time_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/**
 * An RFC 3339 text of the instant `ms` (exactly that ms once parsed): UTC offset `offMin` minutes, `digits` fraction
 * digits (fewer than 3 only where the dropped digits are zeros; more than 3 carry `extra` digits that parsing
 * truncates), `t`/`z` in lower case when `lower`.
 */
function textForm(ms: number, f: { offMin: number; digits: number; extra: string; lower: boolean }): string {
  const local = new Date(ms + f.offMin * 60_000).toISOString().slice(0, 19);
  const frac3 = pad(((ms % 1000) + 1000) % 1000, 3);
  let digits = f.digits;
  while (digits < 3 && frac3.slice(digits) !== "0".repeat(3 - digits)) digits++;
  const frac = digits === 0 ? "" : "." + (frac3 + f.extra).slice(0, digits);
  const a = Math.abs(f.offMin);
  const zone = f.offMin === 0 && f.digits % 2 === 0
    ? "Z"
    : `${f.offMin < 0 ? "-" : "+"}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
  const text = local + frac + zone;
  return f.lower ? text.replace("T", "t").replace("Z", "z") : text;
}

const formArb = fc.record({
  offMin: fc.oneof(fc.constant(0), fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 })),
  digits: fc.integer({ min: 0, max: 9 }),
  extra: fc.stringMatching(/^[0-9]{6}$/),
  lower: fc.boolean(),
});

/** Every row of TV_<id> in rowid order. */
function tableRows(file: string, id: number): { id: number; value: string; ts: string; path: string | null }[] {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db.prepare(`SELECT rowid AS id, value, timestamp AS ts, path FROM TV_${id} ORDER BY rowid`).all()
      .map((r) => ({ id: Number(r.id), value: String(r.value), ts: String(r.ts), path: r.path as string | null }));
  } finally {
    db.close();
  }
}

Deno.test("ovds time: the same instant in several textual forms is one row (property, at the store)", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "ovds.db");
    const store = openSqliteStore(file, { synchronous: "normal", checkpointInWorker: false });
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              path: fc.constantFrom(...PATHS),
              ms: fc.integer({ min: -20, max: 20 }).map((k) => BASE + k * 137), // few instants: many repeats
              form: formArb,
              value: fc.integer({ min: 0, max: 1000 }),
            }),
            { minLength: 1, maxLength: 60 },
          ),
          fc.integer({ min: 1, max: 5 }),
          async (items, parts) => {
            const vin = `V${++run}`;
            // Typed datapoints, as the ingest parsers make them: parseTime of whatever text the sender used.
            const dps: Datapoint[] = items.map((it) => {
              const text = textForm(it.ms, it.form);
              assert.equal(parseTime(text), it.ms, text);
              return { path: it.path, value: it.value, tsMs: parseTime(text) };
            });
            const first = new Map<string, number>();
            for (const d of dps) {
              if (!first.has(`${d.path} ${d.tsMs}`)) first.set(`${d.path} ${d.tsMs}`, d.value as number);
            }
            // In several transactions (and so several multi-row INSERT chunks).
            const size = Math.ceil(dps.length / parts);
            let stored = 0;
            for (let i = 0; i < dps.length; i += size) {
              stored += (await store.insertBatches([{ vin, datapoints: dps.slice(i, i + size) }])).inserted[0];
            }
            assert.equal(stored, first.size);
            const rows = await store.unforwarded(vin, { limit: 1000 });
            assert.equal(rows.length, first.size);
            for (const r of rows) {
              const ms = parseTime(r.ts);
              assert.equal(r.ts, formatTime(ms), "canonical text");
              assert.equal(r.value, String(first.get(`${r.path} ${ms}`)), "the first value of the instant");
            }
          },
        ),
        { numRuns: 150 },
      );
    } finally {
      await store.close();
    }
    // What the forwarder read from its cache is what the table holds.
    assert.equal(tableRows(file, 1).every((r) => r.ts.length === 24), true);
  });
});

/** Reads every raw point of a range page by page (`limit` per page), following the cursors. */
async function allPages(
  q: ReturnType<typeof openSqliteQuery>,
  key: { vin: string; path: string },
  opts: { from?: string; to?: string; limit: number },
): Promise<SeriesPoint[]> {
  const out: SeriesPoint[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await q.series(key.vin, key.path, { ...opts, cursor });
    out.push(...page.points);
    if (page.nextCursor === null) return out;
    cursor = page.nextCursor;
  }
  throw new Error("cursor pages never ended");
}

Deno.test("ovds time: series ranges are exact at sub-second bounds, in any textual form (property)", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "ovds.db");
    const store = openSqliteStore(file, { synchronous: "normal", checkpointInWorker: false });
    const q = openSqliteQuery(file);
    let run = 0;
    const bound = fc.option(fc.record({ ms: fc.integer({ min: BASE - 100, max: BASE + 3100 }), form: formArb }), {
      nil: undefined,
    });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.integer({ min: BASE, max: BASE + 2999 }), { minLength: 1, maxLength: 80 }),
          bound,
          bound,
          fc.integer({ min: 1, max: 30 }),
          fc.integer({ min: 1, max: 10 }),
          async (times, from, to, limit, maxPoints) => {
            const vin = `S${++run}`;
            const path = "Vehicle.Speed";
            await store.insertBatches([{ vin, datapoints: times.map((ms, i) => ({ path, value: i, tsMs: ms })) }]);
            const opts = { from: from && textForm(from.ms, from.form), to: to && textForm(to.ms, to.form) };
            const lo = from?.ms ?? -Infinity, hi = to?.ms ?? Infinity;
            const want = times.map((ms, i) => ({ ms, i })).filter((r) => r.ms >= lo && r.ms < hi)
              .sort((a, b) => a.ms - b.ms);
            const got = await allPages(q, { vin, path }, { ...opts, limit });
            assert.deepEqual(
              got.map((p) => [p.ts, p.value]),
              want.map((r) => [formatTime(r.ms), String(r.i)]),
              JSON.stringify(opts),
            );
            // Downsampled: every point of the range in exactly one bucket, buckets in time order.
            const ds = await q.series(vin, path, { ...opts, maxPoints });
            assert.equal(ds.points.reduce((n, p) => n + (ds.downsampled ? p.count! : 1), 0), want.length);
            const starts = ds.points.map((p) => p.ts);
            assert.deepEqual(starts, [...starts].sort());
          },
        ),
        { numRuns: 200 },
      );
    } finally {
      await q.close();
      await store.close();
    }
  });
});

Deno.test("ovds time: bad bounds and cursors are refused with their parameter", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "ovds.db");
    const store = openSqliteStore(file, { synchronous: "normal" });
    await store.insertBatches([{ vin: "V", datapoints: [{ path: "Vehicle.Speed", value: 1, tsMs: BASE }] }]);
    const q = openSqliteQuery(file);
    try {
      for (
        const [opts, code, at] of [
          [{ from: "2024-03-01" }, "query.param", "from"],
          [{ to: "2024-03-01T00:00:00" }, "query.param", "to"],
          [{ from: "10000-01-01T00:00:00Z" }, "query.param", "from"],
          [{ cursor: btoa("garbage") }, "query.cursor", "cursor"],
          [{ cursor: "%%%" }, "query.cursor", "cursor"],
        ] as const
      ) {
        await assert.rejects(
          q.series("V", "Vehicle.Speed", opts),
          (e) => e instanceof PipelineError && e.code === code && e.path === at,
          JSON.stringify(opts),
        );
      }
      // A cursor of the version before (the raw stored text, without fraction) still works.
      const old = btoa("2024-02-29T23:59:59Z").replace(/=+$/, "");
      assert.equal((await q.series("V", "Vehicle.Speed", { cursor: old })).points.length, 1);
    } finally {
      await q.close();
      await store.close();
    }
  });
});

/**
 * An OVDS file as the original CESC (and this one before canonical time) wrote it: timestamps as the senders gave
 * them, so one instant in several rows, plus texts that are no time at all.
 */
function writeOldFile(file: string): void {
  const db = new DatabaseSync(file);
  db.exec(`
    CREATE TABLE "VIN_TIV" ( "vin_id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "vin" TEXT NOT NULL );
    CREATE TABLE "TIV" ( "vin_id" INTEGER NOT NULL, "path" TEXT NOT NULL, "value" TEXT, UNIQUE("vin_id", "path") ON CONFLICT IGNORE, FOREIGN KEY("vin_id") REFERENCES "VIN_TIV"("vin_id") );
    CREATE TABLE cesc_vehicle ( vin_id INTEGER PRIMARY KEY, forwarded_rowid INTEGER NOT NULL DEFAULT 0, forwarded_at TEXT );
    INSERT INTO VIN_TIV(vin) VALUES ('OLD1'), ('OLD2');
    CREATE TABLE TV_1 (\`value\` TEXT NOT NULL, \`timestamp\` TEXT NOT NULL, \`path\` TEXT, UNIQUE(\`path\`, \`timestamp\`) ON CONFLICT IGNORE);
    CREATE TABLE TV_2 (\`value\` TEXT NOT NULL, \`timestamp\` TEXT NOT NULL, \`path\` TEXT, UNIQUE(\`path\`, \`timestamp\`) ON CONFLICT IGNORE);
    INSERT INTO TV_1(rowid, value, timestamp, path) VALUES
      (1, '1', '2024-01-01T00:00:00Z', 'Vehicle.Speed'),
      (2, '2', '2024-01-01T00:00:00.5Z', 'Vehicle.Speed'),
      (3, '3', '2024-01-01T00:00:00.000Z', 'Vehicle.Speed'),
      (4, '4', '2024-01-01T01:00:00.500+01:00', 'Vehicle.Speed'),
      (5, 'x', 'garbage', 'Vehicle.Speed'),
      (6, 'y', '1591659439', 'Vehicle.Speed'),
      (7, 'n', '2024-01-01T00:00:00Z', NULL),
      (8, '8', '2024-01-01t00:00:02z', 'Vehicle.Speed'),
      (9, '9', '2024-01-01T00:00:01Z', 'Vehicle.Speed'),
      (10, '10', '2024-01-01T00:00:01.000000Z', 'Vehicle.Speed');
    INSERT INTO TV_2 VALUES ('5', '2024-01-01T00:00:00.000Z', 'Vehicle.Speed');
    INSERT INTO cesc_vehicle VALUES (1, 4, '2024-01-02T00:00:00Z'), (2, 0, NULL);
  `);
  db.close();
}

Deno.test("ovds time: an old file is migrated on open: one row per instant, watermarks kept, read API exact", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "old.db");
    writeOldFile(file);
    const migrations: TimeMigration[] = [];
    let store: OvdsStore = openSqliteStore(file, { onMigrated: (m) => migrations.push(m) });
    try {
      assert.deepEqual({ ...migrations[0], ms: 0 }, {
        ran: true,
        tables: 2,
        rewritten: 4, // rows 2, 7, 8 and 9 (rows 1 and 10 took their text in a merge)
        merged: 3, // 3 into 1, 4 into 2, 9 into 10 (the newest row keeps its rowid and takes the first value)
        junk: 2,
        ms: 0,
      });
      assert.deepEqual(tableRows(file, 1), [
        { id: 1, value: "1", ts: "2024-01-01T00:00:00.000Z", path: "Vehicle.Speed" },
        { id: 2, value: "2", ts: "2024-01-01T00:00:00.500Z", path: "Vehicle.Speed" },
        { id: 5, value: "x", ts: "garbage", path: "Vehicle.Speed" },
        { id: 6, value: "y", ts: "1591659439", path: "Vehicle.Speed" },
        { id: 7, value: "n", ts: "2024-01-01T00:00:00.000Z", path: null },
        { id: 8, value: "8", ts: "2024-01-01T00:00:02.000Z", path: "Vehicle.Speed" },
        { id: 10, value: "9", ts: "2024-01-01T00:00:01.000Z", path: "Vehicle.Speed" },
      ]);
      assert.deepEqual(tableRows(file, 2), [
        { id: 1, value: "5", ts: "2024-01-01T00:00:00.000Z", path: "Vehicle.Speed" },
      ]);
      // Watermarks by rowid keep their meaning: rows 1..4 were forwarded, the rest is not.
      assert.deepEqual((await store.vehicles()).map((v) => [v.vin, v.watermark, v.backlog]), [
        ["OLD1", 4, 5],
        ["OLD2", 0, 1],
      ]);
      assert.deepEqual((await store.unforwarded("OLD1", { limit: 10 })).map((r) => r.id), [5, 6, 7, 8, 10]);
      // The same instants again in other forms: duplicates. A new instant gets a rowid above every old one.
      const res = await store.insertBatches([{
        vin: "OLD1",
        datapoints: [
          { path: "Vehicle.Speed", value: 99, tsMs: parseTime("2024-01-01T01:00:00+01:00") },
          { path: "Vehicle.Speed", value: 99, tsMs: parseTime("2024-01-01T00:00:01.0009Z") },
          { path: "Vehicle.Speed", value: 3, tsMs: parseTime("2024-01-01T00:00:03Z") },
        ],
      }]);
      assert.deepEqual(res.inserted, [1]);
      assert.deepEqual((await store.unforwarded("OLD1", { limit: 10 })).map((r) => r.id), [5, 6, 7, 8, 10, 11]);
      await store.close();

      // Reopening does not migrate again.
      store = openSqliteStore(file, { onMigrated: (m) => migrations.push(m) });
      assert.equal(migrations[1].ran, false);
      await store.vehicles();
      const q = openSqliteQuery(file);
      try {
        const key = { vin: "OLD1", path: "Vehicle.Speed" };
        // Raw pages hold every row in text order; texts that are no time sort as text (digits before letters).
        assert.deepEqual((await allPages(q, key, { limit: 1 })).map((p) => p.ts), [
          "1591659439",
          "2024-01-01T00:00:00.000Z",
          "2024-01-01T00:00:00.500Z",
          "2024-01-01T00:00:01.000Z",
          "2024-01-01T00:00:02.000Z",
          "2024-01-01T00:00:03.000Z",
          "garbage",
        ]);
        const from = async (f: string) =>
          (await q.series(key.vin, key.path, { from: f, to: "2024-01-01T00:00:01.5Z" })).points.map((p) => p.value);
        assert.deepEqual(await from("2024-01-01T00:00:00.6Z"), ["9"]);
        assert.deepEqual(await from("2024-01-01T01:00:00.5+01:00"), ["2", "9"]);
        assert.deepEqual(await from("2024-01-01T00:00:00Z"), ["1", "2", "9"]);
        // Latest value and time span are times, never the junk text that sorts last.
        assert.deepEqual((await q.signals("OLD1")).find((s) => s.path === key.path), {
          path: key.path,
          value: "3",
          ts: "2024-01-01T00:00:03.000Z",
        });
        const v = (await q.vehicles()).find((x) => x.vin === "OLD1")!;
        assert.deepEqual([v.firstSeen, v.lastSeen], ["2024-01-01T00:00:00.000Z", "2024-01-01T00:00:03.000Z"]);
        // Downsampling counts the rows that have a time.
        const ds = await q.series(key.vin, key.path, { maxPoints: 2 });
        assert.equal(ds.downsampled, true);
        assert.equal(ds.points.reduce((n, p) => n + p.count!, 0), 5);
      } finally {
        await q.close();
      }
      // Retention never deletes a row whose timestamp is no time.
      await store.advanceWatermark("OLD1", 11);
      assert.equal(await store.applyRetention(1000, { now: new Date("2030-01-01T00:00:00Z") }), 5);
      assert.deepEqual(tableRows(file, 1).map((r) => r.id), [5, 6, 11]);
    } finally {
      await store.close();
    }
  });
});

Deno.test("ovds time: migration of random old files keeps the earliest row of each instant (property)", async () => {
  await withDir(async (dir) => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            path: fc.constantFrom("A.B", "A.C"),
            ms: fc.integer({ min: 0, max: 12 }).map((k) => BASE + k * 250), // few instants: many merges
            form: formArb,
          }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.nat(),
        async (items, wmSeed) => {
          const file = join(dir, `old${++run}.db`);
          const db = new DatabaseSync(file);
          db.exec(`CREATE TABLE "VIN_TIV" ( "vin_id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "vin" TEXT NOT NULL );
            INSERT INTO VIN_TIV(vin) VALUES ('R');
            CREATE TABLE TV_1 (\`value\` TEXT NOT NULL, \`timestamp\` TEXT NOT NULL, \`path\` TEXT, UNIQUE(\`path\`, \`timestamp\`) ON CONFLICT IGNORE)`);
          const ins = db.prepare("INSERT INTO TV_1(value, timestamp, path) VALUES (?, ?, ?)");
          // The old store: one row per distinct text, first text wins.
          const old: { id: number; ms: number; path: string; value: string }[] = [];
          items.forEach((it, i) => {
            const r = ins.run(String(i), textForm(it.ms, it.form), it.path);
            if (Number(r.changes) === 1) {
              old.push({ id: Number(r.lastInsertRowid), ms: it.ms, path: it.path, value: String(i) });
            }
          });
          const wm = old[wmSeed % old.length].id;
          db.exec(`CREATE TABLE cesc_vehicle ( vin_id INTEGER PRIMARY KEY, forwarded_rowid INTEGER NOT NULL DEFAULT 0,
            forwarded_at TEXT ); INSERT INTO cesc_vehicle VALUES (1, ${wm}, NULL)`);
          db.close();
          const newest = old[old.length - 1].id;
          const store = openSqliteStore(file, { synchronous: "normal", checkpointInWorker: false });
          try {
            const rows = tableRows(file, 1);
            // One row per (path, instant), canonical, with the value first stored for it.
            const firstOf = new Map<string, (typeof old)[number]>();
            for (const o of old) if (!firstOf.has(`${o.path} ${o.ms}`)) firstOf.set(`${o.path} ${o.ms}`, o);
            assert.equal(rows.length, firstOf.size);
            const ids = new Set(old.map((o) => o.id));
            for (const r of rows) {
              const f = firstOf.get(`${r.path} ${parseTime(r.ts)}`)!;
              assert.equal(r.ts, formatTime(f.ms));
              assert.equal(r.value, f.value);
              assert.ok(ids.has(r.id), "rowids are never made up");
              // The earliest rowid, except that the newest row keeps its rowid.
              if (r.id !== newest) assert.equal(r.id, f.id);
            }
            assert.equal(Math.max(...rows.map((r) => r.id)), newest, "the newest rowid stays");
            assert.equal((await store.vehicles())[0].watermark, wm);
          } finally {
            await store.close();
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
