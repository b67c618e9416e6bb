import assert from "node:assert/strict";
import { createLogger, isLevel, type LogSink } from "./mod.ts";

function memory(): LogSink & { lines: string[] } {
  const lines: string[] = [];
  return { lines, write: (l) => lines.push(l) };
}

Deno.test("logger writes JSON lines at or above its level", () => {
  const sink = memory();
  const log = createLogger("t", { level: "warn", sink });
  log.info("hidden");
  log.warn("shown", { n: 1 });
  log.child("sub").error("child", { err: new Error("boom") });
  assert.equal(sink.lines.length, 2);
  const a = JSON.parse(sink.lines[0]);
  assert.equal(a.level, "warn");
  assert.equal(a.msg, "shown");
  assert.equal(a.n, 1);
  const b = JSON.parse(sink.lines[1]);
  assert.equal(b.logger, "t.sub");
  assert.deepEqual(b.err, { name: "Error", message: "boom" });
});

Deno.test("logger redacts secret-looking fields", () => {
  const sink = memory();
  const log = createLogger("t", { sink });
  log.info("auth", { password: "hunter2", bearerToken: "abc", user: "u" });
  const rec = JSON.parse(sink.lines[0]);
  assert.equal(rec.password, "[redacted]");
  assert.equal(rec.bearerToken, "[redacted]");
  assert.equal(rec.user, "u");
  assert.ok(!sink.lines[0].includes("hunter2"));
});

Deno.test("logger writes to a file in the log directory", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const log = createLogger("cesc", { dir: `${dir}/logs`, file: "CEC-client.txt" });
    log.info("hello");
    const text = Deno.readTextFileSync(`${dir}/logs/CEC-client.txt`);
    assert.equal(JSON.parse(text.trim()).msg, "hello");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("isLevel accepts the seven levels only", () => {
  for (const l of ["trace", "debug", "info", "warn", "error", "fatal", "panic"]) assert.ok(isLevel(l));
  assert.ok(!isLevel("verbose"));
});
