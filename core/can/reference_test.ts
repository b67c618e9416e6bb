import assert from "node:assert/strict";
import fc from "fast-check";
import { PipelineError } from "../errors/mod.ts";
import { loadDbc, parseDbc } from "./dbc.ts";
import { decodeReference, encodeReference, readRawBits, signalBitPositions } from "./reference.ts";
import type { DbcDatabase, MessageDef, SignalDef } from "./types.ts";

const dir = new URL("../../testdata/dbc/", import.meta.url);
const load = (name: string): Promise<DbcDatabase> => loadDbc(new URL(name, dir).pathname);
const msg = (db: DbcDatabase, name: string): MessageDef => db.messages.find((m) => m.name === name)!;
const hex = (s: string): Uint8Array => new Uint8Array(s.match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

// Expected vectors below are the ones cantools (tests/test_database.py) asserts for the same DBC files.

Deno.test("reference: motohawk.dbc big-endian signed/unsigned, with and without choices", async () => {
  const m = msg(await load("motohawk.dbc"), "ExampleMessage");
  const cases: [Record<string, number>, string][] = [
    [{ Temperature: 250.55, AverageRadius: 3.2, Enable: 1 }, "c006e00000000000"],
    [{ Temperature: 229.53, AverageRadius: 0, Enable: 0 }, "0100200000000000"],
    [{ Temperature: 250.1, AverageRadius: 3.2, Enable: 1 }, "c001400000000000"],
  ];
  for (const [values, bytes] of cases) {
    assert.equal(toHex(encodeReference(m, values)), bytes);
    assert.deepEqual(decodeReference(m, hex(bytes)).values, values);
  }
  const d = decodeReference(m, hex("c006e00000000000"), { choices: true });
  assert.deepEqual(d.values, { Temperature: 250.55, AverageRadius: 3.2, Enable: "Enabled" });
  assert.deepEqual(d.raw, { Temperature: 55n, AverageRadius: 32n, Enable: 1n });
  assert.equal(decodeReference(m, hex("0100200000000000")).raw.Temperature, -2047n);
  assert.equal(
    toHex(encodeReference(m, { Temperature: 250.55, AverageRadius: 3.2, Enable: "Enabled" })),
    "c006e00000000000",
  );
});

Deno.test("reference: padding_bit_order.dbc sawtooth numbering and 64-bit signals", async () => {
  const db = await load("padding_bit_order.dbc");
  const cases: [string, Record<string, number | bigint>, string][] = [
    ["MSG0", { A: 0x2c9, B: 1, C: 0x2c9, D: 0 }, "82c9000002c90000"],
    ["MSG1", { E: 1, F: 0x2c9, G: 0, H: 0x2c9 }, "9305000092050000"],
    ["MSG2", { I: 1, J: 2, K: 3 }, "2103000000000000"],
    ["MSG3", { L: 0x0123456789abcdefn }, "0123456789abcdef"],
    ["MSG4", { M: 0x0123456789abcdefn }, "efcdab8967452301"],
  ];
  for (const [name, values, bytes] of cases) {
    const m = msg(db, name);
    assert.equal(toHex(encodeReference(m, values)), bytes, name);
    const d = decodeReference(m, hex(bytes));
    for (const [k, v] of Object.entries(values)) assert.equal(d.raw[k], BigInt(v), `${name}.${k}`);
  }
});

Deno.test("reference: foobar.dbc float32 and 64-bit FD payload; floating_point.dbc float64", async () => {
  const db = await load("foobar.dbc");
  assert.equal(toHex(encodeReference(msg(db, "Fum"), { Fum: 9, Fam: 5 })), "0950000000");
  assert.deepEqual(decodeReference(msg(db, "Fum"), hex("0950000000")).values, { Fum: 9, Fam: 5 });
  assert.equal(toHex(encodeReference(msg(db, "Bar"), { Binary32: 1.0 })), "0000803f");
  assert.deepEqual(decodeReference(msg(db, "Bar"), hex("0000803f")).values, { Binary32: 1 });
  const fd = msg(db, "CanFd");
  const bytes = encodeReference(fd, { Fie: 0x123456789abcdefn, Fas: 0xdeadbeefdeadbeefn });
  assert.equal(bytes.length, 64);
  assert.equal(toHex(bytes.subarray(0, 16)), "efcdab8967452301efbeaddeefbeadde");
  assert.ok(bytes.subarray(16).every((b) => b === 0));
  assert.deepEqual(decodeReference(fd, bytes).raw, { Fie: 0x123456789abcdefn, Fas: 0xdeadbeefdeadbeefn });

  const fp = await load("floating_point.dbc");
  const m1 = msg(fp, "Message1");
  const data = new Uint8Array(8);
  new DataView(data.buffer).setFloat64(0, -1.5e300, true);
  assert.deepEqual(decodeReference(m1, data).values, { Signal1: -1.5e300 });
  assert.deepEqual(encodeReference(m1, { Signal1: -1.5e300 }), data);
  const m2 = msg(fp, "Message2");
  const d2 = new Uint8Array(8);
  new DataView(d2.buffer).setFloat32(0, 0.25, true);
  new DataView(d2.buffer).setFloat32(4, -3, true);
  assert.deepEqual(decodeReference(m2, d2).values, { Signal2: -3, Signal1: 0.25 });
});

Deno.test("reference: multiplex.dbc only decodes signals of the active multiplexer value", async () => {
  const m = msg(await load("multiplex.dbc"), "Message1");
  const cases: [Record<string, number>, string][] = [
    [{ Multiplexor: 8, BIT_C: 1, BIT_G: 1, BIT_J: 1, BIT_L: 1 }, "20008c0100000000"],
    [{ Multiplexor: 16, BIT_C: 1, BIT_G: 1, BIT_J: 1, BIT_L: 1 }, "40008c0100000000"],
    [
      {
        Multiplexor: 24,
        BIT_A: 1,
        BIT_B: 1,
        BIT_C: 1,
        BIT_D: 1,
        BIT_E: 1,
        BIT_F: 1,
        BIT_G: 1,
        BIT_H: 1,
        BIT_J: 1,
        BIT_K: 1,
        BIT_L: 1,
      },
      "60008c35c3000000",
    ],
  ];
  for (const [values, bytes] of cases) {
    assert.equal(toHex(encodeReference(m, values)), bytes);
    const d = decodeReference(m, hex(bytes)).values;
    assert.deepEqual(Object.keys(d).sort(), Object.keys(values).sort());
    assert.deepEqual(d, values);
  }
  // Multiplexer value without any signals: only the switch.
  assert.deepEqual(decodeReference(m, hex("0400000000000000")).values, { Multiplexor: 1 });
});

Deno.test("reference: extended multiplexing — cascaded switches and value ranges", async () => {
  const c = msg(await load("issue_184_extended_mux_cascaded.dbc"), "ext_MUX_cascaded");
  assert.deepEqual(decodeReference(c, hex("0201000500000000")).values, { muxed_B_1: 5, muxed_A_2_MUX_B: 1, MUX_A: 2 });
  assert.deepEqual(decodeReference(c, hex("02000700ff000000")).values, { muxed_B_0: 7, muxed_A_2_MUX_B: 0, MUX_A: 2 });
  assert.deepEqual(decodeReference(c, hex("01fe070000000000")).values, { muxed_A_1: -2, MUX_A: 1 });
  assert.deepEqual(decodeReference(c, hex("0301070000000000")).values, { MUX_A: 3 });
  assert.equal(
    toHex(encodeReference(c, { MUX_A: 2, muxed_A_2_MUX_B: 1, muxed_B_1: 5, muxed_A_1: 9 })),
    "0201000500000000",
  );
  assert.throws(() => encodeReference(c, { MUX_A: 2, muxed_A_2_MUX_B: 0 }), (e: unknown) => {
    return e instanceof PipelineError && e.code === "can.encode_missing" && /muxed_B_0/.test(e.message);
  });

  const mv = msg(await load("issue_184_extended_mux_multiple_values.dbc"), "ext_MUX_multiple_values");
  for (
    const [mux, name] of [[0, "muxed_0_3_4_5"], [1, "muxed_1"], [2, "muxed_2"], [3, "muxed_0_3_4_5"], [
      5,
      "muxed_0_3_4_5",
    ]] as const
  ) {
    assert.deepEqual(decodeReference(mv, new Uint8Array([mux, 0xff, 0, 0, 0, 0, 0, 0])).values, {
      [name]: -1,
      MUX: mux,
    });
  }
  assert.deepEqual(decodeReference(mv, new Uint8Array([6, 1, 0, 0, 0, 0, 0, 0])).values, { MUX: 6 });
});

Deno.test("reference: multiplex_2.dbc mux trees and cantools' extended-multiplexing vectors", async () => {
  const db = await load("multiplex_2.dbc");
  const tree = (m: MessageDef) =>
    Object.fromEntries(
      m.signals.map((s) => [
        s.name,
        `${s.mux.isMultiplexer ? "switch " : ""}${s.mux.multiplexerSignal ?? ""}${
          (s.mux.multiplexerValues ?? []).map((r) => `${r.min}-${r.max}`).join(",")
        }`,
      ]),
    );
  assert.deepEqual(tree(msg(db, "Shared")), { S0: "switch ", S1: "S01-1,3-3", S2: "S02-5" });
  assert.deepEqual(tree(msg(db, "Extended")), {
    S0: "switch ",
    S1: "switch S00-0",
    S2: "S10-0",
    S3: "S10-0",
    S4: "S12-2",
    S5: "S01-1",
    S6: "switch ",
    S7: "S61-1",
    S8: "S62-2",
  });
  assert.deepEqual(tree(msg(db, "ExtendedTypes")), { S11: "switch ", S0: "switch S113-3", S10: "S00-0", S9: "S115-5" });
  const m = msg(db, "Extended");
  const cases: [Record<string, number>, string][] = [
    [{ S0: 0, S1: 2, S4: 10000, S6: 1, S7: 33 }, "2010270001210000"],
    [{ S0: 0, S1: 0, S2: 100, S3: 5000, S6: 2, S8: 22 }, "0064881302160000"],
    [{ S0: 1, S5: 3, S6: 1, S7: 772 }, "3100000001040300"],
  ];
  for (const [values, bytes] of cases) {
    assert.equal(toHex(encodeReference(m, values)), bytes);
    const d = decodeReference(m, hex(bytes)).values;
    assert.deepEqual(Object.keys(d).sort(), Object.keys(values).sort());
    assert.deepEqual(d, values);
  }
});

Deno.test("reference: choices in socialledge.dbc, short frames, encode errors", async () => {
  const db = await load("socialledge.dbc");
  const hb = msg(db, "DRIVER_HEARTBEAT");
  assert.deepEqual(decodeReference(hb, hex("01")).values, { DRIVER_HEARTBEAT_cmd: 1 });
  assert.deepEqual(decodeReference(hb, hex("01"), { choices: true }).values, {
    DRIVER_HEARTBEAT_cmd: "DRIVER_HEARTBEAT_cmd_SYNC",
  });
  assert.deepEqual(decodeReference(hb, hex("07"), { choices: true }).values, { DRIVER_HEARTBEAT_cmd: 7 });
  assert.deepEqual(decodeReference(hb, new Uint8Array(0)).values, {});
  const m = msg(await load("motohawk.dbc"), "ExampleMessage");
  assert.deepEqual(Object.keys(decodeReference(m, hex("c006")).values), ["AverageRadius", "Enable"]);
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof PipelineError ? e.code : String(e);
    }
    return "none";
  };
  assert.equal(code(() => encodeReference(m, { Temperature: 1000, AverageRadius: 0, Enable: 0 })), "can.encode_range");
  assert.equal(
    code(() => encodeReference(m, { Temperature: 250, AverageRadius: 0, Enable: "Maybe" })),
    "can.encode_choice",
  );
  assert.equal(code(() => encodeReference(m, { Temperature: 250, AverageRadius: 0 })), "can.encode_missing");
});

