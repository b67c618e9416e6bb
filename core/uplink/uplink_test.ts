import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { type Datapoint, DatapointValidator } from "../datapoint/mod.ts";
import { createLogger } from "../log/mod.ts";
import { MemoryQueue } from "../queue/mod.ts";
import { parseVissIngest } from "../viss/mod.ts";
import {
  ACK,
  Backoff,
  backoffDelay,
  DatapointBatcher,
  DropLog,
  Forwarder,
  fullJitterDelay,
  type OutboundMessage,
  type SendCallback,
  type SendOutcome,
  TokenBucket,
  type Transport,
  UplinkSink,
  vissJsonEncoder,
} from "./mod.ts";

/** A transport the test answers by hand (or `auto` answers at once). */
class ScriptedTransport implements Transport {
  readonly name = "scripted";
  alive = true;
  readonly sent: OutboundMessage[] = [];
  readonly pending: { message: OutboundMessage; done: SendCallback }[] = [];
  auto?: (message: OutboundMessage) => SendOutcome | undefined;
  #onAlive?: () => void;

  isAlive(): boolean {
    return this.alive;
  }
  onAlive(listener: () => void): void {
    this.#onAlive = listener;
  }
  send(message: OutboundMessage, done: SendCallback): void {
    this.sent.push(message);
    const outcome = this.auto?.(message);
    if (outcome) done(outcome);
    else this.pending.push({ message, done });
  }
  /** Answers the oldest pending send. */
  answer(outcome: SendOutcome = ACK): OutboundMessage {
    const p = this.pending.shift()!;
    p.done(outcome);
    return p.message;
  }
  revive(): void {
    this.alive = true;
    this.#onAlive?.();
  }
}

type FakeClock = ReturnType<ReturnType<typeof FakeTimers.withGlobal>["install"]>;

/** Runs `fn` with fake setTimeout/clearTimeout/Date; the clock is uninstalled afterwards. */
async function withClock(fn: (clock: FakeClock) => Promise<void>): Promise<void> {
  const clock = FakeTimers.withGlobal(globalThis).install({
    toFake: ["setTimeout", "clearTimeout", "Date"],
    now: 1_700_000_000_000,
  });
  try {
    await fn(clock);
  } finally {
    clock.uninstall();
  }
}

const dp = (i: number, path = "Vehicle.Speed"): Datapoint => ({ path, value: i, tsMs: 1_700_000_000_000 + i });

Deno.test("fullJitterDelay: uniform in [min/2, min·2^(attempt-1)], capped at max", () => {
  const o = { minMs: 100, maxMs: 1000 };
  assert.equal(fullJitterDelay(1, { ...o, random: () => 0 }), 50);
  assert.equal(fullJitterDelay(1, { ...o, random: () => 0.5 }), 50);
  assert.equal(fullJitterDelay(1, { ...o, random: () => 0.999 }), 99.9);
  assert.equal(fullJitterDelay(3, { ...o, random: () => 0.999 }), 399.6);
  assert.equal(fullJitterDelay(30, { ...o, random: () => 0.999 }), 999);
  assert.equal(fullJitterDelay(1e9, { ...o, random: () => 1 }), 1000);
  assert.equal(backoffDelay(0, { ...o, random: () => 0 }), 50, "equal jitter: [base/2, base]");
  const b = new Backoff({ minMs: 100, maxMs: 1000, random: () => 0.999 });
  assert.deepEqual([b.next(), b.next(), b.next(), b.attempt], [99.9, 199.8, 399.6, 3]);
  b.reset();
  assert.equal(b.next(), 99.9);
  const eq = new Backoff({ minMs: 100, maxMs: 1000, jitter: "equal", random: () => 0 });
  assert.deepEqual([eq.next(), eq.next(), eq.next()], [50, 100, 200]);
});

Deno.test("TokenBucket: refills at the rate, holds at most a burst, starts empty", () => {
  let now = 0;
  const bucket = new TokenBucket({ ratePerSec: 100, clock: () => now });
  assert.equal(bucket.available(), 0);
  assert.equal(bucket.waitMs(), 10);
  now += 20;
  assert.equal(bucket.available(), 2);
  bucket.take(2);
  now += 10_000;
  assert.equal(bucket.available(), 5, "burst = 100/20");
  bucket.reset();
  assert.equal(bucket.available(), 0);
  assert.equal(new TokenBucket({ ratePerSec: Infinity }).available(), Infinity);
  assert.throws(() => new TokenBucket({ ratePerSec: 0 }), /ratePerSec/);
});

