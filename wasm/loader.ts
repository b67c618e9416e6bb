/**
 * Loads compiled WebAssembly modules from `wasm/build/` (once per process) and the
 * imports every AssemblyScript module built with `--runtime stub` needs.
 * @module
 */

/** A WASM module that is missing or aborted; `code` is `wasm.missing` or `wasm.abort`. */
export class WasmError extends Error {
  /** Stable dotted code. */
  readonly code: string;
  /**
   * @param code `wasm.missing` or `wasm.abort`
   * @param message what went wrong and what to do
   */
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "WasmError";
    this.code = code;
  }
}

const cache = new Map<string, Promise<WebAssembly.Module>>();
const syncCache = new Map<string, WebAssembly.Module>();

function moduleUrl(name: string): URL {
  return new URL(`./build/${name}.wasm`, import.meta.url);
}

function missing(name: string, url: URL, cause: unknown): WasmError {
  return new WasmError(
    "wasm.missing",
    `WASM module ${name} not built (${url.pathname}); run \`deno task wasm:build\``,
    {
      cause,
    },
  );
}

/**
 * Compile (once) and return the module `wasm/build/<name>.wasm`.
 *
 * @param name module name, the entry file's base name in `wasm/assembly/`
 */
export function loadWasmModule(name: string): Promise<WebAssembly.Module> {
  let p = cache.get(name);
  if (!p) {
    p = (async () => {
      const url = moduleUrl(name);
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(url);
      } catch (cause) {
        throw missing(name, url, cause);
      }
      return await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
    })();
    cache.set(name, p);
  }
  return p;
}

/**
 * Compile (once) and return `wasm/build/<name>.wasm` synchronously: for small modules whose factories are synchronous.
 *
 * @param name module name, the entry file's base name in `wasm/assembly/`
 */
export function loadWasmModuleSync(name: string): WebAssembly.Module {
  let m = syncCache.get(name);
  if (!m) {
    const url = moduleUrl(name);
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(url);
    } catch (cause) {
      throw missing(name, url, cause);
    }
    m = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
    syncCache.set(name, m);
  }
  return m;
}

/** Imports every AssemblyScript module built with `--runtime stub` may need. */
export const ascImports: WebAssembly.Imports = {
  env: {
    abort(_msg: number, _file: number, line: number, column: number): never {
      throw new WasmError("wasm.abort", `WASM abort at ${line}:${column}`);
    },
    seed: () => Date.now(),
  },
};
