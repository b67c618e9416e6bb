import assert from "node:assert/strict";
import { inspect } from "node:util";
import fc from "fast-check";
import { createSigner, createVerifier, gatewayCounts, KeyStore, type SecurityMetrics } from "./mod.ts";

const DEMO_KEY = new TextEncoder().encode("ccs-demo-key-do-not-use-32-bytes");
const KEY_A = new Uint8Array(32).fill(0x2a);
const KEY_B = new Uint8Array(32).fill(0x17);
const T0 = 1_763_900_000_000;

function setup(opts: { driftMs?: number; replayWindow?: number } = {}) {
  let clock = T0;
  const keys = KeyStore.fromEntries([["kA", KEY_A], ["kB", KEY_B]]);
  const now = () => clock;
  const verifier = createVerifier({ keys, now, ...opts });
  const signer = createSigner({ keyId: "kA", key: KEY_A, senderId: "car-1", now, counterStart: 1 });
  return { keys, verifier, signer, setClock: (t: number) => (clock = t) };
}

const zero = (): SecurityMetrics => ({
  accepted: 0,
  missing_signature: 0,
  unknown_key: 0,
  bad_signature: 0,
  timestamp_drift: 0,
  replay: 0,
  malformed: 0,
});

Deno.test("worked example in the module doc: headers match the openssl figures and verify", () => {
  const signer = createSigner({
    keyId: "k2026-11",
    key: DEMO_KEY,
    senderId: "car-0001",
    now: () => T0,
    counterStart: 1763900000000000,
  });
  const body = '{"Vehicle.Speed":42.5}';
  const headers = signer.signHttp({ method: "POST", path: "/v1/telemetry", body });
  assert.deepEqual(headers, {
    "X-CCS-Key-Id": "k2026-11",
    "X-CCS-Sender": "car-0001",
    "X-CCS-Counter": "1763900000000000",
    "X-CCS-Timestamp": "1763900000000",
    "X-CCS-Signature": "c26ffa02a3c0c6ce14731eee18b7f178",
  });
  const keys = KeyStore.parse("k2026-11=hex:6363732d64656d6f2d6b65792d646f2d6e6f742d7573652d33322d6279746573");
  const verifier = createVerifier({ keys, now: () => T0 + 1000 });
  const r = verifier.verifyHttp({ method: "POST", path: "/v1/telemetry", headers, body });
  assert.deepEqual(r, { ok: true, senderId: "car-0001", keyId: "k2026-11", counter: 1763900000000000, timestamp: T0 });
});

