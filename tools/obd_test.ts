import assert from "node:assert/strict";

async function run(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./obd.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("obd CLI: --sim polls the simulated ECU and prints samples and DTC events as JSON lines", async () => {
  const r = await run("--sim", "--duration", "1", "--pids", "engine_rpm,coolant_temp", "--dtc-interval", "500");
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(lines.some((l) => l.line === "sample" && l.name === "engine_rpm" && l.value === 812.5));
  assert.ok(lines.some((l) => l.line === "sample" && l.name === "coolant_temp" && l.value === 88));
  assert.ok(
    lines.some((l) => l.line === "event" && l.topic === "diagnostics/dtc" && l.code === "P0301" && l.qos === 1),
  );
  assert.match(r.stderr, /^obd: requests=\d+ .* health=fault\n$/);
  // times are the canonical RFC 3339 text
  assert.ok(lines.every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(l.ts) && l.tsMs === undefined));
});

Deno.test("obd CLI: --sim --vin prints the VIN and the DTC lists", async () => {
  const r = await run("--sim", "--vin", "--extended", "--ecu", "16");
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines[0], { line: "vin", ecu: "18DAF110", vin: "1HGCM82633A004352" });
  assert.deepEqual(lines[1].codes, ["P0301"]);
  assert.deepEqual(lines[2].codes, ["P0171"]);
});

Deno.test("obd CLI: bad flags exit 2 with one line; a missing AF_CAN exits 1 with one line", async () => {
  for (const args of [["--bogus"], [], ["--sim", "--pids", "warp"], ["--sim", "--duration", "x"]]) {
    const r = await run(...args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.match(r.stderr, /^obd: /);
  }
  const help = await run("--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: deno task obd/);
  if (!/^CAN/m.test(await Deno.readTextFile("/proc/net/protocols"))) {
    const r = await run("--interface", "can0");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^obd: .*AF_CAN.*\n$/);
  }
});
