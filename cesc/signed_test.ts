import assert from "node:assert/strict";
import { createSigner, createVerifier, KeyStore } from "../core/security/mod.ts";
import { withCesc } from "../testing/cesc.ts";

Deno.test("cesc signed ingest: core/security envelope verified, 401 with the reason otherwise", async () => {
  const keys = KeyStore.parse("k1=hex:" + "2a".repeat(32));
  const verifier = createVerifier({ keys });
  await withCesc(async (cesc) => {
    const signer = createSigner({ keyId: "k1", key: keys.get("k1")!, senderId: "car-1" });
    const body = JSON.stringify({
      vin: "SIGNED1",
      data: { path: "Vehicle.Speed", dp: { value: "1", ts: "2022-07-27T12:00:00Z" } },
    });
    const post = async (headers: Record<string, string>, b = body) => {
      const res = await fetch(cesc.url + "v1/data", {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: b,
      });
      return { status: res.status, body: await res.json() };
    };
    const signed = signer.signHttp({ method: "POST", path: "/v1/data", body });
    assert.deepEqual(await post(signed), { status: 200, body: { stored: 1, duplicates: 0 } });
    const replay = await post(signed);
    assert.equal(replay.status, 401);
    assert.equal(replay.body.error.code, "auth.replay");
    const missing = await post({});
    assert.equal(missing.status, 401);
    assert.equal(missing.body.error.code, "auth.missing_signature");
    const tampered = await post(
      signer.signHttp({ method: "POST", path: "/v1/data", body }),
      body.replace('"1"', '"9"'),
    );
    assert.equal(tampered.status, 401);
    assert.equal(tampered.body.error.code, "auth.bad_signature");
    assert.equal((await cesc.store.unforwarded("SIGNED1", { limit: 10 })).length, 1);
  }, { verify: (req) => verifier.verifyHttp(req) });
});