Deno.test("verifyHttp: every reject reason, counted in metrics", () => {
  const { verifier, signer, setClock } = setup();
  const path = "/v1/telemetry?vin=1";
  const body = new TextEncoder().encode('{"x":1}');
  const h1 = signer.signHttp({ method: "post", path, body });
  assert.equal(verifier.verifyHttp({ method: "POST", path, headers: new Headers(h1), body }).ok, true);
  const reason = (r: { ok: boolean; reason?: string }) => (r.ok ? "ok" : r.reason);
  // replay of the very same request
  assert.equal(reason(verifier.verifyHttp({ method: "POST", path, headers: h1, body })), "replay");
  const h2 = signer.signHttp({ method: "POST", path, body });
  // any change to method, path, or body breaks the tag (and does not burn counter 2)
  assert.equal(reason(verifier.verifyHttp({ method: "PUT", path, headers: h2, body })), "bad_signature");
  assert.equal(
    reason(verifier.verifyHttp({ method: "POST", path: "/v1/telemetry", headers: h2, body })),
    "bad_signature",
  );
  assert.equal(reason(verifier.verifyHttp({ method: "POST", path, headers: h2, body: '{"x":2}' })), "bad_signature");
  assert.equal(
    reason(verifier.verifyHttp({ method: "POST", path, headers: { ...h2, "X-CCS-Sender": "car-2" }, body })),
    "bad_signature",
  );
  assert.equal(reason(verifier.verifyHttp({ method: "POST", path, headers: h2, body })), "ok");
  // lower-case header names (as node/hono deliver them) work too
  const h3 = Object.fromEntries(
    Object.entries(signer.signHttp({ method: "GET", path })).map(([k, v]) => [k.toLowerCase(), v]),
  );
  assert.equal(reason(verifier.verifyHttp({ method: "GET", path, headers: h3 })), "ok");
  assert.equal(reason(verifier.verifyHttp({ method: "GET", path, headers: {} })), "missing_signature");
  const h4 = signer.signHttp({ method: "GET", path });
  assert.equal(
    reason(verifier.verifyHttp({ method: "GET", path, headers: { ...h4, "X-CCS-Key-Id": "kZ" } })),
    "unknown_key",
  );
  assert.equal(
    reason(verifier.verifyHttp({ method: "GET", path, headers: { ...h4, "X-CCS-Counter": "01" } })),
    "malformed",
  );
  assert.equal(
    reason(verifier.verifyHttp({ method: "GET", path, headers: { ...h4, "X-CCS-Counter": undefined } })),
    "malformed",
  );
  assert.equal(
    reason(
      verifier.verifyHttp({ method: "GET", path, headers: { ...h4, "X-CCS-Signature": h4["X-CCS-Signature"] + "00" } }),
    ),
    "malformed",
  );
  assert.equal(
    reason(verifier.verifyHttp({ method: "GET", path, headers: { ...h4, "X-CCS-Sender": "car 1" } })),
    "malformed",
  );
  const zz = "zz" + h4["X-CCS-Signature"].slice(2);
  assert.equal(
    reason(verifier.verifyHttp({ method: "GET", path, headers: { ...h4, "X-CCS-Signature": zz } })),
    "malformed",
  );
  // timestamp drift: 30 s is fine, 30.001 s is not (both directions)
  setClock(T0 + 30_000);
  const h5 = signer.signHttp({ method: "GET", path });
  setClock(T0 + 60_001);
  assert.equal(reason(verifier.verifyHttp({ method: "GET", path, headers: h5 })), "timestamp_drift");
  setClock(T0 - 1);
  assert.equal(reason(verifier.verifyHttp({ method: "GET", path, headers: h5 })), "timestamp_drift");
  setClock(T0 + 60_000);
  assert.equal(reason(verifier.verifyHttp({ method: "GET", path, headers: h5 })), "ok");
  assert.deepEqual(verifier.metrics(), {
    ...zero(),
    accepted: 4,
    replay: 1,
    bad_signature: 4,
    missing_signature: 1,
    unknown_key: 1,
    malformed: 5,
    timestamp_drift: 2,
  });
  assert.deepEqual(gatewayCounts(verifier.metrics()), {
    "security/auth_failures": 11,
    "security/timestamp_drift": 2,
    "security/policy_violations": 1,
  });
});

Deno.test("verifyHttpBatch: one call, results in order, counters within a batch are replay-checked", () => {
  const { verifier, signer } = setup({ replayWindow: 64 });
  const reqs = Array.from({ length: 200 }, (_, i) => {
    const body = `{"i":${i}}`;
    return { method: "POST", path: "/v1/b", headers: signer.signHttp({ method: "POST", path: "/v1/b", body }), body };
  });
  const batch = [...reqs, reqs[199], reqs[10], { ...reqs[5], body: "tampered" }];
  const shuffled = [reqs[150], ...batch.slice(0, 150), ...batch.slice(151)]; // 150 first; 0-63 below its window
  const res = verifier.verifyHttpBatch(shuffled);
  const want = shuffled.map((_, i) => {
    if (i === 0) return "ok";
    const n = i - 1 < 150 ? i - 1 : i;
    if (n < 200) return n <= 150 - 64 ? "replay" : "ok";
    return n === 202 ? "bad_signature" : "replay";
  });
  assert.deepEqual(res.map((r) => (r.ok ? "ok" : r.reason)), want);
});

