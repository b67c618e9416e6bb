import assert from "node:assert/strict";
import {
  type CanFrame,
  decodeReference,
  encodeReference,
  formatCandumpLine,
  loadDbc,
  parseDbc,
} from "../core/can/mod.ts";
import { formatTimestamp } from "./decode.ts";
import { driveProfile, generateDrive, mappedSignals } from "./gen_candump.ts";

const root = new URL("../", import.meta.url).pathname;

const DBC = `VERSION ""
BU_: ECU
BO_ 291 Msg: 8 ECU
 SG_ Sig : 0|8@1+ (0.5,0) [0|127.5] "km/h" ECU
 SG_ Temp : 15|12@0- (0.1,-40) [-100|100] "C" ECU
 SG_ Mode : 32|2@1+ (1,0) [0|3] "" ECU
BO_ 2147484160 Ext: 8 ECU
 SG_ Big : 0|64@1+ (1,0) [0|0] "" ECU
BO_ 768 Fd: 64 ECU
 SG_ Sel M : 0|8@1+ (1,0) [0|255] "" ECU
 SG_ A m1 : 8|16@1- (1,0) [0|0] "" ECU
 SG_ B m2 : 8|32@1+ (1,0) [0|0] "" ECU
 SG_ Tail : 504|8@1+ (1,0) [0|255] "" ECU
VAL_ 291 Mode 0 "OFF" 1 "ON" 2 "AUTO" 3 "SNA" ;
BA_DEF_ BO_ "VFrameFormat" ENUM "StandardCAN","ExtendedCAN","reserved","J1939PG","reserved","reserved","reserved","reserved","reserved","reserved","reserved","reserved","reserved","reserved","StandardCAN_FD","ExtendedCAN_FD";
BA_ "VFrameFormat" BO_ 768 14;
`;

function frame(id: number, data: Uint8Array, p: Partial<CanFrame> = {}): CanFrame {
  return {
    timestamp: 1436509052.249713,
    iface: "can0",
    id,
    extended: false,
    rtr: false,
    error: false,
    fd: false,
    brs: false,
    esi: false,
    data,
    ...p,
  };
}

async function run(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", `${root}tools/decode.ts`, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function fixture(): Promise<{ dir: string; dbc: string; log: string; frames: CanFrame[] }> {
  const dir = await Deno.makeTempDir({ prefix: "decode_test_" });
  const db = parseDbc(DBC);
  const [msg, ext, fd] = db.messages;
  const frames = [
    frame(291, encodeReference(msg, { Sig: 12.5, Temp: -12.3, Mode: "AUTO" })),
    frame(0x200, encodeReference(ext, { Big: 0xfedcba9876543210n }), { extended: true, iface: "vcan1" }),
    frame(768, encodeReference(fd, { Sel: 1, A: -5, Tail: 7 }), { fd: true, brs: true }),
    frame(768, encodeReference(fd, { Sel: 2, B: 4000000000, Tail: 8 }), { fd: true }),
    frame(0x7ff, Uint8Array.of(1, 2, 3)), // unknown
    frame(291, new Uint8Array(0), { rtr: true, dlc: 8 }), // RTR: not decoded
  ].map((f, i) => ({ ...f, timestamp: (1436509052249713 + i * 1000) / 1e6 }));
  await Deno.writeTextFile(`${dir}/test.dbc`, DBC);
  await Deno.writeTextFile(`${dir}/test.log`, frames.map((f) => formatCandumpLine(f) + "\n").join(""));
  return { dir, dbc: `${dir}/test.dbc`, log: `${dir}/test.log`, frames };
}

