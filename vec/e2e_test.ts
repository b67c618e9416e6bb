/**
 * End to end: a generated candump log with known values → VEC (real WASM decoder, real mapping) → a real CESC on
 * loopback → OVDS rows; and a VISSv2 WebSocket server → VEC → CESC.
 */
import assert from "node:assert/strict";
import { startCesc } from "../cesc/mod.ts";
import { formatTime, tsMsFromSeconds } from "../core/datapoint/mod.ts";
import { createSecOcSender, createVerifier, KeyStore } from "../core/security/mod.ts";
import { candumpFrame, freePort, hexBytes, makeTestPki, model3Message, ovdsRows, until } from "../testing/mod.ts";
import { startVissTestServer } from "../testing/viss_server.ts";
import { parseVecConfig } from "./config.ts";
import { startVec } from "./mod.ts";

const msg = model3Message;
const hex = hexBytes;
const frame = candumpFrame;
const T0 = 1_700_000_000;
/** The OVDS time of a candump time: integer ms (µs rounded, then truncated), canonical RFC 3339. */
const iso = (t: number) => formatTime(tsMsFromSeconds(t));

/** 20 speed frames and 20 gear frames, 150 ms apart (above every mapped interval_ms of 100). */
function driveLog(): { text: string; speeds: [string, string][]; gears: [string, string][] } {
  const lines: string[] = [];
  const speeds: [string, string][] = [];
  const gears: [string, string][] = [];
  for (let i = 0; i < 20; i++) {
    const t = T0 + i * 0.15;
    const gear = i < 10 ? 1 : 4; // DI_GEAR_P, then DI_GEAR_D
    lines.push(`(${t.toFixed(6)}) can0 ${frame(msg(599), { DI_uiSpeed: 10 + i })}`);
    lines.push(`(${t.toFixed(6)}) can0 ${frame(msg(280), { DI_gear: gear })}`);
    speeds.push([iso(t), String(10 + i)]);
    gears.push([iso(t), gear === 1 ? "0" : "1"]);
  }
  return { text: lines.join("\n") + "\n", speeds, gears };
}