Deno.test("MQTT: signMessage wraps, verifyMessage unwraps; tampering, replay and junk are rejected", () => {
  const { verifier, signer } = setup();
  const body = new Uint8Array([0, 1, 2, 250, 255]);
  const payload = signer.signMessage({ topic: "ccs/v1/car-1/telemetry", body });
  const env = JSON.parse(payload);
  assert.equal(env.v, 1);
  assert.equal(env.sender, "car-1");
  const r = verifier.verifyMessage({ topic: "ccs/v1/car-1/telemetry", payload: new TextEncoder().encode(payload) });
  assert.ok(r.ok);
  assert.deepEqual(r.body, body);
  const reason = (x: { ok: boolean; reason?: string }) => (x.ok ? "ok" : x.reason);
  assert.equal(reason(verifier.verifyMessage({ topic: "ccs/v1/car-1/telemetry", payload })), "replay");
  const p2 = signer.signMessage({ topic: "ccs/v1/car-1/telemetry", body: "hello" });
  assert.equal(reason(verifier.verifyMessage({ topic: "ccs/v1/car-2/telemetry", payload: p2 })), "bad_signature");
  const forged = JSON.stringify({ ...JSON.parse(p2), body: btoa("HELLO") });
  assert.equal(reason(verifier.verifyMessage({ topic: "ccs/v1/car-1/telemetry", payload: forged })), "bad_signature");
  assert.equal(reason(verifier.verifyMessage({ topic: "t", payload: "not json" })), "missing_signature");
  assert.equal(reason(verifier.verifyMessage({ topic: "t", payload: '{"body":"aGk="}' })), "missing_signature");
  assert.equal(
    reason(verifier.verifyMessage({ topic: "t", payload: JSON.stringify({ ...JSON.parse(p2), v: 2 }) })),
    "malformed",
  );
  assert.equal(
    reason(verifier.verifyMessage({ topic: "t", payload: JSON.stringify({ ...JSON.parse(p2), counter: -1 }) })),
    "malformed",
  );
  assert.equal(
    reason(verifier.verifyMessage({ topic: "t", payload: JSON.stringify({ ...JSON.parse(p2), body: "a$b" }) })),
    "malformed",
  );
  const batch = verifier.verifyMessageBatch([{ topic: "ccs/v1/car-1/telemetry", payload: p2 }, {
    topic: "x",
    payload: "{}",
  }]);
  assert.equal(batch[0].ok && new TextDecoder().decode(batch[0].body), "hello");
  assert.equal(reason(batch[1]), "missing_signature");
});

Deno.test("key rotation: several key ids at once; keys added to the store later are picked up", () => {
  const { keys, verifier } = setup();
  const sA = createSigner({ keyId: "kA", key: KEY_A, senderId: "car-1", now: () => T0 });
  const sB = createSigner({ keyId: "kB", key: KEY_B, senderId: "car-1", now: () => T0 });
  const kC = new Uint8Array(32).fill(7);
  const sC = createSigner({ keyId: "kC", key: kC, senderId: "car-1", now: () => T0 });
  const v = (h: Record<string, string>) => verifier.verifyHttp({ method: "GET", path: "/", headers: h });
  assert.equal(v(sA.signHttp({ method: "GET", path: "/" })).ok, true);
  assert.equal(v(sB.signHttp({ method: "GET", path: "/" })).ok, true);
  const hC = sC.signHttp({ method: "GET", path: "/" });
  assert.equal(v(hC).ok, false);
  keys.set("kC", kC);
  assert.equal(v(sC.signHttp({ method: "GET", path: "/" })).ok, true);
  keys.delete("kA");
  const r = v(sA.signHttp({ method: "GET", path: "/" }));
  assert.equal(r.ok ? "ok" : r.reason, "unknown_key");
});

