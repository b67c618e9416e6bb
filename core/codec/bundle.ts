/**
 * Bundling: TimeSeries per signal over a window (count and time limits), Snapshots, and MessageSequence framing
 * with a sequence number.
 * @module
 */
import { PipelineError } from "../errors/mod.ts";
import {
  CONTAINER_METADATA,
  type MessageInput,
  type Sample,
  type TimeSeriesColumns,
  writeMessageSequence,
} from "./avro.ts";
import { AvroWriter } from "./binary.ts";
import { AvroContainerWriter, type ContainerCodec, readAvroContainer } from "./container.ts";
import type { VssValue } from "../datapoint/mod.ts";
import type { AvroDatatype } from "./datatype.ts";
import { avroTypes } from "./schemas.ts";

/** Options for {@link TimeSeriesBundler}. */
export interface TimeSeriesBundlerOptions {
  /** Close a series when it holds this many samples (default 60). */
  maxCount?: number;
  /** Close a series before adding a sample `maxSpanMs` or more after its first sample (default 60 000). */
  maxSpanMs?: number;
  /**
   * Receives each closed series. The columns are reused afterwards: encode or copy them before returning.
   */
  onBundle: (series: TimeSeriesColumns) => void;
}

class Window implements TimeSeriesColumns {
  count = 0;
  ts: Float64Array;
  values: Float64Array | VssValue[];
  constructor(readonly path: string, readonly datatype: AvroDatatype, capacity: number) {
    this.ts = new Float64Array(capacity);
    const b = datatype.branch;
    // long may carry bigints (64-bit values beyond 2^53): a plain array.
    this.values = b === "int" || b === "float" || b === "double" ? new Float64Array(capacity) : new Array(capacity);
  }
}

/**
 * Collects samples per signal and emits a TimeSeries when it reaches `maxCount` samples or spans `maxSpanMs`.
 * Numeric signals are stored in preallocated typed arrays (no allocation per sample). Time limits use sample
 * timestamps; call {@link TimeSeriesBundler.flushDue} with the current time to close idle windows (the bundler owns
 * no timers).
 */
export class TimeSeriesBundler {
  readonly #windows = new Map<string, Window>();
  readonly #maxCount: number;
  readonly #maxSpan: number;
  readonly #onBundle: (s: TimeSeriesColumns) => void;

