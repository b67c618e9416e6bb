import assert from "node:assert/strict";
import { join } from "node:path";
import { openSqliteStore, openSqliteStoreInWorker } from "./mod.ts";
import { type Datapoint, parseTime, type VssValue } from "../datapoint/mod.ts";

/** Canonical time text of second `s` (what the store writes). */
const T = (s: number) => `2022-07-27T12:00:${String(s).padStart(2, "0")}.000Z`;
/** A typed datapoint at the RFC 3339 time `ts`. */
const dp = (path: string, value: VssValue, ts: string): Datapoint => ({ path, value, tsMs: parseTime(ts) });

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ovds_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function sqlite3(db: string, sql: string): Promise<string> {
  const out = await new Deno.Command("sqlite3", { args: [db, sql], stdout: "piped", stderr: "piped" }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("sqlite store: OVDS schema readable by the sqlite3 CLI", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "ovds.db");
    const store = openSqliteStore(file);
    const res = await store.insertBatches([
      {
        vin: "ULF001",
        datapoints: [
          dp("Vehicle.CurrentLocation.Latitude", 56.020362896401075, T(0)),
          dp("Vehicle.Speed", 55, T(1)),
          dp("Vehicle.Speed", 55, "2022-07-27T14:00:01+02:00"), // the same instant (path, ts): ignored
          dp("Vehicle.Cabin.IsWindowChildLockEngaged", true, "2022-07-27T12:00:01.5Z"),
          dp("Vehicle.Powertrain.Range", 9007199254740993n, T(2)),
          dp("Vehicle.Cabin.SeatRowCount", [1, 2], T(2)),
        ],
      },
      { vin: "VIN2", datapoints: [dp("Vehicle.Speed", 1, T(0))] },
    ]);
    assert.deepEqual(res.inserted, [5, 1]);
    await store.close();
    const schema = await sqlite3(file, ".schema");
    assert.match(
      schema,
      /CREATE TABLE (IF NOT EXISTS )?"VIN_TIV" \( "vin_id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "vin" TEXT NOT NULL \)/,
    );
    assert.match(schema, /UNIQUE\("vin_id", "path"\) ON CONFLICT IGNORE/);
    assert.match(
      schema,
      /CREATE TABLE TV_1 \(`value` TEXT NOT NULL, `timestamp` TEXT NOT NULL, `path` TEXT, UNIQUE\(`path`, `timestamp`\) ON CONFLICT IGNORE\)/,
    );
    assert.equal(await sqlite3(file, "SELECT vin_id, vin FROM VIN_TIV ORDER BY vin_id"), "1|ULF001\n2|VIN2");
    assert.equal(
      await sqlite3(file, "SELECT value, timestamp, path FROM TV_1 ORDER BY rowid"),
      [
        `56.020362896401075|${T(0)}|Vehicle.CurrentLocation.Latitude`,
        `55|${T(1)}|Vehicle.Speed`,
        `true|2022-07-27T12:00:01.500Z|Vehicle.Cabin.IsWindowChildLockEngaged`,
        `9007199254740993|${T(2)}|Vehicle.Powertrain.Range`,
        `["1","2"]|${T(2)}|Vehicle.Cabin.SeatRowCount`,
      ].join("\n"),
    );
    assert.equal(await sqlite3(file, "PRAGMA journal_mode"), "wal");
    assert.equal(await sqlite3(file, "PRAGMA page_size"), "2048");
  });
});

Deno.test("sqlite store: an existing file keeps its page size", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "ovds.db");
    await sqlite3(file, "PRAGMA page_size=4096; CREATE TABLE other_tool(x); INSERT INTO other_tool VALUES (1)");
    const store = openSqliteStore(file);
    try {
      assert.deepEqual(
        (await store.insertBatches([{ vin: "V1", datapoints: [dp("Vehicle.Speed", "1", T(0))] }]))
          .inserted,
        [1],
      );
    } finally {
      await store.close();
    }
    assert.equal(await sqlite3(file, "PRAGMA page_size"), "4096");
    assert.equal(await sqlite3(file, "SELECT count(*) FROM TV_1"), "1");
  });
});