Deno.test("Forwarder: at most maxInflight messages unanswered, sent in queue order", async () => {
  await withClock(async (clock) => {
    const queue = new MemoryQueue();
    const transport = new ScriptedTransport();
    const f = new Forwarder({ name: "t", queue, transport, maxInflight: 3 });
    const ids = queue.pushMany(Array.from({ length: 10 }, (_, i) => ({ payload: `m${i}`, weight: 5 })));
    f.start();
    await clock.tickAsync(5);
    assert.deepEqual(transport.sent.map((m) => m.id), ids.slice(0, 3));
    assert.equal(f.inflight, 3);
    await clock.tickAsync(100);
    assert.equal(transport.sent.length, 3, "nothing more while the window is full");
    transport.answer();
    await clock.tickAsync(5);
    assert.deepEqual(transport.sent.map((m) => m.id), ids.slice(0, 4));
    while (transport.pending.length > 0) {
      transport.answer();
      await clock.tickAsync(5);
    }
    assert.deepEqual(transport.sent.map((m) => m.id), ids, "each once, in order");
    assert.equal(queue.stats().depth, 0);
    const s = f.stats();
    assert.deepEqual([s.state, s.sentMessages, s.sentDatapoints, s.drained], ["idle", 10, 50, 10]);
    f.close();
  });
});

Deno.test("Forwarder: transient failures back off with full jitter, doubling to the cap; a success resets", async () => {
  await withClock(async (clock) => {
    const queue = new MemoryQueue();
    const transport = new ScriptedTransport();
    transport.auto = () => ({ kind: "retry", reason: "HTTP 503" });
    const f = new Forwarder({ name: "t", queue, transport, retryMinMs: 100, retryMaxMs: 400, random: () => 0.5 });
    queue.push("m0", { weight: 3 });
    f.start();
    await clock.tickAsync(0);
    assert.equal(transport.sent.length, 1);
    assert.equal(f.stats().state, "backoff");
    // random 0.5: half the ceiling, at least min/2: 50, 100, 200, 200 (the ceiling is capped at 400)
    for (const delay of [50, 100, 200, 200]) {
      const before: number = transport.sent.length;
      await clock.tickAsync(delay - 1);
      assert.equal(transport.sent.length, before, `not before ${delay} ms`);
      await clock.tickAsync(1);
      assert.equal(transport.sent.length, before + 1, `after ${delay} ms`);
    }
    assert.equal(f.stats().failures, 5);
    assert.equal(f.stats().lastError, "HTTP 503");
    transport.auto = () => ACK;
    await clock.tickAsync(400);
    assert.equal(queue.stats().depth, 0);
    assert.equal(f.stats().sentDatapoints, 3);
    transport.auto = () => ({ kind: "retry", reason: "again" });
    queue.push("m1");
    f.wake();
    await clock.tickAsync(1);
    const before = transport.sent.length;
    await clock.tickAsync(50);
    assert.equal(transport.sent.length, before + 1, "the backoff started over after the success");
    f.close();
  });
});

Deno.test("Forwarder: a failure in a full window waits for the others, then resends from the head; Retry-After counts", async () => {
  await withClock(async (clock) => {
    const queue = new MemoryQueue();
    const transport = new ScriptedTransport();
    const f = new Forwarder({ name: "t", queue, transport, maxInflight: 3, retryMinMs: 10, random: () => 0 });
    const ids = queue.pushMany(Array.from({ length: 5 }, (_, i) => ({ payload: `m${i}` })));
    f.start();
    await clock.tickAsync(5);
    transport.answer(); // m0 acknowledged
    await clock.tickAsync(5);
    assert.equal(transport.sent.length, 4);
    transport.answer({ kind: "retry", reason: "down", retryAfterMs: 1000 }); // m1 failed
    await clock.tickAsync(5);
    assert.equal(transport.sent.length, 4, "nothing new after a failure");
    transport.answer(); // m2 acknowledged
    transport.answer({ kind: "retry", reason: "down" }); // m3 failed
    await clock.tickAsync(990);
    assert.equal(transport.sent.length, 4, "Retry-After: 1000 ms");
    transport.auto = () => ACK;
    await clock.tickAsync(10);
    assert.deepEqual(transport.sent.slice(4).map((m) => m.id), [ids[1], ids[3], ids[4]], "unacknowledged, in order");
    assert.equal(queue.stats().depth, 0);
    f.close();
  });
});

