import assert from "node:assert/strict";
import fc from "fast-check";
import { ParseError } from "../errors/mod.ts";
import { loadDbc, parseDbc } from "./dbc.ts";
import type { DbcDatabase, MessageDef, SignalDef } from "./types.ts";

const dir = new URL("../../testdata/dbc/", import.meta.url);
const load = (name: string): Promise<DbcDatabase> => loadDbc(new URL(name, dir).pathname);
const msg = (db: DbcDatabase, name: string): MessageDef => {
  const m = db.messages.find((x) => x.name === name);
  assert.ok(m, `message ${name}`);
  return m;
};
const sig = (m: MessageDef, name: string): SignalDef => {
  const s = m.signals.find((x) => x.name === name);
  assert.ok(s, `signal ${name}`);
  return s;
};

Deno.test("parseDbc: every DBC in testdata/dbc and assets/dbc parses", async () => {
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) if (/\.dbc$/i.test(e.name)) files.push(new URL(e.name, dir).pathname);
  files.push(new URL("../../assets/dbc/Model3CAN.dbc", import.meta.url).pathname);
  assert.ok(files.length >= 25);
  for (const f of files) {
    const db = await loadDbc(f);
    assert.ok(db.messages.length > 0, f);
  }
});

Deno.test("parseDbc: motohawk.dbc message, signals, comment, choices, cycle time", async () => {
  const db = await load("motohawk.dbc");
  assert.equal(db.version, "1.0");
  assert.deepEqual(db.nodes, ["PCM1", "FOO"]);
  const m = msg(db, "ExampleMessage");
  assert.equal(m.id, 496);
  assert.equal(m.extended, false);
  assert.equal(m.length, 8);
  assert.equal(m.sender, "PCM1");
  assert.equal(m.comment, "Example message used as template in MotoHawk models.");
  assert.equal(m.cycleTimeMs, undefined); // default 0: not cyclic (cantools: None)
  assert.equal(m.frameFormat, "StandardCAN");
  assert.equal(m.fd, false);
  assert.deepEqual(m.signals.map((s) => s.name), ["Temperature", "AverageRadius", "Enable"]);
  const t = sig(m, "Temperature");
  assert.equal(t.startBit, 0);
  assert.equal(t.length, 12);
  assert.equal(t.byteOrder, "big_endian");
  assert.equal(t.signed, true);
  assert.equal(t.factor, 0.01);
  assert.equal(t.offset, 250);
  assert.equal(t.minimum, 229.52);
  assert.equal(t.maximum, 270.47);
  assert.equal(t.unit, "degK");
  assert.deepEqual(t.receivers, ["PCM1", "FOO"]);
  assert.equal(t.valueType, "integer");
  const r = sig(m, "AverageRadius");
  assert.deepEqual([r.startBit, r.length, r.signed, r.factor, r.unit], [6, 6, false, 0.1, "m"]);
  assert.deepEqual(r.receivers, []);
  const e = sig(m, "Enable");
  assert.deepEqual([...e.choices!], [[0, "Disabled"], [1, "Enabled"]]);
  assert.equal(e.mux.isMultiplexer, false);
  assert.equal(e.mux.multiplexerSignal, undefined);
});

Deno.test("parseDbc: foobar.dbc extended IDs, FD frame format, floats, escaped comment, attributes", async () => {
  const db = await load("foobar.dbc");
  assert.equal(db.version, "2.0");
  assert.deepEqual(db.nodes, ["FOO", "BAR", "FIE", "FUM"]);
  assert.deepEqual([...db.valueTables.get("State")!], [[1, "Enabled"], [0, "Disabled"]]);
  assert.deepEqual(db.attributes, { DBName: "TheBusName", Baudrate: 125000, AFloat: 33.5, BusType: "CAN FD" });
  const foo = msg(db, "Foo");
  assert.equal(foo.id, 0x12330);
  assert.equal(foo.extended, true);
  assert.equal(foo.frameFormat, "ExtendedCAN");
  assert.equal(foo.fd, false);
  assert.equal(foo.comment, "Foo.");
  assert.equal(foo.cycleTimeMs, 100); // BA_DEF_DEF_ default
  assert.equal(sig(foo, "Bar").valueType, "float32");
  assert.equal(sig(foo, "Bar").comment, "Bar.");
  assert.equal(msg(db, "Fum").cycleTimeMs, 1);
  assert.equal(sig(msg(db, "Fum"), "Fam").choices!.get(1), "Enabled");
  const fd = msg(db, "CanFd");
  assert.equal(fd.length, 64);
  assert.equal(fd.frameFormat, "ExtendedCAN_FD");
  assert.equal(fd.fd, true);
  assert.equal(sig(fd, "Fas").startBit, 64);
  assert.equal(sig(fd, "Fas").length, 64);
  const std = msg(db, "FOOBAR");
  assert.equal(std.id, 780);
  assert.equal(std.extended, false);
  assert.equal(std.frameFormat, "StandardCAN");
  assert.equal(std.attributes["VFrameFormat"], "StandardCAN");
  assert.equal(std.attributes["GenMsgStartValue"], "");
  const vf = db.attributeDefinitions.find((d) => d.name === "VFrameFormat")!;
  assert.equal(vf.kind, "BO_");
  assert.equal(vf.type, "ENUM");
  assert.equal(vf.enumValues!.length, 16);
  assert.equal(vf.default, "ExtendedCAN_FD");
  const bl = db.attributeDefinitions.find((d) => d.name === "Baudrate")!;
  assert.deepEqual([bl.kind, bl.type, bl.minimum, bl.maximum, bl.default], ["", "INT", 0, 1000000, 125000]);
});

