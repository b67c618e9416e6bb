import assert from "node:assert/strict";
import { FrameBatch } from "../../core/can/batch.ts";
import type { CanFrame } from "../../core/can/types.ts";
import { PipelineError } from "../../core/errors/mod.ts";
import {
  CAN_MTU,
  CANFD_MTU,
  closeFd,
  encodeFilters,
  encodeKernelFrame,
  filtersForIds,
  socketCanError,
  SocketCanReader,
  socketPair,
} from "./socketcan.ts";

function frame(id: number, data: number[], extra: Partial<CanFrame> = {}): CanFrame {
  return {
    timestamp: 0,
    iface: "test",
    id,
    extended: false,
    rtr: false,
    error: false,
    fd: false,
    brs: false,
    esi: false,
    data: new Uint8Array(data),
    ...extra,
  };
}

Deno.test("encodeKernelFrame writes struct can_frame byte for byte", () => {
  const b = encodeKernelFrame(frame(0x123, [1, 2, 3]));
  assert.equal(b.length, CAN_MTU);
  assert.deepEqual([...b], [0x23, 0x01, 0, 0, 3, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 0]);
  const e = encodeKernelFrame(frame(0x18DAF110, [9], { extended: true }));
  assert.deepEqual([...e.subarray(0, 5)], [0x10, 0xf1, 0xda, 0x98, 1]); // CAN_EFF_FLAG in bit 31
});

Deno.test("encodeKernelFrame writes struct canfd_frame with BRS and FDF flags", () => {
  const data = Array.from({ length: 12 }, (_, i) => i);
  const b = encodeKernelFrame(frame(0x42, data, { fd: true, brs: true }));
  assert.equal(b.length, CANFD_MTU);
  assert.equal(b[4], 12);
  assert.equal(b[5], 0x01 | 0x04);
  assert.deepEqual([...b.subarray(8, 20)], data);
  assert.throws(() => encodeKernelFrame(frame(1, new Array(9).fill(0))), { code: "socketcan.frame" });
});

Deno.test("filtersForIds builds exact-match can_filter entries", () => {
  const f = filtersForIds([0x118, 0x118, { id: 0x10, extended: true }, 0x18DB33F1]);
  assert.deepEqual(f, [
    { id: 0x118, mask: 0xC00007FF },
    { id: 0x80000010, mask: 0xDFFFFFFF },
    { id: 0x98DB33F1, mask: 0xDFFFFFFF },
  ]);
  const bytes = encodeFilters(f);
  assert.equal(bytes.length, 24);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x18, 0x01, 0, 0, 0xff, 0x07, 0, 0xc0]);
  assert.throws(() => filtersForIds([{ id: 0x800, extended: false }]), { code: "socketcan.filter" });
});

Deno.test("SocketCanReader.open fails with socketcan.unsupported on a kernel without AF_CAN", () => {
  // This machine's kernel has no AF_CAN (checked in /proc/net/protocols); elsewhere can0 may be missing.
  const hasCan = /^CAN/m.test(Deno.readTextFileSync("/proc/net/protocols"));
  let err: unknown;
  try {
    SocketCanReader.open("can0").close();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof PipelineError, "opening can0 must fail here");
  if (!hasCan) {
    assert.equal(err.code, "socketcan.unsupported");
    assert.match(err.message, /AF_CAN/);
  } else {
    assert.ok(["socketcan.no_interface", "socketcan.permission"].includes(err.code));
  }
});

Deno.test("socketCanError names the cause and the fix", () => {
  const nodev = socketCanError(19, { op: "if_nametoindex", iface: "can7" });
  assert.equal(nodev.code, "socketcan.no_interface");
  assert.match(nodev.message, /can7/);
  assert.equal(socketCanError(1, { op: "bind", iface: "can0" }).code, "socketcan.permission");
  assert.match(socketCanError(13, { op: "bind" }).message, /CAP_NET_RAW/);
  assert.equal(socketCanError(97, { op: "socket" }).code, "socketcan.unsupported");
});

Deno.test("SocketCanReader reads can_frame and canfd_frame bytes from a socketpair into a FrameBatch", async () => {
  const [a, b] = socketPair();
  const reader = SocketCanReader.fromFd(a, { iface: "vcan0", maxBatch: 8 });
  const peer = SocketCanReader.fromFd(b);
  try {
    const fdData = Array.from({ length: 20 }, (_, i) => 100 + i);
    await peer.sendRaw(encodeKernelFrame(frame(0x118, [0xde, 0xad, 0xbe, 0xef])));
    await peer.sendRaw(encodeKernelFrame(frame(0x18DAF110, [2, 0x41, 0x0c], { extended: true })));
    await peer.send(frame(0x300, fdData, { fd: true, brs: true, esi: true }));
    await peer.send(frame(0x7DF, [], { rtr: true, dlc: 8 }));
    const batch = new FrameBatch(16);
    let n = 0;
    while (n < 4) {
      const got = await reader.read(batch);
      assert.ok(got >= 0);
      n += got;
    }
    assert.equal(batch.count, 4);
    const f0 = batch.get(0);
    assert.equal(f0.id, 0x118);
    assert.equal(f0.iface, "vcan0");
    assert.deepEqual([...f0.data], [0xde, 0xad, 0xbe, 0xef]);
    assert.equal(f0.fd, false);
    const f1 = batch.get(1);
    assert.equal(f1.extended, true);
    assert.equal(f1.id, 0x18DAF110);
    const f2 = batch.get(2);
    assert.equal(f2.fd, true);
    assert.equal(f2.brs, true);
    assert.equal(f2.esi, true);
    assert.deepEqual([...f2.data], fdData);
    const f3 = batch.get(3);
    assert.equal(f3.rtr, true);
    assert.equal(f3.dlc, 8);
    const s = reader.stats();
    assert.equal(s.frames, 4);
    assert.equal(s.kernelTimestamps, 4, "every frame carries an SO_TIMESTAMP control message");
    assert.ok(f0.timestamp > 1.5e9, "kernel timestamp is seconds since the epoch");
  } finally {
    reader.close();
    peer.close();
  }
});

