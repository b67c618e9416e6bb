import assert from "node:assert/strict";
import fc from "fast-check";
import {
  CAN_EFF_FLAG,
  type CanFrame,
  compileDecodePlan,
  createWasmDecoder,
  type DbcDatabase,
  decodeReference,
  encodeReference,
  loadDbc,
  type MessageDef,
  MSG_STRIDE,
  type SignalDef,
  type WasmDecoder,
} from "./mod.ts";

// ---- the oracle: core/can decodeReference / encodeReference ----

interface RefValue {
  raw: bigint; // as u64 bits
  value: number;
}

function refDecode(msg: MessageDef, data: Uint8Array): Map<string, RefValue> {
  const r = decodeReference(msg, data);
  return new Map(
    Object.entries(r.values).map(([k, v]) => [k, { raw: BigInt.asUintN(64, r.raw[k]), value: v as number }]),
  );
}

// ---- builders ----

function sig(p: Partial<SignalDef> & Pick<SignalDef, "name" | "startBit" | "length">): SignalDef {
  return {
    byteOrder: "little_endian",
    signed: false,
    valueType: "integer",
    factor: 1,
    offset: 0,
    minimum: 0,
    maximum: 0,
    unit: "",
    receivers: [],
    mux: { isMultiplexer: false },
    attributes: {},
    ...p,
  };
}

function msgDef(p: Partial<MessageDef> & Pick<MessageDef, "id" | "name" | "signals">): MessageDef {
  return {
    extended: false,
    length: 8,
    sender: "",
    frameFormat: "StandardCAN",
    fd: false,
    attributes: {},
    ...p,
  };
}

function dbc(messages: MessageDef[]): DbcDatabase {
  return { version: "", nodes: [], messages, valueTables: new Map(), attributeDefinitions: [], attributes: {} };
}

function frame(id: number, data: Uint8Array, extended = false): CanFrame {
  return {
    timestamp: 1,
    iface: "can0",
    id,
    extended,
    rtr: false,
    error: false,
    fd: data.length > 8,
    brs: false,
    esi: false,
    data,
  };
}

/** WASM outputs of frame `f` of the last decode(), keyed by signal name. */
function wasmValues(d: WasmDecoder, n: number, f: number): Map<string, RefValue> {
  const out = new Map<string, RefValue>();
  for (let i = 0; i < n; i++) {
    if (d.frameIndex[i] !== f) continue;
    out.set(d.plan.signalNames[d.signalId[i]], { raw: d.raw[i], value: d.value[i] });
  }
  return out;
}