/** Runs `fn` in a temp dir holding `drive.log` ({@link driveLog}); removes the dir afterwards. */
async function withDriveLog(fn: (dir: string, log: ReturnType<typeof driveLog>) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const log = driveLog();
    await Deno.writeTextFile(`${dir}/drive.log`, log.text);
    await fn(dir, log);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The VEC config of the replay tests: `dir/drive.log` at full speed, the queue in `dir/<state>`, no REST API. */
function replayConfig(
  dir: string,
  options: { vin: string; cesc: Record<string, unknown>; state?: string; security?: Record<string, unknown> },
) {
  return parseVecConfig({
    vin: options.vin,
    can: { log: `${dir}/drive.log`, speed: 0 },
    cesc: options.cesc,
    queue: { dir: `${dir}/${options.state ?? "state"}` },
    ...(options.security ? { security: options.security } : {}),
    api: { enabled: false },
  });
}

Deno.test("e2e: candump replay → VEC → CESC → OVDS rows equal the encoded VSS values", async () => {
  await withDriveLog(async (dir, { speeds, gears }) => {
    const cesc = await startCesc({ db: `${dir}/ovds.db`, port: 0, backend: "none" });
    try {
      const vec = await startVec(
        replayConfig(dir, {
          vin: "E2EVIN0000000001",
          cesc: { url: cesc.url, batch_max_datapoints: 7, batch_max_ms: 50 },
        }),
      );
      const summary = await vec.done;
      assert.equal(summary.frames, 40);
      assert.deepEqual(ovdsRows(`${dir}/ovds.db`, "E2EVIN0000000001", "Vehicle.Speed"), speeds);
      assert.deepEqual(ovdsRows(`${dir}/ovds.db`, "E2EVIN0000000001", "Vehicle.OBD.Speed"), speeds);
      assert.deepEqual(
        ovdsRows(`${dir}/ovds.db`, "E2EVIN0000000001", "Vehicle.Powertrain.Transmission.CurrentGear"),
        gears,
      );
      assert.deepEqual(
        ovdsRows(`${dir}/ovds.db`, "E2EVIN0000000001", "Vehicle.Powertrain.Transmission.IsParkLockEngaged").map((r) =>
          r[1]
        ),
        [...Array(10).fill("true"), ...Array(10).fill("false")],
      );
    } finally {
      await cesc.close();
    }
  });
});

/** Runs `deno run -A vec/main.ts args…`; resolves with the exit code and stderr (the JSON log lines). */
async function vecProcess(args: string[]): Promise<{ code: number; stderr: string }> {
  const main = new URL("./main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, ...args],
    stdout: "null",
    stderr: "piped",
  })
    .output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("e2e (issue 18): candump times RFC 3339 cannot carry among good frames: the VEC process does not crash, good datapoints are stored, bad ones counted with a reason", async () => {
  await withDriveLog(async (dir, { text, speeds }) => {
    // After the 5th and 10th speed frame, frames whose time is year 318,857 and ~3e14 years; and a line whose
    // time is not candump syntax at all (`1e13`), skipped by can.lenient.
    const lines = text.trimEnd().split("\n");
    const bad = (time: string, kmh: number) => `(${time}) can0 ${frame(msg(599), { DI_uiSpeed: kmh })}`;
    lines.splice(10, 0, bad("10000000000000.000000", 99));
    lines.splice(21, 0, bad("9999999999999999999999.0", 98), bad("1e13", 97));
    await Deno.writeTextFile(`${dir}/drive.log`, lines.join("\n") + "\n");
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ can: { lenient: true } }));
    const cesc = await startCesc({ db: `${dir}/ovds.db`, port: 0, backend: "none" });
    try {
      const r = await vecProcess([
        ...["--config", `${dir}/config.json`, "--replay", `${dir}/drive.log`, "--speed", "0"],
        ...["-u", cesc.url, "--vin", "ISSUE18VIN000001", "--no-api", "--state", `${dir}/state`],
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /RangeError|Invalid time value/);
      // every good datapoint stored, in order, none of the bad frames' values
      assert.deepEqual(ovdsRows(`${dir}/ovds.db`, "ISSUE18VIN000001", "Vehicle.Speed"), speeds);
      assert.deepEqual(ovdsRows(`${dir}/ovds.db`, "ISSUE18VIN000001", "Vehicle.OBD.Speed"), speeds);
      const log = r.stderr.trim().split("\n").map((l) => JSON.parse(l));
      const stopped = log.find((l) => l.msg === "stopped");
      assert.ok(stopped, r.stderr);
      assert.equal(stopped.frames, 42, "40 good and 2 bad frames read; the 1e13 line skipped as malformed");
      assert.ok(stopped.refused["datapoint.ts"] >= 2, JSON.stringify(stopped.refused));
      const warned = log.filter((l) => l.msg === "datapoint refused");
      assert.equal(warned.length, 1, "one log line per reason and minute");
      assert.equal(warned[0].code, "datapoint.ts");
      assert.match(warned[0].reason, /frame time 10000000000000 s is outside what RFC 3339 can carry/);
    } finally {
      await cesc.close();
    }
  });
});

