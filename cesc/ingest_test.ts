/**
 * Issue 18 at the CESC: one validation for HTTP JSON, HTTP AVRO and MQTT; atomic requests whose 400 names every
 * refused datapoint; one row per instant whatever its text; MQTT payloads refused, never filled in.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import { connect, type MqttClient } from "mqtt";
import { type Datapoint, type DatapointSchema, formatTime, formatValue, MAX_TS_MS } from "../core/datapoint/mod.ts";
import { createLogger } from "../core/log/mod.ts";
import { DEFAULT_VSS_TOPICS, jsonEncoder } from "../core/mqtt/mod.ts";
import { encodeVissIngest } from "../core/viss/mod.ts";
import { loadVssCatalog } from "../core/vss/mod.ts";
import { encodeDatapointsAvro } from "../core/codec/mod.ts";
import { startMosquitto, until } from "../testing/mod.ts";
import { postIngest, vinRows, withCesc } from "../testing/cesc.ts";
import { type Cesc, DEFAULT_CATALOG } from "./mod.ts";

const T0 = Date.UTC(2024, 0, 1);

/** The shipped VSS catalog plus one uint64 leaf (VSS 4.0 has none), so 64-bit integers travel every path. */
const vss = loadVssCatalog(DEFAULT_CATALOG);
const EXTRA: Record<string, { datatype: string }> = { "Vehicle.Test.Counter64": { datatype: "uint64" } };
const schema: DatapointSchema & { get(path: string): { datatype: string } | undefined } = {
  get: (path) => EXTRA[path] ?? vss.get(path),
};

function postAvro(url: string, bytes: Uint8Array): Promise<Response> {
  return fetch(url + "v1/data", {
    method: "POST",
    headers: { "content-type": "application/avro" },
    body: bytes as Uint8Array<ArrayBuffer>,
  });
}

async function mqttClient(url: string): Promise<MqttClient> {
  const client = connect(url, { protocolVersion: 5, reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", reject);
  });
  return client;
}

const mqttMessages = (cesc: Cesc, outcome: string) => cesc.metrics.counter("cesc_mqtt_messages_total", { outcome });

Deno.test("cesc ingest: a 400 names every refused datapoint (index, path, code, reason, at) and stores nothing", async () => {
  await withCesc(async (cesc, dir) => {
    const ts = (s: number) => formatTime(T0 + s * 1000);
    const body = {
      vin: "REFUSED01",
      data: [
        {
          path: "Vehicle.Speed",
          dp: [
            { value: "50", ts: ts(0) },
            { value: "fast", ts: ts(1) }, // 1: not a float
            { value: "52", ts: "11476-05-01T00:00:00Z" }, // 2: a year the bus can send, RFC 3339 cannot carry
            { value: "53", ts: ts(3) },
          ],
        },
        { path: "Vehicle/Speed", dp: [{ value: "1", ts: ts(4) }, { value: "2", ts: ts(5) }] }, // 4, 5: bad path
        { path: "Vehicle.VehicleIdentification.Model", dp: { value: "x".repeat(5000), ts: ts(6) } }, // 6: too long
        { path: "Vehicle.Powertrain.Transmission.SelectedGear", dp: { value: "200", ts: ts(7) } }, // 7: int8 range
        { path: "Vehicle.Cabin.Door.Row1.DriverSide.IsOpen", dp: { value: "true", ts: ts(8) } },
      ],
    };
    const r = await postIngest(cesc.url, body);
    assert.equal(r.status, 400);
    const error = (r.body as {
      error: { code: string; message: string; path: string; refused: number; datapoints: Record<string, unknown>[] };
    }).error;
    assert.equal(error.code, "viss.refused");
    assert.equal(error.message, "6 of 9 datapoints refused; nothing stored");
    assert.equal(error.path, "data[0].dp[1].value");
    assert.equal(error.refused, 6);
    assert.deepEqual(
      error.datapoints.map((d) => [d.index, d.path, d.code, d.at]),
      [
        [1, "Vehicle.Speed", "datapoint.type", "data[0].dp[1].value"],
        [2, "Vehicle.Speed", "datapoint.ts", "data[0].dp[2].ts"],
        [4, "Vehicle/Speed", "datapoint.path", "data[1].path"],
        [5, "Vehicle/Speed", "datapoint.path", "data[1].path"],
        [6, "Vehicle.VehicleIdentification.Model", "datapoint.too_long", "data[2].dp.value"],
        [7, "Vehicle.Powertrain.Transmission.SelectedGear", "datapoint.range", "data[3].dp.value"],
      ],
    );
    for (const d of error.datapoints) assert.ok(typeof d.reason === "string" && d.reason.length > 5, String(d.reason));
    assert.deepEqual(vinRows(join(dir, "ovds.db"), "REFUSED01"), [], "nothing stored");
    const m = await (await fetch(cesc.url + "metrics")).text();
    assert.match(m, /cesc_datapoints_refused_total\{reason="datapoint.path"\} 2/);
    assert.match(m, /cesc_datapoints_refused_total\{reason="datapoint.ts"\} 1/);
    assert.match(m, /cesc_rejected_requests_total\{reason="viss.refused"\} 1/);
    assert.match(m, /cesc_ingest_requests_total\{status="400"\} 1/);
    // The same request without the refused datapoints is stored whole.
    const speed = body.data[0].dp as { value: string; ts: string }[];
    const good = { vin: "REFUSED01", data: [{ ...body.data[0], dp: [speed[0], speed[3]] }, body.data[4]] };
    assert.deepEqual((await postIngest(cesc.url, good)).body, { stored: 3, duplicates: 0 });
  });
});

