import assert from "node:assert/strict";
import fc from "fast-check";
import { ParseError } from "../errors/mod.ts";
import { FRAME_RECORD_SIZE, FrameBatch } from "./batch.ts";
import {
  CandumpBatchParser,
  type CandumpStats,
  CandumpWriter,
  formatCandumpLine,
  parseCandumpLine,
  readCandump,
  readCandumpBatches,
} from "./candump.ts";
import type { CanFrame } from "./types.ts";

const sample = new URL("../../testdata/candump/sample.log", import.meta.url).pathname;
const base: Omit<CanFrame, "id" | "data"> = {
  timestamp: 1436509052.249713,
  iface: "can0",
  extended: false,
  rtr: false,
  error: false,
  fd: false,
  brs: false,
  esi: false,
};
const stream = (text: string, chunk = 7): ReadableStream<Uint8Array> => {
  const bytes = new TextEncoder().encode(text);
  let off = 0;
  return new ReadableStream({
    pull(c) {
      if (off >= bytes.length) return c.close();
      c.enqueue(bytes.slice(off, off + chunk));
      off += chunk;
    },
  });
};

Deno.test("parseCandumpLine: classic, extended, FD, RTR and error frames", () => {
  assert.deepEqual(parseCandumpLine("(1436509052.249713) can0 123#DEADBEEF"), {
    ...base,
    id: 0x123,
    data: Uint8Array.of(0xde, 0xad, 0xbe, 0xef),
  });
  const ext = parseCandumpLine("(1436509052.249713) vcan1 1F334455#0102");
  assert.equal(ext.id, 0x1f334455);
  assert.equal(ext.extended, true);
  assert.equal(ext.iface, "vcan1");
  const fd = parseCandumpLine("(0.5) can0 123##3" + "AB".repeat(12));
  assert.deepEqual([fd.fd, fd.brs, fd.esi, fd.data.length, fd.timestamp], [true, true, true, 12, 0.5]);
  assert.deepEqual(parseCandumpLine("(1.000000) can0 123##0").data, new Uint8Array(0));
  const rtr = parseCandumpLine("(1.000000) can0 123#R");
  assert.deepEqual([rtr.rtr, rtr.dlc, rtr.data.length], [true, 0, 0]);
  assert.equal(parseCandumpLine("(1.000000) can0 00000123#R8").dlc, 8);
  const err = parseCandumpLine("(1.000000) can0 20000080#0000000000000000");
  assert.deepEqual([err.error, err.extended, err.id, err.data.length], [true, false, 0x80, 8]);
  assert.deepEqual(parseCandumpLine("  (1.000000)\tcan0  7FF#01.02.03 \r").data, Uint8Array.of(1, 2, 3));
  assert.deepEqual(
    parseCandumpLine("(1.000000) can0 123#0102030405060708_C").data,
    Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
  );
  assert.throws(() => parseCandumpLine("(1.000000) can0 123#01020304050607_C"), ParseError);
  const b = new FrameBatch(1);
  const p = new CandumpBatchParser(b);
  p.feed(new TextEncoder().encode("(1.000000) can0 123#0102030405060708_F\n"));
  assert.deepEqual([b.count, p.slowLines, b.get(0).data.length], [1, 0, 8]);
});

Deno.test("parseCandumpLine: malformed lines name line and column", () => {
  const bad: [string, number, RegExp][] = [
    ["1436509052.249713 can0 123#00", 1, /'\('/],
    ["(1436509052) can0 123#00", 12, /seconds>\.<fraction/],
    ["(1.0) can0 1234#00", 12, /3 or 8 hex digits/],
    ["(1.0) can0 123#0", 16, /pairs of hex/],
    ["(1.0) can0 123#000102030405060708", 34, /9 data bytes, more than 8/],
    ["(1.0) can0 123##1" + "00".repeat(9), 36, /not a CAN FD length/],
    ["(1.0) can0 800#00", 12, /above 7FF/],
    ["(1.0) can0 123#R9", 17, /above 8/],
    ["(1.0) can0 123#00 extra", 19, /unexpected text/],
    ["(1.0) can0", 11, /missing interface|missing CAN ID/],
  ];
  for (const [line, column, re] of bad) {
    assert.throws(() => parseCandumpLine(line, { lineNumber: 42, source: "x.log" }), (e: unknown) => {
      assert.ok(e instanceof ParseError, line);
      assert.equal(e.code, "candump.syntax");
      assert.equal(e.line, 42);
      assert.equal(e.column, column, line);
      assert.match(e.message, re, line);
      assert.ok(e.message.startsWith(`x.log:42:${column}: `));
      return true;
    });
  }
});

Deno.test("formatCandumpLine: exact candump -L text, and it round-trips", async () => {
  const lines = (await Deno.readTextFile(sample)).trimEnd().split("\n");
  for (const line of lines) assert.equal(formatCandumpLine(parseCandumpLine(line)), line);
  assert.equal(
    formatCandumpLine({ ...base, id: 0x1f334455, extended: true, data: Uint8Array.of(0xab) }),
    "(1436509052.249713) can0 1F334455#AB",
  );
  assert.equal(
    formatCandumpLine({ ...base, timestamp: 1.9999999, id: 1, data: new Uint8Array(0) }),
    "(0000000002.000000) can0 001#",
  );
});