Deno.test("Forwarder: a transport that is not alive is waited for, and resumed at once when it is", async () => {
  await withClock(async (clock) => {
    const queue = new MemoryQueue();
    const transport = new ScriptedTransport();
    transport.alive = false;
    const f = new Forwarder({ name: "t", queue, transport, retryMinMs: 60_000 });
    queue.push("a");
    f.start();
    await clock.tickAsync(10_000);
    assert.equal(transport.sent.length, 0);
    assert.equal(f.stats().state, "waiting");
    transport.revive();
    await clock.tickAsync(5);
    assert.equal(transport.sent.length, 1);
    // lost with the connection: answered retry while no longer alive, then resent on the next connection
    transport.alive = false;
    transport.answer({ kind: "retry", reason: "connection lost" });
    await clock.tickAsync(5);
    assert.equal(f.stats().state, "waiting");
    transport.auto = () => ACK;
    transport.revive();
    await clock.tickAsync(5);
    assert.equal(transport.sent.length, 2, "no 60 s backoff: the new connection is tried at once");
    assert.equal(queue.stats().depth, 0);
    f.close();
  });
});

Deno.test("Forwarder: ratePerSec bounds the sends (fake clock)", async () => {
  await withClock(async (clock) => {
    const queue = new MemoryQueue();
    const transport = new ScriptedTransport();
    transport.auto = () => ACK;
    const f = new Forwarder({
      name: "t",
      queue,
      transport,
      maxInflight: 100,
      ratePerSec: 100,
      clock: () => Date.now(),
    });
    queue.pushMany(Array.from({ length: 50 }, (_, i) => ({ payload: `m${i}` })));
    f.start();
    await clock.tickAsync(100);
    assert.ok(transport.sent.length <= 10 + 5, `≤ 100/s plus one burst in 100 ms: ${transport.sent.length}`);
    await clock.tickAsync(1000);
    assert.equal(transport.sent.length, 50);
    f.close();
  });
});

Deno.test("UplinkSink: a refusal naming 1 of 150 datapoints drops only that one; the other 149 are delivered", async () => {
  await withClock(async (clock) => {
    const queue = new MemoryQueue();
    const transport = new ScriptedTransport();
    const validator = new DatapointValidator();
    const delivered: number[] = [];
    transport.auto = (m) => {
      const body = parseVissIngest(m.body as string, validator);
      const bad = body.datapoints.findIndex((d) => d.value === "77");
      if (bad >= 0) {
        return {
          kind: "refused",
          reason: "1 refused",
          refusals: [{ index: bad, path: body.datapoints[bad].path, code: "datapoint.range", reason: "too fast" }],
        };
      }
      delivered.push(...body.datapoints.map((d) => Number(d.value)));
      return ACK;
    };
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger("vec", { sink: { write: (l) => lines.push(JSON.parse(l)) } });
    const sink = new UplinkSink({
      name: "cesc",
      queue,
      transport,
      encoder: vissJsonEncoder,
      vin: "VIN",
      batchMaxDatapoints: 150,
      logger,
    });
    sink.start();
    // two paths: the JSON groups them, so the receiver's index is not the write order
    sink.write(Array.from({ length: 150 }, (_, i) => dp(i, i % 2 ? "Vehicle.Speed" : "Vehicle.TraveledDistance")));
    await clock.tickAsync(10);
    assert.deepEqual(delivered.sort((a, b) => a - b), [...Array(150).keys()].filter((i) => i !== 77));
    const s = sink.stats();
    assert.deepEqual(
      [s.sentMessages, s.sentDatapoints, s.refusedMessages, s.refusedDatapoints, s.partlyRefused, s.queued],
      [1, 149, 1, 1, 1, 0],
    );
    assert.deepEqual(s.drops, { refused: 1 });
    assert.ok(lines.some((l) => l.msg === "datapoint refused" && l.code === "datapoint.range" && l.sink === "cesc"));
    assert.ok(lines.some((l) => /1 of 150 datapoints refused; resending the other 149/.test(String(l.msg))));
    await sink.close();
  });
});

Deno.test("UplinkSink: a refusal without a list drops the whole message, counted in datapoints; the next one flows", async () => {
  await withClock(async (clock) => {
    const queue = new MemoryQueue();
    const transport = new ScriptedTransport();
    let first = true;
    transport.auto = () => {
      if (!first) return ACK;
      first = false;
      return { kind: "refused", reason: "HTTP 413: too large" };
    };
    const sink = new UplinkSink({
      name: "cesc",
      queue,
      transport,
      encoder: vissJsonEncoder,
      vin: "V",
      batchMaxDatapoints: 4,
    });
    sink.start();
    sink.write([0, 1, 2, 3, 4, 5, 6, 7].map((i) => dp(i)));
    await clock.tickAsync(10);
    const s = sink.stats();
    assert.deepEqual([s.refusedMessages, s.refusedDatapoints, s.sentDatapoints, s.droppedDatapoints], [1, 4, 4, 4]);
    assert.equal(s.lastError, "HTTP 413: too large");
    await sink.close();
  });
});