  /**
   * Create a bundler with empty windows.
   *
   * @param options limits and the bundle callback
   */
  constructor(options: TimeSeriesBundlerOptions) {
    this.#maxCount = options.maxCount ?? 60;
    this.#maxSpan = options.maxSpanMs ?? 60_000;
    if (!(this.#maxCount >= 1) || !Number.isInteger(this.#maxCount)) {
      throw new PipelineError("codec.bundle", `maxCount must be an integer >= 1, got ${this.#maxCount}`);
    }
    if (!(this.#maxSpan > 0)) throw new PipelineError("codec.bundle", `maxSpanMs must be > 0, got ${this.#maxSpan}`);
    this.#onBundle = options.onBundle;
  }

  /**
   * Add one sample of `path`.
   *
   * @param sample the sample (ts in ms)
   */
  add(sample: Sample): void {
    this.addValue(sample.path, sample.datatype, { ts: sample.ts, value: sample.value });
  }

  /**
   * Add one value without building a {@link Sample} (hot path).
   *
   * @param path dotted VSS path
   * @param datatype the signal's datatype (the first call per path fixes it)
   * @param point ts in ms and the value in its branch's JS type
   */
  addValue(
    path: string,
    datatype: AvroDatatype,
    point: { ts: number; value: VssValue },
  ): void {
    this.#append(path, datatype, point.ts, point.value);
  }

  /** Add a numeric value (hot path, no object arguments). */
  addNumber(path: string, datatype: AvroDatatype, ts: number, value: number): void {
    this.#append(path, datatype, ts, value);
  }

  #append(path: string, datatype: AvroDatatype, ts: number, value: VssValue): void {
    let w = this.#windows.get(path);
    if (!w) {
      w = new Window(path, datatype, this.#maxCount);
      this.#windows.set(path, w);
    } else if (w.count > 0 && ts - w.ts[0] >= this.#maxSpan) {
      this.#emit(w);
    }
    const i = w.count++;
    w.ts[i] = ts;
    (w.values as unknown[])[i] = value;
    if (w.count >= this.#maxCount) this.#emit(w);
  }

  #emit(w: Window): void {
    try {
      this.#onBundle(w);
    } finally {
      w.count = 0;
    }
  }

  /** Close every window whose first sample is `maxSpanMs` or more before `nowMs`; returns how many closed. */
  flushDue(nowMs: number): number {
    let n = 0;
    for (const w of this.#windows.values()) {
      if (w.count > 0 && nowMs - w.ts[0] >= this.#maxSpan) {
        this.#emit(w);
        n++;
      }
    }
    return n;
  }

  /** Close every non-empty window. */
  flush(): void {
    for (const w of this.#windows.values()) if (w.count > 0) this.#emit(w);
  }

  /** Samples currently waiting in windows. */
  get pending(): number {
    let n = 0;
    for (const w of this.#windows.values()) n += w.count;
    return n;
  }
}

/**
 * Build a Snapshot message of many signals; the time period spans the samples unless given.
 */
export function buildSnapshot(
  samples: readonly Sample[],
  options: { start?: number; end?: number } = {},
): MessageInput & { kind: "snapshot" } {
  let start = Infinity, end = -Infinity;
  for (const s of samples) {
    if (s.ts < start) start = s.ts;
    if (s.ts > end) end = s.ts;
  }
  if (samples.length === 0) start = end = 0;
  return { kind: "snapshot", start: options.start ?? start, end: options.end ?? end, samples };
}

/** One framed MessageSequence. */
export interface SequenceFrame {
  /** Sequence number of this frame. */
  sequence: number;
  /** The frame bytes (see {@link MessageSequencer}). */
  bytes: Uint8Array;
}

/** Header metadata key holding a frame's sequence number. */
export const SEQUENCE_METADATA_KEY = "vss.sequence";

/**
 * Frames messages as numbered MessageSequences. Each frame is an object container file (one `MessageSequence`
 * datum) whose header metadata `vss.sequence` holds the sequence number, so any AVRO reader can open a frame and the
 * receiver can detect gaps and duplicates ({@link readSequenceNumber}).
 */
export class MessageSequencer {
  #next: number;
  readonly #codec: ContainerCodec;
  readonly #metadata: Record<string, string>;
  readonly #w = new AvroWriter(64 * 1024);

  /**
   * Create a sequencer.
   *
   * @param options first sequence number (default 0), codec (default deflate), extra metadata
   */
  constructor(options: { first?: number; codec?: ContainerCodec; metadata?: Record<string, string> } = {}) {
    this.#next = options.first ?? 0;
    this.#codec = options.codec ?? "deflate";
    this.#metadata = { ...CONTAINER_METADATA, ...options.metadata };
  }

  /** The sequence number the next frame gets. */
  get next(): number {
    return this.#next;
  }

  /** Frame `messages` as the next MessageSequence. */
  frame(messages: readonly MessageInput[]): SequenceFrame {
    const sequence = this.#next++;
    const cw = new AvroContainerWriter({
      schema: avroTypes().MessageSequence.schema(),
      codec: this.#codec,
      metadata: { ...this.#metadata, [SEQUENCE_METADATA_KEY]: String(sequence) },
    });
    writeMessageSequence(cw.datum, messages);
    cw.commit();
    return { sequence, bytes: cw.finish() };
  }
}

/** The sequence number of a frame from {@link MessageSequencer}, or undefined when it has none. */
export function readSequenceNumber(frame: Uint8Array): number | undefined {
  const v = readAvroContainer(frame).metadata[SEQUENCE_METADATA_KEY];
  return v === undefined ? undefined : Number(v);
}
