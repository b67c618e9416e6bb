/**
 * MQTT publish throughput through a loopback mosquitto (mTLS, ECC P-256): QoS 0 telemetry (until written to the
 * socket, and end to end until a subscriber got every message) and QoS 1 events (through the disk and the memory
 * offline queue, until PUBACK and deletion; and end to end), and the ratio of the QoS 0 rate to the 20 000
 * messages/s the MQTT layer must sustain (issue 8); and the CESC ingest (QoS 1, shared subscription, PUBACK after a
 * no-op `onData`). Exit code 1 when the end-to-end QoS 0 rate is below the target.
 *
 * Usage: `deno run -A tools/bench_mqtt.ts [--qos0 N] [--qos1 N] [--rounds N] [--plain] [--json]`
 * @module
 */
import { parseArgs } from "node:util";
import { connect, type MqttClient } from "mqtt";
import { DiskQueue } from "../core/queue/mod.ts";
import { makeTestPki, startMosquitto, type TestPki } from "../testing/mod.ts";
import { startMqttIngest } from "../cesc/mqtt_ingest.ts";
import { MqttSink } from "../vec/sinks/mqtt.ts";

const TARGET_QOS0 = 20_000;
const HELP = `bench_mqtt: MQTT publish throughput through a loopback mosquitto

Usage: deno run -A tools/bench_mqtt.ts [options]
  --qos0 N     QoS 0 messages per round (default 50000)
  --qos1 N     QoS 1 messages per round (default 10000)
  --rounds N   rounds; the best round counts (default 3)
  --plain      plain TCP instead of mTLS
  --json       print one JSON object
  --help       this text`;

interface Case {
  name: string;
  count: number;
  qos: 0 | 1;
  disk: boolean;
  /** Stop the clock when a subscriber received every message (else: when the sink is flushed). */
  endToEnd?: boolean;
}

/** CESC ingest: QoS 1 messages through the shared subscription until `onData` (a no-op store) saw them all. */
async function ingestRound(count: number, pki: TestPki | undefined): Promise<number> {
  const broker = await startMosquitto({ pki, persistence: false });
  const tls = pki ? { caPath: pki.caCert, certPath: pki.clientCert, keyPath: pki.clientKey } : undefined;
  let stored = 0;
  const ingest = await startMqttIngest({
    url: broker.url,
    tls,
    onData: (_vin, dps) => {
      stored += dps.length;
      return Promise.resolve();
    },
  });
  const sink = new MqttSink({
    url: broker.url,
    thingName: "bench",
    tls,
    topics: { policies: { "vehicle/speed": { minIntervalMs: 0, qos: 1 } } },
    drainRatePerSec: Infinity,
    maxInflight: 200,
  });
  try {
    await sink.start();
    const t0 = performance.now();
    for (let i = 0; i < count; i++) sink.publish({ path: "Vehicle.Speed", value: i, tsMs: 1_700_000_000_000 + i });
    const end = Date.now() + 300_000;
    while (stored < count && Date.now() < end) await new Promise((r) => setTimeout(r, 1));
    if (stored < count) throw new Error(`ingest stored ${stored} of ${count}`);
    return count / ((performance.now() - t0) / 1000);
  } finally {
    await sink.close();
    await ingest.close();
    await broker.close();
  }
}