Deno.test("e2e (issue 18): POST /publish with a 5,000-character value is refused by the VEC itself; nothing of that request reaches the CESC", async () => {
  const dir = await Deno.makeTempDir();
  const cesc = await startCesc({ db: `${dir}/ovds.db`, port: 0, backend: "none" });
  try {
    // A replay with two frames 60 s apart keeps the VEC running while the API is used.
    await Deno.writeTextFile(`${dir}/idle.log`, "(1.000000) can0 001#00\n(61.000000) can0 001#00\n");
    const vec = await startVec(
      parseVecConfig({
        vin: "PUBLISHVIN000001",
        can: { log: `${dir}/idle.log`, speed: 1 },
        cesc: { url: cesc.url, batch_max_ms: 20 },
        queue: { dir: `${dir}/state` },
        api: { port: 0, hostname: "127.0.0.1" },
      }),
      { drainMs: 5000 },
    );
    const publish = (datapoints: unknown[]) =>
      fetch(`${vec.apiUrl}/publish`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ datapoints }),
      });
    const track = "Vehicle.Cabin.Infotainment.Media.Played.Track";
    const refused = await publish([
      { path: "Vehicle.Speed", value: 50, ts: "2024-01-01T00:00:00Z" },
      { path: track, value: "x".repeat(5000), ts: "2024-01-01T00:00:00Z" },
    ]);
    assert.equal(refused.status, 400);
    const body = await refused.json();
    assert.equal(body.error.code, "viss.refused");
    assert.deepEqual(body.error.datapoints.map((d: Record<string, unknown>) => [d.index, d.path, d.code]), [
      [1, track, "datapoint.too_long"],
    ]);
    const ok = await publish([{ path: "Vehicle.Speed", value: 51, ts: "2024-01-01T01:00:01+01:00" }]);
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const health = await (await fetch(`${vec.apiUrl}/health`)).json();
    assert.deepEqual(health.refused, { "datapoint.too_long": 1 });
    await until(() => ovdsRows(`${dir}/ovds.db`, "PUBLISHVIN000001", "Vehicle.Speed").length > 0, "the good publish");
    vec.stop();
    await vec.done;
    assert.deepEqual(ovdsRows(`${dir}/ovds.db`, "PUBLISHVIN000001", "Vehicle.Speed"), [
      ["2024-01-01T00:00:01.000Z", "51"],
    ]);
    assert.deepEqual(ovdsRows(`${dir}/ovds.db`, "PUBLISHVIN000001", track), []);
  } finally {
    await cesc.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("e2e: the CESC is down for a while, then up: every datapoint arrives once, in order", async () => {
  await withDriveLog(async (dir, { speeds }) => {
    const port = freePort();
    const vec = await startVec(
      replayConfig(dir, {
        vin: "E2EVIN0000000002",
        cesc: {
          url: `http://127.0.0.1:${port}`,
          batch_max_datapoints: 5,
          batch_max_ms: 20,
          retry_min_ms: 20,
          retry_max_ms: 60,
        },
      }),
      { drainMs: 20_000 },
    );
    // Let the replay finish and the first pushes fail.
    const cescSink = vec.sinks.find((s) => s.name === "cesc")!;
    const stats = () => cescSink.stats() as { failures: number; sentDatapoints: number };
    while (stats().failures < 2) await new Promise((r) => setTimeout(r, 10));
    assert.equal(stats().sentDatapoints, 0);
    const cesc = await startCesc({ db: `${dir}/ovds.db`, port, backend: "none" });
    try {
      const summary = await vec.done;
      assert.equal((summary.sinks.cesc as { queued: number }).queued, 0);
      const rows = ovdsRows(`${dir}/ovds.db`, "E2EVIN0000000002", "Vehicle.Speed");
      assert.deepEqual(rows, speeds, "all speed datapoints, in order, none twice");
    } finally {
      await cesc.close();
    }
  });
});

Deno.test("e2e (issue 7): VISSv2 server → VEC (--source viss) → CESC, across a dropped WebSocket", async () => {
  const dir = await Deno.makeTempDir();
  const viss = startVissTestServer({ vin: "VISSVIN000000001", vinUnavailableTimes: 1 });
  const cesc = await startCesc({ db: `${dir}/ovds.db`, port: 0, backend: "none" });
  await Deno.writeTextFile(
    `${dir}/vecRequests.json`,
    JSON.stringify({
      request: [
        {
          action: "subscribe",
          path: "Vehicle.Speed",
          filter: { type: "timebased", value: { period: "3000" } },
          requestId: "248",
        },
        {
          action: "subscribe",
          path: "Vehicle",
          filter: [
            { type: "paths", parameter: ["CurrentLocation.Latitude", "CurrentLocation.Longitude"] },
            { type: "timebased", parameter: { period: "3000" } },
          ],
          requestId: "250",
        },
      ],
    }),
  );
  const vec = await startVec(
    parseVecConfig({
      source: "viss",
      viss: { url: viss.url, requests: `${dir}/vecRequests.json`, vin_retry_ms: 20, reconnect_min_ms: 10 },
      cesc: { url: cesc.url, batch_max_datapoints: 100, batch_max_ms: 20 },
      queue: { dir: `${dir}/state` },
      api: { port: 0, hostname: "127.0.0.1" },
    }),
  );
  try {
    await viss.waitForSubscriptions(2);
    viss.event("Vehicle.Speed", { path: "Vehicle.Speed", dp: { value: "50", ts: "2026-01-01T00:00:00Z" } });
    viss.event("Vehicle", [
      { path: "Vehicle.CurrentLocation.Latitude", dp: { value: "56.02", ts: "2026-01-01T00:00:00Z" } },
      { path: "Vehicle.CurrentLocation.Longitude", dp: { value: "12.59", ts: "2026-01-01T00:00:00Z" } },
    ]);
    viss.errorEvent("Vehicle.Speed");
    viss.drop();
    await viss.waitForSubscriptions(2, 2);
    viss.event("Vehicle.Speed", {
      path: "Vehicle.Speed",
      dp: [{ value: "51", ts: "2026-01-01T00:00:01Z" }, { value: "52", ts: "2026-01-01T00:00:02Z" }],
    });
    const db = `${dir}/ovds.db`;
    const deadline = Date.now() + 10_000;
    while (ovdsRows(db, "VISSVIN000000001", "Vehicle.Speed").length < 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(ovdsRows(db, "VISSVIN000000001", "Vehicle.Speed"), [
      // one canonical time text in OVDS (issue 18), whatever form the sender used
      ["2026-01-01T00:00:00.000Z", "50"],
      ["2026-01-01T00:00:01.000Z", "51"],
      ["2026-01-01T00:00:02.000Z", "52"],
    ]);
    assert.deepEqual(ovdsRows(db, "VISSVIN000000001", "Vehicle.CurrentLocation.Latitude"), [
      ["2026-01-01T00:00:00.000Z", "56.02"],
    ]);
    // The error event was counted, not forwarded as data:null; the health endpoint shows the source's counters.
    const health = await (await fetch(`${vec.apiUrl}/health`)).json();
    assert.equal(health.source.errorEvents, 1);
    assert.equal(health.source.connects, 2);
    assert.equal(health.vin, "VISSVIN000000001");
    const metrics = await fetch(`${vec.apiUrl}/metrics`);
    assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain/);
    assert.match(await metrics.text(), /^vec_datapoints_total 5$/m);
  } finally {
    vec.stop();
    await vec.done;
    await viss.close();
    await cesc.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("e2e: VEC → CESC over mutual TLS (client certificate from cesc.tls)", async () => {
  await withDriveLog(async (dir, { speeds }) => {
    const pki = await makeTestPki();
    const read = (p: string) => Deno.readTextFileSync(p);
    const cesc = await startCesc({
      db: `${dir}/ovds.db`,
      port: 0,
      tlsPort: 0,
      backend: "none",
      tls: { cert: read(pki.serverCert), key: read(pki.serverKey), ca: read(pki.caCert) },
    });
    try {
      const tlsUrl = cesc.tlsUrl!.replace("127.0.0.1", "localhost");
      const vec = await startVec(
        replayConfig(dir, {
          vin: "E2EVINTLS0000001",
          cesc: {
            url: tlsUrl,
            batch_max_ms: 20,
            tls: { cert_path: pki.clientCert, key_path: pki.clientKey, ca_path: pki.caCert },
          },
        }),
      );
      const summary = await vec.done;
      assert.equal((summary.sinks.cesc as { queued: number }).queued, 0);
      assert.deepEqual(ovdsRows(`${dir}/ovds.db`, "E2EVINTLS0000001", "Vehicle.Speed"), speeds);
    } finally {
      await cesc.close();
      await pki.remove();
    }
  });
});

Deno.test("e2e: signed pushes (core/security envelope) are verified by the CESC; a wrong key is refused and nothing is stored", async () => {
  await withDriveLog(async (dir, { speeds }) => {
    await Deno.writeTextFile(
      `${dir}/vec.keys`,
      "k1=hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
    );
    await Deno.writeTextFile(
      `${dir}/wrong.keys`,
      "k1=hex:ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
    );
    const verifier = createVerifier({ keys: await KeyStore.fromFile(`${dir}/vec.keys`) });
    const cesc = await startCesc({
      db: `${dir}/ovds.db`,
      port: 0,
      backend: "none",
      verify: (req) => verifier.verifyHttp(req),
    });
    const config = (vin: string, keys: string) =>
      replayConfig(dir, {
        vin,
        cesc: { url: cesc.url, batch_max_ms: 20, retry_min_ms: 10, retry_max_ms: 20 },
        state: `state-${vin}`,
        security: { sign: true, key_id: "k1", key_file: `${dir}/${keys}` },
      });
    try {
      const good = await startVec(config("SIGNEDVIN0000001", "vec.keys"));
      await good.done;
      assert.deepEqual(ovdsRows(`${dir}/ovds.db`, "SIGNEDVIN0000001", "Vehicle.Speed"), speeds);
      const accepted = verifier.metrics().accepted;
      assert.ok(accepted >= 1);

      const bad = await startVec(config("SIGNEDVIN0000002", "wrong.keys"), { drainMs: 1500 });
      const summary = await bad.done;
      const stats = summary.sinks.cesc as { failures: number; lastError: string; queued: number };
      assert.ok(stats.failures >= 1);
      assert.match(stats.lastError, /401/);
      assert.ok(stats.queued > 0, "refused data stays queued, not dropped");
      assert.deepEqual(ovdsRows(`${dir}/ovds.db`, "SIGNEDVIN0000002", "Vehicle.Speed"), []);
      assert.ok(verifier.metrics().bad_signature >= 1);
    } finally {
      await cesc.close();
    }
  });
});

Deno.test("e2e (issue 7): wss:// with the config's TLS files (server CA + client certificate)", async () => {
  const dir = await Deno.makeTempDir();
  const pki = await makeTestPki();
  const read = (p: string) => Deno.readTextFileSync(p);
  const viss = startVissTestServer({
    vin: "WSSVIN0000000001",
    tls: { cert: read(pki.serverCert), key: read(pki.serverKey) },
  });
  const cesc = await startCesc({ db: `${dir}/ovds.db`, port: 0, backend: "none" });
  await Deno.writeTextFile(
    `${dir}/req.json`,
    JSON.stringify({ action: "subscribe", path: "Vehicle.Speed", requestId: "1" }),
  );
  const vec = await startVec(
    parseVecConfig({
      source: "viss",
      viss: {
        url: viss.url,
        requests: `${dir}/req.json`,
        tls: { ca_path: pki.caCert, cert_path: pki.clientCert, key_path: pki.clientKey },
      },
      cesc: { url: cesc.url, batch_max_ms: 20 },
      queue: { dir: `${dir}/state` },
      api: { enabled: false },
    }),
  );
  try {
    await viss.waitForSubscriptions(1);
    viss.event("Vehicle.Speed", { path: "Vehicle.Speed", dp: { value: "77", ts: "2026-01-01T00:00:00Z" } });
    const deadline = Date.now() + 10_000;
    while (ovdsRows(`${dir}/ovds.db`, "WSSVIN0000000001", "Vehicle.Speed").length < 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(ovdsRows(`${dir}/ovds.db`, "WSSVIN0000000001", "Vehicle.Speed"), [[
      "2026-01-01T00:00:00.000Z",
      "77",
    ]]);
  } finally {
    vec.stop();
    await vec.done;
    await viss.close();
    await cesc.close();
    await pki.remove();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("e2e (issue 9): the VEC pushes AVRO (cesc.encoding avro), the CESC stores it like JSON", async () => {
  await withDriveLog(async (dir, { speeds, gears }) => {
    const cesc = await startCesc({ db: `${dir}/ovds.db`, port: 0, backend: "none" });
    try {
      const vec = await startVec(
        replayConfig(dir, {
          vin: "AVROVIN000000001",
          cesc: { url: cesc.url, encoding: "avro", batch_max_datapoints: 9, batch_max_ms: 20 },
        }),
      );
      const summary = await vec.done;
      assert.equal((summary.sinks.cesc as { sentDatapoints: number }).sentDatapoints, 80);
      assert.deepEqual(ovdsRows(`${dir}/ovds.db`, "AVROVIN000000001", "Vehicle.Speed"), speeds);
      assert.deepEqual(
        ovdsRows(`${dir}/ovds.db`, "AVROVIN000000001", "Vehicle.Powertrain.Transmission.CurrentGear"),
        gears,
      );
      // A body that is not AVRO is refused with a reason, and nothing is stored.
      const res = await fetch(cesc.url, {
        method: "POST",
        headers: { "content-type": "application/avro", "x-vin": "AVROVIN000000002" },
        body: new Uint8Array([1, 2, 3, 4]),
      });
      assert.equal(res.status, 400);
      assert.match((await res.json()).error.code, /^codec\./);
      assert.deepEqual(ovdsRows(`${dir}/ovds.db`, "AVROVIN000000002", "Vehicle.Speed"), []);
    } finally {
      await cesc.close();
    }
  });
});

Deno.test("e2e: SecOC-secured frames are verified before decoding; forged and replayed frames are dropped and counted", async () => {
  const dir = await Deno.makeTempDir();
  const key = new Uint8Array(32).map((_, i) => i + 1);
  const hexKey = Array.from(key, (b) => b.toString(16).padStart(2, "0")).join("");
  await Deno.writeTextFile(`${dir}/secoc.keys`, `ecu=hex:${hexKey}\n`);
  const secured = { id: 599, keyId: "ecu", payloadLength: 8, freshnessBits: 32, macBits: 64 } as const;
  const sender = createSecOcSender(secured, { key });
  const lines: string[] = [];
  const speeds: [string, string][] = [];
  let replay = "";
  for (let i = 0; i < 10; i++) {
    const t = T0 + i * 0.15;
    const payload = hexToBytes(frame(msg(599), { DI_uiSpeed: 40 + i }).split("#")[1]);
    const data = hex(sender.protect(payload)); // 8 + 4 + 8 = 20 bytes: a CAN FD frame
    lines.push(`(${t.toFixed(6)}) can0 257##0${data}`);
    speeds.push([iso(t), String(40 + i)]);
    if (i === 3) replay = data;
  }
  const forged = hex(new Uint8Array(20).fill(0x42));
  lines.push(`(${(T0 + 10).toFixed(6)}) can0 257##0${forged}`); // bad MAC
  lines.push(`(${(T0 + 11).toFixed(6)}) can0 257##0${replay}`); // old freshness
  await Deno.writeTextFile(`${dir}/secured.log`, lines.join("\n") + "\n");
  const cesc = await startCesc({ db: `${dir}/ovds.db`, port: 0, backend: "none" });
  try {
    const vec = await startVec(
      parseVecConfig({
        vin: "SECOCVIN00000001",
        can: { log: `${dir}/secured.log`, speed: 0 },
        cesc: { url: cesc.url, batch_max_ms: 20 },
        queue: { dir: `${dir}/state` },
        security: {
          secoc: {
            keys_file: `${dir}/secoc.keys`,
            messages: [{ id: 599, key_id: "ecu", payload_length: 8, freshness_bits: 32, mac_bits: 64 }],
          },
        },
        api: { port: 0, hostname: "127.0.0.1" },
      }),
    );
    const health = await (await fetch(`${vec.apiUrl}/health`)).json();
    const summary = await vec.done;
    assert.deepEqual(ovdsRows(`${dir}/ovds.db`, "SECOCVIN00000001", "Vehicle.Speed"), speeds);
    assert.ok("secoc" in health);
    assert.equal(vec.pipeline.stats.frames, 12);
    const secoc = summary.secoc as { accepted: number; bad_mac: number };
    assert.equal(secoc.accepted, 10);
    assert.equal(secoc.bad_mac, 2, "the forged frame and the replayed one");
  } finally {
    await cesc.close();
    await Deno.remove(dir, { recursive: true });
  }
});

function hexToBytes(h: string): Uint8Array {
  return Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16)));
}