Deno.test("reference: Motorola bit positions follow the DBC sawtooth", () => {
  const s = parseDbc('BO_ 1 M: 8 E\n SG_ S : 3|12@0+ (1,0) [0|0] "" E\n').messages[0].signals[0];
  // MSB at 3, then 2,1,0, then byte 1 bits 15..8.
  assert.deepEqual(signalBitPositions(s), [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3]);
  assert.equal(readRawBits(hex("0bcd"), s), 0xbcdn);
});

/** A random signal layout anywhere in a `bytes`-byte payload (it may stick out of the payload). */
const signalArb = (bytes: number) =>
  fc.record({
    startBit: fc.nat(bytes * 8 - 1),
    length: fc.integer({ min: 1, max: 64 }),
    big: fc.boolean(),
    signed: fc.boolean(),
    kind: fc.constantFrom("integer", "integer", "integer", "float32", "float64"),
  }).map((r): SignalDef => ({
    name: "S",
    startBit: r.startBit,
    length: r.kind === "float32" ? 32 : r.kind === "float64" ? 64 : r.length,
    byteOrder: r.big ? "big_endian" : "little_endian",
    signed: r.signed,
    valueType: r.kind as SignalDef["valueType"],
    factor: 1,
    offset: 0,
    minimum: 0,
    maximum: 0,
    unit: "",
    receivers: [],
    mux: { isMultiplexer: false },
    attributes: {},
  }));