Deno.test("parseDbc: floating_point.dbc SIG_VALTYPE_ float32/float64", async () => {
  const db = await load("floating_point.dbc");
  assert.equal(sig(msg(db, "Message1"), "Signal1").valueType, "float64");
  assert.equal(sig(msg(db, "Message2"), "Signal1").valueType, "float32");
  assert.equal(sig(msg(db, "Message2"), "Signal2").valueType, "float32");
});

Deno.test("parseDbc: fd_test.dbc and j1939.dbc frame formats", async () => {
  const fd = await load("fd_test.dbc");
  assert.deepEqual(
    fd.messages.map((m) => [m.name, m.id, m.extended, m.frameFormat, m.fd]),
    [
      ["TestMsg_Ex", 3, true, "ExtendedCAN", false],
      ["TestMsg_Std", 2, false, "StandardCAN", false],
      ["TestMsg_FDStd", 1, false, "StandardCAN_FD", true],
      ["TestMsg_FDEx", 0, true, "ExtendedCAN_FD", true],
    ],
  );
  const j = await load("j1939.dbc");
  const m1 = msg(j, "Message1");
  assert.equal(m1.id, 0x15340201);
  assert.equal(m1.frameFormat, "J1939PG");
  assert.equal(sig(m1, "Signal1").attributes["SPN"], 500);
  assert.deepEqual(sig(m1, "Signal1").receivers, ["Node2"]);
});

Deno.test("parseDbc: simple multiplexing (comments_hex_and_motorola) and SG_MUL_VAL_ ranges (multiplex.dbc)", async () => {
  const db = await load("comments_hex_and_motorola_converted_from_sym.dbc");
  const m = msg(db, "Msg1");
  assert.equal(sig(m, "sig1").mux.isMultiplexer, true);
  assert.deepEqual(sig(m, "sig12").mux, {
    isMultiplexer: false,
    multiplexerSignal: "sig1",
    multiplexerValues: [{ min: 1, max: 1 }],
  });
  assert.deepEqual(sig(m, "sig22").mux.multiplexerValues, [{ min: 2, max: 2 }]);
  assert.equal(sig(m, "sig1").comment, "a comment");

  const mx = msg(await load("multiplex.dbc"), "Message1");
  assert.equal(mx.id, 0x123456);
  assert.equal(mx.frameFormat, "J1939PG");
  assert.deepEqual(sig(mx, "BIT_L").mux.multiplexerValues, [{ min: 8, max: 8 }, { min: 16, max: 16 }, {
    min: 24,
    max: 24,
  }]);
  assert.deepEqual(sig(mx, "BIT_K").mux.multiplexerValues, [{ min: 24, max: 24 }]);
  assert.equal(sig(mx, "BIT_K").mux.multiplexerSignal, "Multiplexor");
});

Deno.test("parseDbc: extended multiplexing, cascaded (m2M) and multiple value ranges", async () => {
  const c = msg(await load("issue_184_extended_mux_cascaded.dbc"), "ext_MUX_cascaded");
  const b = sig(c, "muxed_A_2_MUX_B");
  assert.equal(b.mux.isMultiplexer, true);
  assert.equal(b.mux.multiplexerSignal, "MUX_A");
  assert.deepEqual(b.mux.multiplexerValues, [{ min: 2, max: 2 }]);
  assert.equal(sig(c, "muxed_B_0").mux.multiplexerSignal, "muxed_A_2_MUX_B");
  assert.equal(sig(c, "muxed_A_1").mux.multiplexerSignal, "MUX_A");
  const mv = msg(await load("issue_184_extended_mux_multiple_values.dbc"), "ext_MUX_multiple_values");
  assert.deepEqual(sig(mv, "muxed_0_3_4_5").mux.multiplexerValues, [{ min: 0, max: 0 }, { min: 3, max: 5 }]);
  const ind = msg(await load("issue_184_extended_mux_independent_multiplexors.dbc"), "ext_MUX_indep_multiplexors");
  assert.equal(sig(ind, "muxed_B_2").mux.multiplexerSignal, "MUX_B");
  assert.equal(sig(ind, "muxed_A_0").mux.multiplexerSignal, "MUX_A");
});