function assertSame(actual: Map<string, RefValue>, expected: Map<string, RefValue>, what: string) {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${what}: active signals`);
  for (const [name, e] of expected) {
    const a = actual.get(name)!;
    assert.equal(a.raw, e.raw, `${what}: ${name} raw`);
    assert.ok(Object.is(a.value, e.value), `${what}: ${name} value ${a.value} !== ${e.value}`);
  }
}

// ---- fixed cases ----

Deno.test("wasm decoder: known values, both byte orders, signed, float, extended id", async () => {
  const m1 = msgDef({
    id: 0x123,
    name: "M1",
    signals: [
      sig({ name: "le12", startBit: 0, length: 12, factor: 0.5, offset: -10 }),
      sig({ name: "be16", startBit: 23, length: 16, byteOrder: "big_endian" }),
      sig({ name: "s8", startBit: 32, length: 8, signed: true }),
      sig({ name: "f32", startBit: 32, length: 32, valueType: "float32" }),
    ],
  });
  const m2 = msgDef({
    id: 0x1f334455,
    extended: true,
    name: "M2",
    signals: [sig({ name: "all", startBit: 0, length: 64 })],
  });
  const d = await createWasmDecoder(compileDecodePlan(dbc([m1, m2])), { maxFrames: 8 });
  const data = new Uint8Array([0x34, 0x12, 0xab, 0xcd, 0, 0, 0x80, 0xbf]);
  d.batch.push(frame(0x123, data));
  d.batch.push(frame(0x1f334455, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 0xff), true));
  d.batch.push(frame(0x455, data)); // unknown
  d.batch.push(frame(0x123, data, true)); // extended 0x123 is a different key: unknown
  const n = d.decode();
  assert.equal(n, 5);
  assert.equal(d.matched, 2);
  assert.deepEqual([...d.frameMessage.subarray(0, 4)], [0, 1, -1, -1]);
  const v = wasmValues(d, n, 0);
  assert.equal(v.get("le12")!.value, 0x234 * 0.5 - 10);
  assert.equal(v.get("be16")!.value, 0xabcd);
  assert.equal(v.get("s8")!.value, 0);
  assert.equal(v.get("f32")!.value, -1);
  assert.equal(wasmValues(d, n, 1).get("all")!.raw, 0xff07060504030201n);
  assert.equal(d.plan.messages[MSG_STRIDE] >>> 0, (0x1f334455 | CAN_EFF_FLAG) >>> 0);
});

Deno.test("wasm decoder: simple multiplexing decodes only the active signals", async () => {
  const m = msgDef({
    id: 0x200,
    name: "Mux",
    signals: [
      sig({
        name: "A",
        startBit: 8,
        length: 8,
        mux: { isMultiplexer: false, multiplexerSignal: "Sel", multiplexerValues: [{ min: 1, max: 1 }] },
      }),
      sig({
        name: "B",
        startBit: 8,
        length: 16,
        mux: { isMultiplexer: false, multiplexerSignal: "Sel", multiplexerValues: [{ min: 2, max: 3 }] },
      }),
      sig({ name: "Sel", startBit: 0, length: 8, mux: { isMultiplexer: true } }),
      sig({ name: "Always", startBit: 56, length: 8 }),
    ],
  });
  const plan = compileDecodePlan(dbc([m]));
  assert.equal(plan.signalNames[0], "Sel", "the switch is ordered first");
  const d = await createWasmDecoder(plan, { maxFrames: 4 });
  for (const sel of [1, 2, 3, 4]) d.batch.push(frame(0x200, Uint8Array.of(sel, 9, 1, 0, 0, 0, 0, 7)));
  const n = d.decode();
  const names = (f: number) => [...wasmValues(d, n, f).keys()].sort();
  assert.deepEqual(names(0), ["A", "Always", "Sel"]);
  assert.deepEqual(names(1), ["Always", "B", "Sel"]);
  assert.deepEqual(names(2), ["Always", "B", "Sel"]);
  assert.deepEqual(names(3), ["Always", "Sel"]);
  assert.equal(wasmValues(d, n, 1).get("B")!.value, 0x0109);
});

Deno.test("wasm decoder: a short frame skips the signals it does not carry", async () => {
  const m = msgDef({
    id: 1,
    name: "M",
    signals: [sig({ name: "lo", startBit: 0, length: 8 }), sig({ name: "hi", startBit: 56, length: 8 })],
  });
  const d = await createWasmDecoder(compileDecodePlan(dbc([m])), { maxFrames: 1 });
  const n = d.decodeOne(frame(1, Uint8Array.of(5, 6)));
  assert.equal(n, 1);
  assert.equal(d.plan.signalNames[d.signalId[0]], "lo");
  assert.equal(d.value[0], 5);
});

Deno.test("wasm decoder: RTR and error frames are not decoded", async () => {
  const m = msgDef({ id: 1, name: "M", signals: [sig({ name: "lo", startBit: 0, length: 8 })] });
  const d = await createWasmDecoder(compileDecodePlan(dbc([m])), { maxFrames: 2 });
  d.batch.push({ ...frame(1, new Uint8Array(0)), rtr: true, dlc: 8 });
  d.batch.push({ ...frame(1, new Uint8Array(8)), error: true });
  assert.equal(d.decode(), 0);
  assert.equal(d.matched, 0);
});

Deno.test("compileDecodePlan rejects broken definitions with actionable errors", () => {
  const bad = (signals: SignalDef[], code: string) =>
    assert.throws(() => compileDecodePlan(dbc([msgDef({ id: 1, name: "M", signals })])), { code });
  bad([sig({ name: "x", startBit: 0, length: 65 })], "plan.signal");
  bad([sig({ name: "x", startBit: 0, length: 16, valueType: "float32" })], "plan.signal");
  bad([sig({ name: "x", startBit: 510, length: 8 })], "plan.signal");
  bad(
    [sig({ name: "x", startBit: 0, length: 8, mux: { isMultiplexer: false, multiplexerSignal: "nope" } })],
    "plan.mux",
  );
  bad([
    sig({ name: "a", startBit: 0, length: 8, mux: { isMultiplexer: true, multiplexerSignal: "b" } }),
    sig({ name: "b", startBit: 8, length: 8, mux: { isMultiplexer: true, multiplexerSignal: "a" } }),
  ], "plan.mux");
  assert.throws(
    () =>
      compileDecodePlan(dbc([msgDef({ id: 1, name: "A", signals: [] }), msgDef({ id: 1, name: "B", signals: [] })])),
    { code: "plan.duplicate" },
  );
});

// ---- properties ----

const LENGTHS = [1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64];

/** A random signal inside a `bytes`-byte payload. */
const signalArb = (name: string, bytes: number) =>
  fc.record({
    len: fc.integer({ min: 1, max: 64 }),
    be: fc.boolean(),
    signed: fc.boolean(),
    type: fc.constantFrom("integer", "integer", "integer", "float32", "float64"),
    pos: fc.nat(),
    factor: fc.constantFrom(1, 0.1, 0.5, -2, 1e-3, 0.0625),
    offset: fc.constantFrom(0, -40, 100.5),
  }).map((r): SignalDef => {
    const type = (r.type === "float32" && bytes >= 4) || (r.type === "float64" && bytes >= 8) ? r.type : "integer";
    const length = type === "float32" ? 32 : type === "float64" ? 64 : Math.min(r.len, bytes * 8);
    const m = r.pos % (bytes * 8 - length + 1); // first bit in the chosen order's linear numbering
    const startBit = r.be ? (m >> 3) * 8 + 7 - (m & 7) : m;
    return sig({
      name,
      startBit,
      length,
      byteOrder: r.be ? "big_endian" : "little_endian",
      signed: r.signed,
      valueType: type as SignalDef["valueType"],
      factor: r.factor,
      offset: r.offset,
    });
  });

const messageArb = fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64).chain((bytes) =>
  fc.tuple(
    fc.constant(bytes),
    fc.array(fc.nat(), { minLength: 1, maxLength: 12 }).chain((xs) =>
      fc.tuple(...xs.map((_, i) => signalArb(`s${i}`, bytes)))
    ),
    fc.constantFrom("none", "simple", "extended"),
    fc.array(fc.tuple(fc.nat(3), fc.nat(3)), { minLength: 12, maxLength: 12 }),
  )
).map(([bytes, signals, mux, ranges]) => {
  if (mux !== "none" && signals.length >= 2) {
    signals[0] = {
      ...signals[0],
      length: Math.min(signals[0].length, 2),
      valueType: "integer",
      mux: { isMultiplexer: true },
    };
    if (signals[0].length === 2 && signals[0].byteOrder === "big_endian" && bytes * 8 < 2) signals[0].length = 1;
    for (let i = 1; i < signals.length; i++) {
      const [a, b] = ranges[i];
      if (i % 3 === 0) continue; // always present
      const sw = mux === "extended" && i > 2 && signals[1].mux.multiplexerSignal ? "s1" : "s0";
      signals[i] = {
        ...signals[i],
        mux: {
          isMultiplexer: i === 1,
          multiplexerSignal: sw,
          multiplexerValues: [{ min: Math.min(a, b), max: Math.max(a, b) }],
        },
      };
    }
  }
  return { bytes, signals: signals.map((s, i) => (i === 0 && mux !== "none" ? fixSwitch(s, bytes) : s)) };
});

/** Re-place a shortened switch so its bits stay inside the payload. */
function fixSwitch(s: SignalDef, bytes: number): SignalDef {
  const m = s.byteOrder === "big_endian" ? (s.startBit >> 3) * 8 + 7 - (s.startBit & 7) : s.startBit;
  const start = Math.min(m, bytes * 8 - s.length);
  return { ...s, startBit: s.byteOrder === "big_endian" ? (start >> 3) * 8 + 7 - (start & 7) : start };
}

Deno.test("property: WASM decode equals the reference on random layouts and frames", async () => {
  await fc.assert(
    fc.asyncProperty(
      messageArb,
      fc.array(fc.tuple(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.nat(70), fc.boolean()), {
        minLength: 1,
        maxLength: 16,
      }),
      async ({ bytes, signals }, frames) => {
        const m = msgDef({ id: 0x10, name: "M", length: bytes, signals, fd: bytes > 8 });
        const d = await createWasmDecoder(compileDecodePlan(dbc([m])), { maxFrames: 16 });
        const datas = frames.map(([buf, cut]) => buf.subarray(0, cut > 64 ? bytes : Math.min(cut, 64)));
        for (let f = 0; f < frames.length; f++) d.batch.push(frame(frames[f][2] ? 0x10 : 0x11, datas[f]));
        const n = d.decode();
        for (let f = 0; f < frames.length; f++) {
          const expected = frames[f][2] ? refDecode(m, datas[f]) : new Map();
          assertSame(wasmValues(d, n, f), expected, `frame ${f}`);
        }
        // Per-frame calls agree with the batch.
        for (let f = 0; f < frames.length; f++) {
          const k = d.decodeAt(f);
          const expected = frames[f][2] ? refDecode(m, datas[f]) : new Map();
          assertSame(wasmValues(d, k, f), expected, `decodeAt ${f}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("property: encode then WASM decode returns the encoded raw values", async () => {
  // Non-overlapping signals packed one after another in their own byte order.
  const layoutArb = fc.array(
    fc.record({ len: fc.constantFrom(...LENGTHS), be: fc.boolean(), signed: fc.boolean(), raw: fc.bigInt() }),
    { minLength: 1, maxLength: 20 },
  );
  await fc.assert(
    fc.asyncProperty(layoutArb, fc.nat(7), async (specs, gap) => {
      const signals: SignalDef[] = [];
      const raws = new Map<string, bigint>();
      let bit = gap;
      for (const [i, s] of specs.entries()) {
        if (bit + s.len > 512) break;
        const startBit = s.be ? (bit >> 3) * 8 + 7 - (bit & 7) : bit;
        // In big-endian linear numbering the signal occupies [bit, bit+len); in LE numbering [bit, bit+len) too,
        // but the two numberings differ, so give each signal whole bytes of its own.
        const name = `s${i}`;
        signals.push(
          sig({
            name,
            startBit,
            length: s.len,
            byteOrder: s.be ? "big_endian" : "little_endian",
            signed: s.signed,
            factor: 0.25,
            offset: 1,
          }),
        );
        raws.set(name, BigInt.asIntN(s.len, s.raw));
        bit = (((bit + s.len + 7) >> 3) << 3) + (gap & 3);
        if (!s.signed) raws.set(name, BigInt.asUintN(s.len, s.raw));
      }
      const bytes = Math.min(64, Math.max(1, (bit + 7) >> 3));
      const m = msgDef({ id: 0x7ff, name: "M", length: bytes, signals, fd: bytes > 8 });
      const d = await createWasmDecoder(compileDecodePlan(dbc([m])), { maxFrames: 1 });
      const data = encodeReference(m, Object.fromEntries(raws));
      const n = d.decodeOne(frame(0x7ff, data));
      const got = wasmValues(d, n, 0);
      for (const s of signals) {
        assert.equal(got.get(s.name)!.raw, BigInt.asUintN(64, raws.get(s.name)!), s.name);
        assert.equal(got.get(s.name)!.value, Number(raws.get(s.name)!) * 0.25 + 1, s.name);
      }
      assertSame(got, refDecode(m, data), "reference");
    }),
    { numRuns: 300 },
  );
});

Deno.test("property: WASM decode equals the reference on every message of the bundled DBCs", async () => {
  const files = [
    "assets/dbc/Model3CAN.dbc",
    ...[
      "multiplex.dbc",
      "multiplex_2.dbc",
      "multiplex_choices.dbc",
      "issue_184_extended_mux_cascaded.dbc",
      "issue_184_extended_mux_multiple_values.dbc",
      "issue_184_extended_mux_independent_multiplexors.dbc",
      "fd_test.dbc",
      "floating_point.dbc",
      "signed.dbc",
      "big_numbers.dbc",
      "padding_bit_order.dbc",
      "vehicle.dbc",
      "abs.dbc",
    ].map((f) => `testdata/dbc/${f}`),
  ];
  for (const file of files) {
    const db = await loadDbc(new URL(`../../${file}`, import.meta.url).pathname);
    const d = await createWasmDecoder(compileDecodePlan(db), { maxFrames: 64 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(db.messages.length - 1), fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.nat(9)), {
          minLength: 1,
          maxLength: 64,
        }),
        (picks) => {
          d.batch.clear();
          const datas = picks.map(([m, buf, cut]) => buf.subarray(0, cut === 0 ? cut : db.messages[m].length));
          picks.forEach(([m], f) => {
            const msg = db.messages[m];
            d.batch.push({ ...frame(msg.id, datas[f], msg.extended), fd: msg.fd });
          });
          const n = d.decode();
          picks.forEach(([m], f) => {
            assertSame(wasmValues(d, n, f), refDecode(db.messages[m], datas[f]), `${file} ${db.messages[m].name}`);
          });
          return Promise.resolve();
        },
      ),
      { numRuns: 40 },
    );
  }
});