Deno.test("cesc ingest (property): the 400 lists exactly the refused datapoints of any mix", async () => {
  await withCesc(async (cesc, dir) => {
    const good = fc.record({ kind: fc.constant("good"), v: fc.integer({ min: 0, max: 250 }) });
    const bad = fc.oneof(
      fc.constant({ kind: "value", dp: { value: "not a number" } }),
      fc.constant({ kind: "ts", dp: { value: "1", ts: "2024-13-01T00:00:00Z" } }),
      fc.constant({ kind: "missing_ts", dp: { value: "1" } }),
      fc.constant({ kind: "object", dp: { value: { a: 1 } } }),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(good, bad), { minLength: 1, maxLength: 40 }), async (items) => {
        const vin = `PROP${run++}`;
        const dp = items.map((it, i) =>
          "v" in it
            ? { value: String(it.v), ts: formatTime(T0 + i) }
            : it.kind === "missing_ts"
            ? it.dp
            : { ts: formatTime(T0 + i), ...it.dp }
        );
        const r = await postIngest(cesc.url, { vin, data: { path: "Vehicle.Speed", dp } });
        const badIdx = items.flatMap((it, i) => "v" in it ? [] : [i]);
        if (badIdx.length === 0) {
          assert.equal(r.status, 200);
          assert.equal(vinRows(join(dir, "ovds.db"), vin).length, items.length);
          return;
        }
        assert.equal(r.status, 400);
        const e = (r.body as { error: { datapoints: { index: number }[]; refused: number } }).error;
        assert.deepEqual(e.datapoints.map((d) => d.index), badIdx);
        assert.equal(e.refused, badIdx.length);
        assert.deepEqual(vinRows(join(dir, "ovds.db"), vin), []);
      }),
      { numRuns: 40 },
    );
  });
});

Deno.test("cesc ingest: one instant in several textual forms is one row, stored in the canonical form", async () => {
  await withCesc(async (cesc, dir) => {
    const forms = [
      "2024-01-01T00:00:00Z",
      "2024-01-01T00:00:00.000Z",
      "2024-01-01T00:00:00.000000000Z",
      "2024-01-01T01:00:00+01:00",
      "2023-12-31T19:00:00.0-05:00",
      "2024-01-01t00:00:00z",
      "2024-01-01T00:00:00.0009Z", // fraction digits beyond ms are truncated
    ];
    const answers = [];
    for (const [i, ts] of forms.entries()) {
      answers.push(
        (await postIngest(cesc.url, { vin: "INSTANT1", data: { path: "Vehicle.Speed", dp: { value: String(i), ts } } }))
          .body,
      );
    }
    assert.deepEqual(answers[0], { stored: 1, duplicates: 0 });
    for (const a of answers.slice(1)) assert.deepEqual(a, { stored: 0, duplicates: 1 });
    assert.deepEqual(vinRows(join(dir, "ovds.db"), "INSTANT1"), ["Vehicle.Speed|2024-01-01T00:00:00.000Z|0"]);
  });
});

