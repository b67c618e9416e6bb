import assert from "node:assert/strict";
import {
  decodeDtc,
  decodeSupportedPids,
  encodeDtc,
  encodeSupportedPids,
  INTEGER_VSS_PATHS,
  pidDatapoints,
  pidDef,
  PIDS,
  VSS_DTC_LIST,
  VSS_VIN,
} from "./mod.ts";

const b = (...x: number[]) => new Uint8Array(x);

Deno.test("J1979 formulas decode the standard examples", () => {
  assert.equal(pidDef(0x0c).decode(b(0x1a, 0xf8), 0), 1726);
  assert.equal(pidDef(0x05).decode(b(0x7b), 0), 83);
  assert.equal(pidDef(0x0f).decode(b(0x00), 0), -40);
  assert.equal(pidDef(0x0d).decode(b(0x64), 0), 100);
  assert.equal(pidDef(0x04).decode(b(0xff), 0), 100);
  assert.equal(pidDef(0x11).decode(b(0x80), 0), 12800 / 255);
  assert.equal(pidDef(0x10).decode(b(0x01, 0x2c), 0), 3);
  assert.equal(pidDef(0x1f).decode(b(0x01, 0x00), 0), 256);
  assert.equal(pidDef(0x2f).decode(b(0x33), 0), 20);
  assert.equal(pidDef(0x31).decode(b(0x30, 0x39), 0), 12345);
  assert.equal(pidDef(0xa6).decode(b(0x00, 0x1e, 0x84, 0x80), 0), 200000);
  assert.equal(pidDef(0xa6).decode(b(0xff, 0xff, 0xff, 0xff), 0), 429496729.5);
});

Deno.test("encode is the inverse of decode for every PID", () => {
  const samples: Record<number, number> = {
    0x04: 40,
    0x05: 90,
    0x0c: 3000.25,
    0x0d: 88,
    0x0f: 25,
    0x10: 12.5,
    0x11: 20,
    0x1f: 600,
    0x2f: 60,
    0x31: 1500,
    0xa6: 123456.7,
  };
  for (const [pid, v] of Object.entries(samples)) {
    const d = pidDef(Number(pid));
    const bytes = d.encode(v);
    assert.equal(bytes.length, d.bytes);
    assert.ok(Math.abs(d.decode(new Uint8Array(bytes), 0) - v) <= 0.2, `${d.name}`);
  }
  assert.equal(pidDef("engine_rpm").pid, 0x0c);
  assert.equal(pidDef("0x0d").pid, 0x0d);
  assert.throws(() => pidDef(0x99), { code: "obd.unknown_pid" });
});

Deno.test("supported-PID bitmaps", () => {
  // Wikipedia's example: BE 1F A8 13.
  assert.deepEqual(
    decodeSupportedPids(0, b(0xbe, 0x1f, 0xa8, 0x13)),
    [0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x13, 0x15, 0x1c, 0x1f, 0x20],
  );
  assert.deepEqual(
    encodeSupportedPids(0, [
      0x01,
      0x03,
      0x04,
      0x05,
      0x06,
      0x07,
      0x0c,
      0x0d,
      0x0e,
      0x0f,
      0x10,
      0x11,
      0x13,
      0x15,
      0x1c,
      0x1f,
      0x20,
    ]),
    [0xbe, 0x1f, 0xa8, 0x13],
  );
  assert.deepEqual(decodeSupportedPids(0xa0, b(0, 0, 0, 0)), []);
  assert.deepEqual(decodeSupportedPids(0xa0, new Uint8Array(encodeSupportedPids(0xa0, [0xa6]))), [0xa6]);
});

Deno.test("DTC codes", () => {
  assert.equal(decodeDtc(0x01, 0x33), "P0133");
  assert.equal(decodeDtc(0x03, 0x01), "P0301");
  assert.equal(decodeDtc(0x41, 0x23), "C0123");
  assert.equal(decodeDtc(0x92, 0x34), "B1234");
  assert.equal(decodeDtc(0xc1, 0x00), "U0100");
  assert.equal(decodeDtc(0x3f, 0xff), "P3FFF");
  for (const c of ["P0301", "C0123", "B1234", "U0100", "P3FFF", "P0A0F"]) assert.equal(decodeDtc(...encodeDtc(c)), c);
  assert.throws(() => encodeDtc("X0301"), { code: "obd.dtc" });
  assert.throws(() => encodeDtc("P4301"), { code: "obd.dtc" });
});

Deno.test("every PID maps to VSS 4.0 leaves that exist, with matching units", async () => {
  const vss = JSON.parse(await Deno.readTextFile(new URL("../../assets/vss/vss_release_4.0.json", import.meta.url)));
  const leaf = (path: string) => {
    let node = { children: vss } as { children?: Record<string, unknown>; [k: string]: unknown };
    for (const part of path.split(".")) {
      node = node.children?.[part] as typeof node;
      assert.ok(node, `${path} not in VSS 4.0`);
    }
    assert.notEqual(node.type, "branch", `${path} is a branch`);
    return node;
  };
  for (const d of PIDS.values()) {
    assert.ok(d.vss.length > 0);
    for (const p of d.vss) {
      const n = leaf(p);
      if (n.unit) assert.equal(n.unit, d.unit, `${p} unit`);
      const integer = /^u?int/.test(String(n.datatype));
      assert.equal(INTEGER_VSS_PATHS.has(p), integer, `${p} is ${n.datatype}`);
    }
  }
  assert.deepEqual(pidDatapoints(0x0c, 1726.25, 5), [
    { path: "Vehicle.OBD.EngineSpeed", value: 1726.25, tsMs: 5 },
    { path: "Vehicle.Powertrain.CombustionEngine.Speed", value: 1726, tsMs: 5 },
  ]);
  assert.equal(leaf(VSS_DTC_LIST).datatype, "string[]");
  assert.equal(leaf(VSS_VIN).datatype, "string");
  assert.equal(pidDef(0x0c).topic, "engine/rpm");
  assert.equal(pidDef(0x0c).intervalMs, 100);
  assert.equal(pidDef(0x05).topic, "engine/coolant_temp");
  assert.equal(pidDef(0x05).intervalMs, 1000);
});
