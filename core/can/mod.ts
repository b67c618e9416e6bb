/**
 * CAN frames, candump logs, DBC databases and the reference decoder.
 *
 * - {@link CanFrame}, {@link MessageDef}, {@link SignalDef}, {@link DbcDatabase}: the data model (`types.ts`).
 * - {@link FrameBatch}: fixed 80-byte frame records, the layout frames cross into the WASM decoder in (`batch.ts`).
 * - {@link parseDbc} / {@link loadDbc}: DBC text → {@link DbcDatabase} (`dbc.ts`).
 * - {@link readCandump} / {@link readCandumpBatches} / {@link CandumpWriter}: streaming candump logs; the batch reader
 *   parses bytes straight into a {@link FrameBatch} (`candump.ts`).
 * - {@link decodeReference} / {@link encodeReference}: the bit-by-bit reference codec, test oracle of the WASM decoder
 *   (`reference.ts`).
 * - {@link compileDecodePlan}: DBC → flat typed-array decode plan that the WASM decoder
 *   ({@link createWasmDecoder}, `wasm_decoder.ts`) loads into its memory (`plan.ts`).
 *
 * @example
 * ```ts
 * import { compileDecodePlan, lookupMessage, messageKey, parseDbc } from "./mod.ts";
 * const db = parseDbc('BO_ 291 Msg: 8 ECU\n SG_ Sig : 0|8@1+ (0.5,0) [0|127.5] "km/h" Vector__XXX\n');
 * console.log(db.messages[0].name, db.messages[0].signals[0].name); // Msg Sig
 * const plan = compileDecodePlan(db);
 * console.log(plan.messageNames[lookupMessage(plan, messageKey(291, false))]); // Msg
 * ```
 * @module
 */
export * from "./types.ts";
export * from "./batch.ts";
export * from "./dbc.ts";
export * from "./reference.ts";
export * from "./plan.ts";
export * from "./candump.ts";
export { createWasmDecoder, type NdjsonWriter, type WasmDecoder, type WasmDecoderOptions } from "./wasm_decoder.ts";
