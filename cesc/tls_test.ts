import assert from "node:assert/strict";
import { join } from "node:path";
import { startCesc } from "./mod.ts";

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

/** A CA, a server cert for localhost and a client cert, all X.509 v3 (rustls refuses v1). */
async function makePki(dir: string): Promise<void> {
  await Deno.writeTextFile(join(dir, "server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  await Deno.writeTextFile(join(dir, "client.ext"), "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
  await openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=Test CA",
  ]);
  for (const who of ["server", "client"]) {
    await openssl(dir, [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${who}.key`,
      "-out",
      `${who}.csr`,
      "-subj",
      `/CN=${who === "server" ? "localhost" : "vec-1"}`,
    ]);
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${who}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${who}.crt`,
      "-days",
      "2",
      "-extfile",
      `${who}.ext`,
    ]);
  }
}

const body = JSON.stringify({
  vin: "TLS1",
  data: { path: "Vehicle.Speed", dp: { value: "1", ts: "2022-07-27T12:00:00Z" } },
});

Deno.test("cesc TLS: client certificates are verified when a CA is given", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cesc_tls_test_" });
  try {
    await makePki(dir);
    const rd = (f: string) => Deno.readTextFileSync(join(dir, f));
    const cesc = await startCesc({
      db: join(dir, "ovds.db"),
      port: 0,
      tlsPort: 0,
      backend: "none",
      flushIntervalMs: 3600_000,
      tls: { cert: rd("server.crt"), key: rd("server.key"), ca: rd("ca.crt") },
    });
    const withCert = Deno.createHttpClient({ caCerts: [rd("ca.crt")], cert: rd("client.crt"), key: rd("client.key") });
    const noCert = Deno.createHttpClient({ caCerts: [rd("ca.crt")] });
    try {
      assert.ok(cesc.tlsUrl);
      const res = await fetch(cesc.tlsUrl + "v1/data", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        client: withCert,
      });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { stored: 1, duplicates: 0 });
      const bad = await fetch(cesc.tlsUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{",
        client: withCert,
      });
      assert.equal(bad.status, 400);
      assert.equal((await bad.json()).error.code, "viss.json");
      await assert.rejects(
        fetch(cesc.tlsUrl, { method: "POST", headers: { "content-type": "application/json" }, body, client: noCert }),
      );
      assert.equal((await cesc.store.unforwarded("TLS1", { limit: 10 })).length, 1);
    } finally {
      withCert.close();
      noCert.close();
      await cesc.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
