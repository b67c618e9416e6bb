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
 * import { compileDecodePlan } from "../core/can/mod.ts";
 * import { createWasmDecoder } from "./mod.ts";
 * declare const db: import("../core/can/mod.ts").DbcDatabase;
 * const decoder = await createWasmDecoder(compileDecodePlan(db), { maxFrames: 1024 });
 * // ... write frames into decoder.batch (decoder.batch.push(frame) or a batch reader) ...
 * const n = decoder.decode();
 * for (let i = 0; i < n; i++) {
 *   console.log(decoder.frameIndex[i], decoder.plan.signalNames[decoder.signalId[i]], decoder.value[i]);
 * }
 * ```
 *
 * ```ts
 * import { WasmCrypto } from "./mod.ts";
 * const c = await WasmCrypto.create();
 * const digest = c.sha256(new TextEncoder().encode("abc"));
 * ```
 * @module
 */
export { ascImports, loadWasmModule } from "./loader.ts";
export { createWasmDecoder, type NdjsonWriter, type WasmDecoder, type WasmDecoderOptions } from "./decoder.ts";
export * from "./crypto.ts";
