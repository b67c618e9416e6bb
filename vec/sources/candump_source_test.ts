import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { FrameBatch } from "../../core/can/batch.ts";
import { ParseError } from "../../core/errors/mod.ts";
import { CandumpSource, type FrameSource } from "./mod.ts";

const LOG = [
  "(1700000000.000000) vcan0 123#DEADBEEF",
  "(1700000000.500000) vcan0 18DAF110#02010C",
  "",
  "(1700000001.000000) can1 456##3" + "00112233445566778899AABB",
  "(1700000002.000000) vcan0 7DF#R8",
].join("\n");

Deno.test("CandumpSource speed 0 replays every frame at once, then -1", async () => {
  const src: FrameSource = new CandumpSource(LOG, { speed: 0 });
  const batch = new FrameBatch(16);
  assert.equal(await src.read(batch), 4);
  assert.equal(await src.read(batch), -1);
  const f0 = batch.get(0);
  assert.equal(f0.id, 0x123);
  assert.deepEqual([...f0.data], [0xde, 0xad, 0xbe, 0xef]);
  assert.equal(f0.timestamp, 1700000000);
  const f1 = batch.get(1);
  assert.equal(f1.extended, true);
  assert.equal(f1.id, 0x18DAF110);
  const f2 = batch.get(2);
  assert.equal(f2.iface, "can1");
  assert.equal(f2.fd, true);
  assert.equal(f2.brs, true);
  assert.equal(f2.esi, true);
  assert.equal(f2.data.length, 12);
  const f3 = batch.get(3);
  assert.equal(f3.rtr, true);
  assert.equal(f3.dlc, 8);
  src.close();
});

Deno.test("CandumpSource fills only the batch's room and continues where it stopped", async () => {
  const src = new CandumpSource(LOG, { speed: 0 });
  const batch = new FrameBatch(3);
  assert.equal(await src.read(batch), 3);
  batch.clear();
  assert.equal(await src.read(batch), 1);
  assert.equal(batch.get(0).id, 0x7DF);
  assert.equal(await src.read(batch), -1);
  assert.equal(src.frames, 4);
});

async function releaseTimes(speed: number): Promise<number[]> {
  const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout", "Date"], now: 1_000_000 });
  try {
    const src = new CandumpSource(LOG, { speed, maxWaitMs: 50 });
    const batch = new FrameBatch(16);
    const times: number[] = [];
    for (;;) {
      let n: number | undefined;
      src.read(batch).then((x) => n = x);
      await clock.tickAsync(0);
      while (n === undefined) await clock.tickAsync(10);
      if (n < 0) break;
      for (let i = 0; i < n; i++) times.push(clock.now - 1_000_000);
    }
    src.close();
    return times;
  } finally {
    clock.uninstall();
  }
}

Deno.test("CandumpSource paces frames in real time from the log timestamps", async () => {
  const t = await releaseTimes(1);
  assert.equal(t.length, 4);
  assert.equal(t[0], 0);
  assert.ok(t[1] >= 500 && t[1] < 560, `second frame at ${t[1]} ms`);
  assert.ok(t[2] >= 1000 && t[2] < 1060, `third frame at ${t[2]} ms`);
  assert.ok(t[3] >= 2000 && t[3] < 2060, `fourth frame at ${t[3]} ms`);
});

Deno.test("CandumpSource speed 4 replays four times faster", async () => {
  const t = await releaseTimes(4);
  assert.ok(t[1] >= 125 && t[1] < 185, `second frame at ${t[1]} ms`);
  assert.ok(t[3] >= 500 && t[3] < 560, `fourth frame at ${t[3]} ms`);
});

Deno.test("CandumpSource reports syntax errors with line and column", async () => {
  const src = new CandumpSource("(1.0) vcan0 123#01\n(2.0) vcan0 12G#01\n", { speed: 0, source: "bad.log" });
  await assert.rejects(() => src.read(new FrameBatch(4)), (e: unknown) => {
    assert.ok(e instanceof ParseError);
    assert.equal(e.code, "candump.syntax");
    assert.equal(e.line, 2);
    assert.match(e.message, /^bad\.log:2:/);
    return true;
  });
  assert.throws(() => new CandumpSource("", { speed: -1 }), { code: "candump.speed" });
});

