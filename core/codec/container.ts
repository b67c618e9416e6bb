/**
 * AVRO object container files (`.avro`): header (magic `Obj\x01`, metadata map with `avro.schema` and `avro.codec`,
 * 16-byte sync marker) followed by blocks of datums, codec `null` or `deflate` (raw RFC 1951, as the spec requires).
 * @module
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { PipelineError } from "../errors/mod.ts";
import { AvroReader, AvroWriter } from "./binary.ts";

/** The four magic bytes of an object container file. */
export const CONTAINER_MAGIC: Uint8Array = new Uint8Array([0x4f, 0x62, 0x6a, 0x01]);
/** Supported block codecs. */
export type ContainerCodec = "null" | "deflate";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** True when `bytes` starts with the container magic. */
export function isAvroContainer(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x4f && bytes[1] === 0x62 && bytes[2] === 0x6a && bytes[3] === 0x01;
}

/** Options for {@link AvroContainerWriter}. */
export interface ContainerWriterOptions {
  /** The writer schema of every datum (JSON object, fully expanded). */
  schema: unknown;
  /** Block codec (default `deflate`). */
  codec?: ContainerCodec;
  /** Extra header metadata (keys must not start with `avro.`). */
  metadata?: Record<string, string>;
  /** Datums per block before a block is closed (default 1000). */
  blockItems?: number;
  /** Sync marker (16 bytes); random by default. */
  sync?: Uint8Array;
}

/**
 * Writes an object container file in memory. Encode each datum into {@link AvroContainerWriter.datum}, then call
 * {@link AvroContainerWriter.commit}; {@link AvroContainerWriter.finish} returns the file bytes.
 */
export class AvroContainerWriter {
  /** Encode the next datum here, then call `commit()`. */
  readonly datum: AvroWriter = new AvroWriter(64 * 1024);
  readonly #out = new AvroWriter(64 * 1024);
  readonly #sync: Uint8Array;
  readonly #codec: ContainerCodec;
  readonly #blockItems: number;
  #count = 0;

  /**
   * Start a file: the header is written at once.
   *
   * @param options schema, codec, metadata
   */
  constructor(options: ContainerWriterOptions) {
    this.#codec = options.codec ?? "deflate";
    if (this.#codec !== "null" && this.#codec !== "deflate") {
      throw new PipelineError("codec.container", `unsupported container codec "${this.#codec}" (null or deflate)`);
    }
    this.#blockItems = options.blockItems ?? 1000;
    this.#sync = options.sync ?? crypto.getRandomValues(new Uint8Array(16));
    if (this.#sync.length !== 16) throw new PipelineError("codec.container", "sync marker must be 16 bytes");
    const meta: Record<string, string> = {
      "avro.schema": JSON.stringify(options.schema),
      "avro.codec": this.#codec,
    };
    for (const [k, v] of Object.entries(options.metadata ?? {})) {
      if (k.startsWith("avro.")) {
        throw new PipelineError("codec.container", `metadata key "${k}" is reserved (avro.*)`);
      }
      meta[k] = v;
    }
    const out = this.#out;
    out.raw(CONTAINER_MAGIC);
    const keys = Object.keys(meta);
    out.long(keys.length);
    for (const k of keys) {
      out.string(k);
      out.bytes(enc.encode(meta[k]));
    }
    out.long(0);
    out.raw(this.#sync);
  }

  /** Mark the bytes in `datum` since the last commit as one datum. */
  commit(): void {
    this.#count++;
    if (this.#count >= this.#blockItems) this.#flushBlock();
  }

  #flushBlock(): void {
    if (this.#count === 0) return;
    const data = this.datum.view();
    const block = this.#codec === "deflate" ? new Uint8Array(deflateRawSync(data)) : data;
    this.#out.long(this.#count);
    this.#out.bytes(block);
    this.#out.raw(this.#sync);
    this.datum.reset();
    this.#count = 0;
  }

  /** Close the last block and return the whole file. */
  finish(): Uint8Array {
    this.#flushBlock();
    return this.#out.toBytes();
  }
}

/** Largest decompressed block {@link readAvroContainer} accepts by default (guards against deflate bombs). */
export const DEFAULT_MAX_BLOCK_BYTES = 64 * 1024 * 1024;

/** One block of a container file. */
export interface ContainerBlock {
  /** Number of datums in the block. */
  count: number;
  /** The decompressed datums, back to back. */
  data: Uint8Array;
}

/** A parsed object container file. */
export interface AvroContainer {
  /** The writer schema (parsed JSON). */
  schema: unknown;
  /** Codec name from the header. */
  codec: ContainerCodec;
  /** All header metadata as text (including `avro.schema` and `avro.codec`). */
  metadata: Record<string, string>;
  /** Decompressed blocks. */
  blocks: ContainerBlock[];
}

/**
 * Parse an object container file: header, then every block (decompressed, sync markers checked).
 * `maxBlockBytes` (default {@link DEFAULT_MAX_BLOCK_BYTES}) bounds each decompressed block.
 *
 * @throws PipelineError `codec.container` (with the byte offset) for anything malformed
 */
export function readAvroContainer(
  bytes: Uint8Array,
  options: { source?: string; maxBlockBytes?: number } = {},
): AvroContainer {
  const src = options.source ?? "<avro>";
  const maxBlock = options.maxBlockBytes ?? DEFAULT_MAX_BLOCK_BYTES;
  const bad = (msg: string, at: number): never => {
    throw new PipelineError("codec.container", `${src}: ${msg} (byte ${at})`, { path: src });
  };
  if (!isAvroContainer(bytes)) bad("not an AVRO object container file (no Obj\\x01 magic)", 0);
  const r = new AvroReader(bytes, { pos: 4 });
  const metadata: Record<string, string> = {};
  try {
    for (let n = r.blockCount(); n > 0; n = r.blockCount()) {
      for (let i = 0; i < n; i++) {
        const k = r.string();
        metadata[k] = dec.decode(r.bytes());
      }
    }
  } catch (cause) {
    bad(`corrupt header metadata: ${(cause as Error).message}`, r.pos);
  }
  const sync = r.fixed(16).slice();
  const codec = (metadata["avro.codec"] ?? "null") as ContainerCodec;
  if (codec !== "null" && codec !== "deflate") bad(`unsupported codec "${codec}" (null or deflate)`, 4);
  let schema: unknown;
  try {
    schema = JSON.parse(metadata["avro.schema"] ?? "");
  } catch {
    bad("header has no valid avro.schema", 4);
  }
  const blocks: ContainerBlock[] = [];
  while (!r.done) {
    const at = r.pos;
    let count: number, raw: Uint8Array;
    try {
      count = r.long();
      raw = r.bytes();
    } catch {
      return bad("truncated block", at);
    }
    let data: Uint8Array;
    try {
      data = codec === "deflate" ? new Uint8Array(inflateRawSync(raw, { maxOutputLength: maxBlock })) : raw;
    } catch (cause) {
      return bad(`block cannot be inflated: ${(cause as Error).message}`, at);
    }
    if (r.pos + 16 > r.end) bad("truncated block (no sync marker)", at);
    const s = r.fixed(16);
    for (let i = 0; i < 16; i++) if (s[i] !== sync[i]) bad("sync marker mismatch after block", r.pos - 16);
    blocks.push({ count, data });
  }
  return { schema, codec, metadata, blocks };
}
