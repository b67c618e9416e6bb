/**
 * `deno task smoke:pi`: runs the aarch64 release (from `deno task release:pi`) under qemu user-mode emulation and
 * checks that its `decode` output and its VEC replay summary equal the x86_64 run's. Prints the emulated decode rate.
 *
 * Needs Debian's qemu-user-static, libc6-arm64-cross and libgcc-s1-arm64-cross (`.ci/run` installs them).
 *
 * @module
 */
import { parseArgs } from "node:util";

const root = decodeURIComponent(new URL("../", import.meta.url).pathname).replace(/\/$/, "");
const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: {
    tarball: { type: "string" },
    log: { type: "string", default: `${root}/assets/demo/model3_drive.log` },
    dbc: { type: "string", default: `${root}/assets/dbc/Model3CAN.dbc` },
    emulator: { type: "string", default: "qemu-aarch64-static -L /usr/aarch64-linux-gnu" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log("Usage: deno task smoke:pi [--tarball dist/canvss-…-linux-arm64.tar.gz] [--log FILE] [--dbc FILE]");
  Deno.exit(0);
}

async function sh(cmd: string[], env: Record<string, string> = {}) {
  const t = performance.now();
  const out = await new Deno.Command(cmd[0], { args: cmd.slice(1), env: { NO_COLOR: "1", ...env } }).output();
  const dec = new TextDecoder();
  const r = {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    s: (performance.now() - t) / 1000,
  };
  if (r.code !== 0) throw new Error(`${cmd.join(" ")} exited ${r.code}:\n${r.stderr.slice(-2000)}`);
  return r;
}

function vecSummary(stderr: string): { frames: number; signals: number; datapoints: number } {
  const line = stderr.split("\n").find((l) => l.includes('"msg":"stopped"'));
  if (!line) throw new Error(`no summary in the VEC's log:\n${stderr.slice(-1000)}`);
  const { frames, signals, datapoints } = JSON.parse(line);
  return { frames, signals, datapoints };
}

const tarball = values.tarball ??
  [...Deno.readDirSync(`${root}/dist`)].map((e) => e.name).filter((n) => /linux-arm64\.tar\.gz$/.test(n)).map((
    n,
  ) => `${root}/dist/${n}`)[0];
if (!tarball) throw new Error("no dist/*-linux-arm64.tar.gz: run deno task release:pi first");
const dir = await Deno.makeTempDir({ prefix: "pi_smoke_" });
try {
  await sh(["tar", "xzf", tarball, "-C", dir]);
  const rel = `${dir}/${[...Deno.readDirSync(dir)][0].name}`;
  const deno = Deno.execPath();
  const decodeArgs = ["--dbc", values.dbc, "--log", values.log];
  const vecArgs = [
    "--replay",
    values.log,
    "--speed",
    "0",
    "--no-api",
    "--vin",
    "SMOKE0000000000001",
    "--state",
    `${dir}/state`,
  ];

  const x64Decode = await sh([deno, "run", "-A", `${root}/tools/decode.ts`, ...decodeArgs]);
  const x64Vec = await sh([deno, "run", "-A", `${root}/vec/main.ts`, ...vecArgs]);
  const emu = { CANVSS_EMULATOR: values.emulator, DENO_DIR: `${dir}/deno-cache` };
  const armDecode = await sh([`${rel}/bin/decode`, ...decodeArgs], emu);
  const armDecodeWarm = await sh([`${rel}/bin/decode`, ...decodeArgs], emu);
  const armVec = await sh([`${rel}/bin/vec`, ...vecArgs], emu);
  const arch = (await sh([...values.emulator.split(" "), `${rel}/deno`, "eval", "console.log(Deno.build.arch)"])).stdout
    .trim();

  const frames = x64Decode.stdout.split("\n").filter(Boolean).length;
  const same = armDecode.stdout === x64Decode.stdout && armDecodeWarm.stdout === x64Decode.stdout;
  const xs = vecSummary(x64Vec.stderr);
  const as = vecSummary(armVec.stderr);
  console.log(`release runtime architecture: ${arch}`);
  console.log(
    `decode: ${frames.toLocaleString("en-US")} decoded frames; aarch64 output ${same ? "==" : "!="} x86_64 output`,
  );
  console.log(`VEC replay x86_64: ${JSON.stringify(xs)}`);
  console.log(`VEC replay aarch64: ${JSON.stringify(as)}`);
  console.log(
    `decode command wall time: x86_64 native ${x64Decode.s.toFixed(1)} s, aarch64 EMULATED (qemu-user) ` +
      `${armDecode.s.toFixed(1)} s cold / ${armDecodeWarm.s.toFixed(1)} s warm ` +
      `(${Math.round(frames / armDecodeWarm.s).toLocaleString("en-US")} frames/s end to end, emulated)`,
  );
  const stat = armDecodeWarm.stderr.trim().split("\n").at(-1);
  console.log(`aarch64 (emulated) decode summary: ${stat}`);
  if (arch !== "aarch64" || !same || JSON.stringify(xs) !== JSON.stringify(as)) {
    console.error("pi smoke: MISMATCH");
    Deno.exit(1);
  }
  console.log("pi smoke: ok");
} finally {
  await Deno.remove(dir, { recursive: true });
}
