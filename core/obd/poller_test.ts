import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { MemoryCanBus } from "../isotp/mod.ts";
import {
  type DiagnosticsEvent,
  type DtcEvent,
  type EcuSimOptions,
  EcuSimulator,
  ObdClient,
  ObdPoller,
  type ObdPollerOptions,
  type ObdSample,
} from "./mod.ts";

function harness(sim: EcuSimOptions, opts: ObdPollerOptions = {}) {
  const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout", "Date"], now: 1_700_000_000_000 });
  const bus = new MemoryCanBus();
  const ecu = new EcuSimulator(bus.link(), { values: { 0x0c: 800, 0x05: 85, 0x0d: 0 }, ...sim });
  const client = new ObdClient(bus.link(), { p2Ms: 50 });
  const samples: ObdSample[] = [];
  const events: DiagnosticsEvent[] = [];
  const poller = new ObdPoller([client], {
    onSample: (s) => samples.push(s),
    onEvent: (e) => events.push(e),
    ...opts,
  });
  return {
    clock,
    bus,
    ecu,
    client,
    poller,
    samples,
    events,
    dtcEvents: () => events.filter((e): e is DtcEvent => e.topic === "diagnostics/dtc"),
    health: () => events.filter((e) => e.topic === "diagnostics/health").map((e) => e.value),
    async [Symbol.asyncDispose]() {
      const stopped = poller.stop();
      await clock.tickAsync(200);
      await stopped;
      client.close();
      ecu.close();
      clock.uninstall();
    },
  };
}

Deno.test("per-PID rates: rpm every 100 ms, coolant every second (the seed's defaults)", async () => {
  await using h = harness({}, { pids: ["engine_rpm", "coolant_temp"], dtcIntervalMs: 0 });
  h.poller.start();
  await h.clock.tickAsync(2000);
  const rpm = h.samples.filter((s) => s.pid === 0x0c);
  const coolant = h.samples.filter((s) => s.pid === 0x05);
  assert.ok(rpm.length >= 19 && rpm.length <= 21, `rpm samples: ${rpm.length}`);
  assert.ok(coolant.length >= 2 && coolant.length <= 3, `coolant samples: ${coolant.length}`);
  assert.equal(rpm[0].value, 800);
  assert.deepEqual(rpm[0].vss, ["Vehicle.OBD.EngineSpeed", "Vehicle.Powertrain.CombustionEngine.Speed"]);
  assert.equal(rpm[0].topic, "engine/rpm");
  assert.equal(coolant[0].value, 85);
  assert.equal(coolant[0].topic, "engine/coolant_temp");
});

Deno.test("configured rates override the defaults; unsupported PIDs are not polled", async () => {
  await using h = harness({}, { pids: [0x0c, 0x2f], rates: { engine_rpm: 500 }, dtcIntervalMs: 0 });
  h.poller.start();
  await h.clock.tickAsync(2000);
  assert.deepEqual(h.poller.stats().polled["7E8"], [0x0c]);
  const rpm = h.samples.filter((s) => s.pid === 0x0c).length;
  assert.ok(rpm >= 4 && rpm <= 5, `rpm samples: ${rpm}`);
  assert.ok(!h.ecu.requests.some((r) => r[0] === 0x01 && r[1] === 0x2f), "0x2F never requested");
});

Deno.test("one request in flight per ECU: the next request waits for the slow answer", async () => {
  await using h = harness({ delayMs: 30 }, {
    pids: ["engine_rpm", "vehicle_speed", "coolant_temp"],
    rates: { engine_rpm: 10, vehicle_speed: 10, coolant_temp: 10 },
    dtcIntervalMs: 0,
    maxRequestsPerSecond: 1000,
  });
  h.poller.start();
  await h.clock.tickAsync(3000);
  const order = h.bus.log.filter((f) => f.id === 0x7e0 || f.id === 0x7e8).map((f) => (f.id === 0x7e0 ? "q" : "a"))
    .join("");
  assert.ok(order.length > 150);
  assert.ok(!order.includes("qq"), "a request is never sent before the previous one was answered");
  assert.ok(h.ecu.requests.length <= 101, `requests: ${h.ecu.requests.length}`);
});

Deno.test("bus-load limit: at most maxRequestsPerSecond requests", async () => {
  await using h = harness({}, {
    pids: ["engine_rpm", "vehicle_speed", "coolant_temp"],
    rates: { engine_rpm: 10, vehicle_speed: 10, coolant_temp: 10 },
    dtcIntervalMs: 0,
    maxRequestsPerSecond: 20,
  });
  h.poller.start();
  await h.clock.tickAsync(3000);
  // 20 requests/s for 3 s, the 6 discovery requests included.
  assert.ok(h.ecu.requests.length <= 61, `requests: ${h.ecu.requests.length}`);
  assert.ok(h.ecu.requests.length >= 55, `requests: ${h.ecu.requests.length}`);
  const polled = new Set(h.samples.map((s) => s.pid));
  assert.equal(polled.size, 3, "every PID gets its turn under the limit");
});

