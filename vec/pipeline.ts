/**
 * The VEC's hot path: frames from a source are written straight into the decoder's batch (WASM memory), decoded in
 * one call per batch, mapped to VSS, and handed to the sinks once per batch as typed `core/datapoint` datapoints.
 *
 * ```
 * source.read(batch) ─► decoder.decode() ─► mapper.push(signal, value, tsMs) ─► sinks.write(datapoints)
 * ```
 *
 * A frame's time is converted once per frame (`tsMsFromSeconds`); a time outside what RFC 3339 can carry refuses the
 * datapoints of that frame (counted by reason in {@link Pipeline.refusals}, logged once per reason and minute), never
 * a crash. Datapoints from outside the bus (`POST /publish`, OBD-II, a VISSv2 server) go through the same
 * `DatapointValidator` ({@link Pipeline.accept}, {@link Pipeline.inject}) before they reach a sink.
 *
 * @module
 */
import type { FrameBatch } from "../core/can/mod.ts";
import { FRAME_OFF_TS, FRAME_RECORD_SIZE } from "../core/can/mod.ts";
import {
  type Datapoint,
  DatapointValidator,
  type RawDatapoint,
  type Refusal,
  RefusalLog,
  tsMsFromSeconds,
  type VssValue,
} from "../core/datapoint/mod.ts";
import type { Logger } from "../core/log/mod.ts";
import type { DatapointSink } from "./sinks/types.ts";

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

/**
 * The VSS mapping stage (`core/vss`'s mapper): `push` returns how many datapoints it wrote into `out`. Its datapoints
 * must satisfy the pipeline's validator for any valid time (`core/vss` coerces by the same rules and catalog); the
 * pipeline checks their time.
 */
export interface MapStage {
  /** Ids of the signals that have a mapping; values of other signals are skipped before `push`. */
  readonly mappedSignalIds?: readonly number[];
  /** Maps one decoded value at `tsMs` (integer ms, or NaN for a time RFC 3339 cannot carry). */
  push(signalId: number, value: number, tsMs: number): number;
  /** Reused output buffer of the last `push`. */
  readonly out: readonly Datapoint[];
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
  /** Datapoints refused before any sink (bad time, value, path); by reason in {@link Pipeline.refusals}. */
  refused: number;
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
  /** Where datapoints go. */
  sinks: DatapointSink[];
  /**
   * The one validation of every datapoint from outside the bus, built on the VSS catalog the VEC loaded (default:
   * no schema, every path untyped).
   */
  validator?: DatapointValidator;
  /** Logs the first refusal of each reason per minute. */
  logger?: Logger;
  /** Called when the VIN becomes known from the VIN signal. */
  onVin?: (vin: string) => void;
  /** Called once per batch with the delivered datapoints (before the sinks). */
  onDatapoints?: (datapoints: readonly Datapoint[]) => void;
}

/** Options of {@link Pipeline.accept}. */
export interface AcceptOptions {
  /** All or nothing: when one datapoint is refused, none is delivered (`POST /publish`). */
  atomic?: boolean;
  /** Refuse paths the validator's schema does not know (`datapoint.path`). */
  knownPathsOnly?: boolean;
  /** Where the datapoints came from, in the refusal log line (`api`, `viss`, `obd`). */
  source?: string;
}

/** What {@link Pipeline.accept} did with a list of datapoints. */
export interface Accepted {
  /** The datapoints delivered to the sinks (none when an atomic request had a refusal). */
  datapoints: readonly Datapoint[];
  /** Every refused datapoint, with its index in the list. */
  refusals: readonly Refusal[];
  /** Number of datapoints given. */
  count: number;
}

/** Latest value of a path, typed. */
export interface LatestValue {
  /** The value. */
  value: VssValue;
  /** Its time, integer ms since the epoch. */
  tsMs: number;
}

/** Runs frames from a source through decode and mapping into sinks. */
export class Pipeline {
  #o: PipelineOptions;
  #validator: DatapointValidator;
  #stopped = false;
  #pending: Datapoint[] = [];
  #latest = new Map<string, LatestValue>();
  #vin?: string;
  #onStop?: () => void;
  #rateWindowStart = Date.now();
  #rateWindowFrames = 0;
  /** Refused datapoints by reason code; the first of each code per minute is logged. */
  readonly refusals: RefusalLog;
  /** Counters, updated in place. */
  readonly stats: PipelineStats = {
    frames: 0,
    batches: 0,
    signals: 0,
    datapoints: 0,
    refused: 0,
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
    this.#validator = options.validator ?? new DatapointValidator();
    this.refusals = new RefusalLog({ logger: options.logger });
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

  /** The validator every datapoint goes through. */
  get validator(): DatapointValidator {
    return this.#validator;
  }

  /** Latest value per VSS path (typed; render text at the edge). */
  latest(): ReadonlyMap<string, Readonly<LatestValue>> {
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
    this.#map(decoder, mapper, count);
    this.#deliver();
    this.#countRate(n);
    return true;
  }

  /** Maps the decoded values; the frame's time is read and converted once per frame. */
  #map(decoder: DecodeStage, mapper: MapStage, count: number): void {
    const { frameIndex, signalId, value } = decoder;
    const view = decoder.batch.view;
    const out = mapper.out;
    const mapped = this.#mapped;
    let frame = -1;
    let tsMs = NaN;
    for (let i = 0; i < count; i++) {
      if (mapped && mapped[signalId[i]] !== 1) continue;
      if (frameIndex[i] !== frame) {
        frame = frameIndex[i];
        tsMs = tsMsFromSeconds(view.getFloat64(frame * FRAME_RECORD_SIZE + FRAME_OFF_TS, true));
      }
      const k = mapper.push(signalId[i], value[i], tsMs);
      if (tsMs !== tsMs) {
        for (let j = 0; j < k; j++) this.#refuseTime(out[j].path, view, frame);
        continue;
      }
      for (let j = 0; j < k; j++) {
        const dp = out[j];
        this.#record({ path: dp.path, value: dp.value, tsMs });
      }
    }
  }

