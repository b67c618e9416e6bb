import assert from "node:assert/strict";
import { sourceHash, wasmDir } from "./source_hash.ts";

Deno.test("the built WASM matches the current AssemblyScript sources", async () => {
  let manifest: { sourceHash: string };
  try {
    manifest = JSON.parse(await Deno.readTextFile(`${wasmDir}/build/manifest.json`));
  } catch {
    throw new Error("no WASM build: run `deno task wasm:build` (deno task test does it for you)");
  }
  assert.equal(
    manifest.sourceHash,
    await sourceHash(),
    "wasm/build is stale: run `deno task wasm:build` (deno task test does it for you)",
  );
});