Deno.test("DTC changes become QoS 1 new/cleared events; error_count and health follow", async () => {
  await using h = harness({ dtcs: { stored: ["P0301"] } }, { pids: [0x0c], dtcIntervalMs: 1000 });
  h.poller.start();
  await h.clock.tickAsync(500);
  assert.deepEqual(h.dtcEvents().map((e) => [e.type, e.code, e.kind, e.qos, e.ecu]), [
    ["new", "P0301", "stored", 1, "7E8"],
  ]);
  assert.equal(h.health().at(-1), "fault");
  h.ecu.setDtcs({ stored: ["P0420"], pending: ["P0171"] });
  await h.clock.tickAsync(1000);
  assert.deepEqual(h.dtcEvents().slice(1).map((e) => `${e.type} ${e.code} ${e.kind}`), [
    "new P0420 stored",
    "cleared P0301 stored",
    "new P0171 pending",
  ]);
  h.ecu.setDtcs({});
  await h.clock.tickAsync(1000);
  assert.deepEqual(h.dtcEvents().slice(4).map((e) => `${e.type} ${e.code}`), ["cleared P0420", "cleared P0171"]);
  assert.equal(h.health().at(-1), "ok");
  const counts = h.events.filter((e) => e.topic === "diagnostics/error_count").map((e) => e.value);
  assert.deepEqual(counts, [1, 3, 3]);
  const lists = h.events.filter((e) => e.topic === "Vehicle.OBD.DTCList").map((e) => e.value);
  assert.deepEqual(lists, [["P0301"], ["P0420", "P0171"], []]);
  assert.equal(h.poller.stats().errorCount, 3);
});

Deno.test("a silent ECU turns health to no_response, and back when it answers", async () => {
  await using h = harness({}, { pids: [0x0c], dtcIntervalMs: 0, failureThreshold: 3 });
  h.poller.start();
  await h.clock.tickAsync(300);
  assert.equal(h.health().at(-1), "ok");
  h.ecu.misbehave({ kind: "silent" });
  await h.clock.tickAsync(1000);
  assert.equal(h.health().at(-1), "no_response");
  assert.ok(h.poller.stats().timeouts >= 3);
  h.ecu.behave();
  await h.clock.tickAsync(500);
  assert.equal(h.health().at(-1), "ok");
});

Deno.test("a PID the ECU refuses (NRC 0x31) is dropped from polling", async () => {
  await using h = harness({}, { pids: [0x0c, 0x05], dtcIntervalMs: 0, multiPid: false });
  h.ecu.misbehave({ kind: "nrc", nrc: 0x31 }, { pid: 0x05 });
  h.poller.start();
  await h.clock.tickAsync(3000);
  assert.deepEqual(h.poller.stats().polled["7E8"], [0x0c]);
  assert.equal(h.ecu.requests.filter((r) => r[0] === 0x01 && r[1] === 0x05).length, 1);
  assert.equal(h.poller.stats().negativeResponses, 1);
  assert.equal(h.health().at(-1), "ok", "a negative response is an answer");
});

Deno.test("due PIDs share one request (up to six); an ECU that refuses that is asked one PID at a time", async () => {
  {
    await using h = harness({}, { pids: ["engine_rpm", "vehicle_speed", "coolant_temp"], dtcIntervalMs: 0 });
    h.poller.start();
    await h.clock.tickAsync(1000);
    const polls = h.ecu.requests.filter((r) => r[0] === 0x01 && r[1] % 0x20 !== 0);
    assert.deepEqual([...polls[0]], [0x01, 0x0c, 0x0d, 0x05], "all three due at start: one request");
    assert.deepEqual([...polls[1]], [0x01, 0x0c, 0x0d], "rpm and speed share their 100 ms slots");
    assert.ok(polls.length <= 11, `requests: ${polls.length}`);
    const rpm = h.samples.filter((s) => s.pid === 0x0c);
    assert.ok(rpm.length >= 10, `rpm samples: ${rpm.length}`);
    assert.equal(rpm[0].value, 800);
    assert.equal(h.samples.find((s) => s.pid === 0x05)?.value, 85);
  }
  {
    await using h = harness({}, { pids: ["engine_rpm", "vehicle_speed"], dtcIntervalMs: 0 });
    h.ecu.misbehave({ kind: "nrc", nrc: 0x12 }, { multiPidOnly: true });
    h.poller.start();
    await h.clock.tickAsync(1000);
    const polls = h.ecu.requests.filter((r) => r[0] === 0x01 && r[1] % 0x20 !== 0);
    assert.equal(polls.filter((r) => r.length > 2).length, 1, "one refused multi-PID request, then single ones");
    assert.ok(h.samples.filter((s) => s.pid === 0x0d).length >= 9);
    assert.ok(h.samples.filter((s) => s.pid === 0x0c).length >= 9);
  }
});
