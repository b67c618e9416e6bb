import assert from "node:assert/strict";
import { compileDecodePlan, lookupMessage, messageKey, MSG_STRIDE, SIG_STRIDE, signalLayout } from "./plan.ts";
import { loadDbc } from "./dbc.ts";

const dirs = [new URL("../../testdata/dbc/", import.meta.url), new URL("../../assets/dbc/", import.meta.url)];

Deno.test("compileDecodePlan: every bundled DBC compiles and every message is found by its key", async () => {
  let files = 0;
  for (const dir of dirs) {
    for await (const e of Deno.readDir(dir)) {
      if (!/\.dbc$/i.test(e.name)) continue;
      files++;
      const db = await loadDbc(new URL(e.name, dir).pathname);
      const plan = compileDecodePlan(db);
      assert.equal(plan.messageCount, db.messages.length, e.name);
      assert.equal(plan.signalNames.length, plan.signalCount, e.name);
      db.messages.forEach((m, i) => {
        assert.equal(lookupMessage(plan, messageKey(m.id, m.extended)), i, `${e.name} ${m.name}`);
        const first = plan.messages[i * MSG_STRIDE + 2];
        const count = plan.messages[i * MSG_STRIDE + 3];
        assert.equal(count, m.signals.length);
        for (let g = first; g < first + count; g++) assert.equal(plan.signalMessage[g], i);
        // Switches precede the signals they control.
        for (let g = first; g < first + count; g++) {
          const sw = plan.signals[g * SIG_STRIDE + 5];
          assert.ok(sw < g - first, `${e.name} ${m.name}.${plan.signalNames[g]}`);
        }
      });
      if (e.name === "Model3CAN.dbc") assert.ok(plan.messageCount > 100);
    }
  }
  assert.ok(files >= 20);
});

Deno.test("lookupMessage: unknown keys miss, extended and standard keys differ", () => {
  const msgs = Array.from({ length: 300 }, (_, i) => ({
    id: i * 7,
    extended: i % 2 === 1,
    name: `M${i}`,
    length: 8,
    sender: "",
    signals: [],
    frameFormat: "StandardCAN" as const,
    fd: false,
    attributes: {},
  }));
  const plan = compileDecodePlan({
    version: "",
    nodes: [],
    messages: msgs,
    valueTables: new Map(),
    attributeDefinitions: [],
    attributes: {},
  });
  assert.ok(1 << plan.hashBits >= 600);
  for (const [i, m] of msgs.entries()) {
    assert.equal(lookupMessage(plan, messageKey(m.id, m.extended)), i);
    assert.equal(lookupMessage(plan, messageKey(m.id, !m.extended)), -1);
  }
  assert.equal(lookupMessage(plan, messageKey(1, false)), -1);
});

Deno.test("signalLayout: Intel and Motorola positions", () => {
  // Intel 12 bits from bit 4: bytes 0-1, shift 4.
  assert.deepEqual(signalLayout({ startBit: 4, length: 12, byteOrder: "little_endian" }), {
    pos: 4,
    byte: 0,
    shift: 4,
    bytesNeeded: 2,
    wide: false,
  });
  // Motorola 16 bits, MSB at bit 7 of byte 0 (DBC start bit 7): big-endian bits 0..15.
  assert.deepEqual(signalLayout({ startBit: 7, length: 16, byteOrder: "big_endian" }), {
    pos: 15,
    byte: 0,
    shift: 0,
    bytesNeeded: 2,
    wide: false,
  });
  // Motorola 64 bits starting mid-byte needs a ninth byte.
  assert.equal(signalLayout({ startBit: 3, length: 64, byteOrder: "big_endian" }).wide, true);
  assert.equal(signalLayout({ startBit: 3, length: 64, byteOrder: "little_endian" }).wide, true);
});
