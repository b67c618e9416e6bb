import assert from "node:assert/strict";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

async function run(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { CESC_DIG_USERNAME: "", CESC_DIG_PASSWORD: "", CESC_DIG_CREDENTIALS: "", CCS_KEYS: "", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("cesc CLI: --help, bad flags exit 2 with one line, other failures exit 1", async () => {
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--max-datapoints/);
  assert.match(help.stdout, /--flush-interval/);
  for (
    const args of [["--bogus"], ["--port", "abc"], ["--loglevel", "loud"], ["--backend", "kafka"], ["--cert", "x"]]
  ) {
    const r = await run(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^cesc: /);
  }
  const dir = await Deno.makeTempDir({ prefix: "cesc_cli_test_" });
  try {
    // --backend dig without credentials (without --backend the CESC starts with forwarding off)
    const r = await run(["--db", `${dir}/x.db`, "--port", "0", "--backend", "dig"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^cesc: DIG backend needs credentials/);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cesc CLI: without --backend and without DIG credentials it starts with forwarding off, and stops on SIGTERM", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cesc_cli_none_" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./main.ts", import.meta.url).pathname, "--db", `${dir}/x.db`, "--port", "0"],
    env: { CESC_DIG_USERNAME: "", CESC_DIG_PASSWORD: "", CESC_DIG_CREDENTIALS: "", CCS_KEYS: "", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("listening on")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    assert.match(out, /cesc: listening on http:\/\/127\.0\.0\.1:\d+\//);
    child.kill("SIGTERM");
    await reader.cancel();
    const stderr = new TextDecoder().decode((await new Response(child.stderr).arrayBuffer()) as ArrayBuffer);
    assert.match(stderr, /forwarding is off/);
    assert.equal((await child.status).code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
