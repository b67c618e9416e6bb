/**
 * Frames/s through WASM decode → VSS mapping with Model3CAN.dbc and the shipped Kuksa VSS 4.0 mapping.
 * Every iteration handles {@link FRAMES} frames (one WASM call, one pushBatch), so frames/s = FRAMES / time per iteration.
 *
 *   ./node_modules/.bin/deno task wasm:build && ./node_modules/.bin/deno bench -A core/vss/pipeline_bench.ts
 *   ./node_modules/.bin/deno task bench:vss     (prints values/s and frames/s)
 */
import { compileDecodePlan, encodeReference, FRAME_OFF_TS, FRAME_RECORD_SIZE, parseDbc } from "../can/mod.ts";
import { createWasmDecoder } from "../can/mod.ts";
import { type Datapoint, tsMsFromSeconds } from "../datapoint/mod.ts";
import { compileVssMapping, loadVssCatalog, physicalChoices } from "./mod.ts";

const ASSETS = new URL("../../assets/", import.meta.url);
const db = parseDbc(Deno.readTextFileSync(new URL("dbc/Model3CAN.dbc", ASSETS)));
const plan = compileDecodePlan(db);
const mapper = compileVssMapping(new URL("vss/vss_dbc_4.0.json", ASSETS), {
  catalog: loadVssCatalog(new URL("vss/vss_release_4.0.json", ASSETS)),
  signals: plan.signalNames,
  choices: physicalChoices(plan.signalDefs),
});

/** Frames per batch. */
const FRAMES = 4096;
const decoder = await createWasmDecoder(plan, { maxFrames: FRAMES });

// Frame mix: a third of the frames carry mapped signals, the rest cycle through every other message.
const mappedMessages = new Set(mapper.mappedSignalIds.map((id) => plan.signalMessage[id]));
const mapped = db.messages.filter((_, i) => mappedMessages.has(i));
const others = db.messages.filter((m, i) => !mappedMessages.has(i) && m.length <= 8);
let seed = 1;
const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
for (let k = 0; k < FRAMES; k++) {
  const m = k % 3 === 0 ? mapped[(k / 3) % mapped.length] : others[k % others.length];
  const values: Record<string, bigint> = {};
  for (const s of m.signals) values[s.name] = BigInt(Math.floor(rnd() * Math.min(2 ** s.length, 4)));
  let data: Uint8Array;
  try {
    data = encodeReference(m, values);
  } catch {
    data = new Uint8Array(m.length);
  }
  decoder.batch.push({
    timestamp: 1_700_000_000 + k / 4096,
    iface: "can0",
    id: m.id,
    extended: m.extended,
    rtr: false,
    error: false,
    fd: false,
    brs: false,
    esi: false,
    data,
  });
}
// Frame times once per frame, seconds → integer ms, as the VEC pipeline does.
const frameTs = new Float64Array(FRAMES);
for (let i = 0; i < FRAMES; i++) {
  frameTs[i] = tsMsFromSeconds(decoder.batch.view.getFloat64(i * FRAME_RECORD_SIZE + FRAME_OFF_TS, true));
}

let sink = 0;
const consume = (dp: Datapoint) => {
  sink += dp.tsMs;
};

Deno.bench(`decode only, WASM (${FRAMES} frames)`, { group: "pipeline", baseline: true }, () => {
  sink += decoder.decode();
});

Deno.bench(`decode + map, pushBatch, vehicle time +1 s per batch (${FRAMES} frames)`, { group: "pipeline" }, () => {
  for (let i = 0; i < FRAMES; i++) frameTs[i] += 1000;
  const n = decoder.decode();
  mapper.pushBatch(
    { ids: decoder.signalId, values: decoder.value, tsMs: frameTs, frameIndex: decoder.frameIndex, count: n },
    consume,
  );
});

globalThis.addEventListener("unload", () => {
  if (sink === 42) console.log(sink, mapper.stats);
});
