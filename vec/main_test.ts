import assert from "node:assert/strict";

const main = new URL("./main.ts", import.meta.url).pathname;

async function vec(args: string[], options: { cwd?: string } = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, ...args],
    cwd: options.cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("vec CLI: --help, bad flags exit 2 with one line", async () => {
  const help = await vec(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--cecUrl/);
  assert.match(help.stdout, /--vissv2Url/);
  for (
    const args of [["--bogus"], ["--loglevel", "loud"], ["--speed=-3"], ["--cecUrl", "ftp://x"], ["--source", "tv"]]
  ) {
    const r = await vec(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^vec: /);
  }
  const none = await vec(["--port", "0"]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no CAN source/);
});

Deno.test("vec CLI: a bad DBC, a missing log, a bad config and a missing CAN interface fail with one readable line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.dbc`, 'VERSION ""\nBO_ 12x Msg: 8 ECU\n');
    await Deno.writeTextFile(`${dir}/one.log`, "(1.0) can0 123#00\n");
    await Deno.writeTextFile(`${dir}/cfg.json`, JSON.stringify({ api: { port: "five thousand" } }));
    const cases: [string[], RegExp][] = [
      [["--replay", `${dir}/one.log`, "--dbc", `${dir}/bad.dbc`, "--no-api"], /bad\.dbc:2:\d+/],
      [["--replay", `${dir}/missing.log`, "--no-api"], /missing\.log/],
      [["--config", `${dir}/cfg.json`, "--replay", `${dir}/one.log`], /api\.port/],
      [["--config", `${dir}/nope.json`, "--replay", `${dir}/one.log`], /nope\.json/],
      [["--interface", "can0", "--no-api"], /AF_CAN|CAN|can0/],
    ];
    for (const [args, re] of cases) {
      const r = await vec(args, { cwd: dir });
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n").filter((l) => l.startsWith("vec: "));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], re);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
