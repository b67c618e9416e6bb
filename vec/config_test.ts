import assert from "node:assert/strict";
import { DEFAULT_DBC, loadVecConfig, parseVecConfig, redactConfig, type VecConfig } from "./config.ts";
import { PipelineError } from "../core/errors/mod.ts";

Deno.test("config: the ESP gateway's file is valid and gets defaults", () => {
  const c = parseVecConfig({
    endpoint: "abc.iot.eu-west-1.amazonaws.com",
    thing_name: "can-gateway",
    client_id: "can-gateway",
    cert_path: "./certs/certificate.pem.crt",
    key_path: "./certs/private.pem.key",
    ca_path: "./certs/AmazonRootCA1.pem",
    publish_interval_seconds: 300,
  });
  assert.equal(c.thing_name, "can-gateway");
  assert.equal(c.can.dbc, DEFAULT_DBC);
  assert.equal(c.api.port, 5000);
  assert.equal(c.cesc.batch_max_datapoints, 500);
  assert.equal(c.queue.dir, "./state");
  // typed sections with their defaults
  assert.equal(c.obd.enabled, false);
  assert.deepEqual(c.obd.ecus, [0]);
  assert.equal(c.mqtt.enabled, undefined);
});

Deno.test("config: each error names the key", () => {
  const cases: [unknown, string][] = [
    [{ publish_interval_seconds: "5" }, "publish_interval_seconds"],
    [{ api: { port: 70000 } }, "api.port"],
    [{ cesc: { url: "ftp://x" } }, "cesc.url"],
    [{ can: { speed: -1 } }, "can.speed"],
    [{ bogus: 1 }, "bogus"],
    [{ can: { interface: "can0", log: "x.log" } }, "can"],
    [{ security: { sign: true } }, "security"],
    // The mqtt and obd sections are part of the one typed schema: their keys are checked with the rest.
    [{ mqtt: { qos: 2 } }, "mqtt"],
    [{ mqtt: { port: 0 } }, "mqtt.port"],
    [{ obd: { rates: { engine_rpm: 1 } } }, "obd.rates.engine_rpm"],
    [{ obd: { pids: ["warp_speed"] } }, "obd.pids.0"],
    [{ obd: { ecus: [8] } }, "obd.ecus.0"],
  ];
  for (const [input, key] of cases) {
    assert.throws(() => parseVecConfig(input), (e) => {
      assert.ok(e instanceof PipelineError);
      assert.equal(e.code, "config.invalid");
      assert.match(e.message, new RegExp(key.replace(".", "\\.")), `message names ${key}: ${e.message}`);
      return true;
    });
  }
});

Deno.test("config: file loading — missing default is fine, missing named file and bad JSON are errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal((await loadVecConfig(`${dir}/none.json`)).api.port, 5000);
    await assert.rejects(() => loadVecConfig(`${dir}/none.json`, { required: true }), /none\.json/);
    await Deno.writeTextFile(`${dir}/bad.json`, "{ nope");
    await assert.rejects(() => loadVecConfig(`${dir}/bad.json`), /bad\.json: not valid JSON/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: redaction hides inline secrets but keeps paths and key ids", () => {
  const c = parseVecConfig({ security: { sign: true, key_id: "k1", key_env: "VEC_KEY" } });
  // The typed schema has no inline secret today; redaction still hides any key named like one.
  const withSecret = { ...c, mqtt: { ...c.mqtt, password: "pw" } } as VecConfig;
  const r = redactConfig(withSecret) as { security: Record<string, unknown>; mqtt: Record<string, unknown> };
  assert.equal(r.security.key_id, "k1");
  assert.equal(r.security.key_env, "VEC_KEY");
  assert.equal(r.mqtt.password, "[redacted]");
  assert.ok(!JSON.stringify(r).includes('pw"'));
});
