import assert from "node:assert/strict";

const DENO = Deno.execPath();
const SIGN = new URL("./sign.ts", import.meta.url).pathname;

async function run(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(DENO, {
    args: ["run", "--allow-read", "--allow-env", SIGN, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("sign CLI reproduces the worked example; MQTT wrapper; errors exit 2 / 1 with one line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const keys = `${dir}/keys`;
    await Deno.writeTextFile(keys, "k2026-11=hex:6363732d64656d6f2d6b65792d646f2d6e6f742d7573652d33322d6279746573\n");
    const base = ["--keys", keys, "--key-id", "k2026-11", "--sender", "car-0001", "--counter", "1763900000000000"];
    const r = await run([
      ...base,
      "--timestamp",
      "1763900000000",
      "--path",
      "/v1/telemetry",
      "--body",
      '{"Vehicle.Speed":42.5}',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      "X-CCS-Key-Id: k2026-11\nX-CCS-Sender: car-0001\nX-CCS-Counter: 1763900000000000\n" +
        "X-CCS-Timestamp: 1763900000000\nX-CCS-Signature: c26ffa02a3c0c6ce14731eee18b7f178\n",
    );
    const m = await run([...base, "--topic", "vehicles/car-0001/telemetry", "--body", "hi"], {
      CCS_KEYS: "unused=hex:" + "00".repeat(16),
    });
    assert.equal(m.code, 0, m.stderr);
    const env = JSON.parse(m.stdout);
    assert.equal(env.sender, "car-0001");
    assert.equal(atob(env.body), "hi");
    const e = await run([...base.slice(0, 2), "--key-id", "kX", "--sender", "s", "--path", "/"]);
    assert.equal(e.code, 1);
    assert.equal(e.stderr, "sign: key id kX is not in the key store\n");
    const f = await run(["--bogus"]);
    assert.equal(f.code, 2);
    assert.equal(f.stderr.trim().split("\n").length, 1);
    assert.match(f.stderr, /^sign: /);
    const h = await run(["--help"]);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /--key-id/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
