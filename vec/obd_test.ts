import assert from "node:assert/strict";
import { MemoryCanBus } from "../core/isotp/mod.ts";
import type { Datapoint } from "../core/datapoint/mod.ts";
import { EcuSimulator } from "../core/obd/mod.ts";
import { startVec } from "./app.ts";
import { parseVecConfig } from "./config.ts";
import { openObdLink, parseObdConfig, startObd } from "./obd.ts";
import type { VecEvent } from "./sinks/types.ts";

Deno.test("obd config: defaults, and errors that name the key", () => {
  const d = parseObdConfig({});
  assert.equal(d.enabled, false);
  assert.deepEqual(d.ecus, [0]);
  assert.equal(d.dtc_interval_ms, 10_000);
  assert.throws(() => parseObdConfig({ rates: { engine_rpm: 1 } }), {
    code: "config.invalid",
    path: "obd.rates.engine_rpm",
  });
  assert.throws(() => parseObdConfig({ bogus: 1 }), { code: "config.invalid" });
  assert.throws(() => parseObdConfig({ pids: ["warp_speed"] }), (e: Error) => /warp_speed/.test(e.message));
  assert.throws(() => parseObdConfig({ ecus: [8] }), (e: Error) => /0-7/.test(e.message));
  assert.equal(parseObdConfig({ ecus: [0x10], extended: true }).ecus[0], 0x10);
});

