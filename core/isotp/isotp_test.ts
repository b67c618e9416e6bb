import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import type { CanFrame } from "../can/types.ts";
import { PipelineError } from "../errors/mod.ts";
import { IsoTpChannel, type IsoTpOptions, MemoryCanBus, obdAddress, reverseAddress, stMinToMs } from "./mod.ts";

function pair(testerOpts: IsoTpOptions = {}, ecuOpts: IsoTpOptions = {}, extended = false) {
  const bus = new MemoryCanBus();
  const a = obdAddress(extended ? 0x10 : 0, { extended });
  const tester = new IsoTpChannel(bus.link(), a, testerOpts);
  const ecu = new IsoTpChannel(bus.link(), reverseAddress(a), ecuOpts);
  return {
    bus,
    tester,
    ecu,
    [Symbol.dispose]() {
      tester.close();
      ecu.close();
    },
  };
}

const seq = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
const hexs = (f: CanFrame) => [...f.data].map((b) => b.toString(16).padStart(2, "0")).join("");

Deno.test("obdAddress gives the 11-bit and 29-bit OBD-II IDs", () => {
  assert.deepEqual(obdAddress(0), { txId: 0x7e0, rxId: 0x7e8, extended: false });
  assert.deepEqual(obdAddress(7), { txId: 0x7e7, rxId: 0x7ef, extended: false });
  assert.deepEqual(obdAddress(0x10, { extended: true }), { txId: 0x18da10f1, rxId: 0x18daf110, extended: true });
  assert.throws(() => obdAddress(8), { code: "isotp.address" });
  assert.equal(stMinToMs(0x0a), 10);
  assert.equal(stMinToMs(0xf5), 0.5);
  assert.equal(stMinToMs(0x80), 127);
});

Deno.test("single frame: padded to 8 bytes with 0xCC by default, minimal DLC without padding", async () => {
  {
    using p = pair();
    await p.tester.send(new Uint8Array([0x01, 0x0c]));
    assert.deepEqual([...await p.ecu.receive({ timeoutMs: 100 })], [0x01, 0x0c]);
    assert.equal(p.bus.log.length, 1);
    assert.equal(p.bus.log[0].id, 0x7e0);
    assert.equal(hexs(p.bus.log[0]), "02010ccccccccccc");
  }
  {
    using p = pair({ padding: false });
    await p.tester.send(new Uint8Array([0x01, 0x0c]));
    await p.ecu.receive({ timeoutMs: 100 });
    assert.equal(hexs(p.bus.log[0]), "02010c");
  }
});

Deno.test("multi-frame: FF, FC, CFs in order; 20-byte VIN response", async () => {
  using p = pair({}, { padding: 0x55 });
  const msg = new Uint8Array([0x49, 0x02, 0x01, ...new TextEncoder().encode("1HGCM82633A004352")]);
  const got = p.tester.receive({ timeoutMs: 1000 });
  await p.ecu.send(msg);
  assert.deepEqual(await got, msg);
  const frames = p.bus.log.map((f) => `${f.id.toString(16)}:${hexs(f)}`);
  assert.deepEqual(frames, [
    "7e8:1014490201314847",
    "7e0:300000cccccccccc",
    "7e8:21434d3832363333",
    "7e8:2241303034333532",
  ]);
});

Deno.test("multi-frame over 29-bit IDs with the sequence number wrapping 15 → 0 and block size 4", async () => {
  using p = pair({ blockSize: 4 }, {}, true);
  const msg = seq(200); // FF + 28 CFs
  const got = p.tester.receive({ timeoutMs: 1000 });
  await p.ecu.send(msg);
  assert.deepEqual(await got, msg);
  const cfs = p.bus.log.filter((f) => f.id === 0x18daf110 && f.data[0] >> 4 === 2);
  assert.equal(cfs.length, 28);
  assert.deepEqual(cfs.slice(13, 18).map((f) => f.data[0]), [0x2e, 0x2f, 0x20, 0x21, 0x22]);
  const fcs = p.bus.log.filter((f) => f.id === 0x18da10f1);
  assert.equal(fcs.length, 7, "one FC after the FF, then one per block of 4 except the last");
  assert.ok(fcs.every((f) => f.extended && f.data[0] === 0x30 && f.data[1] === 4));
});

Deno.test("STmin from the receiver's flow control spaces the consecutive frames", async () => {
  const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  try {
    using p = pair({ stMin: 20 });
    const got = p.tester.receive({ timeoutMs: 5000 });
    const sending = p.ecu.send(seq(30)); // FF + 4 CFs
    await clock.tickAsync(0);
    const cfCount = () => p.bus.log.filter((f) => f.id === 0x7e8 && f.data[0] >> 4 === 2).length;
    assert.equal(cfCount(), 1, "first CF goes right after the FC");
    await clock.tickAsync(19);
    assert.equal(cfCount(), 1, "no second CF before STmin elapsed");
    await clock.tickAsync(1);
    assert.equal(cfCount(), 2);
    await clock.tickAsync(40);
    await sending;
    assert.deepEqual(await got, seq(30));
  } finally {
    clock.uninstall();
  }
});

