/**
 * The VEC pipeline over the real WASM decoder and the shipped mapping: what it emits is what the CESC accepts, and a
 * frame time RFC 3339 cannot carry refuses that frame's datapoints (counted by reason), never a crash.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { compileDecodePlan, createWasmDecoder, type MessageDef, parseDbc } from "../core/can/mod.ts";
import { type Datapoint, DatapointValidator } from "../core/datapoint/mod.ts";
import { encodeVissIngest, parseVissIngest } from "../core/viss/mod.ts";
import { compileVssMapping, loadVssCatalog, physicalChoices } from "../core/vss/mod.ts";
import { hexBytes } from "../testing/mod.ts";
import { DEFAULT_CATALOG, DEFAULT_DBC, DEFAULT_MAPPING } from "./config.ts";
import { Pipeline } from "./pipeline.ts";
import { CandumpSource } from "./sources/mod.ts";

const catalog = loadVssCatalog(DEFAULT_CATALOG);
const plan = compileDecodePlan(parseDbc(Deno.readTextFileSync(DEFAULT_DBC)));
/** The CESC's validation: a validator of its own on the same default catalog. */
const cesc = new DatapointValidator(catalog);

function newMapper() {
  return compileVssMapping(DEFAULT_MAPPING, {
    catalog,
    signals: plan.signalNames,
    choices: physicalChoices(plan.signalDefs),
  });
}
const mappedMessages: MessageDef[] = [...new Set(newMapper().mappedSignalIds.map((id) => plan.signalMessage[id]))]
  .map((i) => plan.messageDefs[i] as unknown as MessageDef);

/** Replays `log` through a fresh pipeline into memory. */
async function replay(log: string) {
  const written: Datapoint[] = [];
  const sink = { name: "memory", write: (d: readonly Datapoint[]) => void written.push(...d), stats: () => ({}) };
  const pipeline = new Pipeline({
    source: new CandumpSource(log, { speed: 0 }),
    decoder: await createWasmDecoder(plan, { maxFrames: 64 }),
    mapper: newMapper(),
    sinks: [{ ...sink, close: () => Promise.resolve() }],
    validator: new DatapointValidator(catalog),
  });
  await pipeline.run();
  return { written, pipeline };
}

const BAD_TIMES = ["10000000000000.000000", "9999999999999999999999.0", "253402300800.000000"];

Deno.test("pipeline: property: every datapoint the VEC emits passes the CESC's validation after the VISSv2 JSON round trip", async () => {
  let total = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          message: fc.nat(mappedMessages.length - 1),
          bytes: fc.uint8Array({ minLength: 64, maxLength: 64 }),
          stepMs: fc.integer({ min: 0, max: 2500 }),
          // one frame in eight has a time RFC 3339 cannot carry
          bad: fc.oneof(
            { weight: 7, arbitrary: fc.constant(null) },
            { weight: 1, arbitrary: fc.constantFrom(...BAD_TIMES) },
          ),
        }),
        { minLength: 1, maxLength: 80 },
      ),
      async (frames) => {
        let t = 1_700_000_000_000;
        const lines = frames.map((f) => {
          t += f.stepMs;
          const m = mappedMessages[f.message];
          const id = m.id.toString(16).toUpperCase().padStart(3, "0");
          const time = f.bad ?? `${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, "0")}000`;
          return `(${time}) can0 ${id}#${hexBytes(f.bytes.subarray(0, m.length))}`;
        });
        const { written, pipeline } = await replay(lines.join("\n") + "\n");
        total += written.length;
        assert.equal(pipeline.stats.datapoints, written.length);
        if (written.length === 0) return;
        const body = encodeVissIngest("PROPVIN", written);
        const back = parseVissIngest(body, cesc);
        assert.deepEqual(back.refusals, [], body.slice(0, 300));
        // the JSON body groups datapoints by path (first-seen order): the same typed datapoints come back
        const first = new Map<string, number>();
        written.forEach((d, i) => first.has(d.path) || first.set(d.path, i));
        const grouped = written.map((d, i) => [first.get(d.path)!, i, d] as const).sort((a, b) =>
          a[0] - b[0] || a[1] - b[1]
        );
        assert.deepEqual(back.datapoints, grouped.map(([, , d]) => ({ ...d })));
        for (let i = 0; i < written.length; i++) assert.equal(cesc.check(written[i], i), undefined);
        // no refusal but for a bad time; a run without bad times refuses nothing
        const codes = [...pipeline.refusals.counts().keys()];
        assert.ok(codes.every((c) => c === "datapoint.ts"), codes.join());
        if (frames.every((f) => f.bad === null)) assert.equal(pipeline.stats.refused, 0);
      },
    ),
    { numRuns: 60 },
  );
  assert.ok(total > 200, `only ${total} datapoints emitted over all runs`);
});

Deno.test("pipeline: frame times RFC 3339 cannot carry refuse that frame's datapoints, counted with a reason; the rest flow", async () => {
  const speed = mappedMessages.find((m) => m.id === 599)!;
  const frame = (time: string, b: number) => `(${time}) can0 257#${hexBytes(new Uint8Array(speed.length).fill(b))}`;
  const lines = [
    frame("1700000000.000000", 1),
    frame("10000000000000.000000", 2),
    frame("9999999999999999999999.0", 3),
    frame("1700000000.050000", 4), // inside most intervals of frame 1: throttled
  ];
  const { written, pipeline } = await replay(lines.join("\n") + "\n");
  const speeds = written.filter((d) => d.path === "Vehicle.Speed");
  assert.deepEqual(speeds.map((d) => d.tsMs), [1_700_000_000_000]);
  const refused = pipeline.refusals.counts().get("datapoint.ts") ?? 0;
  assert.ok(refused >= 2, `refused ${refused}`);
  assert.equal(pipeline.stats.refused, refused);
  // the bad frames change nothing else: without them the same datapoints flow (throttling, on-change untouched)
  const clean = await replay([lines[0], lines[3]].join("\n") + "\n");
  assert.deepEqual(written, clean.written);
  assert.equal(clean.pipeline.stats.refused, 0);
  assert.deepEqual([...pipeline.latest().keys()].sort(), [...new Set(written.map((d) => d.path))].sort());
});