Deno.test("KeyStore: hex/base64 from text, env and file; errors name the place; keys never printed", async () => {
  const hex = "6363732d64656d6f2d6b65792d646f2d6e6f742d7573652d33322d6279746573";
  const b64 = "Y2NzLWRlbW8ta2V5LWRvLW5vdC11c2UtMzItYnl0ZXM=";
  const s = KeyStore.parse(`# keys\nk1=hex:${hex}\n\nk2 = base64:${b64}\n`);
  assert.deepEqual(s.ids(), ["k1", "k2"]);
  assert.deepEqual(s.get("k1"), DEMO_KEY);
  assert.deepEqual(s.get("k2"), DEMO_KEY);
  const env = new Map([["CCS_KEYS", `k1=hex:${hex},k2=base64:${b64.replace(/=+$/, "")}`]]);
  assert.deepEqual(KeyStore.fromEnv({ env }).ids(), ["k1", "k2"]);
  assert.throws(() => KeyStore.fromEnv({ env: new Map() }), /CCS_KEYS is empty/);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/keys`, `k9=hex:${hex}\nbad=hex:0011\n`);
    await assert.rejects(() => KeyStore.fromFile(`${dir}/keys`), /keys:2: key has 2 bytes/);
    await Deno.writeTextFile(`${dir}/keys`, `k9=hex:${hex}\n`);
    assert.deepEqual((await KeyStore.fromFile(`${dir}/keys`)).ids(), ["k9"]);
    await assert.rejects(() => KeyStore.fromFile(`${dir}/missing`), /cannot read key file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.throws(() => KeyStore.parse(`k1=${hex}`), /hex:<hex digits> or base64/);
  assert.throws(() => KeyStore.parse(`k1=hex:${hex}\nk1=hex:${hex}`), /defined twice/);
  assert.throws(() => KeyStore.parse(`k 1=hex:${hex}`), /key id must be/);
  assert.throws(() => KeyStore.parse(`k1=hex:${hex}0`), /even number of hex digits/);
  for (const shown of [JSON.stringify(s), Deno.inspect(s), inspect(s), String(s), Deno.inspect({ nested: s })]) {
    assert.ok(shown.includes("k1"), shown);
    assert.ok(!shown.includes(hex) && !shown.includes(b64.slice(0, 20)) && !shown.includes("ccs-demo"), shown);
  }
  const signer = createSigner({ keyId: "k1", key: DEMO_KEY, senderId: "s" });
  assert.ok(!Deno.inspect(signer).includes("ccs-demo") && !JSON.stringify(signer).includes("ccs-demo"));
});

Deno.test("createSigner / createVerifier reject bad options with actionable errors", () => {
  const keys = KeyStore.fromEntries([["k", KEY_A]]);
  assert.throws(() => createSigner({ keyId: "k", key: KEY_A, senderId: "s", tagBits: 20 }), /tagBits/);
  assert.throws(() => createSigner({ keyId: "k", key: new Uint8Array(8), senderId: "s" }), /at least 16/);
  assert.throws(() => createSigner({ keyId: "k\n", key: KEY_A, senderId: "s" }), /keyId/);
  assert.throws(() => createVerifier({ keys, replayWindow: 100 }), /replayWindow/);
  assert.throws(() => createVerifier({ keys, driftMs: -1 }), /driftMs/);
  const signer = createSigner({ keyId: "k", key: KEY_A, senderId: "s" });
  assert.throws(() => signer.signHttp({ method: "GET", path: "/a\nb" }), /line breaks/);
});

Deno.test("truncated tags: 32-bit and 256-bit envelopes; a mismatched length is malformed", () => {
  const keys = KeyStore.fromEntries([["k", KEY_A]]);
  for (const tagBits of [32, 256]) {
    const s = createSigner({ keyId: "k", key: KEY_A, senderId: "s", tagBits });
    const h = s.signHttp({ method: "GET", path: "/" });
    assert.equal(h["X-CCS-Signature"].length, tagBits / 4);
    const v = createVerifier({ keys, tagBits });
    assert.equal(v.verifyHttp({ method: "GET", path: "/", headers: h }).ok, true);
    const other = createVerifier({ keys, tagBits: tagBits === 32 ? 256 : 32 });
    const r = other.verifyHttp({ method: "GET", path: "/", headers: h });
    assert.equal(r.ok ? "ok" : r.reason, "malformed");
  }
});

Deno.test("real HTTP server on 127.0.0.1:0 verifies signed fetches and answers errors in the JSON shape", async () => {
  const keys = KeyStore.fromEntries([["k", KEY_A]]);
  const verifier = createVerifier({ keys });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const body = new Uint8Array(await req.clone().arrayBuffer());
    const r = await verifier.verifyRequest(req);
    if (!r.ok) {
      return Response.json({ error: { code: `security.${r.reason}`, message: r.message, path: url.pathname } }, {
        status: 401,
      });
    }
    return Response.json({ sender: r.senderId, bytes: body.length });
  });
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    const signer = createSigner({ keyId: "k", key: KEY_A, senderId: "car-9" });
    const body = JSON.stringify({ "Vehicle.Speed": 12 });
    const path = "/v1/telemetry?batch=1";
    const headers = signer.signHttp({ method: "POST", path, body });
    const ok = await fetch(base + path, { method: "POST", headers, body });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { sender: "car-9", bytes: body.length });
    const again = await fetch(base + path, { method: "POST", headers, body });
    assert.equal(again.status, 401);
    assert.equal((await again.json()).error.code, "security.replay");
    const none = await fetch(base + path, { method: "POST", body });
    assert.equal((await none.json()).error.code, "security.missing_signature");
  } finally {
    await server.shutdown();
  }
});

Deno.test("replay state is kept only for senders that authenticate (forged sender ids cost no memory)", () => {
  const { verifier, signer } = setup();
  const h = signer.signHttp({ method: "GET", path: "/" });
  for (let i = 0; i < 2000; i++) {
    const r = verifier.verifyHttp({ method: "GET", path: "/", headers: { ...h, "X-CCS-Sender": `fake-${i}` } });
    assert.equal(r.ok ? "ok" : r.reason, "bad_signature");
  }
  assert.equal(verifier.replayWindows(), 0);
  // the genuine sender still gets exactly one acceptance, then replay
  const ok = verifier.verifyHttp({ method: "GET", path: "/", headers: h });
  assert.equal(ok.ok, true);
  assert.equal(verifier.replayWindows(), 1);
  const again = verifier.verifyHttp({ method: "GET", path: "/", headers: h });
  assert.equal(again.ok ? "ok" : again.reason, "replay");
  // a new sender's first batch: the replayed copy inside the same batch is caught too
  const s2 = createSigner({ keyId: "kA", key: KEY_A, senderId: "car-2", now: () => T0, counterStart: 5 });
  const h2 = s2.signHttp({ method: "GET", path: "/" });
  const res = verifier.verifyHttpBatch([h2, h2].map((headers) => ({ method: "GET", path: "/", headers })));
  assert.deepEqual(res.map((r) => (r.ok ? "ok" : r.reason)), ["ok", "replay"]);
  assert.equal(verifier.verifyHttp({ method: "GET", path: "/", headers: h2 }).ok, false);
  assert.equal(verifier.replayWindows(), 2);
});

Deno.test("property: every signed request verifies once; any change to method, path, body or a header fails", () => {
  const key = new Uint8Array(32).fill(9);
  const keys = KeyStore.fromEntries([["k", key]]);
  const verifier = createVerifier({ keys, now: () => T0 });
  const signer = createSigner({ keyId: "k", key, senderId: "s", now: () => T0, counterStart: 0 });
  const reason = (r: { ok: boolean; reason?: string }) => (r.ok ? "ok" : r.reason);
  fc.assert(
    fc.property(
      fc.constantFrom("GET", "POST", "PUT"),
      fc.stringMatching(/^\/[a-z0-9/?=&._-]{0,40}$/),
      fc.uint8Array({ maxLength: 300 }),
      fc.nat(),
      fc.constantFrom("method", "path", "body", "X-CCS-Counter", "X-CCS-Timestamp", "X-CCS-Key-Id"),
      (method, path, body, pick, what) => {
        const headers = signer.signHttp({ method, path, body });
        // a tampered copy first: it must fail and must not consume the counter
        const t = { method, path, body: body.slice(), headers: { ...headers } as Record<string, string> };
        if (what === "method") t.method = method === "GET" ? "POST" : "GET";
        else if (what === "path") t.path = path + "x";
        else if (what === "body") {
          if (body.length === 0) t.body = new Uint8Array([pick & 255]);
          else t.body[pick % body.length] ^= 1 << (pick % 8);
        } else if (what === "X-CCS-Counter") t.headers[what] = String(Number(headers[what]) + 1 + (pick % 5));
        else if (what === "X-CCS-Timestamp") t.headers[what] = String(T0 - 1 - (pick % 1000));
        else t.headers[what] = "other";
        const bad = reason(verifier.verifyHttp(t));
        assert.equal(bad, what === "X-CCS-Key-Id" ? "unknown_key" : "bad_signature");
        assert.equal(reason(verifier.verifyHttp({ method, path, headers, body })), "ok");
        assert.equal(reason(verifier.verifyHttp({ method, path, headers, body })), "replay");
      },
    ),
    { numRuns: 300 },
  );
});
