import assert from "node:assert/strict";
import { MemoryCanBus } from "../isotp/mod.ts";
import { discoverEcus, type EcuSimOptions, EcuSimulator, ObdClient, ObdNegativeResponseError } from "./mod.ts";

const VIN = "1HGCM82633A004352";

function setup(sim: EcuSimOptions = {}, client: { p2Ms?: number; extended?: boolean; ecu?: number } = {}) {
  const bus = new MemoryCanBus();
  const ecu = new EcuSimulator(bus.link(), {
    values: { 0x04: 40, 0x05: 90, 0x0c: 1726, 0x0d: 88, 0x0f: 25, 0x10: 12.5, 0x11: 20, 0xa6: 123456.7 },
    dtcs: { stored: ["P0301", "P0420", "U0100", "C0035", "B1234"], pending: ["P0171"] },
    vin: VIN,
    ...sim,
  });
  const obd = new ObdClient(bus.link(), { p2Ms: 200, ...client });
  return {
    bus,
    ecu,
    obd,
    [Symbol.dispose]() {
      obd.close();
      ecu.close();
    },
  };
}

Deno.test("ObdClient reads PIDs from the simulator and decodes them", async () => {
  using s = setup();
  assert.deepEqual(await s.obd.readPid(0x0c), { pid: 0x0c, name: "engine_rpm", value: 1726, unit: "rpm" });
  assert.equal((await s.obd.readPid(0x05)).value, 90);
  assert.equal((await s.obd.readPid(0x0d)).value, 88);
  assert.equal((await s.obd.readPid(0xa6)).value, 123456.7);
  assert.equal(s.obd.ecu, "7E8");
  assert.equal(s.bus.log[0].id, 0x7e0);
  assert.deepEqual([...s.bus.log[0].data], [0x02, 0x01, 0x0c, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc]);
});

Deno.test("ObdClient.supportedPids walks the bitmaps up to 0xA0", async () => {
  using s = setup();
  const pids = await s.obd.supportedPids();
  for (const p of [0x04, 0x05, 0x0c, 0x0d, 0x0f, 0x10, 0x11, 0xa6]) assert.ok(pids.has(p), `0x${p.toString(16)}`);
  assert.ok(!pids.has(0x2f));
  assert.deepEqual(
    s.ecu.requests.map((r) => r[1]),
    [0x00, 0x20, 0x40, 0x60, 0x80, 0xa0],
  );
});

Deno.test("ObdClient reads multi-frame DTC lists (03 / 07 / 0A) and the VIN", async () => {
  using s = setup({ dtcs: { stored: ["P0301", "P0420", "U0100", "C0035", "B1234"], pending: ["P0171"] } });
  assert.deepEqual(await s.obd.readDtcs(0x03), ["P0301", "P0420", "U0100", "C0035", "B1234"]);
  assert.deepEqual(await s.obd.readDtcs(0x07), ["P0171"]);
  assert.deepEqual(await s.obd.readDtcs(0x0a), []);
  assert.equal(await s.obd.readVin(), VIN);
  const ff = s.bus.log.filter((f) => f.id === 0x7e8 && f.data[0] >> 4 === 1);
  assert.equal(ff.length, 2, "the 12-byte DTC answer and the 20-byte VIN answer are multi-frame");
});

Deno.test("negative responses 0x12 and 0x31 become ObdNegativeResponseError", async () => {
  using s = setup();
  s.ecu.misbehave({ kind: "nrc", nrc: 0x12 }, { times: 1 });
  await assert.rejects(s.obd.readPid(0x0c), (e: unknown) => {
    assert.ok(e instanceof ObdNegativeResponseError);
    assert.equal(e.code, "obd.negative_response");
    assert.equal(e.nrc, 0x12);
    assert.equal(e.service, 0x01);
    assert.match(e.message, /subFunctionNotSupported/);
    return true;
  });
  await assert.rejects(s.obd.readPid(0x2f), { code: "obd.negative_response", nrc: 0x31 }); // not supported
  assert.equal((await s.obd.readPid(0x0c)).value, 1726, "normal again");
});

Deno.test("response pending (NRC 0x78) is waited out", async () => {
  using s = setup();
  s.ecu.misbehave({ kind: "pending", count: 3 }, { times: 1 });
  assert.equal(await s.obd.readVin(), VIN);
  const pendings = s.bus.log.filter((f) => f.id === 0x7e8 && f.data[1] === 0x7f && f.data[3] === 0x78);
  assert.equal(pendings.length, 3);
});