const frameArb: fc.Arbitrary<CanFrame> = fc.record({
  sec: fc.integer({ min: 0, max: 4_000_000_000 }),
  usec: fc.integer({ min: 0, max: 999_999 }),
  iface: fc.constantFrom("can0", "vcan12", "x"),
  kind: fc.constantFrom("std", "ext", "fd", "rtr", "err"),
  id: fc.nat(),
  brs: fc.boolean(),
  esi: fc.boolean(),
  data: fc.uint8Array({ maxLength: 64 }),
  dlc: fc.integer({ min: 0, max: 8 }),
}).map((r) => {
  const fdLens = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64];
  const len = r.kind === "fd" ? fdLens.filter((l) => l <= r.data.length).pop()! : Math.min(8, r.data.length);
  const f: CanFrame = {
    timestamp: Number(`${r.sec}.${String(r.usec).padStart(6, "0")}`),
    iface: r.iface,
    id: r.kind === "ext" || r.kind === "err" ? r.id & 0x1fffffff : r.id & 0x7ff,
    extended: r.kind === "ext",
    rtr: r.kind === "rtr",
    error: r.kind === "err",
    fd: r.kind === "fd",
    brs: r.kind === "fd" && r.brs,
    esi: r.kind === "fd" && r.esi,
    data: r.kind === "rtr" ? new Uint8Array(0) : r.data.slice(0, r.kind === "err" ? 8 : len),
  };
  if (r.kind === "rtr") f.dlc = r.dlc;
  return f;
});

Deno.test("candump property: format → parse (string and batch paths) gives the frame back", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(frameArb, { maxLength: 30 }), fc.integer({ min: 1, max: 50 }), async (frames, chunk) => {
      const text = frames.map((f) => formatCandumpLine(f) + "\n").join("");
      for (const f of frames) assert.deepEqual(parseCandumpLine(formatCandumpLine(f)), f);
      const got: CanFrame[] = [];
      for await (const f of readCandump(stream(text, chunk))) got.push(f);
      assert.deepEqual(got, frames);
    }),
    { numRuns: 200 },
  );
});

Deno.test("candump property: byte fast path and string parser agree on mutated lines", () => {
  const alphabet = fc.constantFrom(..."0123456789abcdefABCDEF#R.()_ \t\rxX-");
  const mutated = fc.tuple(frameArb, fc.array(fc.tuple(fc.nat(), fc.nat(3), alphabet), { maxLength: 3 })).map(
    ([f, edits]) => {
      let line = formatCandumpLine(f);
      for (const [at, op, ch] of edits) {
        const k = at % (line.length + 1);
        if (op === 0) line = line.slice(0, k) + ch + line.slice(k); // insert
        else if (op === 1) line = line.slice(0, k) + line.slice(k + 1); // delete
        else line = line.slice(0, k) + ch + line.slice(k + 1); // replace
      }
      return line;
    },
  );
  fc.assert(
    fc.property(mutated, (line) => {
      if (line.trim() === "") return; // blank lines are skipped, not errors, on the byte path
      let expected: CanFrame | ParseError;
      try {
        expected = parseCandumpLine(line, { lineNumber: 1 });
      } catch (e) {
        if (!(e instanceof ParseError)) throw e;
        expected = e;
      }
      const b = new FrameBatch(1);
      const errors: ParseError[] = [];
      const p = new CandumpBatchParser(b, { lenient: true, onSkip: (e) => errors.push(e) });
      p.feed(new TextEncoder().encode(line + "\n"));
      if (expected instanceof ParseError) {
        assert.equal(b.count, 0, line);
        assert.equal(errors[0]?.message, expected.message);
      } else {
        assert.equal(b.count, 1, line);
        assert.deepEqual(b.get(0), expected, line);
      }
    }),
    { numRuns: 5000 },
  );
});

Deno.test("readCandumpBatches: fills the batch record by record across tiny chunks and batch boundaries", async () => {
  const text = await Deno.readTextFile(sample);
  const expected = text.trimEnd().split("\n").map((l) => parseCandumpLine(l));
  for (const chunk of [1, 3, 1000]) {
    const batch = new FrameBatch(3);
    const got: CanFrame[] = [];
    const counts: number[] = [];
    for await (const n of readCandumpBatches(stream(text, chunk), batch)) {
      counts.push(n);
      for (let i = 0; i < n; i++) got.push(batch.get(i));
    }
    assert.deepEqual(counts, [3, 3, 2]);
    assert.deepEqual(got, expected);
  }
  const batch = new FrameBatch(100);
  const stats: CandumpStats = { lines: 0, frames: 0, skipped: 0 };
  let total = 0;
  for await (const n of readCandumpBatches(sample, batch, { stats })) total += n;
  assert.equal(total, 8);
  assert.deepEqual(stats, { lines: 8, frames: 8, skipped: 0 });
  assert.deepEqual(batch.ifaces, ["can0", "can1"]);
});

