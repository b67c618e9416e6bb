/**
 * End to end through the real WASM decoder: Model3CAN frames with known values → decodeBatch → VssMapper.pushBatch
 * with the shipped Kuksa VSS 4.0 mapping.
 */
import assert from "node:assert/strict";
import {
  compileDecodePlan,
  encodeReference,
  FRAME_OFF_TS,
  FRAME_RECORD_SIZE,
  type MessageDef,
  parseDbc,
} from "../can/mod.ts";
import { createWasmDecoder } from "../can/mod.ts";
import { type Datapoint, tsMsFromSeconds } from "../datapoint/mod.ts";
import { compileVssMapping, loadVssCatalog, physicalChoices } from "./mod.ts";

const ASSETS = new URL("../../assets/", import.meta.url);

Deno.test("pipeline: Model3 frames → WASM decoder → VSS datapoints (shipped mapping)", async () => {
  const db = parseDbc(Deno.readTextFileSync(new URL("dbc/Model3CAN.dbc", ASSETS)));
  const plan = compileDecodePlan(db);
  const mapper = compileVssMapping(new URL("vss/vss_dbc_4.0.json", ASSETS), {
    catalog: loadVssCatalog(new URL("vss/vss_release_4.0.json", ASSETS)),
    signals: plan.signalNames,
    choices: physicalChoices(plan.signalDefs),
  });
  const byId = (id: number): MessageDef => db.messages.find((m) => m.id === id)!;
  const encode = (m: MessageDef, values: Record<string, number | string | bigint>) => {
    const all: Record<string, number | string | bigint> = {};
    for (const s of m.signals) all[s.name] = 0n;
    return encodeReference(m, { ...all, ...values });
  };

  const unknownId = [0x7fe, 0x7fd, 0x001, 0x002, 0x003].find((id) => !db.messages.some((m) => m.id === id))!;
  const FRAMES = 20;
  const decoder = await createWasmDecoder(plan, { maxFrames: FRAMES * 4 });
  // Times step by 1/16 s (exact in binary), so the 100 ms intervals pass on every second frame.
  const t0 = 1_700_000_000;
  for (let k = 0; k < FRAMES; k++) {
    const timestamp = t0 + k / 16;
    const frame = (id: number, data: Uint8Array) =>
      decoder.batch.push({
        timestamp,
        iface: "can0",
        id,
        extended: false,
        rtr: false,
        error: false,
        fd: false,
        brs: false,
        esi: false,
        data,
      });
    frame(280, encode(byId(280), { DI_gear: k < 10 ? "DI_GEAR_P" : "DI_GEAR_D" }));
    frame(599, encode(byId(599), { DI_uiSpeed: 2 * k }));
    frame(258, encode(byId(258), { VCLEFT_mirrorTiltXPosition: 2, VCLEFT_mirrorTiltYPosition: 5 }));
    frame(unknownId, new Uint8Array(8));
  }
  const n = decoder.decode();
  assert.ok(n > 0);
  assert.equal(decoder.matched, FRAMES * 3);

  const frameTs = new Float64Array(decoder.batch.count);
  for (let i = 0; i < frameTs.length; i++) {
    frameTs[i] = tsMsFromSeconds(decoder.batch.view.getFloat64(i * FRAME_RECORD_SIZE + FRAME_OFF_TS, true));
  }
  const got = new Map<string, [number, unknown][]>();
  const emitted = mapper.pushBatch(
    { ids: decoder.signalId, values: decoder.value, tsMs: frameTs, frameIndex: decoder.frameIndex, count: n },
    (dp: Datapoint) => {
      const list = got.get(dp.path) ?? [];
      list.push([(dp.tsMs - t0 * 1000) * 16 / 1000, dp.value]);
      got.set(dp.path, list);
    },
  );
  assert.equal(emitted, [...got.values()].reduce((a, l) => a + l.length, 0));

  const every2nd = Array.from({ length: FRAMES / 2 }, (_, i) => 2 * i);
  assert.deepEqual(got.get("Vehicle.Speed"), every2nd.map((k) => [k, 2 * k]));
  assert.deepEqual(got.get("Vehicle.OBD.Speed"), every2nd.map((k) => [k, 2 * k]));
  assert.deepEqual(got.get("Vehicle.Powertrain.Transmission.CurrentGear"), every2nd.map((k) => [k, k < 10 ? 0 : 1]));
  assert.deepEqual(
    got.get("Vehicle.Powertrain.Transmission.IsParkLockEngaged"),
    every2nd.map((k) => [k, k < 10]),
  );
  assert.deepEqual(got.get("Vehicle.Body.Mirrors.DriverSide.Pan"), every2nd.map((k) => [k, -20]));
  assert.deepEqual(got.get("Vehicle.Body.Mirrors.DriverSide.Tilt"), every2nd.map((k) => [k, 100]));
  // every emitted path (including the other signals of these messages) respects its interval
  for (const [path, list] of got) {
    const entry = mapper.dbc2vss.find((e) => e.path === path)!;
    for (let i = 1; i < list.length; i++) {
      assert.ok(((list[i][0] - list[i - 1][0]) / 16) * 1000 >= entry.intervalMs, path);
    }
  }
  assert.equal(mapper.stats.emitted, emitted);
});
