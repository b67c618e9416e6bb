/**
 * candump reading throughput. Each iteration reads the same in-memory log of {@link LINES} mixed frames
 * (classic/extended/FD); frames/s = LINES / (time per iteration).
 *
 * Run: `./node_modules/.bin/deno bench -A core/can/candump_bench.ts`
 * @module
 */
import { FrameBatch } from "./batch.ts";
import { CandumpWriter, formatCandumpLine, parseCandumpLine, readCandump, readCandumpBatches } from "./candump.ts";
import type { CanFrame } from "./types.ts";

const LINES = 100_000;
const lines: string[] = [];
const frames: CanFrame[] = [];
for (let i = 0; i < LINES; i++) {
  const kind = i % 10;
  const f: CanFrame = {
    timestamp: 1436509052 + i * 0.000137,
    iface: i % 3 === 0 ? "can1" : "can0",
    id: kind === 9 ? 0x18fef100 + (i & 0xff) : 0x100 + (i % 0x600),
    extended: kind === 9,
    rtr: false,
    error: false,
    fd: kind === 8,
    brs: kind === 8,
    esi: false,
    data: new Uint8Array(kind === 8 ? 64 : 8).map((_, k) => (i * 31 + k * 7) & 0xff),
  };
  frames.push(f);
  lines.push(formatCandumpLine(f));
}
const bytes = new TextEncoder().encode(lines.join("\n") + "\n");

function chunks(chunkSize = 64 * 1024): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(c) {
      if (off >= bytes.length) return c.close();
      c.enqueue(bytes.subarray(off, off + chunkSize));
      off += chunkSize;
    },
  });
}

const batch = new FrameBatch(4096);

Deno.bench(`readCandumpBatches: ${LINES} lines into a FrameBatch`, { group: "candump", baseline: true }, async () => {
  let n = 0;
  for await (const c of readCandumpBatches(chunks(), batch)) n += c;
  if (n !== LINES) throw new Error(`read ${n}`);
});

Deno.bench(`readCandump: ${LINES} lines as CanFrame objects`, { group: "candump" }, async () => {
  let n = 0;
  for await (const _ of readCandump(chunks())) n++;
  if (n !== LINES) throw new Error(`read ${n}`);
});

Deno.bench(`parseCandumpLine: ${LINES} strings`, { group: "candump" }, () => {
  for (const l of lines) parseCandumpLine(l);
});

const all = new FrameBatch(LINES);
for await (const n of readCandumpBatches(chunks(), all)) {
  if (n !== LINES) throw new Error("setup");
  break; // keep the records (continuing would clear the batch)
}
const sink = () => new WritableStream<Uint8Array>({ write() {} });

Deno.bench(`CandumpWriter.writeBatch: ${LINES} records`, { group: "candump-write", baseline: true }, async () => {
  const w = new CandumpWriter(sink());
  await w.writeBatch(all);
  await w.close();
});

Deno.bench(`CandumpWriter.write: ${LINES} CanFrame objects`, { group: "candump-write" }, async () => {
  const w = new CandumpWriter(sink());
  for (let i = 0; i < LINES; i++) await w.write(frames[i]);
  await w.close();
});