Deno.test("readCandump: strict mode throws with the line number; lenient skips and counts", async () => {
  const text = "(1.000000) can0 123#01\n\n(2.000000) can0 12#01\n(3.000000) can0 123#02\n(4.0) can0 123#zz";
  await assert.rejects(
    async () => {
      for await (const _ of readCandump(stream(text), { source: "drive.log" })) { /* drain */ }
    },
    (e: unknown) => e instanceof ParseError && e.line === 3 && e.message.startsWith("drive.log:3:17:"),
  );
  const skipped: number[] = [];
  const stats: CandumpStats = { lines: 0, frames: 0, skipped: 0 };
  const ids: number[] = [];
  for await (const f of readCandump(stream(text), { lenient: true, stats, onSkip: (e) => skipped.push(e.line) })) {
    ids.push(f.data[0]);
  }
  assert.deepEqual(ids, [1, 2]);
  assert.deepEqual(skipped, [3, 5]);
  assert.deepEqual(stats, { lines: 5, frames: 2, skipped: 2 });
});

Deno.test("readCandump: a log without a final newline, a long line and an early break close the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/a.log`;
    const long = `(${"1".repeat(12)}.${"5".repeat(12)}) ${"c".repeat(300)} 123#01`;
    await Deno.writeTextFile(path, `(1.000000) can0 123#01\n${long}`);
    const frames: CanFrame[] = [];
    for await (const f of readCandump(path)) frames.push(f);
    assert.equal(frames.length, 2);
    assert.equal(frames[1].iface, "c".repeat(300));
    assert.equal(frames[1].timestamp, Number(`${"1".repeat(12)}.${"5".repeat(12)}`));
    for await (const _ of readCandump(path)) break; // the file must be closed (leak sanitizer)
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CandumpBatchParser: fast path timestamps equal parseFloat of the text", () => {
  fc.assert(
    // Up to 9e9 s (year 2255) the 16 significant digits stay exact integers, so the fast path takes them all.
    fc.property(fc.integer({ min: 0, max: 9_000_000_000 }), fc.integer({ min: 0, max: 999_999 }), (s, u) => {
      const ts = `${s}.${String(u).padStart(6, "0")}`;
      const batch = new FrameBatch(1);
      const p = new CandumpBatchParser(batch);
      p.feed(new TextEncoder().encode(`(${ts}) can0 001#\n`));
      assert.equal(batch.count, 1);
      assert.equal(batch.view.getFloat64(0, true), Number(ts));
      assert.equal(p.slowLines, 0);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("CandumpWriter: writes a file that reads back identically", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/out.log`;
    const frames: CanFrame[] = [];
    for await (const f of readCandump(sample)) frames.push(f);
    const w = await CandumpWriter.open(path);
    for (let k = 0; k < 2000; k++) for (const f of frames) await w.write(f); // > 64 KiB: several flushes
    await w.close();
    assert.equal(w.frames, 2000 * frames.length);
    const expect = (await Deno.readTextFile(sample)).repeat(2000);
    assert.equal(await Deno.readTextFile(path), expect);
    const b = new FrameBatch(4);
    for (const f of frames.slice(0, 4)) b.push(f);
    const w2 = await CandumpWriter.open(path, { append: true });
    await w2.writeBatch(b);
    await w2.close();
    const text = await Deno.readTextFile(path);
    assert.equal(
      text.length,
      expect.length + (await Deno.readTextFile(sample)).split("\n").slice(0, 4).join("\n").length + 1,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CandumpWriter.writeBatch formats records exactly like formatCandumpLine", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(frameArb, { maxLength: 40 }), async (frames) => {
      const chunks: Uint8Array[] = [];
      const w = new CandumpWriter(new WritableStream({ write: (c) => void chunks.push(c) }));
      const b = new FrameBatch(Math.max(1, frames.length));
      for (const f of frames) b.push(f);
      await w.writeBatch(b);
      await w.close();
      const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
      assert.equal(text, frames.map((f) => formatCandumpLine(f) + "\n").join(""));
    }),
    { numRuns: 200 },
  );
});

Deno.test("FrameBatch records from the fast path match FrameBatch.push of the parsed frame", async () => {
  const text = await Deno.readTextFile(sample);
  const a = new FrameBatch(16);
  const p = new CandumpBatchParser(a);
  p.feed(new TextEncoder().encode(text));
  p.finish();
  assert.equal(p.slowLines, 0);
  const b = new FrameBatch(16);
  for (const l of text.trimEnd().split("\n")) b.push(parseCandumpLine(l));
  assert.equal(a.count, b.count);
  for (let i = 0; i < a.count; i++) {
    const o = i * FRAME_RECORD_SIZE;
    const len = b.bytes[o + 12];
    const rtr = (b.view.getUint32(o + 8, true) & 0x40000000) !== 0;
    assert.deepEqual(a.bytes.subarray(o, o + 16 + (rtr ? 0 : len)), b.bytes.subarray(o, o + 16 + (rtr ? 0 : len)));
  }
});