Deno.test("a silent ECU times out; a wrong sequence number fails the multi-frame answer", async () => {
  using s = setup({}, { p2Ms: 30 });
  s.ecu.misbehave({ kind: "silent" }, { times: 1 });
  await assert.rejects(s.obd.readPid(0x0c), { code: "isotp.timeout" });
  s.ecu.misbehave({ kind: "bad_sequence" }, { times: 1, service: 0x03 });
  await assert.rejects(s.obd.readDtcs(0x03), { code: "isotp.sequence" });
  assert.deepEqual(await s.obd.readDtcs(0x03), ["P0301", "P0420", "U0100", "C0035", "B1234"]);
});

Deno.test("29-bit addressing: 0x18DA10F1 / 0x18DAF110", async () => {
  using s = setup({ ecu: 0x10, extended: true }, { ecu: 0x10, extended: true });
  assert.equal((await s.obd.readPid(0x0c)).value, 1726);
  assert.equal(await s.obd.readVin(), VIN);
  assert.equal(s.obd.ecu, "18DAF110");
  assert.ok(s.bus.log.every((f) => f.extended));
  assert.ok(s.bus.log.some((f) => f.id === 0x18da10f1));
});

Deno.test("requests are serialized: never two in flight to one ECU", async () => {
  using s = setup({ delayMs: 5 });
  const results = await Promise.all([0x0c, 0x05, 0x0d, 0x04].map((p) => s.obd.readPid(p)));
  assert.deepEqual(results.map((r) => r.pid), [0x0c, 0x05, 0x0d, 0x04]);
  // On the bus, requests (0x7E0) and answers (0x7E8) alternate.
  const order = s.bus.log.map((f) => (f.id === 0x7e0 ? "q" : "a")).join("");
  assert.equal(order, "qaqaqaqa");
});

Deno.test("discoverEcus finds every ECU answering the functional request", async () => {
  const bus = new MemoryCanBus();
  const e0 = new EcuSimulator(bus.link(), { ecu: 0, values: { 0x0c: 800 } });
  const e1 = new EcuSimulator(bus.link(), { ecu: 1, values: { 0x0d: 50 } });
  const link = bus.link();
  try {
    const found = await discoverEcus(link, { timeoutMs: 50 });
    assert.deepEqual(found.map((a) => a.rxId), [0x7e8, 0x7e9]);
    assert.equal(bus.log[0].id, 0x7df);
  } finally {
    e0.close();
    e1.close();
    link.close();
  }
});

Deno.test("supportedPids keeps the first bitmap when the ECU refuses the next one", async () => {
  using s = setup();
  s.ecu.misbehave({ kind: "nrc", nrc: 0x31 }, { pid: 0x20 });
  const pids = await s.obd.supportedPids();
  assert.ok(pids.has(0x0c));
  assert.ok(!pids.has(0xa6));
  s.ecu.misbehave({ kind: "nrc", nrc: 0x22 }, { pid: 0x00 });
  await assert.rejects(s.obd.supportedPids(), { code: "obd.negative_response", nrc: 0x22 });
});

Deno.test("readPids asks for several PIDs in one request and splits the answer", async () => {
  using s = setup();
  const r = await s.obd.readPids([0x0c, 0x05, 0x0d, 0xa6, 0x2f]);
  assert.deepEqual(r.map((x) => [x.name, x.value]), [
    ["engine_rpm", 1726],
    ["coolant_temp", 90],
    ["vehicle_speed", 88],
    ["odometer", 123456.7],
  ], "0x2F is not supported: left out of the answer");
  assert.equal(s.ecu.requests.length, 1);
  await assert.rejects(s.obd.readPids([1, 2, 3, 4, 5, 6, 7]), { code: "obd.pids" });
});

Deno.test("discoverEcus over 29-bit IDs (0x18DB33F1 → 0x18DAF1xx)", async () => {
  const bus = new MemoryCanBus();
  const e0 = new EcuSimulator(bus.link(), { ecu: 0x10, extended: true, values: { 0x0c: 800 } });
  const e1 = new EcuSimulator(bus.link(), { ecu: 0x18, extended: true, values: { 0x0d: 50 } });
  const link = bus.link();
  try {
    const found = await discoverEcus(link, { extended: true, timeoutMs: 50 });
    assert.deepEqual(found.map((a) => a.txId), [0x18da10f1, 0x18da18f1]);
    assert.equal(bus.log[0].id, 0x18db33f1);
    const obd = new ObdClient(link, { address: found[1] });
    assert.equal((await obd.readPid(0x0d)).value, 50);
    obd.close();
  } finally {
    e0.close();
    e1.close();
    link.close();
  }
});
