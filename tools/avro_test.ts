import assert from "node:assert/strict";

const CLI = new URL("./avro.ts", import.meta.url).pathname;

async function run(args: string[], stdin?: string): Promise<{ code: number; out: string; err: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", CLI, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const r = await child.output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout), err: new TextDecoder().decode(r.stderr) };
}

const VISS = {
  action: "get",
  requestId: "7",
  data: [
    {
      path: "Vehicle.Speed",
      dp: [{ value: "23.5", ts: "2026-11-23T10:00:00.000Z" }, { value: "24.25", ts: "2026-11-23T10:00:01.000Z" }],
    },
    { path: "Vehicle.Powertrain.Transmission.CurrentGear", dp: { value: "-1", ts: "2026-11-23T10:00:00.500Z" } },
    { path: "Vehicle.Cabin.Door.Row1.DriverSide.IsOpen", dp: { value: "false", ts: "2026-11-23T10:00:00.700Z" } },
  ],
};

Deno.test("avro CLI: encode VISSv2 JSON, inspect, decode back to JSON and NDJSON", async () => {
  const dir = await Deno.makeTempDir({ prefix: "avro_cli_" });
  try {
    await Deno.writeTextFile(`${dir}/in.json`, JSON.stringify(VISS));
    const enc = await run(["encode", `${dir}/in.json`, "-o", `${dir}/out.avro`, "--vin", "WVW0001"]);
    assert.equal(enc.code, 0, enc.err);
    const bytes = await Deno.readFile(`${dir}/out.avro`);
    assert.deepEqual([...bytes.subarray(0, 4)], [0x4f, 0x62, 0x6a, 1]);

    const ins = await run(["inspect", `${dir}/out.avro`]);
    assert.equal(ins.code, 0, ins.err);
    assert.match(ins.out, /codec deflate/);
    assert.match(ins.out, /schema: Message/);
    assert.match(ins.out, /datapoints: 4, signals: 3/);
    assert.match(ins.out, /Vehicle\.Speed: 2/);
    assert.match(ins.out, /metadata vss\.vin: WVW0001/);

    const dec = await run(["decode", `${dir}/out.avro`]);
    assert.equal(dec.code, 0, dec.err);
    assert.deepEqual(JSON.parse(dec.out), { data: VISS.data.map((d) => ({ path: d.path, dp: [d.dp].flat() })) });

    const nd = await run(["decode", "-f", "ndjson", "-"], undefined);
    assert.equal(nd.code, 1); // empty stdin is not AVRO
    const bin = await run(["encode", "--framing", "binary", "-o", `${dir}/out.bin`], JSON.stringify(VISS));
    assert.equal(bin.code, 0, bin.err);
    const nd2 = await run(["decode", "--format", "ndjson", `${dir}/out.bin`]);
    assert.equal(nd2.code, 0, nd2.err);
    assert.deepEqual(nd2.out.trim().split("\n").map((l) => JSON.parse(l).value), ["23.5", "24.25", "-1", "false"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("avro CLI: data that does not fit the schema names the line, signal, field and value (exit 1)", async () => {
  const nd = [
    '{"path":"Vehicle.Speed","value":"1","ts":"2026-11-23T10:00:00Z"}',
    '{"path":"Vehicle.Powertrain.Transmission.CurrentGear","value":"300","ts":"2026-11-23T10:00:00Z"}',
  ].join("\n");
  const r = await run(["encode", "-o", "/dev/null"], nd);
  assert.equal(r.code, 1);
  assert.equal(r.err.trim().split("\n").length, 1);
  assert.match(
    r.err,
    /^avro: <stdin>:2: Vehicle\.Powertrain\.Transmission\.CurrentGear: 300 is out of range for int8/,
  );
  const unknown = await run(["encode"], '[{"path":"Vehicle.NoSuch","value":"1","ts":"2026-11-23T10:00:00Z"}]');
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /<stdin> \[0\]: Vehicle\.NoSuch: not in the VSS catalog/);
  const shape = await run(["encode"], '{"path":"Vehicle.Speed","dp":[{"value":1.5}]}');
  assert.equal(shape.code, 1);
  assert.match(shape.err, /<stdin> dp\[0\]: Vehicle\.Speed: missing "ts" \(RFC 3339/);
  const syntax = await run(["encode"], '{"path": }');
  assert.equal(syntax.code, 1);
  assert.match(syntax.err, /^avro: <stdin>:1:\d+: invalid JSON/);
});

Deno.test("avro CLI: --help, bad flags and bad commands", async () => {
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /Usage: deno task avro <command>/);
  for (
    const args of [["--bogus"], ["encode", "--codec", "zstd"], ["frobnicate"], [], [
      "encode",
      "--framing",
      "binary",
      "--vin",
      "X",
    ]]
  ) {
    const r = await run(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.err.trim().split("\n").length, 1);
    assert.match(r.err, /^avro: /);
  }
  const missing = await run(["decode", "/nonexistent/x.avro"]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /cannot read \/nonexistent\/x\.avro/);
});
