import assert from "node:assert/strict";
import {
  avroDatatype,
  AvroWriter,
  buildSnapshot,
  catalogFromMap,
  datapointToSample,
  decodeAvroToDatapoints,
  MessageSequencer,
  readSequenceNumber,
  TimeSeriesBundler,
  type TimeSeriesColumns,
  writeTimeSeries,
} from "./mod.ts";

const T0 = Date.parse("2026-11-23T10:00:00.000Z");
const float = avroDatatype("float");

function collect(options: { maxCount?: number; maxSpanMs?: number }) {
  const bundles: Array<{ path: string; ts: number[]; values: unknown[] }> = [];
  const bundler = new TimeSeriesBundler({
    ...options,
    onBundle: (s: TimeSeriesColumns) =>
      bundles.push({
        path: s.path,
        ts: Array.from(s.ts as ArrayLike<number>).slice(0, s.count),
        values: Array.from(s.values as ArrayLike<unknown>).slice(0, s.count),
      }),
  });
  return { bundles, bundler };
}

Deno.test("TimeSeriesBundler closes a series at maxCount, per signal", () => {
  const { bundles, bundler } = collect({ maxCount: 3, maxSpanMs: 1e9 });
  for (let i = 0; i < 7; i++) {
    bundler.addNumber("Vehicle.Speed", float, T0 + i * 1000, i);
    bundler.addNumber("Vehicle.Other", float, T0 + i * 1000, i * 10);
  }
  assert.deepEqual(bundles.map((b) => [b.path, b.values]), [
    ["Vehicle.Speed", [0, 1, 2]],
    ["Vehicle.Other", [0, 10, 20]],
    ["Vehicle.Speed", [3, 4, 5]],
    ["Vehicle.Other", [30, 40, 50]],
  ]);
  assert.equal(bundler.pending, 2);
  bundler.flush();
  assert.deepEqual(bundles.slice(4).map((b) => [b.path, b.ts]), [
    ["Vehicle.Speed", [T0 + 6000]],
    ["Vehicle.Other", [T0 + 6000]],
  ]);
  assert.equal(bundler.pending, 0);
});

Deno.test("TimeSeriesBundler closes a series when it would span maxSpanMs, and on flushDue", () => {
  const { bundles, bundler } = collect({ maxCount: 100, maxSpanMs: 10_000 });
  for (let i = 0; i < 25; i++) bundler.addNumber("Vehicle.Speed", float, T0 + i * 1000, i);
  // windows [0..9], [10..19]; 20..24 pending
  assert.deepEqual(bundles.map((b) => b.values.length), [10, 10]);
  assert.equal(bundles[1].ts[0], T0 + 10_000);
  assert.equal(bundler.flushDue(T0 + 25_000), 0);
  assert.equal(bundler.flushDue(T0 + 30_000), 1);
  assert.deepEqual(bundles[2].values, [20, 21, 22, 23, 24]);
});

Deno.test("TimeSeriesBundler keeps string and array signals; bundles encode and decode", () => {
  const catalog = catalogFromMap({ "Vehicle.Vin": "string", "Vehicle.Codes": "string[]" });
  const w = new AvroWriter();
  const decoded: string[] = [];
  const bundler = new TimeSeriesBundler({
    maxCount: 2,
    onBundle: (s) => {
      w.reset();
      w.long(1); // one Message
      w.long(1); // TimeSeries branch
      writeTimeSeries(w, s);
      w.long(0);
      for (const dp of decodeAvroToDatapoints(w.view())) decoded.push(`${dp.path}=${JSON.stringify(dp.value)}`);
    },
  });
  const tsMs = T0;
  for (
    const [path, value] of [["Vehicle.Vin", "A"], ["Vehicle.Codes", ["P1"]], ["Vehicle.Vin", "B"], [
      "Vehicle.Codes",
      [],
    ]]
  ) {
    bundler.add(datapointToSample({ path: path as string, value: value as string, tsMs }, catalog));
  }
  assert.deepEqual(decoded, ['Vehicle.Vin="A"', 'Vehicle.Vin="B"', 'Vehicle.Codes=["P1"]', "Vehicle.Codes=[]"]);
});

Deno.test("MessageSequencer numbers frames and each frame decodes on its own", () => {
  const catalog = catalogFromMap({ "Vehicle.Speed": "float", "Vehicle.Gear": "int8" });
  const seq = new MessageSequencer({ first: 41 });
  const s = (path: string, value: number, ms: number) => datapointToSample({ path, value, tsMs: T0 + ms }, catalog);
  const a = seq.frame([buildSnapshot([s("Vehicle.Speed", 1.5, 0), s("Vehicle.Gear", 2, 10)])]);
  const b = seq.frame([{ kind: "record", sample: s("Vehicle.Gear", 3, 20) }]);
  assert.deepEqual([a.sequence, b.sequence, seq.next], [41, 42, 43]);
  assert.equal(readSequenceNumber(a.bytes), 41);
  assert.equal(readSequenceNumber(b.bytes), 42);
  assert.deepEqual(decodeAvroToDatapoints(a.bytes).map((d) => d.value), [1.5, 2]);
  assert.deepEqual(decodeAvroToDatapoints(b.bytes), [{ path: "Vehicle.Gear", value: 3, tsMs: T0 + 20 }]);
  const snap = buildSnapshot([s("Vehicle.Speed", 1, 5), s("Vehicle.Speed", 2, 2)]);
  assert.deepEqual([snap.start, snap.end], [T0 + 2, T0 + 5]);
});
