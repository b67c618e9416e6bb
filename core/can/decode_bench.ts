/**
 * Decode benchmarks: WASM batch vs WASM per-frame vs TypeScript reference.
 *
 * Cases: (a) an 8-byte frame with 8 signals of mixed byte order and sign; (b) a mix of
 * every `assets/dbc/Model3CAN.dbc` message with random payloads; (c) a 64-byte CAN FD
 * frame with 32 signals. Every bench decodes {@link FRAMES} frames per iteration; the
 * bench name carries the frame and value counts so `tools/bench_decode.ts` can turn
 * the times into frames/s and signal values/s.
 *
 * Run: `deno task bench core/can/decode_bench.ts` (or `deno task bench:decode` for the ratios).
 * @module
 */
import { createWasmDecoder } from "./wasm_decoder.ts";
import { loadDbc } from "./dbc.ts";
import { compileDecodePlan } from "./plan.ts";
import { decodeReference } from "./reference.ts";
import type { CanFrame, DbcDatabase, MessageDef, SignalDef } from "./types.ts";

/** Frames per bench iteration. */
const FRAMES = 4096;

function sig(name: string, startBit: number, length: number, p: Partial<SignalDef> = {}): SignalDef {
  return {
    name,
    startBit,
    length,
    byteOrder: "little_endian",
    signed: false,
    valueType: "integer",
    factor: 0.1,
    offset: -5,
    minimum: 0,
    maximum: 0,
    unit: "",
    receivers: [],
    mux: { isMultiplexer: false },
    attributes: {},
    ...p,
  };
}

function db(messages: MessageDef[]): DbcDatabase {
  return { version: "", nodes: [], messages, valueTables: new Map(), attributeDefinitions: [], attributes: {} };
}

function msg(id: number, length: number, signals: SignalDef[]): MessageDef {
  return {
    id,
    extended: false,
    name: `M${id}`,
    length,
    sender: "",
    signals,
    frameFormat: length > 8 ? "StandardCAN_FD" : "StandardCAN",
    fd: length > 8,
    attributes: {},
  };
}

// (a) 8 signals in 8 bytes: Intel and Motorola, signed and unsigned.
const caseA = db([msg(0x123, 8, [
  sig("a0", 0, 8),
  sig("a1", 8, 12, { signed: true }),
  sig("a2", 20, 4),
  sig("a3", 24, 8, { signed: true }),
  sig("b0", 39, 16, { byteOrder: "big_endian" }),
  sig("b1", 55, 4, { byteOrder: "big_endian", signed: true }),
  sig("b2", 51, 4, { byteOrder: "big_endian" }),
  sig("b3", 63, 8, { byteOrder: "big_endian", signed: true }),
])]);

// (c) 64-byte CAN FD frame with 32 16-bit signals, alternating order and sign.
const caseC = db([msg(
  0x300,
  64,
  Array.from(
    { length: 32 },
    (_, i) =>
      i % 2 === 0
        ? sig(`s${i}`, i * 16, 16, { signed: i % 4 === 0 })
        : sig(`s${i}`, i * 16 + 7, 16, { byteOrder: "big_endian", signed: i % 4 === 1 }),
  ),
)]);

let seed = 42;
const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;

function frames(d: DbcDatabase): CanFrame[] {
  return Array.from({ length: FRAMES }, () => {
    const m = d.messages[Math.floor(rand() * d.messages.length)];
    const data = new Uint8Array(m.length).map(() => Math.floor(rand() * 256));
    return {
      timestamp: 0,
      iface: "can0",
      id: m.id,
      extended: m.extended,
      rtr: false,
      error: false,
      fd: m.fd,
      brs: false,
      esi: false,
      data,
    };
  });
}

const model3 = await loadDbc(new URL("../../assets/dbc/Model3CAN.dbc", import.meta.url).pathname);

for (
  const [label, d] of [["a 8B/8 signals", caseA], ["b Model3CAN mix", model3], ["c FD 64B/32 signals", caseC]] as const
) {
  const plan = compileDecodePlan(d);
  const dec = await createWasmDecoder(plan, { maxFrames: FRAMES });
  const fs = frames(d);
  for (const f of fs) dec.batch.push(f);
  const values = dec.decode();
  const tag = `[${FRAMES} frames, ${values} values]`;
  const group = label.split(" ")[0];
  const perFrame = await createWasmDecoder(plan, { maxFrames: 1 });
  const byKey = new Map(d.messages.map((m) => [m.id, m]));
  Deno.bench(`${label} wasm batch ${tag}`, { group, baseline: true }, () => {
    dec.decode();
  });
  Deno.bench(`${label} wasm per-frame ${tag}`, { group }, () => {
    for (let i = 0; i < FRAMES; i++) perFrame.decodeOne(fs[i]);
  });
  Deno.bench(`${label} ts reference ${tag}`, { group }, () => {
    for (let i = 0; i < FRAMES; i++) decodeReference(byKey.get(fs[i].id)!, fs[i].data);
  });
}