Deno.test("cesc read API: series ranges are exact at sub-second bounds, in any RFC 3339 form", async () => {
  await withCesc(async (cesc) => {
    const dp = [0, 500, 600, 1000].map((ms) => ({ value: String(ms), ts: formatTime(T0 + ms) }));
    assert.equal((await postIngest(cesc.url, { vin: "RANGE1", data: { path: "Vehicle.Speed", dp } })).status, 200);
    const series = async (q: string) => {
      const res = await fetch(`${cesc.url}v1/vehicles/RANGE1/series?path=Vehicle.Speed&${q}`);
      assert.equal(res.status, 200, q);
      return ((await res.json()).points as { value: string }[]).map((p) => p.value);
    };
    assert.deepEqual(await series("from=2024-01-01T00:00:00.6Z"), ["600", "1000"]);
    assert.deepEqual(await series("from=2024-01-01T00:00:00.5Z&to=2024-01-01T00:00:00.6Z"), ["500"]);
    assert.deepEqual(await series(`from=${encodeURIComponent("2024-01-01T01:00:00.600+01:00")}`), ["600", "1000"]);
    assert.deepEqual(await series("from=2024-01-01T01:00:00.5+01:00&to=2024-01-01T00:00:01Z"), ["500", "600"]);
    // Fraction digits beyond ms are truncated (as at ingest): .000999 is .000, an exclusive bound before the first point.
    assert.deepEqual(await series("to=2024-01-01T00:00:00.000999999Z"), []);
    assert.deepEqual(await series("to=2024-01-01T00:00:00.001Z"), ["0"]);
  });
});

Deno.test("cesc MQTT ingest: object, array (non-array path), null and ts-less payloads are refused and counted, not stored", async () => {
  const broker = await startMosquitto();
  const client = await mqttClient(broker.url);
  try {
    await withCesc(async (cesc, dir) => {
      const topic = "vehicles/MQTTBAD01/vehicle/speed";
      const ts = formatTime(T0);
      const bad = [
        JSON.stringify({ path: "Vehicle.Speed", value: { a: 1 }, ts }),
        JSON.stringify({ path: "Vehicle.Speed", value: [1, 2, 3], ts }),
        "null",
        JSON.stringify({ path: "Vehicle.Speed", value: null, ts }),
        JSON.stringify({ path: "Vehicle.Speed", value: 5 }), // no ts: refused, not stamped with the receive time
        "3500", // the ESP gateway's bare value: no ts either
        // One bad datapoint refuses its whole message (atomic per message, as a request is).
        JSON.stringify([{ path: "Vehicle.Speed", value: 1, ts }, { path: "Vehicle.Speed", value: "x", ts }]),
      ];
      for (const b of bad) await client.publishAsync(topic, b, { qos: 1 });
      await client.publishAsync(topic, JSON.stringify({ path: "Vehicle.Speed", value: 42.5, ts }), { qos: 1 });
      await until(() => mqttMessages(cesc, "refused") === bad.length && mqttMessages(cesc, "stored") === 1, "all");
      assert.deepEqual(vinRows(join(dir, "ovds.db"), "MQTTBAD01"), [`Vehicle.Speed|${ts}|42.5`]);
      const count = (reason: string) => cesc.metrics.counter("cesc_datapoints_refused_total", { reason });
      assert.equal(count("datapoint.type"), 4); // object, array, null value, "x"
      assert.equal(count("datapoint.ts"), 3); // no ts, the bare 3500, the bare null (time is checked first)
      assert.equal(cesc.metrics.counter("cesc_rejected_requests_total", { reason: "mqtt.viss.refused" }), bad.length);
      const m = await (await fetch(cesc.url + "metrics")).text();
      assert.match(m, /cesc_mqtt_messages_total\{outcome="refused"\} 7/);
    }, { mqtt: { url: broker.url } });
  } finally {
    await client.endAsync();
    await broker.close();
  }
});

/** A datapoint value of each datatype the property covers. */
const PATHS: [string, fc.Arbitrary<unknown>][] = [
  ["Vehicle.Speed", fc.float({ noNaN: true, noDefaultInfinity: true })],
  ["Vehicle.CurrentLocation.Latitude", fc.double({ min: -90, max: 90, noNaN: true })],
  ["Vehicle.Powertrain.Transmission.SelectedGear", fc.integer({ min: -128, max: 127 })],
  ["Vehicle.Powertrain.Range", fc.integer({ min: 0, max: 4294967295 })],
  ["Vehicle.Cabin.Door.Row1.DriverSide.IsOpen", fc.boolean()],
  ["Vehicle.VehicleIdentification.Model", fc.string({ unit: "grapheme", maxLength: 30 })],
  ["Vehicle.OBD.DTCList", fc.array(fc.string({ maxLength: 6 }), { maxLength: 4 })],
  ["Vehicle.Cabin.SeatPosCount", fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 4 })],
  ["Vehicle.Test.Counter64", fc.bigInt({ min: 0n, max: 2n ** 63n - 1n })],
];

/** Typed datapoints as the VEC emits them: the validator's output, unique (path, tsMs). */
const datapoints = fc.uniqueArray(
  fc.tuple(fc.integer({ min: 0, max: PATHS.length - 1 }), fc.integer({ min: 0, max: MAX_TS_MS })).chain(([p, ms]) =>
    PATHS[p][1].map((value) => ({ path: PATHS[p][0], value, ts: ms }))
  ),
  { minLength: 1, maxLength: 25, selector: (d) => `${d.path}|${d.ts}` },
);