async function round(c: Case, pki: TestPki | undefined): Promise<number> {
  const broker = await startMosquitto({ pki, persistence: false });
  const dir = await Deno.makeTempDir({ prefix: "bench_mqtt_" });
  const queue = c.disk ? DiskQueue.open(`${dir}/q.db`, { maxBytes: 1 << 30 }) : undefined;
  const sink = new MqttSink({
    url: broker.url,
    thingName: "bench",
    tls: pki ? { caPath: pki.caCert, certPath: pki.clientCert, keyPath: pki.clientKey } : undefined,
    topics: { policies: { "vehicle/speed": { minIntervalMs: 0 } } },
    drainRatePerSec: Infinity,
    maxInflight: 200,
    maxBufferedBytes: 1 << 30,
    queue,
  });
  let sub: MqttClient | undefined;
  let received = 0;
  try {
    if (c.endToEnd) {
      sub = connect(broker.url, {
        ...(pki
          ? {
            ca: Deno.readTextFileSync(pki.caCert),
            cert: Deno.readTextFileSync(pki.clientCert),
            key: Deno.readTextFileSync(pki.clientKey),
          }
          : {}),
        reconnectPeriod: 0,
        protocolVersion: 5,
      });
      await new Promise<void>((resolve, reject) => {
        sub!.once("connect", () => resolve());
        sub!.once("error", reject);
      });
      await sub.subscribeAsync(c.qos === 0 ? "vehicles/bench/vehicle/#" : "vehicles/bench/diagnostics/#", {
        qos: c.qos,
      });
      sub.on("message", () => received++);
    }
    await sink.start();
    if (!sink.stats().connected) throw new Error(`cannot connect: ${sink.stats().lastError}`);
    const t0 = performance.now();
    if (c.qos === 0) {
      for (let i = 0; i < c.count; i++) sink.publish({ path: "Vehicle.Speed", value: i, tsMs: 1_700_000_000_000 + i });
    } else {
      for (let i = 0; i < c.count; i++) sink.publishEvent("diagnostics/dtc", `{"seq":${i}}`);
    }
    if (!await sink.flush(300_000)) throw new Error("not flushed within 300 s");
    if (c.endToEnd) {
      const end = Date.now() + 120_000;
      while (received < c.count && Date.now() < end) await new Promise((r) => setTimeout(r, 1));
      if (received < c.count) throw new Error(`${c.name}: the subscriber got ${received} of ${c.count}`);
    }
    const ms = performance.now() - t0;
    const s = sink.stats();
    if (s.droppedBackpressure || s.queue.dropped) throw new Error(`messages dropped: ${JSON.stringify(s)}`);
    return c.count / (ms / 1000);
  } finally {
    await sub?.endAsync();
    await sink.close();
    queue?.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: Deno.args,
      strict: true,
      options: {
        qos0: { type: "string", default: "50000" },
        qos1: { type: "string", default: "10000" },
        rounds: { type: "string", default: "3" },
        plain: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    }).values;
  } catch (e) {
    console.error(`bench_mqtt: ${(e as Error).message}`);
    return 2;
  }
  if (args.help) {
    console.log(HELP);
    return 0;
  }
  const num = (v: string, name: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} must be a positive integer, got "${v}"`);
    return n;
  };
  let qos0, qos1, rounds;
  try {
    qos0 = num(args.qos0, "qos0");
    qos1 = num(args.qos1, "qos1");
    rounds = num(args.rounds, "rounds");
  } catch (e) {
    console.error(`bench_mqtt: ${(e as Error).message}`);
    return 2;
  }
  const pki = args.plain ? undefined : await makeTestPki();
  try {
    const cases: Case[] = [
      { name: "qos0_live", count: qos0, qos: 0, disk: false },
      { name: "qos0_end_to_end", count: qos0, qos: 0, disk: false, endToEnd: true },
      { name: "qos1_disk_queue", count: qos1, qos: 1, disk: true },
      { name: "qos1_memory_queue", count: qos1, qos: 1, disk: false },
      { name: "qos1_disk_end_to_end", count: qos1, qos: 1, disk: true, endToEnd: true },
    ];
    const result: Record<string, number> = {};
    for (const c of cases) {
      let best = 0;
      for (let r = 0; r < rounds; r++) best = Math.max(best, await round(c, pki));
      result[c.name] = Math.round(best);
    }
    let best = 0;
    for (let r = 0; r < rounds; r++) best = Math.max(best, await ingestRound(qos1, pki));
    result.cesc_ingest_qos1 = Math.round(best);
    const ratio = result.qos0_end_to_end / TARGET_QOS0;
    const out = {
      transport: args.plain ? "tcp" : "mtls-p256",
      messages_per_s: result,
      qos0_target: TARGET_QOS0,
      qos0_ratio: Number(ratio.toFixed(2)),
    };
    if (args.json) console.log(JSON.stringify(out));
    else {
      console.log(`transport ${out.transport}`);
      for (const [k, v] of Object.entries(result)) console.log(`${k.padEnd(20)} ${v.toLocaleString("en")} msg/s`);
      console.log(`QoS 0 end to end / target ${TARGET_QOS0.toLocaleString("en")} msg/s = ${out.qos0_ratio}x`);
    }
    return ratio >= 1 ? 0 : 1;
  } catch (e) {
    console.error(`bench_mqtt: ${(e as Error).message}`);
    return 1;
  } finally {
    await pki?.remove();
  }
}

Deno.exit(await main());