Deno.test("decode CLI: NDJSON matches the reference decoder, unknown/RTR frames counted", async () => {
  const fx = await fixture();
  try {
    const r = await run(["--dbc", fx.dbc, "--log", fx.log]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 4);
    const db = parseDbc(DBC);
    const decoded = lines.map((l) => JSON.parse(l));
    for (const [i, d] of decoded.entries()) {
      const f = fx.frames[i];
      const m = db.messages.find((x) => x.id === f.id && x.extended === f.extended)!;
      assert.deepEqual(Object.keys(d), ["ts", "iface", "id", "extended", "message", "signals"]);
      assert.equal(d.ts, f.timestamp);
      assert.equal(d.iface, f.iface);
      assert.equal(d.id, f.id);
      assert.equal(d.extended, f.extended);
      assert.equal(d.message, m.name);
      const ref = decodeReference(m, f.data).values;
      assert.deepEqual(Object.keys(d.signals).sort(), Object.keys(ref).sort());
      for (const k of Object.keys(ref)) assert.equal(d.signals[k], ref[k], `${m.name}.${k}`);
    }
    assert.equal(decoded[0].signals.Sig, 12.5);
    assert.equal(decoded[0].signals.Mode, 2);
    assert.equal(decoded[2].signals.A, -5);
    assert.equal(decoded[3].signals.B, 4000000000);
    assert.equal(
      lines[0].slice(0, lines[0].indexOf(',"signals"')),
      `{"ts":1436509052.249713,"iface":"can0","id":291,"extended":false,"message":"Msg"`,
    );
    assert.match(r.stderr, /^decode: frames=6 decoded=4 unknown=2 errors=0 values=\d+ .*frames\/s=\d+\n$/);
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

Deno.test("decode CLI: --choices labels, stdin, CSV", async () => {
  const fx = await fixture();
  try {
    const log = await Deno.readTextFile(fx.log);
    const r = await run(["--dbc", fx.dbc, "--log", "-", "--choices"], log);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout.split("\n")[0]).signals.Mode, "AUTO");
    const c = await run(["--dbc", fx.dbc, "--format", "csv", "--choices"], log);
    assert.equal(c.code, 0, c.stderr);
    const rows = c.stdout.trimEnd().split("\n");
    assert.equal(rows[0], "ts,iface,id,extended,message,signal,value");
    assert.ok(rows.includes("1436509052.249713,can0,291,false,Msg,Mode,AUTO"), rows.join("\n"));
    assert.ok(rows.includes("1436509052.249713,can0,291,false,Msg,Sig,12.5"));
    assert.ok(rows.includes("1436509052.250713,vcan1,512,true,Ext,Big,18364758544493064000"));
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

Deno.test("decode CLI: errors — bad flag exits 2, malformed line exits 1 with its line, --lenient counts it", async () => {
  const fx = await fixture();
  try {
    const bad = await run(["--dbc", fx.dbc, "--nope"]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trimEnd().split("\n").length, 1);
    assert.match(bad.stderr, /^decode: /);
    assert.equal((await run(["--log", fx.log])).code, 2);
    assert.equal((await run(["--dbc", fx.dbc, "--format", "xml"])).code, 2);
    const help = await run(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: deno task decode/);
    const missing = await run(["--dbc", `${fx.dir}/missing.dbc`, "--log", fx.log]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trimEnd().split("\n").length, 1);
    await Deno.writeTextFile(fx.log, (await Deno.readTextFile(fx.log)) + "(1.0) can0 12G#00\n");
    const strict = await run(["--dbc", fx.dbc, "--log", fx.log]);
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /:7:/);
    const lenient = await run(["--dbc", fx.dbc, "--log", fx.log, "--lenient"]);
    assert.equal(lenient.code, 0, lenient.stderr);
    assert.match(lenient.stderr, /frames=6 decoded=4 unknown=2 errors=1 /);
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

Deno.test("demo log: regenerating it gives the committed file, and it covers every mapped signal", async () => {
  const db = await loadDbc(`${root}assets/dbc/Model3CAN.dbc`);
  const signals = mappedSignals(JSON.parse(await Deno.readTextFile(`${root}assets/vss/vss_dbc_4.0.json`)));
  assert.ok(signals.size >= 20);
  const frames = generateDrive(db.messages, { signals, seconds: 30 });
  const text = frames.map((f) => formatCandumpLine(f) + "\n").join("");
  const committed = await Deno.readTextFile(`${root}assets/demo/model3_drive.log`);
  assert.ok(text === committed, "assets/demo/model3_drive.log is stale: run the gen:candump command in its header");
  assert.ok(committed.length < 1_000_000);
  const r = await run([
    "--dbc",
    `${root}assets/dbc/Model3CAN.dbc`,
    "--log",
    `${root}assets/demo/model3_drive.log`,
    "--choices",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const seen = new Set<string>();
  const gears: string[] = [];
  let maxSpeed = 0;
  for (const line of r.stdout.trimEnd().split("\n")) {
    const d = JSON.parse(line);
    for (const k of Object.keys(d.signals)) seen.add(k);
    if (d.signals.DI_gear !== undefined && gears.at(-1) !== d.signals.DI_gear) gears.push(d.signals.DI_gear);
    if (d.signals.DI_uiSpeed !== undefined) maxSpeed = Math.max(maxSpeed, d.signals.DI_uiSpeed);
  }
  for (const s of signals.keys()) assert.ok(seen.has(s), `demo log lacks ${s}`);
  assert.deepEqual(gears, ["DI_GEAR_P", "DI_GEAR_D", "DI_GEAR_P"]);
  assert.equal(maxSpeed, 92);
  assert.equal(driveProfile(10).DI_gear, "DI_GEAR_D");
});

Deno.test("timestamp writer gives exactly what String/JSON gives", () => {
  const cases = [1436509052.249713, 1700000000, 1700000000.1, 1700000000.000001, 0.5, 1e21, 4294967296.25, 12.000009];
  let seed = 1;
  for (let i = 0; i < 20000; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const sec = 1_000_000_000 + (seed % 3_000_000_000);
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    cases.push((sec * 1e6 + (seed % 1_000_000)) / 1e6);
  }
  for (const ts of cases) assert.equal(formatTimestamp(ts), JSON.stringify(ts), String(ts));
});
