import assert from "node:assert/strict";
import { join } from "node:path";
import { GroupCommitter, openSqliteStore, type VehicleBatch } from "./mod.ts";
import { ovdsRows, until } from "../../testing/mod.ts";

const batch = (vin: string, s: number): VehicleBatch => ({
  vin,
  datapoints: [{ path: "Vehicle.Speed", value: s, tsMs: Date.UTC(2024, 0, 1, 0, 0, s) }],
});

Deno.test("group commit: the next transaction commits while the previous one waits for its fsync", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ovds_group_commit_test_" });
  const held: (() => void)[] = [];
  let holding = true;
  const store = openSqliteStore(join(dir, "ovds.db"), {
    walSync: (f) => holding ? new Promise((r) => held.push(() => f.syncData().then(r))) : f.syncData(),
  });
  const commits: number[] = [];
  const committer = new GroupCommitter(store, { onCommit: (_r, n) => commits.push(n) });
  try {
    const a = committer.submit(batch("A", 1));
    await until(() => held.length > 0, "an fsync to start");
    // Two requests arriving together while A's fsync runs: one transaction, committed now.
    const b = committer.submit(batch("B", 2));
    const c = committer.submit(batch("C", 3));
    const file = join(dir, "ovds.db");
    await until(
      () => ["A", "B", "C"].every((vin) => ovdsRows(file, vin, "Vehicle.Speed").length === 1),
      "B and C committed while A's fsync runs",
    );
    assert.deepEqual(commits, [], "nothing acknowledged before an fsync");
    held.shift()!(); // A's fsync ends; B and C share the next one
    assert.equal(await a, 1);
    await until(() => held.length > 0, "an fsync to start");
    assert.deepEqual(commits, [1]);
    holding = false;
    for (const release of held.splice(0)) release();
    assert.deepEqual(await Promise.all([b, c]), [1, 1]);
    assert.deepEqual(commits, [1, 2]);
    await committer.drain();
    assert.deepEqual(ovdsRows(file, "B", "Vehicle.Speed"), [["2024-01-01T00:00:02.000Z", "2"]]);
  } finally {
    holding = false;
    for (const release of held.splice(0)) release();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("group commit: a failed transaction rejects every submitter in it; the next one commits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ovds_group_commit_test_" });
  const store = openSqliteStore(join(dir, "ovds.db"), { synchronous: "normal" });
  const committer = new GroupCommitter(store);
  try {
    const bad: VehicleBatch = { vin: "B", datapoints: [{ path: "Vehicle.Speed", value: 1, tsMs: NaN }] };
    const results = await Promise.allSettled([committer.submit(batch("A", 1)), committer.submit(bad)]);
    assert.deepEqual(results.map((r) => r.status), ["rejected", "rejected"]);
    assert.equal((results[1] as PromiseRejectedResult).reason.code, "ovds.datapoint");
    assert.equal(await committer.submit(batch("A", 1)), 1);
    await committer.drain();
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