Deno.test("startObd feeds typed datapoints on the VSS paths, the DTC list, the VIN, and typed diagnostics events", async () => {
  const bus = new MemoryCanBus();
  const ecu = new EcuSimulator(bus.link(), {
    values: { 0x0c: 1234.5, 0x05: 88, 0x0d: 42 },
    dtcs: { stored: ["P0301"] },
    vin: "1HGCM82633A004352",
  });
  const link = bus.link();
  const dps: Datapoint[] = [];
  const events: VecEvent[] = [];
  let vin = "";
  const obd = startObd(
    parseObdConfig({ enabled: true, pids: ["engine_rpm", "coolant_temp", "vehicle_speed"], rates: { engine_rpm: 20 } }),
    {
      link,
      inject: (d) => dps.push(...d),
      onEvent: (e) => events.push(e),
      onVin: (v) => vin = v,
    },
  );
  try {
    const has = (path: string) => dps.some((d) => d.path === path);
    for (let i = 0; i < 500 && !(has("Vehicle.Speed") && has("Vehicle.OBD.DTCList") && vin); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const last = (path: string) => dps.findLast((d) => d.path === path)?.value;
    // Typed values (issue 18): numbers stay numbers, the DTC list is a string array, times are integer ms.
    assert.equal(last("Vehicle.Powertrain.CombustionEngine.Speed"), 1235); // uint16 in VSS: rounded
    assert.equal(last("Vehicle.OBD.EngineSpeed"), 1234.5);
    assert.equal(last("Vehicle.OBD.CoolantTemperature"), 88);
    assert.equal(last("Vehicle.Powertrain.CombustionEngine.ECT"), 88);
    assert.equal(last("Vehicle.Speed"), 42);
    assert.deepEqual(last("Vehicle.OBD.DTCList"), ["P0301"]);
    assert.equal(last("Vehicle.VehicleIdentification.VIN"), "1HGCM82633A004352");
    assert.equal(vin, "1HGCM82633A004352");
    assert.ok(dps.every((d) => Number.isInteger(d.tsMs) && Math.abs(d.tsMs - Date.now()) < 600_000));
    const dtc = events.find((e) => e.topic === "diagnostics/dtc");
    assert.deepEqual(dtc && { type: dtc.payload.type, code: dtc.payload.code, qos: dtc.qos }, {
      type: "new",
      code: "P0301",
      qos: 1,
    });
    assert.ok(dtc && Number.isInteger(dtc.tsMs) && dtc.payload.tsMs === undefined);
    assert.ok(events.some((e) => e.topic === "diagnostics/health" && e.payload.value === "fault"));
    assert.ok(events.some((e) => e.topic === "diagnostics/error_count" && e.payload.value === 1));
    assert.equal(obd.stats().health, "fault");
  } finally {
    await obd.stop();
    ecu.close();
    link.close();
  }
});

Deno.test("openObdLink on this kernel fails with socketcan.unsupported (no AF_CAN)", () => {
  if (/^CAN/m.test(Deno.readTextFileSync("/proc/net/protocols"))) return; // a kernel with CAN: nothing to check here
  assert.throws(() => openObdLink("can0", { ecus: [0], extended: false }), { code: "socketcan.unsupported" });
});

Deno.test("startVec: obd.enabled on a replay without an interface is a config error naming obd.interface", async () => {
  const config = parseVecConfig({ can: { log: "nowhere.log" }, obd: { enabled: true }, api: { enabled: false } });
  await assert.rejects(startVec(config), { code: "config.invalid", path: "obd.interface" });
  if (!/^CAN/m.test(Deno.readTextFileSync("/proc/net/protocols"))) {
    const live = parseVecConfig({ can: { interface: "can0" }, obd: { enabled: true }, api: { enabled: false } });
    await assert.rejects(startVec(live), { code: "socketcan.unsupported" });
  }
  // The obd section is part of the one typed config schema: a bad rate fails when the config is read.
  assert.throws(() => parseVecConfig({ obd: { enabled: true, rates: { engine_rpm: 0 } } }), {
    code: "config.invalid",
    path: "obd.rates.engine_rpm",
  });
});

Deno.test("startVec with obd.enabled: OBD values reach the sinks through the pipeline, DTC events reach sink.event", async () => {
  const dir = await Deno.makeTempDir();
  const bus = new MemoryCanBus();
  const ecu = new EcuSimulator(bus.link(), {
    values: { 0x0c: 2000, 0x0d: 55 },
    dtcs: { stored: ["P0420"] },
    vin: "OBDVIN00000000001",
  });
  const link = bus.link();
  const written: Datapoint[] = [];
  const published: VecEvent[] = [];
  const sink = {
    name: "test",
    write: (dps: readonly Datapoint[]) => void written.push(...dps),
    event: (e: VecEvent) => void published.push(e),
    stats: () => ({}),
    close: () => Promise.resolve(),
  };
  try {
    // A replay with two frames 60 s apart keeps the VEC running while OBD polls.
    await Deno.writeTextFile(`${dir}/idle.log`, "(1.000000) can0 001#00\n(61.000000) can0 001#00\n");
    const vec = await startVec(
      parseVecConfig({
        can: { log: `${dir}/idle.log`, speed: 1 },
        obd: { enabled: true, pids: ["engine_rpm", "vehicle_speed"], dtc_interval_ms: 1000 },
        queue: { dir: `${dir}/state` },
        api: { enabled: false },
      }),
      { sinks: [sink], obdLink: link, drainMs: 100 },
    );
    const seen = (path: string) => written.some((d) => d.path === path);
    for (
      let i = 0;
      i < 500 &&
      !(seen("Vehicle.Speed") && seen("Vehicle.VehicleIdentification.VIN") &&
        published.some((p) => p.topic === "diagnostics/dtc"));
      i++
    ) {
      await new Promise((r) => setTimeout(r, 10));
    }
    vec.stop();
    await vec.done;
    assert.equal(written.findLast((d) => d.path === "Vehicle.Powertrain.CombustionEngine.Speed")?.value, 2000);
    assert.equal(written.findLast((d) => d.path === "Vehicle.Speed")?.value, 55);
    assert.equal(written.findLast((d) => d.path === "Vehicle.VehicleIdentification.VIN")?.value, "OBDVIN00000000001");
    assert.equal(vec.pipeline.vin, "OBDVIN00000000001");
    const dtc = published.find((p) => p.topic === "diagnostics/dtc");
    assert.ok(dtc, "a diagnostics/dtc event was published");
    assert.equal(dtc.qos, 1);
    assert.equal(dtc.payload.code, "P0420");
    assert.equal(dtc.payload.type, "new");
    assert.equal(dtc.payload.topic, undefined, "topic and qos are not repeated in the payload");
  } finally {
    ecu.close();
    link.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("OBD DTCs reach a real broker: diagnostics/dtc as QoS 1 through the VEC's MqttSink", async () => {
  const { makeTestPki, startMosquitto } = await import("../testing/mod.ts");
  const { connect } = await import("mqtt");
  const dir = await Deno.makeTempDir();
  const pki = await makeTestPki();
  const broker = await startMosquitto({ pki });
  const bus = new MemoryCanBus();
  const ecu = new EcuSimulator(bus.link(), { values: { 0x0c: 900 }, dtcs: { stored: ["P0301"] } });
  const link = bus.link();
  const read = (p: string) => Deno.readTextFileSync(p);
  const sub = connect(broker.url, {
    ca: read(pki.caCert),
    cert: read(pki.clientCert),
    key: read(pki.clientKey),
    protocolVersion: 5,
  });
  const got: { topic: string; qos: number; payload: Record<string, unknown> }[] = [];
  sub.on(
    "message",
    (topic, payload, packet) => got.push({ topic, qos: packet.qos, payload: JSON.parse(payload.toString()) }),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      sub.once(
        "connect",
        () => sub.subscribe("vehicles/+/diagnostics/#", { qos: 1 }, (e) => (e ? reject(e) : resolve())),
      );
      sub.once("error", reject);
    });
    await Deno.writeTextFile(`${dir}/idle.log`, "(1.000000) can0 001#00\n(61.000000) can0 001#00\n");
    const vec = await startVec(
      parseVecConfig({
        thing_name: "OBDCAR",
        cert_path: pki.clientCert,
        key_path: pki.clientKey,
        ca_path: pki.caCert,
        mqtt: { url: broker.url },
        can: { log: `${dir}/idle.log`, speed: 1 },
        obd: { enabled: true, pids: ["engine_rpm"], dtc_interval_ms: 500 },
        queue: { dir: `${dir}/state` },
        api: { enabled: false },
      }),
      { obdLink: link, drainMs: 2000 },
    );
    for (let i = 0; i < 1000 && !got.some((g) => g.topic.endsWith("/diagnostics/dtc")); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    vec.stop();
    await vec.done;
    const dtc = got.find((g) => g.topic === "vehicles/OBDCAR/diagnostics/dtc");
    assert.ok(dtc, `diagnostics/dtc received (got ${got.map((g) => g.topic).join(", ")})`);
    assert.equal(dtc.qos, 1);
    assert.equal(dtc.payload.code, "P0301");
  } finally {
    await new Promise<void>((r) => sub.end(true, {}, () => r()));
    ecu.close();
    link.close();
    await broker.close();
    await pki.remove();
    await Deno.remove(dir, { recursive: true });
  }
});
