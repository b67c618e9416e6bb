// Verifies/s of HMAC-SHA256 with a 128-bit truncated tag: WASM batch (SIMD and scalar) vs node:crypto
// createHmac per message vs WebCrypto per message, for 16-, 100- and 256-byte messages; plus the full
// envelope verifier (parse + body hash + HMAC + drift + replay) on batches of signed HTTP requests.
// Each bench iteration handles BATCH messages: verifies/s = BATCH / (time per iteration).
// Ratios side by side: `deno task bench:security` (tools/bench_security.ts).
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { WasmCrypto } from "./wasm_crypto.ts";
import { createSigner, createVerifier, type HttpRequestInput, KeyStore } from "./mod.ts";

const BATCH = 1024;
const TAG_BITS = 128;
const TAG_BYTES = TAG_BITS / 8;
const key = new Uint8Array(randomBytes(32));
const wasm = await WasmCrypto.create();
const k = wasm.addKey(key);
const subtleKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);

for (const size of [16, 100, 256]) {
  const data = new Uint8Array(randomBytes(size * BATCH));
  const offsets = Uint32Array.from({ length: BATCH + 1 }, (_, i) => i * size);
  const msgs = Array.from({ length: BATCH }, (_, i) => data.subarray(i * size, (i + 1) * size));
  const tags = new Uint8Array(BATCH * TAG_BYTES);
  msgs.forEach((m, i) => tags.set(createHmac("sha256", key).update(m).digest().subarray(0, TAG_BYTES), i * TAG_BYTES));
  const out = new Uint8Array(BATCH);
  const group = `verify ${size} B x ${BATCH}`;
  Deno.bench(`WASM batch SIMD, ${size} B`, { group, baseline: true }, () => {
    wasm.simd = true;
    if (wasm.verifyBatch({ keyIndex: k, data, offsets, tags, tagBits: TAG_BITS, out }) !== BATCH) throw new Error();
  });
  Deno.bench(`WASM batch scalar, ${size} B`, { group }, () => {
    wasm.simd = false;
    if (wasm.verifyBatch({ keyIndex: k, data, offsets, tags, tagBits: TAG_BITS, out }) !== BATCH) throw new Error();
    wasm.simd = true;
  });
  Deno.bench(`node:crypto createHmac per message, ${size} B`, { group }, () => {
    for (let i = 0; i < BATCH; i++) {
      const mac = createHmac("sha256", key).update(msgs[i]).digest();
      if (!timingSafeEqual(mac.subarray(0, TAG_BYTES), tags.subarray(i * TAG_BYTES, (i + 1) * TAG_BYTES))) {
        throw new Error();
      }
    }
  });
  Deno.bench(`WebCrypto subtle.sign per message, ${size} B`, { group }, async () => {
    for (let i = 0; i < BATCH; i++) {
      const mac = new Uint8Array(await crypto.subtle.sign("HMAC", subtleKey, msgs[i]));
      if (!timingSafeEqual(mac.subarray(0, TAG_BYTES), tags.subarray(i * TAG_BYTES, (i + 1) * TAG_BYTES))) {
        throw new Error();
      }
    }
  });
}

{
  // Full envelope verification: a fresh verifier per iteration so counters are never replays.
  const keys = KeyStore.fromEntries([["k1", key]]);
  const signer = createSigner({ keyId: "k1", key, senderId: "car-1", counterStart: 1 });
  const body = JSON.stringify({ "Vehicle.Speed": 42.5, "Vehicle.CurrentLocation.Latitude": 48.1 });
  const reqs: HttpRequestInput[] = Array.from({ length: BATCH }, () => ({
    method: "POST",
    path: "/v1/telemetry",
    headers: signer.signHttp({ method: "POST", path: "/v1/telemetry", body }),
    body,
  }));
  Deno.bench(`verifyHttpBatch, ${body.length} B bodies`, { group: "envelope x 1024" }, (b) => {
    const verifier = createVerifier({ keys });
    b.start();
    const res = verifier.verifyHttpBatch(reqs);
    b.end();
    if (!res.every((r) => r.ok)) throw new Error();
  });
}