Deno.test("parseDbc: vehicle.dbc as cantools sees it", async () => {
  const db = await load("vehicle.dbc");
  assert.equal(db.messages.length, 217);
  assert.equal(db.messages[216].id, 155872546);
  assert.equal(db.messages[216].extended, true);
  assert.equal(db.messages[0].name, "RT_SB_INS_Vel_Body_Axes");
  assert.equal(db.messages[0].id, 0x9588322);
  assert.equal(db.messages[0].cycleTimeMs, undefined);
  const s = sig(db.messages[0], "Validity_INS_Vel_Forwards"); // (cantools sorts signals by start bit; we keep file order)
  assert.deepEqual([s.name, s.startBit, s.length, s.byteOrder, s.signed, s.factor, s.offset, s.minimum, s.maximum], [
    "Validity_INS_Vel_Forwards",
    0,
    1,
    "little_endian",
    false,
    1,
    0,
    0,
    1,
  ]);
  assert.equal(s.comment, "Valid when bit is set, invalid when bit is clear.");
  assert.equal(db.messages.flatMap((m) => m.signals).filter((x) => x.choices).length, 15);
  const acc = msg(db, "RT_IMU06_Accel");
  const al = sig(acc, "Accel_Longitudinal");
  assert.deepEqual([al.startBit, al.length, al.signed, al.factor, al.minimum, al.maximum, al.unit], [
    16,
    16,
    true,
    0.001,
    -65,
    65,
    "g",
  ]);
  assert.equal(al.attributes["GenSigStartValue"], 32767);
  assert.equal(sig(acc, "Accel_Lateral").attributes["GenSigStartValue"], -30000);
  assert.equal((await load("abs.dbc")).messages[0].cycleTimeMs !== undefined, true);
});

Deno.test("parseDbc: Model3CAN.dbc size and a known signal", async () => {
  const db = await loadDbc(new URL("../../assets/dbc/Model3CAN.dbc", import.meta.url).pathname);
  assert.equal(db.messages.length, 159);
  assert.equal(db.messages.reduce((n, m) => n + m.signals.length, 0), 2752);
  assert.ok(db.messages.every((m) => m.name !== "VECTOR__INDEPENDENT_SIG_MSG"));
  const m = msg(db, "ID257DIspeed");
  assert.equal(m.id, 599);
  assert.equal(m.cycleTimeMs, 20);
  const s = sig(m, "DI_vehicleSpeed");
  assert.deepEqual([s.startBit, s.length, s.byteOrder, s.signed, s.factor, s.offset, s.minimum, s.maximum, s.unit], [
    12,
    12,
    "little_endian",
    false,
    0.08,
    -40,
    -40,
    285,
    "kph",
  ]);
  assert.deepEqual(s.receivers, ["Receiver"]);
});

Deno.test("parseDbc: multi-line CM_ with escaped quotes, comments, BU_ on several names", () => {
  const db = parseDbc(
    [
      'VERSION "x" // trailing comment',
      "BU_: A B",
      "BO_ 2147483648 M: 8 A",
      ' SG_ S : 7|8@0- (2,-1) [-10|10.5] "V" A,B',
      'CM_ SG_ 2147483648 S "line one',
      'line \\"two\\"";',
      'CM_ "net";',
      "",
    ].join("\n"),
  );
  const s = db.messages[0].signals[0];
  assert.equal(s.comment, 'line one\nline "two"');
  assert.equal(db.comment, "net");
  assert.deepEqual([s.factor, s.offset, s.minimum, s.maximum], [2, -1, -10, 10.5]);
  assert.deepEqual(s.receivers, ["A", "B"]);
  assert.equal(db.messages[0].id, 0);
  assert.equal(db.messages[0].extended, true);
});

Deno.test("parseDbc: NS_ list indented or not, up to the first statement", () => {
  for (const ns of ["NS_ :\n\tCM_\n\tBA_DEF_\n", "NS_ :\nCM_\nBA_DEF_\nSG_MUL_VAL_\n", "NS_ : CM_ BA_DEF_\n"]) {
    const db = parseDbc(`VERSION "v"\n${ns}CM_ "net";\nBU_: A\nBO_ 1 M: 1 A\n`);
    assert.equal(db.comment, "net");
    assert.deepEqual(db.nodes, ["A"]);
    assert.equal(db.messages.length, 1);
  }
});

