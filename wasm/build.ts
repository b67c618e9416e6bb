/**
 * Builds every AssemblyScript entry `wasm/assembly/<name>.ts` into
 * `wasm/build/<name>.wasm` (with `npm:assemblyscript`), and writes
 * `wasm/build/manifest.json` with a SHA-256 over all sources so a test can
 * refuse a stale binary. Shared AssemblyScript code lives in `wasm/assembly/lib/`.
 *
 * Run with `deno task wasm:build`. `--check` exits 1 when the build is missing or stale.
 * @module
 */
import asc from "assemblyscript/asc";
import { sourceHash, wasmDir } from "./source_hash.ts";

/** Compiler flags shared by every module. */
const FLAGS = ["-O3", "--runtime", "stub", "--noAssert", "--enable", "simd", "--converge"];

async function build(): Promise<void> {
  const srcDir = `${wasmDir}/assembly`;
  const outDir = `${wasmDir}/build`;
  await Deno.mkdir(outDir, { recursive: true });
  const entries: string[] = [];
  try {
    for await (const e of Deno.readDir(srcDir)) {
      if (e.isFile && e.name.endsWith(".ts")) entries.push(e.name.slice(0, -3));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  entries.sort();
  for (const name of entries) {
    const t0 = performance.now();
    const { error, stderr } = await asc.main([
      `${srcDir}/${name}.ts`,
      ...FLAGS,
      "--outFile",
      `${outDir}/${name}.wasm`,
      "--textFile",
      `${outDir}/${name}.wat`,
    ]);
    if (error) {
      console.error(stderr.toString());
      console.error(`wasm:build: ${name}.ts failed: ${error.message}`);
      Deno.exit(1);
    }
    const size = (await Deno.stat(`${outDir}/${name}.wasm`)).size;
    console.error(`wasm:build: ${name}.wasm ${size} bytes in ${(performance.now() - t0).toFixed(0)} ms`);
  }
  const manifest = { sourceHash: await sourceHash(), modules: entries, flags: FLAGS };
  await Deno.writeTextFile(`${outDir}/manifest.json`, JSON.stringify(manifest, null, 2) + "\n");
}

async function check(): Promise<void> {
  let built = "";
  try {
    built = JSON.parse(await Deno.readTextFile(`${wasmDir}/build/manifest.json`)).sourceHash;
  } catch {
    console.error("wasm: no build found; run `deno task wasm:build`");
    Deno.exit(1);
  }
  if (built !== await sourceHash()) {
    console.error("wasm: the built module is stale (sources changed); run `deno task wasm:build`");
    Deno.exit(1);
  }
}

if (import.meta.main) {
  if (Deno.args.includes("--check")) await check();
  else await build();
}
