/**
 * Loads compiled WebAssembly modules from `wasm/build/` (once per process) and the
 * imports every AssemblyScript module built with `--runtime stub` needs.
 * @module
 */
import { PipelineError } from "../core/errors/mod.ts";

const cache = new Map<string, Promise<WebAssembly.Module>>();

/**
 * Compile (once) and return the module `wasm/build/<name>.wasm`.
 *
 * @param name module name, the entry file's base name in `wasm/assembly/`
 */
export function loadWasmModule(name: string): Promise<WebAssembly.Module> {
  let p = cache.get(name);
  if (!p) {
    p = (async () => {
      const url = new URL(`./build/${name}.wasm`, import.meta.url);
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(url);
      } catch (cause) {
        throw new PipelineError(
          "wasm.missing",
          `WASM module ${name} not built (${url.pathname}); run \`deno task wasm:build\``,
          { cause },
        );
      }
      return await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
    })();
    cache.set(name, p);
  }
  return p;
}

/** Imports every AssemblyScript module built with `--runtime stub` may need. */
export const ascImports: WebAssembly.Imports = {
  env: {
    abort(_msg: number, _file: number, line: number, column: number): never {
      throw new PipelineError("wasm.abort", `WASM abort at ${line}:${column}`);
    },
    seed: () => Date.now(),
  },
};
