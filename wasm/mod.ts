/**
 * The project's WebAssembly modules, as a leaf: AssemblyScript sources (`wasm/assembly/`), their build
 * (`deno task wasm:build`), the loader of the compiled modules and their raw ABI. It imports nothing of ours; the
 * typed bindings live beside their users: `core/can` `createWasmDecoder` and `core/security` `WasmCrypto`.
 *
 * @example
 * ```ts
 * import { ascImports, type CryptoExports, loadWasmModule } from "./mod.ts";
 * const instance = await WebAssembly.instantiate(await loadWasmModule("crypto"), ascImports);
 * const x = instance.exports as unknown as CryptoExports;
 * console.log(x.memory.buffer.byteLength > 0); // true
 * ```
 * @module
 */
export { ascImports, loadWasmModule, loadWasmModuleSync, WasmError } from "./loader.ts";
export * from "./abi.ts";
