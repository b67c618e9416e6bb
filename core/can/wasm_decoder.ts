/**
 * Typed binding to the WASM CAN decoder (`wasm/assembly/decoder.ts`; raw ABI in `wasm/abi.ts`).
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
import { PipelineError } from "../errors/mod.ts";
import { ascImports, type DecoderExports, loadWasmModule } from "../../wasm/mod.ts";
import type { CanFrame } from "./types.ts";
import type { DecodePlan } from "./plan.ts";
import { FRAME_RECORD_SIZE, FrameBatch } from "./batch.ts";

/** Options of {@link createWasmDecoder}. */
export interface WasmDecoderOptions {
  /** Frames per batch (default 4096). */
  maxFrames?: number;
  /** Also set up {@link WasmDecoder.ndjson}, the NDJSON writer (reserves its tables and a 4 MiB text buffer). */
  ndjson?: boolean;
}

/** Writes decoded frames as NDJSON lines, in WASM (see `tools/decode.ts` for the line format). */
export interface NdjsonWriter {
  /**
   * Format the frames of the last `decode()` (frame records `[0, frames)`, `values` output values) and hand the
   * text to `sink` in chunks of up to 4 MiB. The chunk is a view into WASM memory, valid only during the call.
   */
  write(frames: number, values: number, sink: (chunk: Uint8Array) => void): void;
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
  /** The NDJSON writer, when created with `ndjson: true`. */
  readonly ndjson?: NdjsonWriter;
}

const TEXT_OUT = 4 << 20;
const MAX_IFACES = 256;
const IFACE_BYTES = 64;

const align = (n: number, a: number) => Math.ceil(n / a) * a;

/**
 * Instantiate the WASM decoder for a plan.
 *
 * @param plan a plan from `compileDecodePlan`
 * @param options `maxFrames` per batch (outputs are sized `maxFrames × plan.maxSignalsPerMessage`); `ndjson` to
 *   also get the NDJSON writer
 * @throws {PipelineError} `wasm.decoder` for a bad `maxFrames` or one that needs more than 2 GiB
 */
export async function createWasmDecoder(plan: DecodePlan, options: WasmDecoderOptions = {}): Promise<WasmDecoder> {
  const maxFrames = options.maxFrames ?? 4096;
  if (!Number.isInteger(maxFrames) || maxFrames < 1) {
    throw new PipelineError("wasm.decoder", `maxFrames must be a positive integer, got ${maxFrames}`);
  }
  let mem8: Uint8Array = new Uint8Array(0);
  const enc = new TextEncoder();
  const imports = {
    env: {
      ...ascImports.env,
      fmtF64(v: number, at: number): number {
        const s = String(v);
        for (let i = 0; i < s.length; i++) mem8[at + i] = s.charCodeAt(i);
        return s.length;
      },
    },
  };
  const instance = await WebAssembly.instantiate(await loadWasmModule("decoder"), imports);
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
  // NDJSON texts: per message `,"id":…,"signals":{`, per signal `"name":`, per interface its JSON string.
  const json = (t: string) => enc.encode(t);
  const msgText = options.ndjson
    ? plan.messageDefs.map((m) =>
      json(`,"id":${m.id},"extended":${m.extended},"message":${JSON.stringify(m.name)},"signals":{`)
    )
    : [];
  const sigText = options.ndjson ? plan.signalNames.map((n) => json(`${JSON.stringify(n)}:`)) : [];
  const textBytes = [...msgText, ...sigText].reduce((n, b) => n + b.length, 0);
  const pTMsg = take(options.ndjson ? plan.messageCount * 8 : 0);
  const pTSig = take(options.ndjson ? plan.signalCount * 8 : 0);
  const pTIface = take(options.ndjson ? MAX_IFACES * 8 : 0);
  const pTMax = take(options.ndjson ? plan.messageCount * 4 : 0);
  const pTDict = take(options.ndjson ? textBytes + MAX_IFACES * IFACE_BYTES : 0);
  const pTOut = take(options.ndjson ? TEXT_OUT + 64 : 0);
  if (at > 2 ** 31) {
    throw new PipelineError(
      "wasm.decoder",
      `maxFrames ${maxFrames} × ${slots} signals per message needs ${Math.ceil(at / 2 ** 20)} MiB of WASM memory; ` +
        "use a smaller maxFrames",
    );
  }
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
  mem8 = new Uint8Array(buf);
  let ndjson: NdjsonWriter | undefined;
  if (options.ndjson) {
    const i32 = new Int32Array(buf);
    let at = pTDict;
    const place = (table: number, index: number, bytes: Uint8Array) => {
      mem8.set(bytes, at);
      i32[(table >> 2) + index * 2] = at;
      i32[(table >> 2) + index * 2 + 1] = bytes.length;
      at += bytes.length;
    };
    msgText.forEach((b, m) => place(pTMsg, m, b));
    sigText.forEach((b, g) => place(pTSig, g, b));
    const perMessage = new Array<number>(plan.messageCount).fill(0);
    sigText.forEach((b, g) => perMessage[plan.signalMessage[g]] += b.length + 1 + 32);
    // {"ts": + timestamp + ,"iface": + name + message text + signals + closing, with room for 8-byte stores.
    perMessage.forEach((n, m) => i32[(pTMax >> 2) + m] = 6 + 32 + 9 + IFACE_BYTES + msgText[m].length + n + 3 + 16);
    if (Math.max(0, ...perMessage.map((n, m) => n + msgText[m].length)) + 256 > TEXT_OUT) {
      throw new PipelineError("wasm.ndjson", "a message's NDJSON line could exceed the 4 MiB text buffer");
    }
    const ifaceBase = at;
    let ifaces = 0;
    x.configureText(pTMsg, pTSig, pTIface, pTMax, pTOut, TEXT_OUT);
    const out = new Uint8Array(buf, pTOut, TEXT_OUT + 64);
    ndjson = {
      write(frames, values, sink) {
        for (; ifaces < batch.ifaces.length; ifaces++) {
          const b = json(JSON.stringify(batch.ifaces[ifaces]));
          if (ifaces >= MAX_IFACES || b.length > IFACE_BYTES) {
            throw new PipelineError(
              "wasm.ndjson",
              `interface ${batch.ifaces[ifaces]}: at most ${MAX_IFACES} interfaces of up to ${IFACE_BYTES - 2} bytes`,
            );
          }
          at = ifaceBase + ifaces * IFACE_BYTES;
          place(pTIface, ifaces, b);
        }
        let frame = 0;
        let value = 0;
        while (frame < frames) {
          const n = x.formatNdjson(frames, values, frame, value);
          frame = x.nextFrame();
          value = x.nextValue();
          if (n > 0) sink(out.subarray(0, n));
        }
      },
    };
  }
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
    ndjson,
  };
}
