/**
 * The VEC's hot path: frames from a source are written straight into the decoder's batch (WASM memory), decoded in
 * one call per batch, mapped to VSS, and handed to the sinks once per batch.
 *
 * ```
 * source.read(batch) ─► decoder.decode() ─► mapper.push(signal, value, ts) ─► sinks.write(datapoints)
 * ```
 *
 * @module
 */
import type { FrameBatch } from "../core/can/batch.ts";
import { FRAME_OFF_TS, FRAME_RECORD_SIZE } from "../core/can/batch.ts";
import type { DatapointSink, VissDatapoint } from "./sinks/types.ts";

/** A source of CAN frames that writes them into a batch. */
export interface FrameSource {
  /** Fills `batch` (after `batch.clear()` by the caller); resolves with frames written, 0 if none yet, -1 at the end. */
  read(batch: FrameBatch): Promise<number>;
  /** Releases the source; a pending read ends. */
  close(): void | Promise<void>;
}

/** The decode stage (the WASM decoder): reads `batch`, writes (frame index, signal id, value) triples. */
export interface DecodeStage {
  /** The frame batch to fill before `decode()` (inside WASM memory). */
  readonly batch: FrameBatch;
  /** Decodes `batch.count` frames; returns the number of decoded signal values. */
  decode(): number;
  /** Per output value: index of the frame record. */
  readonly frameIndex: Uint32Array;
  /** Per output value: global signal id. */
  readonly signalId: Uint32Array;
  /** Per output value: physical value. */
  readonly value: Float64Array;
}

/** A stage between the source and the decoder that may drop or rewrite frames (SecOC verification). */
export interface FrameFilter {
  /** Filters `batch` in place; returns the frames kept (also `batch.count`). */
  filter(batch: FrameBatch): number;
}

/** The VSS mapping stage (`core/vss`'s mapper): `push` returns how many datapoints it wrote into `out`. */
export interface MapStage {
  /** Ids of the signals that have a mapping; values of other signals are skipped before `push`. */
  readonly mappedSignalIds?: readonly number[];
  /** Maps one decoded value; returns how many datapoints it wrote into `out`. */
  push(signalId: number, value: number, tsSeconds: number): number;
  /** Reused output buffer of the last `push`. */
  readonly out: readonly { readonly path: string; readonly value: number | string | boolean; readonly ts: number }[];
}

/** The VSS path carrying the VIN. */
export const VIN_PATH = "Vehicle.VehicleIdentification.VIN";

/** Pipeline counters. */
export interface PipelineStats {
  /** CAN frames read. */
  frames: number;
  /** Batches processed. */
  batches: number;
  /** Signal values decoded. */
  signals: number;
  /** VSS datapoints delivered to the sinks. */
  datapoints: number;
  /** Start time, ms since the epoch. */
  startedAt: number;
  /** Frames per second over the last completed second. */
  frameRate: number;
}

/** Options of {@link Pipeline}. */
export interface PipelineOptions {
  /** The CAN path; without it the pipeline only carries injected datapoints (e.g. from a VISSv2 source). */
  source?: FrameSource;
  /** Runs on every batch before decoding (e.g. `core/security`'s SecOC filter). */
  filter?: FrameFilter;
  /** The WASM decoder the batches go through. */
  decoder?: DecodeStage;
  /** The VSS mapper. */
  mapper?: MapStage;
  /** Where mapped datapoints go. */
  sinks: DatapointSink[];
  /** Called when the VIN becomes known from the VIN signal. */
  onVin?: (vin: string) => void;
  /** Called once per batch with the mapped datapoints (before the sinks). */
  onDatapoints?: (datapoints: readonly VissDatapoint[]) => void;
}

/** Runs frames from a source through decode and mapping into sinks. */
export class Pipeline {
  #o: PipelineOptions;
  #stopped = false;
  #pending: VissDatapoint[] = [];
  #latest = new Map<string, { value: string; ts: string }>();
  #lastTs = NaN;
  #lastIso = "";
  #vin?: string;
  #onStop?: () => void;
  #rateWindowStart = Date.now();
  #rateWindowFrames = 0;
  /** Counters, updated in place. */
  readonly stats: PipelineStats = {
    frames: 0,
    batches: 0,
    signals: 0,
    datapoints: 0,
    startedAt: Date.now(),
    frameRate: 0,
  };
  /** 1 for signal ids with a mapping (when the mapper says which). */
  #mapped?: Uint8Array;

