/**
 * Publish throughput of MqttSink through a loopback mosquitto with mTLS (ECC P-256).
 * Each iteration publishes a fixed number of messages and waits until QoS 0 bodies are written to the socket /
 * QoS 1 messages are acknowledged (PUBACK) and deleted from the offline queue. Per-message cost = time / count.
 * Run: `deno bench -A vec/sinks/mqtt_bench.ts`; the ratio script is `tools/bench_mqtt.ts`.
 */
import { DiskQueue } from "../../core/queue/mod.ts";
import { makeTestPki, startMosquitto } from "../../testing/mod.ts";
import { MqttSink } from "./mqtt.ts";

const QOS0_COUNT = 20_000;
const QOS1_COUNT = 5_000;

async function withSink(
  b: Deno.BenchContext,
  options: { disk: boolean },
  run: (sink: MqttSink) => Promise<void>,
): Promise<void> {
  const pki = await makeTestPki();
  const broker = await startMosquitto({ pki, persistence: false });
  const dir = await Deno.makeTempDir({ prefix: "mqtt_bench_" });
  const queue = options.disk ? DiskQueue.open(`${dir}/q.db`, { maxBytes: 256 << 20 }) : undefined;
  const sink = new MqttSink({
    url: broker.url,
    thingName: "bench",
    tls: { caPath: pki.caCert, certPath: pki.clientCert, keyPath: pki.clientKey },
    topics: { policies: { "vehicle/speed": { minIntervalMs: 0 } } },
    drainRatePerSec: Infinity,
    maxInflight: 200,
    maxBufferedBytes: 1 << 30,
    queue,
  });
  try {
    await sink.start();
    b.start();
    await run(sink);
    b.end();
    const s = sink.stats();
    if (s.droppedBackpressure || s.droppedOffline || s.queue.dropped) throw new Error(`dropped: ${JSON.stringify(s)}`);
  } finally {
    await sink.close();
    queue?.close();
    await broker.close();
    await pki.remove();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.bench({
  name: `QoS 0 telemetry, ${QOS0_COUNT} publishes (JSON, mTLS)`,
  group: "mqtt",
  baseline: true,
  n: 5,
  warmup: 1,
  async fn(b) {
    await withSink(b, { disk: false }, async (sink) => {
      for (let i = 0; i < QOS0_COUNT; i++) {
        sink.publish({ path: "Vehicle.Speed", value: i, tsMs: 1_700_000_000_000 + i });
      }
      if (!await sink.flush(60_000)) throw new Error("not flushed");
    });
  },
});

Deno.bench({
  name: `QoS 1 events, ${QOS1_COUNT} publishes through the disk queue (PUBACK)`,
  group: "mqtt",
  n: 5,
  warmup: 1,
  async fn(b) {
    await withSink(b, { disk: true }, async (sink) => {
      for (let i = 0; i < QOS1_COUNT; i++) sink.publishEvent("diagnostics/dtc", `{"seq":${i}}`);
      if (!await sink.flush(120_000)) throw new Error("not flushed");
    });
  },
});

Deno.bench({
  name: `QoS 1 events, ${QOS1_COUNT} publishes through the memory queue (PUBACK)`,
  group: "mqtt",
  n: 5,
  warmup: 1,
  async fn(b) {
    await withSink(b, { disk: false }, async (sink) => {
      for (let i = 0; i < QOS1_COUNT; i++) sink.publishEvent("diagnostics/dtc", `{"seq":${i}}`);
      if (!await sink.flush(120_000)) throw new Error("not flushed");
    });
  },
});
