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
    const r = await run(["--db", `${dir}/x.db`, "--port", "0"]); // default backend dig, no credentials
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^cesc: DIG backend needs credentials/);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