  /**
   * Creates a pipeline; `run()` drives it.
   * @param options see {@link PipelineOptions}
   */
  constructor(options: PipelineOptions) {
    this.#o = options;
    const ids = options.mapper?.mappedSignalIds;
    if (ids) {
      this.#mapped = new Uint8Array(Math.max(0, ...ids) + 1);
      for (const id of ids) this.#mapped[id] = 1;
    }
  }

  /** The VIN seen on the bus, if any. */
  get vin(): string | undefined {
    return this.#vin;
  }

  /** Latest value per VSS path. */
  latest(): ReadonlyMap<string, { value: string; ts: string }> {
    return this.#latest;
  }

  /** Processes one batch; resolves false at the end of the source. */
  async step(): Promise<boolean> {
    const { source, decoder, mapper } = this.#o;
    if (!source || !decoder || !mapper) return false;
    const batch = decoder.batch;
    batch.clear();
    const n = await source.read(batch);
    if (n < 0) return false;
    if (n === 0) return true;
    this.stats.frames += n;
    this.stats.batches++;
    if (this.#o.filter && this.#o.filter.filter(batch) === 0) return true;
    const count = decoder.decode();
    this.stats.signals += count;
    const { frameIndex, signalId, value } = decoder;
    const view = batch.view;
    const out = mapper.out;
    const mapped = this.#mapped;
    for (let i = 0; i < count; i++) {
      if (mapped && mapped[signalId[i]] !== 1) continue;
      const ts = view.getFloat64(frameIndex[i] * FRAME_RECORD_SIZE + FRAME_OFF_TS, true);
      const k = mapper.push(signalId[i], value[i], ts);
      for (let j = 0; j < k; j++) {
        const dp = out[j];
        this.#record({ path: dp.path, value: String(dp.value), ts: this.#iso(dp.ts) });
      }
    }
    this.#deliver();
    this.#rateWindowFrames += n;
    const now = Date.now();
    if (now - this.#rateWindowStart >= 1000) {
      this.stats.frameRate = Math.round(this.#rateWindowFrames * 1000 / (now - this.#rateWindowStart));
      this.#rateWindowStart = now;
      this.#rateWindowFrames = 0;
    }
    return true;
  }

  /** Datapoints published from outside the bus (REST `/publish`, OBD): recorded and sent like mapped ones. */
  inject(datapoints: readonly VissDatapoint[]): void {
    for (const dp of datapoints) this.#record(dp);
    this.#deliver();
  }

  /** ISO time of `tsSeconds`; consecutive datapoints of one frame share the string. */
  #iso(tsSeconds: number): string {
    if (tsSeconds !== this.#lastTs) {
      this.#lastTs = tsSeconds;
      this.#lastIso = new Date(tsSeconds * 1000).toISOString();
    }
    return this.#lastIso;
  }

  /** Queues a datapoint for the sinks, keeps it as the latest value of its path, and notices the VIN. */
  #record(dp: VissDatapoint): void {
    this.#pending.push(dp);
    const latest = this.#latest.get(dp.path);
    if (latest) {
      latest.value = dp.value;
      latest.ts = dp.ts;
    } else this.#latest.set(dp.path, { value: dp.value, ts: dp.ts });
    if (dp.path === VIN_PATH && dp.value !== this.#vin && dp.value.trim() !== "") {
      this.#vin = dp.value;
      this.#o.onVin?.(dp.value);
    }
  }

  #deliver(): void {
    if (this.#pending.length === 0) return;
    const out = this.#pending;
    this.#pending = [];
    this.stats.datapoints += out.length;
    this.#o.onDatapoints?.(out);
    for (const sink of this.#o.sinks) sink.write(out);
  }

  /** Runs until the source ends or {@link stop} is called. */
  async run(): Promise<void> {
    if (!this.#o.source) {
      if (!this.#stopped) await new Promise<void>((resolve) => (this.#onStop = resolve));
      return;
    }
    while (!this.#stopped && await this.step()) {
      // A source that returns 0 frames waits inside read(); yield so timers and the API get their turn.
      if (this.stats.batches % 64 === 0) await new Promise((r) => setTimeout(r, 0));
    }
  }

  /** Stops after the current batch. */
  stop(): void {
    this.#stopped = true;
    this.#onStop?.();
  }
}