Deno.test("NDJSON writer: lines equal JSON.stringify of the decoded values", async () => {
  const m = msgDef({
    id: 0x1f334455,
    extended: true,
    name: 'Mixed "quoted"',
    signals: [
      sig({ name: "u8", startBit: 0, length: 8 }),
      sig({ name: "s16", startBit: 8, length: 16, signed: true, factor: 0.01, offset: -1 }),
      sig({ name: "big", startBit: 0, length: 64, factor: 3 }),
      sig({ name: "f32", startBit: 32, length: 32, valueType: "float32" }),
      sig({ name: "neg", startBit: 24, length: 8, signed: true, factor: 1e6 }),
    ],
  });
  const d = await createWasmDecoder(compileDecodePlan(dbc([m])), { maxFrames: 257, ndjson: true });
  let seed = 3;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  const tss = [1436509052.249713, 1700000000, 0.25, 1e-7, 5e9 + 0.5, 1700000000.1];
  for (let i = 0; i < 256; i++) {
    const data = new Uint8Array(8).map(rnd);
    if (i % 17 === 0) data.set([0x00, 0x00, 0xc0, 0x7f], 4); // f32 NaN → null
    d.batch.push({ ...frame(0x1f334455, data, true), iface: i % 2 ? "can0" : 'vcan"1', timestamp: tss[i % 6] });
  }
  d.batch.push(frame(0x123, new Uint8Array(8))); // unknown: no line
  const n = d.decode();
  const chunks: string[] = [];
  d.ndjson!.write(d.batch.count, n, (c) => chunks.push(new TextDecoder().decode(c)));
  const lines = chunks.join("").split("\n");
  assert.equal(lines.pop(), "");
  assert.equal(lines.length, 256);
  for (let f = 0; f < 256; f++) {
    const fr = d.batch.get(f);
    const signals: Record<string, number> = {};
    for (let i = 0; i < n; i++) if (d.frameIndex[i] === f) signals[d.plan.signalNames[d.signalId[i]]] = d.value[i];
    const expected = JSON.stringify({
      ts: fr.timestamp,
      iface: fr.iface,
      id: fr.id,
      extended: true,
      message: m.name,
      signals,
    });
    assert.equal(lines[f], expected);
  }
});

Deno.test("createWasmDecoder: refuses sizes it cannot hold", async () => {
  const m = msgDef({ id: 1, name: "M", signals: [sig({ name: "a", startBit: 0, length: 8 })] });
  const plan = compileDecodePlan(dbc([m]));
  await assert.rejects(() => createWasmDecoder(plan, { maxFrames: 0 }), { code: "wasm.decoder" });
  await assert.rejects(() => createWasmDecoder(plan, { maxFrames: 40_000_000 }), { code: "wasm.decoder" });
});
