import assert from "node:assert/strict";
import { parseCescArgs, parseDuration } from "./config.ts";

Deno.test("cesc config: defaults as the issue, --logfile forms, durations and sizes", () => {
  const d = parseCescArgs([]);
  assert.equal(d.port, 8000);
  assert.equal(d.tlsPort, 4443);
  assert.equal(d.db, "./ovdsCESC.db");
  assert.equal(d.maxDatapoints, 25);
  assert.equal(d.flushIntervalMs, 30_000);
  assert.equal(d.maxBody, 1 << 20);
  assert.equal(d.loglevel, "info");
  assert.equal(d.logfile, false);
  assert.equal(d.logDir, "./logs");
  assert.deepEqual([parseCescArgs(["--logfile"]).logfile, parseCescArgs(["--logfile"]).logDir], [true, "./logs"]);
  assert.equal(parseCescArgs(["--logfile", "/var/log/cesc"]).logDir, "/var/log/cesc");
  assert.equal(parseCescArgs(["--logfile=/tmp/l", "--port", "1"]).logDir, "/tmp/l");
  assert.equal(parseCescArgs(["--logfile", "--port", "1"]).port, 1);
  assert.equal(parseDuration("500ms", "x"), 500);
  assert.equal(parseDuration("7d", "x"), 7 * 86_400_000);
  assert.equal(parseDuration("30", "x"), 30_000);
  assert.equal(parseCescArgs(["--max-body", "64KiB"]).maxBody, 65536);
  assert.equal(parseCescArgs(["-d", "map.json"]).datamap, "map.json");
  assert.throws(() => parseCescArgs(["--flush-interval", "soon"]), /--flush-interval/);
  assert.throws(() => parseCescArgs(["--max-datapoints", "0"]), /--max-datapoints/);
  assert.throws(() => parseCescArgs(["--ca", "ca.pem"]), /--ca needs --cert/);
});

Deno.test("cesc config: --mqtt-url and its TLS flags", () => {
  const c = parseCescArgs([
    "--mqtt-url",
    "mqtts://broker:8883",
    "--mqtt-cert",
    "c.pem",
    "--mqtt-key",
    "k.pem",
    "--mqtt-ca",
    "ca.pem",
  ]);
  assert.equal(c.mqttUrl, "mqtts://broker:8883");
  assert.equal(c.mqttCa, "ca.pem");
  assert.throws(() => parseCescArgs(["--mqtt-url", "http://x"]), /--mqtt-url/);
  assert.throws(() => parseCescArgs(["--mqtt-url", "mqtt://x", "--mqtt-cert", "c.pem"]), /go together/);
  assert.throws(() => parseCescArgs(["--mqtt-ca", "ca.pem"]), /need --mqtt-url/);
});

Deno.test("cesc config: --checkpoint worker (default) or inline; --checkpoint-worker is the old spelling", () => {
  assert.equal(parseCescArgs([]).checkpointWorker, true);
  assert.equal(parseCescArgs(["--checkpoint", "inline"]).checkpointWorker, false);
  assert.equal(parseCescArgs(["--checkpoint-worker"]).checkpointWorker, true);
  assert.throws(() => parseCescArgs(["--checkpoint", "sometimes"]), /--checkpoint: "sometimes" is not worker\|inline/);
  assert.throws(() => parseCescArgs(["--checkpoint-worker", "--checkpoint", "inline"]), /contradicts/);
});