Deno.test("sqlite store: watermark by rowid survives reopen; same-ts rows are not skipped", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "ovds.db");
    let store = openSqliteStore(file);
    await store.insertBatches([{ vin: "V", datapoints: [dp("A.B", "1", T(5))] }]);
    const first = await store.unforwarded("V", { limit: 10 });
    assert.equal(first.length, 1);
    await store.advanceWatermark("V", first[0].id);
    // Arrives later with the same and an older timestamp: the original CESC never sent these.
    await store.insertBatches([{
      vin: "V",
      datapoints: [dp("A.C", "2", T(5)), dp("A.D", "3", T(1))],
    }]);
    await store.close();
    store = openSqliteStore(file);
    const rest = await store.unforwarded("V", { limit: 10 });
    assert.deepEqual(rest.map((r) => r.path), ["A.C", "A.D"]);
    await store.advanceWatermark("V", rest[1].id);
    await store.advanceWatermark("V", rest[0].id); // never backwards
    assert.deepEqual(await store.unforwarded("V", { limit: 10 }), []);
    const [v] = await store.vehicles();
    assert.equal(v.backlog, 0);
    assert.equal(v.watermark, rest[1].id);
    assert.deepEqual(await store.unforwarded("nobody", { limit: 1 }), []);
    await store.close();
  });
});

Deno.test("sqlite store: dead letters, retention deletes only forwarded rows, ping", async () => {
  await withDir(async (dir) => {
    const store = openSqliteStore(join(dir, "ovds.db"), { synchronous: "normal" });
    await store.insertBatches([{
      vin: "V",
      datapoints: [1, 2, 3, 4].map((s) => dp("A.B", s, `2020-01-0${s}T00:00:00Z`)),
    }]);
    const rows = await store.unforwarded("V", { limit: 10 });
    await store.deadLetter("V", [rows[0]], { reason: "http 400: bad record" });
    const dl = await store.deadLetters();
    assert.equal(dl.length, 1);
    assert.equal(dl[0].row.value, "1");
    assert.equal(dl[0].reason, "http 400: bad record");
    await store.advanceWatermark("V", rows[1].id);
    const deleted = await store.applyRetention(24 * 3600_000, { now: new Date("2021-01-01T00:00:00Z") });
    assert.equal(deleted, 2);
    assert.deepEqual((await store.unforwarded("V", { limit: 10 })).map((r) => r.value), ["3", "4"]);
    assert.equal(await store.ping(), true);
    await store.close();
    assert.equal(await store.ping(), false);
    await assert.rejects(store.insertBatches([]), /closed/);
  });
});

Deno.test("sqlite store: opens an OVDS file written by another tool and forwards all of it", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "foreign.db");
    await sqlite3(
      file,
      `CREATE TABLE "VIN_TIV" ( "vin_id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "vin" TEXT NOT NULL );
       INSERT INTO VIN_TIV(vin) VALUES('ULF001');
       CREATE TABLE TV_1 (\`value\` TEXT NOT NULL, \`timestamp\` TEXT NOT NULL, \`path\` TEXT, UNIQUE(\`path\`, \`timestamp\`) ON CONFLICT IGNORE);
       INSERT INTO TV_1 VALUES('55.0','2020-06-08T23:37:19Z','Vehicle.Speed');`,
    );
    const store = openSqliteStore(file);
    try {
      const [v] = await store.vehicles();
      assert.deepEqual(v, { vin: "ULF001", vinId: 1, watermark: 0, backlog: 1 });
      // Its timestamp was migrated to the canonical text on open.
      assert.deepEqual((await store.unforwarded("ULF001", { limit: 5 })).map((r) => ({ ...r })), [
        { id: 1, path: "Vehicle.Speed", value: "55.0", ts: "2020-06-08T23:37:19.000Z" },
      ]);
    } finally {
      await store.close();
    }
  });
});

Deno.test("sqlite store: a datapoint whose time is no RFC 3339 time fails the call, nothing is stored", async () => {
  await withDir(async (dir) => {
    const store = openSqliteStore(join(dir, "ovds.db"), { synchronous: "normal" });
    try {
      for (const tsMs of [NaN, 1.5, 253_402_300_800_000, -62_167_219_200_001]) {
        await assert.rejects(
          store.insertBatches([{ vin: "V", datapoints: [dp("A.B", 1, T(1)), { path: "A.B", value: 2, tsMs }] }]),
          (e: unknown) => (e as { code: string }).code === "ovds.datapoint",
        );
      }
      assert.deepEqual(await store.unforwarded("V", { limit: 10 }), []);
      // The store stays usable.
      assert.deepEqual((await store.insertBatches([{ vin: "V", datapoints: [dp("A.B", 1, T(1))] }])).inserted, [1]);
    } finally {
      await store.close();
    }
  });
});

