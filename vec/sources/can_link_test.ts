import assert from "node:assert/strict";
import { EcuSimulator, ObdClient, ObdPoller, type ObdSample } from "../../core/obd/mod.ts";
import { SocketCanLink, SocketCanReader, socketPair } from "./mod.ts";

const VIN = "1HGCM82633A004352";
/** Generous ISO-TP timeouts: frames cross real sockets and FFI worker threads, on a possibly busy machine. */
const SLOW_OK = { timeouts: { nAs: 5000, nBs: 5000, nCr: 5000 } };

async function withSocketBus(fn: (tester: SocketCanLink, ecu: EcuSimulator) => Promise<void>): Promise<void> {
  const [a, b] = socketPair();
  const testerLink = new SocketCanLink(SocketCanReader.fromFd(a, { pollTimeoutMs: 20, iface: "vcan0" }));
  const ecuLink = new SocketCanLink(SocketCanReader.fromFd(b, { pollTimeoutMs: 20, iface: "ecu" }));
  const ecu = new EcuSimulator(ecuLink, {
    values: { 0x0c: 2500, 0x05: 92, 0x0d: 64 },
    dtcs: { stored: ["P0301", "P0302", "P0303", "P0304"], pending: [] },
    vin: VIN,
    isotp: SLOW_OK,
  });
  try {
    await fn(testerLink, ecu);
  } finally {
    ecu.close();
    await testerLink.close();
    await ecuLink.close();
  }
}

Deno.test("OBD client over the SocketCAN reader (socketpair carrying kernel can_frames)", async () => {
  await withSocketBus(async (link, ecu) => {
    const obd = new ObdClient(link, { ecu: 0, p2Ms: 5000, isotp: SLOW_OK });
    try {
      assert.equal((await obd.readPid(0x0c)).value, 2500);
      assert.equal((await obd.readPid(0x05)).value, 92);
      assert.deepEqual(await obd.readDtcs(0x03), ["P0301", "P0302", "P0303", "P0304"]); // FF + FC + CF
      assert.equal(await obd.readVin(), VIN);
      ecu.misbehave({ kind: "nrc", nrc: 0x12 }, { times: 1 });
      await assert.rejects(obd.readPid(0x0d), { code: "obd.negative_response", nrc: 0x12 });
      ecu.misbehave({ kind: "bad_sequence" }, { times: 1 });
      await assert.rejects(obd.readVin(), { code: "isotp.sequence" });
      assert.equal(await obd.readVin(), VIN);
    } finally {
      obd.close();
    }
  });
});

Deno.test("OBD poller over the SocketCAN reader produces samples and DTC events", async () => {
  await withSocketBus(async (link) => {
    const obd = new ObdClient(link, { ecu: 0, p2Ms: 5000, isotp: SLOW_OK });
    const samples: ObdSample[] = [];
    const dtcs: string[] = [];
    const poller = new ObdPoller([obd], {
      pids: ["engine_rpm", "vehicle_speed"],
      dtcIntervalMs: 60_000,
      onSample: (s) => samples.push(s),
      onEvent: (e) => {
        if (e.topic === "diagnostics/dtc") dtcs.push(`${e.type} ${e.code}`);
      },
    });
    poller.start();
    for (let i = 0; i < 1000 && (samples.length < 4 || dtcs.length < 4); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await poller.stop();
    obd.close();
    assert.ok(samples.some((s) => s.name === "engine_rpm" && s.value === 2500));
    assert.ok(samples.some((s) => s.name === "vehicle_speed" && s.value === 64));
    assert.deepEqual(dtcs, ["new P0301", "new P0302", "new P0303", "new P0304"]);
  });
});
