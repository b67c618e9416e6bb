/**
 * The raw ABI of the project's WebAssembly modules: what each module exports, as the AssemblyScript sources in
 * `wasm/assembly/` define it. The typed bindings live beside their users (`core/can` `createWasmDecoder`,
 * `core/security` `WasmCrypto`); this file is the contract between them and the sources.
 * @module
 */

/** Exports of `decoder.wasm` (`wasm/assembly/decoder.ts`). */
export interface DecoderExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  configure(
    msg: number,
    sig: number,
    scale: number,
    range: number,
    hash: number,
    hashBits: number,
    input: number,
    outFrame: number,
    outSig: number,
    outVal: number,
    outRaw: number,
    frameMsg: number,
    scratch: number,
    scratchSlots: number,
  ): void;
  decodeBatch(n: number): number;
  configureText(msg: number, sig: number, iface: number, max: number, out: number, outCap: number): void;
  formatNdjson(frames: number, values: number, frame: number, value: number): number;
  nextFrame(): number;
  nextValue(): number;
  decodeOne(index: number): number;
  matched(): number;
}

/** Exports of `crypto.wasm` (`wasm/assembly/crypto.ts`). */
export interface CryptoExports {
  memory: WebAssembly.Memory;
  alloc(size: number): number;
  useSimd(on: number): void;
  simdGroups(): number;
  sha256(ptr: number, len: number, out: number): void;
  hmacInit(keyPtr: number, keyLen: number, slot: number): void;
  hmac(slot: number, ptr: number, len: number, out: number): void;
  tagEqual(a: number, b: number, tagBits: number): number;
  hmacBatch(keys: number, desc: number, count: number, out: number, tagBytes: number): void;
  verifyBatch(keys: number, desc: number, count: number, tagBits: number, verdicts: number): number;
  verifyEnvelopes(
    keys: number,
    slots: number,
    window: number,
    desc: number,
    count: number,
    tagBits: number,
    nowMs: number,
    driftMs: number,
    verdicts: number,
  ): number;
}

/** Verdict: the envelope is valid, fresh and not replayed. */
export const VERDICT_OK = 0;
/** Verdict: the tag does not match. */
export const VERDICT_BAD_SIGNATURE = 1;
/** Verdict: |receiver time − sender timestamp| exceeds the drift window. */
export const VERDICT_TIMESTAMP_DRIFT = 2;
/** Verdict: the counter was already seen or is older than the replay window. */
export const VERDICT_REPLAY = 3;