Deno.test("UplinkSink: a full queue drops the oldest messages and logs how many datapoints, which sink, why", async () => {
  await withClock(async (clock) => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger("vec", { sink: { write: (l) => lines.push(JSON.parse(l)) } });
    const transport = new ScriptedTransport();
    transport.alive = false;
    const oneMessage = vissJsonEncoder.encode("V", Array.from({ length: 10 }, (_, i) => dp(100 + i))).length;
    const queue = new MemoryQueue({ maxBytes: oneMessage * 3 + 10 });
    const sink = new UplinkSink({
      name: "cesc",
      queue,
      transport,
      encoder: vissJsonEncoder,
      vin: "V",
      batchMaxDatapoints: 10,
      logger,
    });
    sink.start();
    for (let i = 0; i < 10; i++) sink.write(Array.from({ length: 10 }, (_, j) => dp(100 + i * 10 + j)));
    const s = sink.stats();
    assert.equal(s.queued, 3);
    assert.equal(s.queuedDatapoints, 30);
    assert.deepEqual([s.queueDropped, s.queueDroppedDatapoints, s.droppedDatapoints], [7, 70, 70]);
    assert.deepEqual(s.drops, { queue_bytes: 70 });
    const dropLines = lines.filter((l) => l.reason === "queue_bytes");
    assert.equal(dropLines.length, 1, "logged once per reason and minute");
    assert.equal(dropLines[0].msg, "cesc: dropped 10 datapoints (queue_bytes)");
    assert.deepEqual([dropLines[0].sink, dropLines[0].datapoints, dropLines[0].messages], ["cesc", 10, 1]);
    await clock.tickAsync(60_000);
    sink.write(Array.from({ length: 10 }, (_, j) => dp(j)));
    const next = lines.filter((l) => l.reason === "queue_bytes");
    assert.equal(next.length, 2);
    assert.deepEqual([next[1].datapoints, next[1].total], [70, 80], "what was dropped since the last line");
    await sink.close();
  });
});

Deno.test("UplinkSink: batches wait for a VIN (bounded, overflow counted) and leave after batchMaxMs", async () => {
  await withClock(async (clock) => {
    const queue = new MemoryQueue();
    const transport = new ScriptedTransport();
    transport.auto = () => ACK;
    const sink = new UplinkSink({
      name: "cesc",
      queue,
      transport,
      encoder: vissJsonEncoder,
      batchMaxDatapoints: 1000,
      batchMaxMs: 30,
      maxPendingWithoutVin: 5,
    });
    sink.start();
    sink.write([0, 1, 2, 3, 4, 5, 6].map((i) => dp(i)));
    await clock.tickAsync(100);
    assert.equal(transport.sent.length, 0);
    assert.equal(sink.stats().buffered, 5);
    assert.deepEqual(sink.stats().drops, { no_vin: 2 });
    sink.setVin("LATE");
    await clock.tickAsync(35); // the next look, at most batchMaxMs later
    assert.equal(transport.sent.length, 1);
    assert.equal(transport.sent[0].datapoints, 5);
    assert.match(transport.sent[0].body as string, /^\{"vin":"LATE"/);
    await sink.close();
  });
});

Deno.test("DatapointBatcher: full batches leave at once, split at maxDatapoints", () => {
  const batches: number[] = [];
  const b = new DatapointBatcher({ maxDatapoints: 4, ready: () => true, onBatch: (x) => batches.push(x.length) });
  b.add([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => dp(i)));
  assert.deepEqual(batches, [4, 4]);
  assert.equal(b.size, 2);
  b.close();
  assert.deepEqual(batches, [4, 4, 2]);
});

Deno.test("DropLog: counts by reason, one line per reason and interval", () => {
  let now = 0;
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger("vec", { sink: { write: (l) => lines.push(JSON.parse(l)) } });
  const drops = new DropLog({ sink: "mqtt", logger, now: () => now });
  drops.add("offline", 1);
  drops.add("offline", 1);
  drops.add("backpressure", 3);
  drops.add("offline", 0);
  assert.deepEqual(drops.byReason(), { offline: 2, backpressure: 3 });
  assert.equal(drops.total, 5);
  assert.deepEqual(lines.map((l) => l.msg), [
    "mqtt: dropped 1 datapoints (offline)",
    "mqtt: dropped 3 datapoints (backpressure)",
  ]);
  now = 60_000;
  drops.add("offline", 1);
  assert.equal(lines.at(-1)!.msg, "mqtt: dropped 2 datapoints (offline)");
});
