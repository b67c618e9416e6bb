import assert from "node:assert/strict";
import { FRAME_RECORD_SIZE, FrameBatch } from "./batch.ts";
import type { CanFrame } from "./types.ts";

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

Deno.test("FrameBatch round-trips classic, extended, FD and RTR frames", () => {
  const b = new FrameBatch(4);
  const frames: CanFrame[] = [
    { ...base, id: 0x123, data: Uint8Array.of(0xde, 0xad, 0xbe, 0xef) },
    { ...base, id: 0x1f334455, extended: true, iface: "can1", data: new Uint8Array(8).fill(7) },
    { ...base, id: 0x123, fd: true, brs: true, esi: true, data: new Uint8Array(64).map((_, i) => i) },
    { ...base, id: 0x123, rtr: true, dlc: 8, data: new Uint8Array(0) },
  ];
  for (const f of frames) b.push(f);
  assert.equal(b.count, 4);
  assert.ok(b.full);
  assert.throws(() => b.push(frames[0]), RangeError);
  for (let i = 0; i < 4; i++) assert.deepEqual(b.get(i), frames[i]);
  assert.equal(b.bytes.byteLength, 4 * FRAME_RECORD_SIZE);
});

Deno.test("FrameBatch can live inside a larger buffer at an offset", () => {
  const mem = new ArrayBuffer(1024);
  const b = new FrameBatch(2, { buffer: mem, byteOffset: 160 });
  b.push({ ...base, id: 0x7ff, data: Uint8Array.of(1) });
  assert.equal(new DataView(mem).getUint32(160 + 8, true), 0x7ff);
});
