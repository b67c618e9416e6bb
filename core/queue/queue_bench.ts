/**
 * DiskQueue / MemoryQueue costs: 1000 single pushes, one pushMany of 1000, and draining 1000 items in
 * peek(100) + ack(ids) rounds. Run: `deno bench -A core/queue/queue_bench.ts`.
 */
import { DiskQueue, MemoryQueue, type MessageQueue } from "./mod.ts";

const N = 1000;
const BODY = '{"path":"Vehicle.OBD.DTCList","value":["P0300"],"ts":"2026-01-01T00:00:00.000Z"}';
const dir = Deno.makeTempDirSync({ prefix: "queue_bench_" });
let serial = 0;
const disk = () => DiskQueue.open(`${dir}/q${serial++}.db`, { maxBytes: 1 << 30, maxAgeMs: 86_400_000 });
const memory = () => new MemoryQueue({ maxBytes: 1 << 30, maxAgeMs: 86_400_000 });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

function drain(q: MessageQueue): void {
  for (;;) {
    const items = q.peek(100);
    if (items.length === 0) return;
    q.ack(items.map((i) => i.id));
  }
}

for (const [kind, make] of [["disk", disk], ["memory", memory]] as const) {
  Deno.bench({
    name: `${kind}: ${N} push() (disk: one transaction each)`,
    group: `push-${kind}`,
    baseline: true,
    fn(b) {
      const q = make();
      b.start();
      for (let i = 0; i < N; i++) q.push(BODY, { key: "vehicles/gw/diagnostics/dtc", meta: { qos: 1 } });
      b.end();
      q.close();
    },
  });
  Deno.bench({
    name: `${kind}: pushMany(${N})`,
    group: `push-${kind}`,
    fn(b) {
      const q = make();
      const items = Array.from({ length: N }, () => ({
        payload: BODY,
        key: "vehicles/gw/diagnostics/dtc",
        meta: { qos: 1 },
      }));
      b.start();
      q.pushMany(items);
      b.end();
      q.close();
    },
  });
  Deno.bench({
    name: `${kind}: drain ${N} with peek(100) + ack(ids)`,
    group: `drain-${kind}`,
    fn(b) {
      const q = make();
      q.pushMany(Array.from({ length: N }, () => ({ payload: BODY, meta: { qos: 1 } })));
      b.start();
      drain(q);
      b.end();
      q.close();
    },
  });
}
