/**
 * Typed binding to the WASM CAN decoder (`wasm/assembly/decoder.ts`).
 *
 * {@link createWasmDecoder} instantiates the module, copies a decode plan
 * (`compileDecodePlan` from `core/can`) into its memory once and places a
 * {@link FrameBatch} inside that memory: sources write frame records straight into
 * `decoder.batch`, `decoder.decode()` decodes them all in one call, and the decoded
 * values appear in typed-array views that are reused across calls. Nothing is
 * allocated per call.
 *
 * @module
 */
import { PipelineError } from "../core/errors/mod.ts";
import { type CanFrame, type DecodePlan, FRAME_RECORD_SIZE, FrameBatch } from "../core/can/mod.ts";
import { ascImports, loadWasmModule } from "./loader.ts";

interface DecoderExports {
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
  decodeOne(index: number): number;
  matched(): number;
}

/** Options of {@link createWasmDecoder}. */
export interface WasmDecoderOptions {
  /** Frames per batch (default 4096). */
  maxFrames?: number;
}

/** A WASM decoder bound to one plan. All arrays are views into WASM memory, reused across calls. */
export interface WasmDecoder {
  /** The plan this decoder was built from. */
  readonly plan: DecodePlan;
  /** Frame records to decode, placed inside WASM memory; fill it, then call {@link WasmDecoder.decode}. */
  readonly batch: FrameBatch;
  /** Capacity of the output arrays (`maxFrames * plan.maxSignalsPerMessage`). */
  readonly outputCapacity: number;
  /** Per output value: index of the frame record it came from. */
  readonly frameIndex: Uint32Array;
  /** Per output value: global signal id (index into `plan.signalNames`). */
  readonly signalId: Uint32Array;
  /** Per output value: physical value (`raw * factor + offset`, floats reinterpreted). */
  readonly value: Float64Array;
  /** Per output value: raw bits (sign-extended for signed signals, as u64). */
  readonly raw: BigUint64Array;
  /** The raw bits as two i32 words per value (low, high): read small raws without creating a BigInt. */
  readonly rawWords: Int32Array;
  /** Per frame record: message index in the plan, or -1 (unknown ID, RTR or error frame). */
  readonly frameMessage: Int32Array;
  /** Frames of the last call whose ID was in the plan. */
  readonly matched: number;
  /** Decode `batch.count` records; returns the number of output values. */
  decode(): number;
  /** Decode record `index` of the batch alone (one JS↔WASM call); outputs start at 0. */
  decodeAt(index: number): number;
  /** Put `frame` into record 0 of the batch (clearing it) and decode it alone; returns the value count. */
  decodeOne(frame: CanFrame): number;
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

/**
 * Instantiate the WASM decoder for a plan.
 *
 * @param plan a plan from `compileDecodePlan`
 * @param options `maxFrames` per batch
 */
export async function createWasmDecoder(plan: DecodePlan, options: WasmDecoderOptions = {}): Promise<WasmDecoder> {
  const maxFrames = options.maxFrames ?? 4096;
  if (!Number.isInteger(maxFrames) || maxFrames < 1) {
    throw new PipelineError("wasm.decoder", `maxFrames must be a positive integer, got ${maxFrames}`);
  }
  const instance = await WebAssembly.instantiate(await loadWasmModule("decoder"), ascImports);
  const x = instance.exports as unknown as DecoderExports;
  const slots = Math.max(1, plan.maxSignalsPerMessage);
  const cap = maxFrames * slots;
  let at = align(x.heapBase(), 16);
  const take = (bytes: number) => {
    const p = at;
    at = align(at + bytes, 16);
    return p;
  };
  const pMsg = take(plan.messages.byteLength);
  const pSig = take(plan.signals.byteLength);
  const pScale = take(plan.scales.byteLength);
  const pRange = take(plan.muxRanges.byteLength);
  const pHash = take(plan.hash.byteLength);
  const pIn = take(maxFrames * FRAME_RECORD_SIZE + 16);
  const pFrame = take(cap * 4);
  const pSigOut = take(cap * 4);
  const pVal = take(cap * 8);
  const pRaw = take(cap * 8);
  const pFrameMsg = take(maxFrames * 4);
  const pScratch = take(slots * 9);
  const have = x.memory.buffer.byteLength;
  if (at > have) x.memory.grow(Math.ceil((at - have) / 65536));
  const buf = x.memory.buffer;
  new Int32Array(buf, pMsg, plan.messages.length).set(plan.messages);
  new Int32Array(buf, pSig, plan.signals.length).set(plan.signals);
  new Float64Array(buf, pScale, plan.scales.length).set(plan.scales);
  new Float64Array(buf, pRange, plan.muxRanges.length).set(plan.muxRanges);
  new Int32Array(buf, pHash, plan.hash.length).set(plan.hash);
  x.configure(
    pMsg,
    pSig,
    pScale,
    pRange,
    pHash,
    plan.hashBits,
    pIn,
    pFrame,
    pSigOut,
    pVal,
    pRaw,
    pFrameMsg,
    pScratch,
    slots,
  );
  const batch = new FrameBatch(maxFrames, { buffer: buf, byteOffset: pIn });
  return {
    plan,
    batch,
    outputCapacity: cap,
    frameIndex: new Uint32Array(buf, pFrame, cap),
    signalId: new Uint32Array(buf, pSigOut, cap),
    value: new Float64Array(buf, pVal, cap),
    raw: new BigUint64Array(buf, pRaw, cap),
    rawWords: new Int32Array(buf, pRaw, cap * 2),
    frameMessage: new Int32Array(buf, pFrameMsg, maxFrames),
    get matched() {
      return x.matched();
    },
    decode: () => x.decodeBatch(batch.count),
    decodeAt: (index: number) => x.decodeOne(index),
    decodeOne(frame: CanFrame): number {
      batch.clear();
      batch.push(frame);
      return x.decodeOne(0);
    },
  };
}
