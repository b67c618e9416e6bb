/** Every shipped example and deployment file is loaded by the code that will read it, so none of them can rot. */
import assert from "node:assert/strict";
import { parseCescArgs } from "../cesc/config.ts";
import { loadDigCredentials } from "../cesc/mod.ts";
import { loadVecConfig, parseVissRequests } from "../vec/mod.ts";

const root = new URL("../", import.meta.url).pathname;

Deno.test("examples: every VEC config validates", async () => {
  for (
    const f of ["examples/vec/config.json", "examples/vec/replay.json", "examples/vec/viss.json", "deploy/vec.json"]
  ) {
    const c = await loadVecConfig(`${root}${f}`, { required: true });
    assert.ok(c.thing_name, f);
  }
  const real = await loadVecConfig(`${root}examples/vec/config.json`, { required: true });
  assert.equal(real.can.interface, "can0");
  assert.equal(real.security.sign, true);
  const viss = await loadVecConfig(`${root}examples/vec/viss.json`, { required: true });
  assert.equal(viss.source, "viss");
  // The replay example points at the bundled demo log.
  const replay = await loadVecConfig(`${root}examples/vec/replay.json`, { required: true });
  await Deno.stat(`${root}${replay.can.log}`);
});

Deno.test("examples: the VISSv2 request file parses", async () => {
  const rs = parseVissRequests(await Deno.readTextFile(`${root}examples/vec/vecRequests.json`));
  assert.deepEqual(rs.map((r) => r.requestId), ["248", "249", "250"]);
});

Deno.test("examples: the CESC flags and DIG credentials parse", async () => {
  const args = (await Deno.readTextFile(`${root}examples/cesc/cesc.args`)).split(/\s+/).filter(Boolean);
  const cfg = parseCescArgs(args);
  assert.equal(cfg.backend, "dig");
  assert.equal(cfg.port, 8000);
  const creds = await loadDigCredentials(`${root}examples/cesc/dig-credentials.json`);
  assert.equal(creds.username, "dig-user@example.com");
});

Deno.test("systemd unit: restart on failure, CAP_NET_RAW, state directory, journal, flags the VEC knows", async () => {
  const unit = await Deno.readTextFile(`${root}systemd/canvss-vec.service`);
  for (
    const line of [
      "Restart=on-failure",
      "AmbientCapabilities=CAP_NET_RAW",
      "StateDirectory=canvss-vec",
      "StandardOutput=journal",
    ]
  ) assert.ok(unit.includes(line), line);
  const exec = /^ExecStart=(\S+) (.*)$/m.exec(unit)!;
  assert.equal(exec[1], "/opt/canvss/bin/vec");
  const help = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", `${root}vec/main.ts`, "--help"] })
    .output();
  const text = new TextDecoder().decode(help.stdout);
  for (const flag of exec[2].split(" ").filter((a) => a.startsWith("--"))) assert.ok(text.includes(flag), flag);
});
