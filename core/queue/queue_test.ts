import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { PipelineError } from "../errors/mod.ts";
import { DiskQueue, MemoryQueue, type MessageQueue, type QueueDrop, type QueueOptions, utf8Length } from "./mod.ts";

type Factory = (opts: QueueOptions) => { q: MessageQueue; cleanup: () => void };

const disk: Factory = (opts) => {
  const dir = Deno.makeTempDirSync({ prefix: "queue_test_" });
  let q: DiskQueue;
  try {
    q = DiskQueue.open(`${dir}/q.db`, opts);
  } catch (e) {
    Deno.removeSync(dir, { recursive: true });
    throw e;
  }
  return {
    q,
    cleanup: () => {
      q.close();
      Deno.removeSync(dir, { recursive: true });
    },
  };
};
const memory: Factory = (opts) => {
  const q = new MemoryQueue(opts);
  return { q, cleanup: () => q.close() };
};

for (const [kind, make] of [["DiskQueue", disk], ["MemoryQueue", memory]] as const) {
  Deno.test(`${kind}: push/peek/ack keeps FIFO order, types, key and meta`, () => {
    const { q, cleanup } = make({});
    try {
      const a = q.push("héllo", { key: "k1", meta: { qos: 1 } });
      const b = q.push(new Uint8Array([1, 2, 3]));
      const [c, d] = q.pushMany([{ payload: "x" }, { payload: new Uint8Array(10), key: "k4" }]);
      assert.ok(a < b && b < c && c < d);
      const items = q.peek(10);
      assert.deepEqual(items.map((i) => i.id), [a, b, c, d]);
      assert.equal(items[0].payload, "héllo");
      assert.equal(items[0].key, "k1");
      assert.deepEqual(items[0].meta, { qos: 1 });
      assert.deepEqual(items[1].payload, new Uint8Array([1, 2, 3]));
      assert.equal(items[1].key, undefined);
      assert.equal(items[1].meta, undefined);
      assert.equal(q.stats().depth, 4);
      assert.equal(q.stats().bytes, 6 + 3 + 1 + 10);
      assert.deepEqual(q.peek(2).map((i) => i.id), [a, b]);
      assert.deepEqual(q.peek(2, { afterId: a }).map((i) => i.id), [b, c]);
      assert.deepEqual(q.peek(10, { afterId: d }), []);
      assert.deepEqual(q.peek(10, { afterId: 0 }).map((i) => i.id), [a, b, c, d]);
      assert.equal(q.ack([b, 9999]), 1);
      assert.deepEqual(q.peek(10).map((i) => i.id), [a, c, d]);
      assert.equal(q.ack(c), 2);
      assert.deepEqual(q.peek(10).map((i) => i.id), [d]);
      assert.equal(q.stats().bytes, 10);
      assert.equal(q.ack(d), 1);
      assert.deepEqual(q.stats(), { depth: 0, bytes: 0, weight: 0, dropped: 0, droppedWeight: 0, oldestAgeMs: 0 });
    } finally {
      cleanup();
    }
  });

  Deno.test(`${kind}: drops oldest over maxBytes and counts them`, () => {
    const { q, cleanup } = make({ maxBytes: 100 });
    try {
      for (let i = 0; i < 25; i++) q.push(new Uint8Array(10).fill(i));
      const s = q.stats();
      assert.equal(s.depth, 10);
      assert.equal(s.bytes, 100);
      assert.equal(s.dropped, 15);
      const first = q.peek(1)[0].payload as Uint8Array;
      assert.equal(first[0], 15);
      q.pushMany(Array.from({ length: 3 }, () => ({ payload: new Uint8Array(40) })));
      // 100 + 120 bytes: all ten 10-byte items and the first 40-byte item must go
      assert.equal(q.stats().bytes, 80);
      assert.equal(q.stats().depth, 2);
      assert.equal(q.stats().dropped, 15 + 11);
      assert.throws(
        () => q.push(new Uint8Array(101)),
        (e) => e instanceof PipelineError && e.code === "queue.too_large",
      );
      assert.equal(q.stats().depth, 2, "a refused payload changes nothing");
    } finally {
      cleanup();
    }
  });

  Deno.test(`${kind}: drops items older than maxAgeMs`, () => {
    let now = 1_000_000;
    const { q, cleanup } = make({ maxAgeMs: 1000, now: () => now });
    try {
      q.push("a");
      now += 600;
      q.push("b");
      assert.equal(q.stats().oldestAgeMs, 600);
      now += 600; // a is 1200 ms old, b 600
      assert.deepEqual(q.peek(10).map((i) => i.payload), ["b"]);
      assert.equal(q.stats().dropped, 1);
      now += 2000;
      assert.deepEqual(q.stats(), { depth: 0, bytes: 0, weight: 0, dropped: 2, droppedWeight: 2, oldestAgeMs: 0 });
    } finally {
      cleanup();
    }
  });

  Deno.test(`${kind}: weights are counted waiting and dropped, and onDrop tells reason, items, weight and bytes`, () => {
    let now = 1_000_000;
    const { q, cleanup } = make({ maxBytes: 100, maxAgeMs: 1000, now: () => now });
    const drops: QueueDrop[] = [];
    try {
      const off = q.onDrop((d) => drops.push(d));
      for (let i = 0; i < 5; i++) q.push(new Uint8Array(20), { weight: 150 });
      assert.deepEqual([q.stats().weight, q.stats().droppedWeight], [750, 0]);
      assert.equal(q.peek(1)[0].weight, 150);
      q.push(new Uint8Array(30), { weight: 7 }); // 130 bytes: the two oldest go
      assert.deepEqual(drops, [{ queue: "default", reason: "bytes", items: 2, weight: 300, bytes: 40 }]);
      assert.deepEqual([q.stats().weight, q.stats().droppedWeight, q.stats().dropped], [457, 300, 2]);
      now += 2000;
      assert.equal(q.stats().depth, 0);
      assert.deepEqual(drops[1], { queue: "default", reason: "age", items: 4, weight: 457, bytes: 90 });
      assert.equal(q.stats().droppedWeight, 757);
      off();
      q.push("x");
      now += 2000;
      q.stats();
      assert.equal(drops.length, 2, "a removed listener hears nothing");
      assert.equal(q.push("y").constructor, Number);
      assert.equal(q.peek(1)[0].weight, 1, "default weight 1");
      assert.throws(() => q.push("z", { weight: 0 }), (e) => e instanceof PipelineError && e.code === "queue.weight");
      assert.throws(() => q.pushMany([{ payload: "z", weight: 1.5 }]), (e) => e instanceof PipelineError);
    } finally {
      cleanup();
    }
  });

  Deno.test(`${kind}: replace rewrites a waiting item in place (same id, same position)`, () => {
    const { q, cleanup } = make({});
    try {
      const a = q.push("aaaa", { weight: 4, meta: { contentType: "x" } });
      const b = q.push("bbbbbb", { weight: 6 });
      assert.equal(q.replace(a, "aa", { weight: 2 }), true);
      const [first, second] = q.peek(10);
      assert.deepEqual([first.id, first.payload, first.weight, first.meta], [a, "aa", 2, { contentType: "x" }]);
      assert.equal(second.id, b);
      assert.deepEqual([q.stats().bytes, q.stats().weight], [8, 8]);
      assert.equal(q.replace(b, new Uint8Array(3), { meta: { k: 1 } }), true);
      assert.deepEqual(q.peek(10)[1].meta, { k: 1 });
      assert.equal(q.peek(10)[1].weight, 6);
      q.ack([a]);
      assert.equal(q.replace(a, "gone"), false);
      assert.equal(q.replace(9999, "gone"), false);
      assert.deepEqual([q.stats().bytes, q.stats().weight], [3, 6]);
    } finally {
      cleanup();
    }
  });

  Deno.test(`${kind}: rejects bad options and use after close`, () => {
    assert.throws(() => make({ maxBytes: 0 }), (e) => e instanceof PipelineError && e.code === "queue.options");
    const { q, cleanup } = make({});
    cleanup();
    assert.throws(() => q.push("x"), (e) => e instanceof PipelineError && e.code === "queue.closed");
  });
}