Deno.test("SocketCanReader counts malformed datagrams, honours batch room, and returns -1 when the peer closes", async () => {
  const [a, b] = socketPair();
  const reader = SocketCanReader.fromFd(a, { maxBatch: 4, pollTimeoutMs: 20 });
  try {
    const batch = new FrameBatch(2);
    assert.equal(await reader.read(batch), 0, "nothing queued yet");
    const peer = SocketCanReader.fromFd(b);
    await peer.sendRaw(new Uint8Array(10));
    for (let i = 0; i < 3; i++) await peer.send(frame(0x100 + i, [i]));
    peer.close();
    let n = 0;
    while (!batch.full) n += Math.max(0, await reader.read(batch));
    assert.equal(n, 2);
    assert.equal(await reader.read(batch), 0, "a full batch takes nothing");
    batch.clear();
    let last = 0;
    while ((last = await reader.read(batch)) === 0);
    assert.equal(last, 1);
    assert.equal(batch.get(0).id, 0x102);
    // The hang-up is seen on one of the next polls (a poll may time out first on a loaded machine).
    let end = 0;
    while ((end = await reader.read(batch)) === 0);
    assert.equal(end, -1);
    assert.equal(reader.stats().malformed, 1);
  } finally {
    reader.close();
  }
});

Deno.test("SocketCanReader.close during a pending read ends it with -1", async () => {
  const [a, b] = socketPair();
  const reader = SocketCanReader.fromFd(a, { pollTimeoutMs: 50 });
  try {
    const pending = reader.read(new FrameBatch(4));
    reader.close();
    assert.equal(await pending, -1);
    await assert.rejects(() => reader.send(frame(1, [])), { code: "socketcan.closed" });
  } finally {
    closeFd(b);
  }
});

Deno.test("SocketCanReader.send waits while the socket buffer is full, and nothing is lost", async () => {
  const [a, b] = socketPair();
  const reader = SocketCanReader.fromFd(a, { maxBatch: 64, pollTimeoutMs: 20 });
  const peer = SocketCanReader.fromFd(b);
  try {
    const total = 5000; // far more than an AF_UNIX socket queues: send() meets EAGAIN and polls
    const sending = (async () => {
      for (let i = 0; i < total; i++) await peer.send(frame(i & 0x7ff, [i & 0xff, (i >> 8) & 0xff]));
    })();
    const batch = new FrameBatch(64);
    let got = 0;
    let inOrder = true;
    while (got < total) {
      const n = await reader.read(batch);
      assert.ok(n >= 0);
      for (let i = 0; i < batch.count; i++) {
        const f = batch.get(i);
        const k = got + i;
        if (f.id !== (k & 0x7ff) || f.data[0] !== (k & 0xff) || f.data[1] !== ((k >> 8) & 0xff)) inOrder = false;
      }
      got += batch.count;
      batch.clear();
    }
    await sending;
    assert.equal(got, total);
    assert.ok(inOrder, "frames arrive complete and in order");
    assert.equal(peer.stats().sent, total);
    assert.ok(peer.stats().txWaits > 0, "the full-queue path was exercised");
  } finally {
    reader.close();
    peer.close();
  }
});

Deno.test("SocketCanReader rejects bad options and concurrent reads", async () => {
  const [a, b] = socketPair();
  assert.throws(() => SocketCanReader.fromFd(a, { maxBatch: 0 }), { code: "socketcan.options" });
  assert.throws(() => SocketCanReader.fromFd(a, { maxBatch: 1.5 }), { code: "socketcan.options" });
  const reader = SocketCanReader.fromFd(a, { pollTimeoutMs: 20 });
  try {
    const first = reader.read(new FrameBatch(4));
    await assert.rejects(reader.read(new FrameBatch(4)), { code: "socketcan.busy" });
    assert.equal(await first, 0);
  } finally {
    reader.close();
    closeFd(b);
  }
});

Deno.test("a read waiting for frames does not block the event loop", async () => {
  const [a, b] = socketPair();
  const reader = SocketCanReader.fromFd(a, { pollTimeoutMs: 10_000 });
  const peer = SocketCanReader.fromFd(b);
  try {
    const batch = new FrameBatch(4);
    const pending = reader.read(batch); // waits in poll() on a worker thread
    // Only a running event loop can fire this timer; the frame it sends ends the wait.
    await new Promise((r) => setTimeout(r, 20));
    await peer.send(frame(0x321, [7]));
    assert.equal(await pending, 1);
    assert.equal(batch.get(0).id, 0x321);
  } finally {
    reader.close();
    peer.close();
  }
});
