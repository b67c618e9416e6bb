import assert from "node:assert/strict";
import { benchRates } from "./bench_vss.ts";

Deno.test("bench_vss: rates from deno bench --json", () => {
  const rows = benchRates({
    benches: [
      { name: "push (100000 values)", results: [{ ok: { avg: 5_000_000, min: 2_500_000 } }] },
      { name: "decode (4096 frames)", results: [{ ok: { avg: 409_600, min: 409_600 } }] },
      { name: "no count", results: [{ ok: { avg: 1, min: 1 } }] },
      { name: "failed (10 values)", results: [{}] },
    ],
  });
  assert.deepEqual(rows, [
    {
      name: "push (100000 values)",
      avgNs: 5_000_000,
      count: 100000,
      unit: "values",
      perSecond: 20_000_000,
      bestPerSecond: 40_000_000,
    },
    {
      name: "decode (4096 frames)",
      avgNs: 409_600,
      count: 4096,
      unit: "frames",
      perSecond: 10_000_000,
      bestPerSecond: 10_000_000,
    },
  ]);
});

Deno.test("bench_vss: --help and a bad flag", async () => {
  const run = (...args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./bench_vss.ts", import.meta.url).pathname, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
  const help = await run("--help");
  assert.equal(help.code, 0);
  assert.match(new TextDecoder().decode(help.stdout), /^Usage: bench_vss/);
  const bad = await run("--nope");
  assert.equal(bad.code, 2);
  const err = new TextDecoder().decode(bad.stderr).trim();
  assert.match(err, /^bench_vss: /);
  assert.equal(err.split("\n").length, 1);
});