Deno.test("worker store: same behaviour through a Worker, errors keep their code", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "ovds.db");
    const migrations: unknown[] = [];
    const store = await openSqliteStoreInWorker(file, { onMigrated: (m) => migrations.push(m.ran) });
    assert.deepEqual(migrations, [true]); // a new file is marked canonical at once
    const res = await store.insertBatches([{
      vin: "W",
      datapoints: [dp("A.B", 1n, T(1)), dp("A.B", 1, T(1)), dp("A.C", 2n ** 64n - 1n, T(1))],
    }]);
    assert.deepEqual(res.inserted, [2]);
    assert.equal(res.perVin.get("W"), 2);
    const rows = await store.unforwarded("W", { limit: 10 });
    await store.advanceWatermark("W", rows[rows.length - 1].id);
    assert.deepEqual((await store.vehicles()).map((v) => v.backlog), [0]);
    await assert.rejects(
      store.advanceWatermark("nobody", 1),
      (e: unknown) => (e as { code: string }).code === "ovds.vin",
    );
    assert.equal(await store.ping(), true);
    await store.close();
    assert.equal(await store.ping(), false);
    assert.equal(await sqlite3(file, "SELECT vin FROM VIN_TIV"), "W");
    assert.equal(await sqlite3(file, "SELECT value FROM TV_1 ORDER BY rowid"), "1\n18446744073709551615");
  });
});

Deno.test("sqlite store: background WAL checkpoints keep the data readable", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "ovds.db");
    const store = openSqliteStore(file, { checkpointInWorker: true, checkpointIntervalMs: 10 });
    for (let i = 0; i < 20; i++) {
      await store.insertBatches([{ vin: "C", datapoints: [dp("A.B", String(i), T(i))] }]);
    }
    assert.equal((await store.unforwarded("C", { limit: 100 })).length, 20);
    await store.close();
    assert.equal(await sqlite3(file, "SELECT count(*) FROM TV_1"), "20");
  });
});

Deno.test("sqlite store: the forwarder's in-memory tail matches the table under any mix of writes, reads and acks", async () => {
  const fc = (await import("fast-check")).default;
  // Commands: store a batch (some rows duplicates), read unforwarded (various limits), acknowledge a
  // prefix of what was read, reopen the store. A store whose tail cache holds at most 7 rows (so it is
  // dropped and rebuilt often) must answer exactly as one without the cache.
  const cmd = fc.oneof(
    fc.record({
      op: fc.constant("insert" as const),
      vin: fc.constantFrom("A", "B"),
      ts: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 12 }),
    }),
    fc.record({
      op: fc.constant("read" as const),
      vin: fc.constantFrom("A", "B"),
      limit: fc.integer({ min: 1, max: 9 }),
    }),
    fc.record({
      op: fc.constant("ack" as const),
      vin: fc.constantFrom("A", "B"),
      take: fc.integer({ min: 0, max: 9 }),
    }),
    fc.constant({ op: "reopen" as const }),
  );
  await withDir(async (dir) => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { maxLength: 40 }), async (cmds) => {
        run++;
        const files = [join(dir, `cached${run}.db`), join(dir, `plain${run}.db`)];
        const open = () => [
          openSqliteStore(files[0], { tailCacheRows: 7, checkpointInWorker: false, synchronous: "normal" }),
          openSqliteStore(files[1], { tailCacheRows: 0, checkpointInWorker: false, synchronous: "normal" }),
        ];
        let stores = open();
        const lastRead = new Map<string, number[]>();
        try {
          for (const c of cmds) {
            if (c.op === "insert") {
              const dps = c.ts.map((s) => (dp("Vehicle.Speed", String(s), T(s))));
              const [a, b] = await Promise.all(stores.map((s) => s.insertBatches([{ vin: c.vin, datapoints: dps }])));
              assert.deepEqual(a.inserted, b.inserted);
            } else if (c.op === "read") {
              const [a, b] = await Promise.all(stores.map((s) => s.unforwarded(c.vin, { limit: c.limit })));
              assert.deepEqual(a.map((r) => ({ ...r })), b.map((r) => ({ ...r })));
              lastRead.set(c.vin, a.map((r) => r.id));
            } else if (c.op === "ack") {
              const ids = lastRead.get(c.vin) ?? [];
              if (c.take > 0 && ids.length > 0) {
                const id = ids[Math.min(c.take, ids.length) - 1];
                await Promise.all(stores.map((s) => s.advanceWatermark(c.vin, id)));
              }
            } else {
              await Promise.all(stores.map((s) => s.close()));
              stores = open();
            }
          }
          const [va, vb] = await Promise.all(stores.map((s) => s.vehicles()));
          assert.deepEqual(va, vb);
        } finally {
          await Promise.all(stores.map((s) => s.close()));
        }
      }),
      { numRuns: 60 },
    );
  });
});