const layoutArb = fc.constantFrom(8, 64).chain((len) => fc.tuple(fc.constant(len), signalArb(len)));

Deno.test("reference property: encode → decode returns the raw value of any signal layout that fits", () => {
  fc.assert(
    fc.property(layoutArb, fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), ([len, s], anyBits) => {
      const message: MessageDef = {
        id: 1,
        extended: false,
        name: "M",
        length: len,
        sender: "",
        signals: [s],
        frameFormat: "StandardCAN",
        fd: len > 8,
        attributes: {},
      };
      const fits = signalBitPositions(s).every((p) => (p >> 3) < len);
      const bits = anyBits & ((1n << BigInt(s.length)) - 1n);
      const raw = s.valueType === "integer" && s.signed && (bits >> BigInt(s.length - 1)) & 1n
        ? bits - (1n << BigInt(s.length))
        : bits;
      if (!fits) {
        assert.throws(() => encodeReference(message, { S: raw }), PipelineError);
        assert.deepEqual(decodeReference(message, new Uint8Array(len)).values, {});
        return;
      }
      const data = encodeReference(message, { S: raw });
      assert.equal(readRawBits(data, s), bits);
      assert.equal(decodeReference(message, data).raw.S, raw);
      // Exactly the signal's bits are set.
      let ones = 0;
      for (const b of data) for (let i = 0; i < 8; i++) ones += (b >> i) & 1;
      assert.equal(ones, bits.toString(2).split("").filter((c) => c === "1").length);
    }),
    { numRuns: 1000 },
  );
});