Deno.test("loadDbc: CP1252/Latin-1 files decode; errors name the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/latin1.dbc`;
    const head = new TextEncoder().encode('BO_ 1 M: 8 A\nCM_ BO_ 1 "Temp');
    await Deno.writeFile(path, new Uint8Array([...head, 0xe9, ...new TextEncoder().encode('rature";\n')]));
    assert.equal((await loadDbc(path)).messages[0].comment, "Temp\u00e9rature");
    await Deno.writeTextFile(path, "BO_ 1 M: x A\n");
    await assert.rejects(() => loadDbc(path), (e: unknown) => e instanceof ParseError && e.path === `${path}:1:10`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function parseError(text: string): ParseError {
  try {
    parseDbc(text, { filename: "bad.dbc" });
  } catch (e) {
    assert.ok(e instanceof ParseError, `expected ParseError, got ${e}`);
    return e;
  }
  assert.fail("expected a ParseError");
}

Deno.test("parseDbc: malformed input gives ParseError with file, line and column", () => {
  let e = parseError('BO_ 1 M: 8 A\n SG_ S : 0|8@2+ (1,0) [0|0] "" A\n');
  assert.equal(e.code, "dbc.syntax");
  assert.equal(e.line, 2);
  assert.equal(e.column, 14);
  assert.match(e.message, /^bad\.dbc:2:14: .*byte order/);
  e = parseError('BO_ 1 M: 8 A\n SG_ S : 0|0@1+ (1,0) [0|0] "" A\n');
  assert.match(e.message, /length 0/);
  e = parseError('CM_ "never closed;\n');
  assert.equal(e.line, 1);
  assert.equal(e.column, 5);
  e = parseError(' SG_ S : 0|8@1+ (1,0) [0|0] "" A\n');
  assert.match(e.message, /outside a message/);
  e = parseError('BO_ 1 M: 8 A\n SG_ S m1 : 0|8@1+ (1,0) [0|0] "" A\n');
  assert.equal(e.code, "dbc.mux");
  e = parseError("BO_ 1 M: 8 A\nSIG_VALTYPE_ 1 S : 1\n");
  assert.match(e.message, /expected ';'/);
  e = parseError("GARBAGE here\n");
  assert.match(e.message, /unknown keyword 'GARBAGE'/);
});

Deno.test("parseDbc: error positions match cantools' for its parse-error examples", () => {
  const cases: [string, number, number][] = [
    ["abc", 1, 1],
    ['VERSION "1.0"\nBO_ dssd\n', 2, 5],
    ['VERSION "1.0"\ndd\n', 2, 1],
    ['VERSION "1.0"\nBO_ 546 EMV_Stati 8 EMV_Statusmeldungen\n', 2, 19],
    ['CM_ BO_ "Foo.";', 1, 9],
  ];
  for (const [text, line, column] of cases) {
    const e = parseError(text);
    assert.deepEqual([e.line, e.column], [line, column], text);
  }
});

Deno.test("parseDbc property: random input never throws anything but ParseError", () => {
  const keywordish = fc.constantFrom(
    "BO_ ",
    " SG_ ",
    "CM_ ",
    "BA_ ",
    "BA_DEF_ ",
    "VAL_ ",
    "SG_MUL_VAL_ ",
    "SIG_VALTYPE_ ",
    '"',
    ":",
    "|",
    "@1+",
    "@0-",
    "(1,0)",
    "[0|1]",
    ";",
    "\n",
    " m1M ",
    " M ",
    "1-2",
    "2147483649",
    "-",
    "1e400",
    "\\",
  );
  const text = fc.array(fc.oneof(keywordish, fc.string({ maxLength: 6 }), fc.integer().map(String)), { maxLength: 40 })
    .map((a) => a.join(""));
  fc.assert(
    fc.property(text, (t) => {
      try {
        parseDbc(t);
      } catch (e) {
        if (!(e instanceof ParseError)) throw e;
      }
    }),
    { numRuns: 3000 },
  );
  // Mutations of a valid file.
  const base =
    'VERSION ""\nBU_: A\nBO_ 100 M: 8 A\n SG_ S M : 0|8@1+ (1,0) [0|255] "" A\n SG_ T m1 : 8|8@0- (0.5,1) [0|0] "u" A\nVAL_ 100 S 1 "one" ;\n';
  fc.assert(
    fc.property(fc.nat(base.length), fc.nat(base.length), fc.string({ maxLength: 4 }), (a, b, ins) => {
      const [lo, hi] = a < b ? [a, b] : [b, a];
      try {
        parseDbc(base.slice(0, lo) + ins + base.slice(hi));
      } catch (e) {
        if (!(e instanceof ParseError)) throw e;
      }
    }),
    { numRuns: 3000 },
  );
});