Deno.test("DiskQueue: survives a restart with order, counters and ids kept", () => {
  const dir = Deno.makeTempDirSync({ prefix: "queue_test_" });
  try {
    const path = `${dir}/offline.db`;
    let q = DiskQueue.open(path, { maxBytes: 50, name: "mqtt" });
    for (let i = 0; i < 8; i++) q.push(`msg-${i}-xxx`, { meta: { i } }); // 9 bytes each, 5 fit
    const before = q.peek(100);
    const statsBefore = q.stats();
    q.close();

    q = DiskQueue.open(path, { maxBytes: 50, name: "mqtt" });
    assert.deepEqual(q.peek(100), before);
    assert.equal(q.stats().depth, statsBefore.depth);
    assert.equal(q.stats().bytes, statsBefore.bytes);
    assert.equal(q.stats().dropped, 3);
    const next = q.push("after");
    assert.ok(next > before[before.length - 1].id, "ids are not reused");
    q.ack(before.map((i) => i.id));
    q.close();

    // other named queues in the same file are independent
    const other = DiskQueue.open(path, { name: "other" });
    assert.equal(other.stats().depth, 0);
    other.close();
    q = DiskQueue.open(path, { name: "mqtt" });
    assert.deepEqual(q.peek(10).map((i) => i.payload), ["after"]);
    q.close();

    const db = new DatabaseSync(path);
    const mode = db.prepare("PRAGMA journal_mode").get() as { journal_mode: string };
    db.close();
    assert.equal(mode.journal_mode, "wal");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("DiskQueue: a file written before weights existed opens with weights from meta.datapoints", () => {
  const dir = Deno.makeTempDirSync({ prefix: "queue_test_" });
  try {
    const path = `${dir}/old.db`;
    const db = new DatabaseSync(path);
    db.exec(`
      CREATE TABLE queue_items (id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, enqueued_at INTEGER NOT NULL,
        size INTEGER NOT NULL, key TEXT, meta TEXT, payload NOT NULL);
      CREATE TABLE queue_state (queue TEXT PRIMARY KEY, dropped INTEGER NOT NULL);
      INSERT INTO queue_items(queue, enqueued_at, size, key, meta, payload) VALUES
        ('cesc', 1, 3, NULL, '{"datapoints":150,"contentType":"application/json"}', 'abc'),
        ('cesc', 2, 3, NULL, '{"qos":1}', 'def'),
        ('cesc', 3, 3, NULL, NULL, 'ghi');
      INSERT INTO queue_state VALUES ('cesc', 4);
    `);
    db.close();
    const q = DiskQueue.open(path, { name: "cesc" });
    assert.deepEqual(q.peek(10).map((i) => i.weight), [150, 1, 1]);
    const s = q.stats();
    assert.deepEqual([s.depth, s.bytes, s.weight, s.dropped, s.droppedWeight], [3, 9, 152, 4, 0]);
    q.close();
    DiskQueue.open(path, { name: "cesc" }).close(); // a second open migrates nothing
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("DiskQueue: a file that is not a database gives queue.open", () => {
  const dir = Deno.makeTempDirSync({ prefix: "queue_test_" });
  try {
    Deno.writeTextFileSync(`${dir}/junk.db`, "this is not sqlite ".repeat(100));
    assert.throws(() => DiskQueue.open(`${dir}/junk.db`), (e) => e instanceof PipelineError && e.code === "queue.open");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("utf8Length matches TextEncoder", () => {
  const enc = new TextEncoder();
  for (const s of ["", "abc", "héllo", "€", "😀x", "\ud800", "a\udc00b"]) {
    assert.equal(utf8Length(s), enc.encode(s).length, s);
  }
});