Deno.test("CandumpSource.open reads a file and names a missing one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.log`, LOG);
    const src = await CandumpSource.open(`${dir}/a.log`, { speed: 0 });
    assert.equal(await src.read(new FrameBatch(8)), 4);
    src.close();
    await assert.rejects(() => CandumpSource.open(`${dir}/missing.log`), { code: "candump.read" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CandumpSource.open streams a log larger than its chunk and staging buffers", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lines = 20_000; // ~900 KB: several 256 KiB chunks, many 1024-record staging refills
    const text = Array.from({ length: lines }, (_, i) => {
      const iface = i % 3 === 0 ? "can1" : "can0";
      const id = (i % 0x7ff).toString(16).padStart(3, "0");
      return `(${(1700000000 + i / 1000).toFixed(6)}) ${iface} ${id}#${(i & 0xff).toString(16).padStart(2, "0")}0102`;
    }).join("\n") + "\n";
    await Deno.writeTextFile(`${dir}/big.log`, text);
    const src = await CandumpSource.open(`${dir}/big.log`, { speed: 0 });
    const batch = new FrameBatch(700);
    batch.ifaceIndex("vcan9"); // the caller's interface table differs from the source's
    let total = 0;
    let n: number;
    let ok = true;
    while ((n = await src.read(batch)) !== -1) {
      for (let i = 0; i < batch.count; i++) {
        const f = batch.get(i);
        const k = total + i;
        if (f.id !== k % 0x7ff || f.iface !== (k % 3 === 0 ? "can1" : "can0") || f.data[0] !== (k & 0xff)) ok = false;
      }
      total += n;
      batch.clear();
    }
    assert.equal(total, lines);
    assert.ok(ok, "every record has the right id, interface and payload");
    src.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CandumpSource lenient skips malformed lines", async () => {
  const src = new CandumpSource("(1.0) vcan0 123#01\nnot a frame\n(2.0) vcan0 124#02\n", { speed: 0, lenient: true });
  const batch = new FrameBatch(8);
  assert.equal(await src.read(batch), 2);
  assert.equal(await src.read(batch), -1);
  assert.equal(src.skipped, 1);
});

Deno.test("CandumpSource over a long string encodes it chunk by chunk without losing lines", async () => {
  const lines = 30_000; // > 256 KiB of text
  const text = Array.from(
    { length: lines },
    (_, i) => `(${i}.000000) vcan0 ${(i % 0x7ff).toString(16).padStart(3, "0")}#0102`,
  )
    .join("\n");
  const src = new CandumpSource(text, { speed: 0 });
  const batch = new FrameBatch(1000);
  let total = 0;
  let ok = true;
  let n: number;
  while ((n = await src.read(batch)) !== -1) {
    for (let i = 0; i < batch.count; i++) if (batch.get(i).id !== (total + i) % 0x7ff) ok = false;
    total += n;
    batch.clear();
  }
  assert.equal(total, lines);
  assert.ok(ok);
});

Deno.test("CandumpSource paced replay: a time RFC 3339 cannot carry is due at once and does not stall the log", async () => {
  const log =
    "(1.000000) vcan0 123#01\n(10000000000000.000000) vcan0 124#02\n(9999999999999999999999.0) vcan0 125#03\n" +
    "(1.010000) vcan0 126#04\n";
  const src = new CandumpSource(log, { speed: 1, maxWaitMs: 1 });
  const batch = new FrameBatch(8);
  const ids: number[] = [];
  for (let reads = 0; reads < 5000; reads++) {
    const n = await src.read(batch);
    if (n < 0) break;
    for (let i = 0; i < batch.count; i++) ids.push(batch.get(i).id);
    batch.clear();
  }
  assert.deepEqual(ids, [0x123, 0x124, 0x125, 0x126]);
  src.close();
});
