import assert from "node:assert/strict";
import { decodeReference, loadDbc } from "../core/can/mod.ts";
import { driveProfile, generateDrive, mappedSignals } from "./gen_candump.ts";

const root = new URL("../", import.meta.url).pathname;

Deno.test("generateDrive: without a mapping every message is sent, in time order, and decodes", async () => {
  for (const f of ["testdata/dbc/multiplex_2.dbc", "testdata/dbc/fd_test.dbc", "testdata/dbc/vehicle.dbc"]) {
    const db = await loadDbc(`${root}${f}`);
    const frames = generateDrive(db.messages, { signals: new Map(), seconds: 1, start: 100 });
    const ids = new Set(frames.map((x) => `${x.id}/${x.extended}`));
    for (const m of db.messages) assert.ok(ids.has(`${m.id}/${m.extended}`), `${f} ${m.name}`);
    for (let i = 1; i < frames.length; i++) assert.ok(frames[i].timestamp >= frames[i - 1].timestamp);
    assert.ok(frames.every((x) => x.timestamp >= 100 && x.timestamp < 101.001));
    for (const x of frames) {
      const m = db.messages.find((y) => y.id === x.id && y.extended === x.extended)!;
      assert.equal(x.data.length, m.length);
      decodeReference(m, x.data);
    }
  }
});

Deno.test("generateDrive: profile signals carry the profile's values", async () => {
  const db = await loadDbc(`${root}assets/dbc/Model3CAN.dbc`);
  const signals = mappedSignals(JSON.parse(await Deno.readTextFile(`${root}assets/vss/vss_dbc_4.0.json`)));
  const frames = generateDrive(db.messages, { signals, seconds: 30, start: 0 });
  const speedMsg = db.messages.find((m) => m.signals.some((s) => s.name === "DI_uiSpeed"))!;
  const speeds = frames.filter((x) => x.id === speedMsg.id).map((x) => ({
    t: x.timestamp,
    v: decodeReference(speedMsg, x.data).values.DI_uiSpeed as number,
  }));
  assert.ok(speeds.length > 1000);
  for (const { t, v } of speeds) assert.ok(Math.abs(v - (driveProfile(t).DI_uiSpeed as number)) <= 1, `${t}: ${v}`);
  assert.equal(Math.max(...speeds.map((s) => s.v)), 92);
});
