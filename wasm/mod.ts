/**
 * Typed bindings to the project's WebAssembly modules (built from
 * `wasm/assembly/` by `deno task wasm:build`).
 *
 * Each module is compiled once per process and instantiated on demand; callers
 * use the higher-level bindings re-exported here.
 *
 * Crypto (SHA-256, HMAC-SHA256, envelope policy): {@link WasmCrypto}.
 *
 * @example
 * ```ts
 * import { WasmCrypto } from "./mod.ts";
 * const c = await WasmCrypto.create();
 * const digest = c.sha256(new TextEncoder().encode("abc"));
 * ```
 * @module
 */
export { ascImports, loadWasmModule } from "./loader.ts";
export * from "./crypto.ts";