  /** Refuses a mapped datapoint whose frame time RFC 3339 cannot carry (allocates only on this rare path). */
  #refuseTime(path: string, view: DataView, frame: number): void {
    const seconds = view.getFloat64(frame * FRAME_RECORD_SIZE + FRAME_OFF_TS, true);
    this.#refused({
      index: this.#pending.length,
      path,
      code: "datapoint.ts",
      reason: `frame time ${seconds} s is outside what RFC 3339 can carry (years 0000-9999)`,
    }, "can");
  }

  #countRate(frames: number): void {
    this.#rateWindowFrames += frames;
    const now = Date.now();
    if (now - this.#rateWindowStart >= 1000) {
      this.stats.frameRate = Math.round(this.#rateWindowFrames * 1000 / (now - this.#rateWindowStart));
      this.#rateWindowStart = now;
      this.#rateWindowFrames = 0;
    }
  }

  /**
   * Validates datapoints in wire form (`POST /publish`, a VISSv2 server) and delivers the accepted ones; refused
   * ones are counted and logged by reason.
   * @param raw path, value and time as given (time: RFC 3339 text or integer ms)
   * @param options see {@link AcceptOptions}
   */
  accept(raw: readonly RawDatapoint[], options: AcceptOptions = {}): Accepted {
    const datapoints: Datapoint[] = [];
    const refusals: Refusal[] = [];
    for (let i = 0; i < raw.length; i++) {
      const unknown = options.knownPathsOnly ? this.#unknownPath(raw[i].path, i) : undefined;
      if (unknown) {
        refusals.push(unknown);
        continue;
      }
      const c = this.#validator.accept(raw[i], i);
      if (c.ok) datapoints.push(c.datapoint);
      else refusals.push(c.refusal);
    }
    for (const r of refusals) this.#refused(r, options.source);
    if (options.atomic && refusals.length > 0) return { datapoints: [], refusals, count: raw.length };
    for (const dp of datapoints) this.#record(dp);
    this.#deliver();
    return { datapoints, refusals, count: raw.length };
  }

  #unknownPath(path: unknown, index: number): Refusal | undefined {
    if (typeof path !== "string" || this.#validator.leaf(path) !== undefined) return undefined;
    return {
      index,
      path: path.slice(0, 200),
      code: "datapoint.path",
      reason: `${JSON.stringify(path.slice(0, 80))} is not a leaf of the VSS catalog`,
    };
  }

  /**
   * Validates typed datapoints from outside the bus (OBD-II, a VISSv2 server, tests) and delivers the accepted ones,
   * coerced to their path's datatype (a `float` becomes its canonical float32).
   * @returns the refusals (also counted and logged by reason)
   */
  inject(datapoints: readonly Datapoint[], options: { source?: string } = {}): readonly Refusal[] {
    const refusals: Refusal[] = [];
    for (let i = 0; i < datapoints.length; i++) {
      const d = datapoints[i];
      const c = this.#validator.accept({ path: d.path, value: d.value, ts: d.tsMs }, i);
      if (c.ok) this.#record(c.datapoint);
      else {
        refusals.push(c.refusal);
        this.#refused(c.refusal, options.source);
      }
    }
    this.#deliver();
    return refusals;
  }

  /** Counts datapoints refused before they reached the pipeline (a VISSv2 event's bad datapoints). */
  refuse(refusals: readonly Refusal[], options: { source?: string } = {}): void {
    for (const r of refusals) this.#refused(r, options.source);
  }

  #refused(refusal: Refusal, source: string | undefined): void {
    this.stats.refused++;
    this.refusals.add(refusal, source ? { source } : {});
  }

  /** Queues a datapoint for the sinks, keeps it as the latest value of its path, and notices the VIN. */
  #record(dp: Datapoint): void {
    this.#pending.push(dp);
    const latest = this.#latest.get(dp.path);
    if (latest) {
      latest.value = dp.value;
      latest.tsMs = dp.tsMs;
    } else this.#latest.set(dp.path, { value: dp.value, tsMs: dp.tsMs });
    if (dp.path === VIN_PATH) this.#noticeVin(dp.value);
  }

  #noticeVin(value: VssValue): void {
    if (typeof value !== "string" || value === this.#vin || value.trim() === "") return;
    this.#vin = value;
    this.#o.onVin?.(value);
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
