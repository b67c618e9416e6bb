import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { ovdsRows, until } from "../../testing/mod.ts";
import { join } from "node:path";
import { openSqliteStore } from "./mod.ts";
import type { VehicleBatch } from "./store.ts";

/** An fsync stand-in the test releases by hand; the real fsync still runs, after the release. */
function heldSync() {
  const held: (() => void)[] = [];
  let failNext: Error | undefined;
  let holding = true;
  return {
    calls: 0,
    held,
    failNext(e: Error) {
      failNext = e;
    },
    /** Releases what is held and stops holding (so close() can flush). */
    releaseAll() {
      holding = false;
      for (const release of held.splice(0)) release();
    },
    sync(this: { calls: number }, file: Deno.FsFile): Promise<void> {
      this.calls++;
      if (failNext) return Promise.reject(failNext);
      if (!holding) return file.syncData();
      return new Promise<void>((resolve, reject) => held.push(() => file.syncData().then(resolve, reject)));
    },
  };
}

const batch = (vin: string, s: number): VehicleBatch => ({
  vin,
  datapoints: [{ path: "Vehicle.Speed", value: s, tsMs: Date.UTC(2024, 0, 1, 0, 0, s) }],
});

/** Rows of vehicles VIN_A..VIN_C as another connection (the sqlite3 CLI, a reader) sees them. */
function rowsSeenByAnotherConnection(file: string): number {
  return ["VIN_A", "VIN_B", "VIN_C"].reduce((n, vin) => n + ovdsRows(file, vin, "Vehicle.Speed").length, 0);
}

const settled = (p: Promise<unknown>) => {
  const s = { done: false };
  p.then(() => s.done = true, () => s.done = true);
  return s;
};
const ticks = () => new Promise((r) => setTimeout(r, 20));

Deno.test("wal sync: a write is acknowledged only after the WAL fsync that follows its commit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wal_sync_test_" });
  const file = join(dir, "ovds.db");
  const fs = heldSync();
  const store = openSqliteStore(file, { walSync: fs.sync.bind(fs) });
  try {
    const a = store.insertBatches([batch("VIN_A", 1)]);
    const sa = settled(a);
    await ticks();
    assert.equal(fs.calls, 1);
    assert.equal(sa.done, false, "answered before the fsync finished");
    assert.equal(rowsSeenByAnotherConnection(file), 1, "committed (visible) while the fsync runs");

    // Commits made while that fsync runs are not covered by it: they share the next one.
    const b = store.insertBatches([batch("VIN_B", 2)]);
    const c = store.insertBatches([batch("VIN_C", 3)]);
    const sb = settled(b), sc = settled(c);
    await ticks();
    assert.equal(rowsSeenByAnotherConnection(file), 3);
    fs.held.shift()!();
    assert.deepEqual((await a).inserted, [1]);
    await ticks();
    assert.equal(fs.calls, 2, "one fsync for both later commits");
    assert.equal(sb.done || sc.done, false);
    fs.held.shift()!();
    assert.deepEqual([(await b).inserted, (await c).inserted], [[1], [1]]);
  } finally {
    fs.releaseAll();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("wal sync: a failed fsync fails its writes, later writes and the health check (no silent loss)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wal_sync_test_" });
  const fs = heldSync();
  const store = openSqliteStore(join(dir, "ovds.db"), { walSync: fs.sync.bind(fs) });
  try {
    fs.failNext(new Error("Input/output error (os error 5)"));
    await assert.rejects(store.insertBatches([batch("VIN_A", 1)]), (e: Error & { code?: string }) => {
      assert.equal(e.code, "ovds.fsync");
      assert.match(e.message, /write-ahead log .*ovds\.db-wal.* failed: Input\/output error.*restart the CESC/);
      return true;
    });
    assert.equal(await store.ping(), false);
    // A later fsync could "succeed" after the kernel dropped the pages: the store stays failed.
    await assert.rejects(store.insertBatches([batch("VIN_B", 2)]), { code: "ovds.fsync" });
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("wal sync: --sync normal and :memory: answer after the commit, with no fsync", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wal_sync_test_" });
  const fs = heldSync();
  const normal = openSqliteStore(join(dir, "ovds.db"), { synchronous: "normal", walSync: fs.sync.bind(fs) });
  const memory = openSqliteStore(":memory:", { walSync: fs.sync.bind(fs) });
  try {
    assert.deepEqual((await normal.insertBatches([batch("VIN_A", 1)])).inserted, [1]);
    assert.deepEqual((await memory.insertBatches([batch("VIN_A", 1)])).inserted, [1]);
    assert.equal(fs.calls, 0);
  } finally {
    await normal.close();
    await memory.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite store: a moved watermark rides on the next commit, or is written within 50 ms, and by close()", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wal_sync_test_" });
  const file = join(dir, "ovds.db");
  const seen = () => {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      return Number(db.prepare("SELECT forwarded_rowid AS w FROM cesc_vehicle").get()!.w);
    } finally {
      db.close();
    }
  };
  let store = openSqliteStore(file);
  try {
    await store.insertBatches([batch("VIN_A", 1), batch("VIN_A", 2), batch("VIN_A", 3)]);
    const rows = await store.unforwarded("VIN_A", { limit: 10 });
    await store.advanceWatermark("VIN_A", rows[0].id);
    // The writer uses its in-memory watermark at once.
    assert.deepEqual((await store.unforwarded("VIN_A", { limit: 10 })).map((r) => r.id), [rows[1].id, rows[2].id]);
    await store.insertBatches([batch("VIN_A", 4)]);
    assert.equal(seen(), rows[0].id, "written with the ingest commit");

    await store.advanceWatermark("VIN_A", rows[1].id);
    await until(() => seen() === rows[1].id, "the watermark written without ingest traffic");

    await store.advanceWatermark("VIN_A", rows[2].id);
    await store.close();
    assert.equal(seen(), rows[2].id, "close() writes what is still in memory");
    store = openSqliteStore(file);
    assert.deepEqual((await store.unforwarded("VIN_A", { limit: 10 })).map((r) => r.value), ["4"]);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
