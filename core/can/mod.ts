/**
 * CAN frames, the frame-batch record layout, and the DBC decode-plan compiler that
 * feeds the WASM decoder (`wasm/mod.ts` `createWasmDecoder`).
 *
 * @example
 * ```ts
 * import { compileDecodePlan, lookupMessage, messageKey } from "./mod.ts";
 * declare const db: import("./mod.ts").DbcDatabase;
 * const plan = compileDecodePlan(db);
 * const m = lookupMessage(plan, messageKey(0x123, false));
 * if (m >= 0) console.log(plan.messageNames[m]);
 * ```
 * @module
 */
export * from "./types.ts";
export * from "./batch.ts";
export * from "./plan.ts";
