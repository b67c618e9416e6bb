/**
 * Throughput of the frame sources.
 *
 * `deno bench -A vec/sources/sources_bench.ts`
 */
import { FrameBatch } from "../../core/can/batch.ts";
import type { CanFrame } from "../../core/can/types.ts";
import { CandumpSource, encodeKernelFrame, SocketCanReader, socketPair } from "./mod.ts";

const BATCH = 64;

function frame(i: number): CanFrame {
  return {
    timestamp: 0,
    iface: "vcan0",
    id: 0x100 + (i % 0x600),
    extended: false,
    rtr: false,
    error: false,
    fd: false,
    brs: false,
    esi: false,
    data: new Uint8Array([i & 0xff, 1, 2, 3, 4, 5, 6, 7]),
  };
}

// Pre-encode 64 kernel frames into one buffer; the writer sends them as 64 datagrams per iteration.
const wire = new Uint8Array(BATCH * 16);
for (let i = 0; i < BATCH; i++) wire.set(encodeKernelFrame(frame(i)), i * 16);
const wireFrames = Array.from({ length: BATCH }, (_, i) => wire.subarray(i * 16, i * 16 + 16));

const [a, b] = socketPair();
const reader = SocketCanReader.fromFd(a, { maxBatch: BATCH, iface: "vcan0" });
const writer = SocketCanReader.fromFd(b);
const batch = new FrameBatch(BATCH);

Deno.bench({
  name: "socketcan: recvmmsg 64 can_frames (with SO_TIMESTAMP) into a FrameBatch",
  group: "socketcan",
  baseline: true,
  async fn(t) {
    for (const w of wireFrames) await writer.sendRaw(w);
    batch.clear();
    t.start();
    let n = 0;
    while (n < BATCH) n += await reader.read(batch);
    t.end();
  },
});

Deno.bench({
  name: "socketcan: send 64 can_frames (one send() each)",
  group: "socketcan",
  async fn(t) {
    t.start();
    for (const w of wireFrames) await writer.sendRaw(w);
    t.end();
    batch.clear();
    let n = 0;
    while (n < BATCH) n += await reader.read(batch);
  },
});

const LINES = 100_000;
const log = Array.from({ length: LINES }, (_, i) => {
  const ts = (1700000000 + i / 1000).toFixed(6);
  const id = (0x100 + (i % 0x600)).toString(16).toUpperCase().padStart(3, "0");
  return `(${ts}) vcan0 ${id}#${(i & 0xff).toString(16).padStart(2, "0")}11223344556677`;
}).join("\n");
const replayBatch = new FrameBatch(1024);

Deno.bench({
  name: `candump replay, speed 0: ${LINES} frames`,
  group: "candump",
  async fn() {
    const src = new CandumpSource(log, { speed: 0 });
    let total = 0;
    for (;;) {
      const n = await src.read(replayBatch);
      if (n < 0) break;
      total += n;
      replayBatch.clear();
    }
    if (total !== LINES) throw new Error(`read ${total}`);
    src.close();
  },
});

globalThis.addEventListener("unload", () => {
  reader.close();
  writer.close();
});