Deno.test("a consecutive frame with a wrong sequence number rejects receive with isotp.sequence", async () => {
  using p = pair();
  const got = p.tester.receive({ timeoutMs: 1000 });
  const sent = p.ecu.send(seq(40), { corruptSequenceAt: 2 });
  await assert.rejects(got, (e: unknown) => {
    assert.ok(e instanceof PipelineError);
    assert.equal(e.code, "isotp.sequence");
    assert.match(e.message, /expected sequence number 2, got 3/);
    return true;
  });
  await sent;
});

Deno.test("N_Bs: no flow control after the first frame", async () => {
  const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  try {
    const bus = new MemoryCanBus();
    const ch = new IsoTpChannel(bus.link(), obdAddress(1), { timeouts: { nBs: 150 } });
    const sent = assert.rejects(ch.send(seq(20)), (e: unknown) => {
      assert.ok(e instanceof PipelineError);
      assert.equal(e.code, "isotp.timeout");
      assert.equal(e.path, "N_Bs");
      return true;
    });
    await clock.tickAsync(151);
    await sent;
    ch.close();
  } finally {
    clock.uninstall();
  }
});

Deno.test("N_Cr: first frame then silence", async () => {
  const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  try {
    const bus = new MemoryCanBus();
    const raw = bus.link();
    const ch = new IsoTpChannel(bus.link(), obdAddress(0), { timeouts: { nCr: 100 } });
    const got = assert.rejects(ch.receive(), { code: "isotp.timeout", path: "N_Cr" });
    await raw.send({
      timestamp: 0,
      iface: "x",
      id: 0x7e8,
      extended: false,
      rtr: false,
      error: false,
      fd: false,
      brs: false,
      esi: false,
      data: new Uint8Array([0x10, 0x20, 1, 2, 3, 4, 5, 6]),
    });
    await clock.tickAsync(101);
    await got;
    ch.close();
    raw.close();
  } finally {
    clock.uninstall();
  }
});

Deno.test("flow control OVERFLOW when the message is larger than the receiver accepts", async () => {
  using p = pair({ maxLength: 16 });
  const got = assert.rejects(p.tester.receive({ timeoutMs: 1000 }), { code: "isotp.overflow" });
  await assert.rejects(p.ecu.send(seq(40)), { code: "isotp.overflow" });
  await got;
});

Deno.test("receive timeout and close reject pending calls", async () => {
  using p = pair();
  await assert.rejects(p.tester.receive({ timeoutMs: 5 }), { code: "isotp.timeout", path: "response" });
  const pending = p.tester.receive();
  p.tester.close();
  await assert.rejects(pending, { code: "isotp.closed" });
  await assert.rejects(p.tester.send(new Uint8Array([1])), { code: "isotp.closed" });
});

Deno.test("N_As: a link that never confirms a transmission", async () => {
  const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  try {
    const stuck = { send: () => new Promise<void>(() => {}), onFrame: () => () => {} };
    const ch = new IsoTpChannel(stuck, obdAddress(0), { timeouts: { nAs: 70 } });
    const sent = assert.rejects(ch.send(new Uint8Array([1, 0])), { code: "isotp.timeout", path: "N_As" });
    await clock.tickAsync(71);
    await sent;
    ch.close();
  } finally {
    clock.uninstall();
  }
});

Deno.test("flow control WAIT frames delay the sender; too many give isotp.wait_limit", async () => {
  const bus = new MemoryCanBus();
  const raw = bus.link();
  const a = obdAddress(0);
  const ch = new IsoTpChannel(bus.link(), a, { maxWait: 2 });
  const fc = (fs: number) => ({
    timestamp: 0,
    iface: "x",
    id: a.rxId,
    extended: false,
    rtr: false,
    error: false,
    fd: false,
    brs: false,
    esi: false,
    data: new Uint8Array([0x30 | fs, 0, 0, 0, 0, 0, 0, 0]),
  });
  try {
    // WAIT, WAIT, then CTS: the message goes through.
    let first = true;
    const off = raw.onFrame((f) => {
      if (f.id !== a.txId || f.data[0] >> 4 !== 1) return;
      if (first) {
        first = false;
        raw.send(fc(1)).then(() => raw.send(fc(1))).then(() => raw.send(fc(0)));
      } else {
        raw.send(fc(1)).then(() => raw.send(fc(1))).then(() => raw.send(fc(1)));
      }
    });
    await ch.send(seq(20));
    assert.equal(bus.log.filter((f) => f.id === a.txId && f.data[0] >> 4 === 2).length, 2);
    await assert.rejects(ch.send(seq(20)), { code: "isotp.wait_limit" });
    off();
  } finally {
    ch.close();
    raw.close();
  }
});