Deno.test("cesc ingest (property): HTTP JSON, HTTP AVRO and MQTT of the same datapoints store identical rows", async () => {
  const broker = await startMosquitto();
  const client = await mqttClient(broker.url);
  try {
    await withCesc(async (cesc, dir) => {
      const { DatapointValidator } = await import("../core/datapoint/mod.ts");
      const validator = new DatapointValidator(schema);
      const db = join(dir, "ovds.db");
      let run = 0;
      await fc.assert(
        fc.asyncProperty(datapoints, async (raws) => {
          const dps: Datapoint[] = raws.map((r, i) => {
            const c = validator.accept(r, i);
            if (!c.ok) throw new Error(`generator made a refused datapoint: ${JSON.stringify(c.refusal)}`);
            return c.datapoint;
          });
          const expected = dps.map((d) => `${d.path}|${formatTime(d.tsMs)}|${formatValue(d.value)}`).sort();
          const vin = (kind: string) => `SAME${run}${kind}`;
          run++;
          const json = await postIngest(cesc.url, encodeVissIngest(vin("J"), dps));
          assert.deepEqual(json.body, { stored: dps.length, duplicates: 0 });
          const avro = await postAvro(
            cesc.url,
            encodeDatapointsAvro(dps, schema, { framing: "container", vin: vin("A") }),
          );
          assert.deepEqual(await avro.json(), { stored: dps.length, duplicates: 0 });
          for (const d of dps) {
            const suffix = (DEFAULT_VSS_TOPICS as Record<string, string>)[d.path] ?? "signals/other";
            await client.publishAsync(`vehicles/${vin("M")}/${suffix}`, String(jsonEncoder.encode(d)), { qos: 1 });
          }
          await until(() => vinRows(db, vin("M")).length === dps.length, "the MQTT rows");
          assert.deepEqual(vinRows(db, vin("J")), expected, "HTTP JSON");
          assert.deepEqual(vinRows(db, vin("A")), expected, "HTTP AVRO");
          assert.deepEqual(vinRows(db, vin("M")), expected, "MQTT");
        }),
        { numRuns: 12 },
      );
      assert.equal(mqttMessages(cesc, "refused"), 0);
    }, { mqtt: { url: broker.url }, catalog: schema });
  } finally {
    await client.endAsync();
    await broker.close();
  }
});

Deno.test("cesc ingest (property): mutated AVRO containers get 400 or 200, never 500; the log says what the reply says", async () => {
  const lines: string[] = [];
  const log = createLogger("cesc", { level: "warn", sink: { write: (l) => lines.push(l) } });
  await withCesc(async (cesc) => {
    const ms = T0;
    const dps: Datapoint[] = [
      { path: "Vehicle.Speed", value: 12.5, tsMs: ms },
      { path: "Vehicle.Speed", value: 13, tsMs: ms + 100 },
      { path: "Vehicle.OBD.DTCList", value: ["P0300"], tsMs: ms },
      { path: "Vehicle.VehicleIdentification.Model", value: "Model 3", tsMs: ms },
    ];
    const container = encodeDatapointsAvro(dps, schema, { framing: "container", vin: "AVROMUT1" });
    // The first refusal of a code is logged with the code and message its reply carries.
    const cut = await postAvro(cesc.url, container.slice(0, 20));
    const cutBody = await cut.json();
    assert.equal(cut.status, 400);
    const logged = lines.map((l) => JSON.parse(l)).filter((r) => r.code === cutBody.error.code);
    assert.equal(logged.length, 1, lines.join("\n"));
    assert.equal(logged[0].status, 400);
    assert.equal(logged[0].message, cutBody.error.message);
    const mutation = fc.oneof(
      fc.record({ at: fc.nat(container.length - 1), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ cut: fc.nat(container.length - 1) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (ms) => {
        let bytes = container.slice();
        for (const m of ms) {
          if ("cut" in m) bytes = bytes.slice(0, m.cut);
          else if (m.at < bytes.length) bytes[m.at] = m.byte;
        }
        const res = await postAvro(cesc.url, bytes);
        const body = await res.json();
        assert.ok(res.status === 200 || res.status === 400, `status ${res.status}: ${JSON.stringify(body)}`);
        if (res.status === 400) {
          assert.ok(/^(codec|viss)\./.test(body.error.code), body.error.code);
          assert.equal(typeof body.error.message, "string");
        }
      }),
      { numRuns: 150 },
    );
    assert.ok(!lines.some((l) => JSON.parse(l).level === "error"), "no request failed inside the CESC");
  }, { log, catalog: schema });
});
