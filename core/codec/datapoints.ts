/**
 * Typed datapoints ⇄ AVRO: {@link encodeDatapointsAvro} (VEC sinks, from typed values, no text parsing),
 * {@link decodeAvroPayload} (typed values as written) and {@link parseAvroIngest} (CESC ingest of
 * `Content-Type: application/avro`: the same `{vin, datapoints, refusals, count}` as the JSON ingest, through the same
 * `DatapointValidator`).
 * @module
 */
import type { Datapoint, DatapointValidator, Refusal } from "../datapoint/mod.ts";
import { isTsMs, MAX_TS_MS, MIN_TS_MS } from "../datapoint/mod.ts";
import { PipelineError } from "../errors/mod.ts";
import { checkVin, VissDataError } from "../viss/mod.ts";
import {
  CONTAINER_METADATA,
  type DatapointSink,
  readContainerDatapoints,
  readDatapoints,
  type Sample,
  VIN_METADATA_KEY,
  writeValue,
} from "./avro.ts";
import { AvroWriter } from "./binary.ts";
import { type CatalogLike, type DatatypeCatalog, loadDatatypeCatalog, toDatatypeCatalog } from "./catalog.ts";
import { AvroContainerWriter, type ContainerCodec, isAvroContainer } from "./container.ts";
import { type AvroDatatype, avroDatatype, valueFits, valueProblem } from "./datatype.ts";
import { avroTypes } from "./schemas.ts";

/** Why a path has no `Value` branch: `[code, reason]`. */
type Unresolved = readonly [string, string];

function resolve(path: string, cat: DatatypeCatalog): AvroDatatype | Unresolved {
  const vss = typeof path === "string" ? cat.datatypeOf(path) : undefined;
  if (vss === undefined) {
    return [
      "codec.unknown_path",
      `${String(path).slice(0, 80)}: not in the VSS catalog, so the AVRO Value branch cannot be chosen`,
    ];
  }
  try {
    return avroDatatype(vss, { path });
  } catch (e) {
    return ["codec.datatype", (e as Error).message];
  }
}

/** The problem of datapoint `d` of `datatype`, or undefined. */
function problem(d: Datapoint, datatype: AvroDatatype): Unresolved | undefined {
  if (!isTsMs(d.tsMs)) return ["codec.ts", `${d.path}: ts ${d.tsMs} is not an integer ms in 0000..9999`];
  const p = valueProblem(d.value, datatype);
  return p === undefined ? undefined : ["codec.value", `${d.path}: ${p}`];
}

/**
 * A typed datapoint as a {@link Sample}, choosing the branch from the catalog datatype.
 * @throws PipelineError `codec.unknown_path`, `codec.datatype`, `codec.value`, `codec.ts`
 */
export function datapointToSample(dp: Datapoint, catalog: CatalogLike): Sample {
  const datatype = resolve(dp.path, toDatatypeCatalog(catalog));
  if (Array.isArray(datatype)) throw new PipelineError(datatype[0], datatype[1], { path: dp.path });
  const p = problem(dp, datatype as AvroDatatype);
  if (p) throw new PipelineError(p[0], p[1], { path: dp.path });
  return { path: dp.path, datatype: datatype as AvroDatatype, ts: dp.tsMs, value: dp.value };
}

/** Output framing of {@link encodeDatapointsAvro}. */
export type AvroFraming = "binary" | "container";

/** Options for {@link encodeDatapointsAvro}. */
export interface EncodeDatapointsOptions {
  /**
   * `binary` (default): one raw `MessageSequence` datum, the compact form for MQTT and HTTP push.
   * `container`: an object container file of `Message` datums, self-describing, for files and uploads.
   */
  framing?: AvroFraming;
  /** Container codec (default `deflate`). */
  codec?: ContainerCodec;
  /** Extra container metadata. */
  metadata?: Record<string, string>;
  /** Vehicle identification number, carried in container metadata `vss.vin` (container framing only). */
  vin?: string;
  /**
   * When given, datapoints that cannot be encoded (path not in the catalog, value not of the path's datatype, time
   * out of range, a `uint64` beyond 2^63-1) are left out and listed here (index into `datapoints`, code `codec.*`)
   * instead of failing the whole batch.
   */
  refusals?: Refusal[];
}

interface Group {
  readonly path: string;
  readonly datatype: AvroDatatype;
  readonly idx: number[];
}

/** Groups by path (first-seen order) with each signal's datatype resolved once; bad datapoints refused or thrown. */
function plan(datapoints: readonly Datapoint[], cat: DatatypeCatalog, refusals: Refusal[] | undefined): Group[] {
  const groups = new Map<string, Group | Unresolved>();
  const order: Group[] = [];
  let lastPath: string | undefined, last: Group | Unresolved | undefined;
  for (let i = 0; i < datapoints.length; i++) {
    const d = datapoints[i];
    let g = d.path === lastPath ? last : groups.get(d.path);
    if (g === undefined) {
      const dt = resolve(d.path, cat);
      g = Array.isArray(dt) ? dt as Unresolved : { path: d.path, datatype: dt as AvroDatatype, idx: [] };
      groups.set(d.path, g);
      if (!Array.isArray(g)) order.push(g as Group);
    }
    lastPath = d.path;
    last = g;
    if (!Array.isArray(g)) {
      const t = d.tsMs;
      const group = g as Group;
      if (t >= MIN_TS_MS && t <= MAX_TS_MS && Math.floor(t) === t && valueFits(d.value, group.datatype)) {
        group.idx.push(i);
        continue;
      }
    }
    const p = Array.isArray(g) ? g as Unresolved : problem(d, (g as Group).datatype)!;
    if (refusals) refusals.push({ index: i, path: String(d.path), code: p[0], reason: p[1] });
    else throw new PipelineError(p[0], `datapoint ${i}: ${p[1]}`, { path: String(d.path) });
  }
  return order;
}

function writeSeries(w: AvroWriter, g: Group, datapoints: readonly Datapoint[]): void {
  const { idx, datatype } = g;
  w.long(1); // Message.item = TimeSeries
  w.string(g.path);
  w.long(idx.length);
  w.long(idx.length);
  for (let k = 0; k < idx.length; k++) {
    const d = datapoints[idx[k]];
    w.long(d.tsMs);
    writeValue(w, datatype, d.value);
  }
  w.long(0);
}

/** Single datapoints: one SpecifiedTimeStampedRecord, or a Snapshot of several. */
function writeSingles(w: AvroWriter, singles: readonly Group[], datapoints: readonly Datapoint[]): void {
  if (singles.length === 1) w.long(0);
  else {
    let start = Infinity, end = -Infinity;
    for (const g of singles) {
      const t = datapoints[g.idx[0]].tsMs;
      if (t < start) start = t;
      if (t > end) end = t;
    }
    w.long(2);
    w.long(singles.length);
    w.long(start);
    w.long(end);
    w.long(singles.length);
  }
  for (const g of singles) {
    const d = datapoints[g.idx[0]];
    w.string(g.path);
    w.long(d.tsMs);
    writeValue(w, g.datatype, d.value);
  }
  if (singles.length > 1) w.long(0);
}

/** The writer of raw-binary bodies, reused (its bytes are copied out). */
const shared = new AvroWriter(64 * 1024);

const catalogs = new WeakMap<object, DatatypeCatalog>();

function datatypeCatalog(catalog: CatalogLike | undefined): DatatypeCatalog {
  const c = catalog ?? loadDatatypeCatalog();
  let d = catalogs.get(c);
  if (!d) catalogs.set(c, d = toDatatypeCatalog(c));
  return d;
}

/**
 * Encode typed datapoints as AVRO (see {@link EncodeDatapointsOptions.framing}): signals with several datapoints
 * become TimeSeries, single ones a Snapshot. The `Value` branch comes from the path's VSS datatype in `catalog`; the
 * value is written as it is typed (bigint as an exact AVRO `long`), never parsed from text.
 *
 * @param catalog path → VSS datatype: a {@link DatatypeCatalog} or a `core/vss` `VssCatalog`; undefined: the shipped
 *   VSS 4.0 catalog (needs read permission for `assets/`)
 * @throws PipelineError `codec.unknown_path`, `codec.datatype`, `codec.value`, `codec.ts` naming the datapoint index,
 *   unless `options.refusals` collects them; `codec.framing` for a VIN without container framing
 */
export function encodeDatapointsAvro(
  datapoints: readonly Datapoint[],
  catalog: CatalogLike | undefined,
  options: EncodeDatapointsOptions = {},
): Uint8Array {
  if (options.vin !== undefined && options.framing !== "container") {
    throw new PipelineError("codec.framing", 'a VIN can only travel in container framing (framing: "container")');
  }
  const order = plan(datapoints, datatypeCatalog(catalog), options.refusals);
  const series = order.filter((g) => g.idx.length > 1);
  const singles = order.filter((g) => g.idx.length === 1);
  if (options.framing === "container") {
    const cw = new AvroContainerWriter({
      schema: avroTypes().Message.schema(),
      codec: options.codec,
      metadata: {
        ...CONTAINER_METADATA,
        ...options.metadata,
        ...(options.vin !== undefined ? { [VIN_METADATA_KEY]: options.vin } : {}),
      },
    });
    for (const g of series) {
      writeSeries(cw.datum, g, datapoints);
      cw.commit();
    }
    if (singles.length > 0) {
      writeSingles(cw.datum, singles, datapoints);
      cw.commit();
    }
    return cw.finish();
  }
  const w = shared;
  w.reset();
  const messageCount = series.length + (singles.length > 0 ? 1 : 0);
  if (messageCount > 0) {
    w.long(messageCount);
    for (const g of series) writeSeries(w, g, datapoints);
    if (singles.length > 0) writeSingles(w, singles, datapoints);
  }
  w.long(0);
  return w.toBytes();
}

/** Options of {@link decodeAvroPayload}. */
export interface DecodeAvroOptions {
  /** Name of the input in errors. */
  source?: string;
  /** Largest decompressed container block (default 64 MiB). */
  maxBlockBytes?: number;
  /** Most datapoints decoded (default unlimited); more throws `codec.too_many`. */
  maxDatapoints?: number;
}

/** Result of {@link decodeAvroPayload}. */
export interface AvroPayload {
  /**
   * The datapoints in message order, typed as written: NOT validated (times may be out of range, values of another
   * type than the path's); {@link parseAvroIngest} runs them through a `DatapointValidator`.
   */
  datapoints: Datapoint[];
  /** Container header metadata (empty for raw binary). */
  metadata: Record<string, string>;
  /** VIN from metadata `vss.vin`, when present. */
  vin?: string;
  /** Sequence number from metadata `vss.sequence` (MessageSequencer frames), when present. */
  sequence?: number;
}

/**
 * Decode AVRO bytes into typed datapoints: an object container file (codec null or deflate; schema
 * SpecifiedTimeStampedRecord, TimeSeries, Snapshot, Message or MessageSequence) or one raw `MessageSequence` datum
 * (what {@link encodeDatapointsAvro} writes by default), plus the container metadata, VIN and sequence number.
 *
 * @throws PipelineError `codec.*` for malformed data (never another error type), `codec.too_many`
 */
export function decodeAvroPayload(bytes: Uint8Array, options: DecodeAvroOptions = {}): AvroPayload {
  const datapoints: Datapoint[] = [];
  const max = options.maxDatapoints ?? Infinity;
  const sink: DatapointSink = (path, tsMs, value) => {
    if (datapoints.length >= max) {
      throw new PipelineError("codec.too_many", `more than ${max} datapoints in one AVRO body; send fewer per request`);
    }
    datapoints.push({ path, value, tsMs });
  };
  try {
    if (!isAvroContainer(bytes)) {
      readDatapoints(bytes, sink);
      return { datapoints, metadata: {} };
    }
    const { metadata } = readContainerDatapoints(bytes, sink, options);
    const out: AvroPayload = { datapoints, metadata };
    if (metadata[VIN_METADATA_KEY] !== undefined) out.vin = metadata[VIN_METADATA_KEY];
    const seq = metadata["vss.sequence"];
    if (seq !== undefined && /^\d{1,15}$/.test(seq)) out.sequence = Number(seq);
    return out;
  } catch (e) {
    if (e instanceof PipelineError) throw e;
    throw new PipelineError("codec.decode", `${options.source ?? "<avro>"}: cannot decode: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/**
 * Decode AVRO bytes into typed datapoints (see {@link decodeAvroPayload}; not validated).
 * @throws PipelineError `codec.*` for malformed data
 */
export function decodeAvroToDatapoints(bytes: Uint8Array, options: DecodeAvroOptions = {}): Datapoint[] {
  return decodeAvroPayload(bytes, options).datapoints;
}

/** Options of {@link parseAvroIngest}. */
export interface ParseAvroOptions extends DecodeAvroOptions {
  /** The VIN when the body carries none (e.g. from a request header); metadata `vss.vin` wins. */
  vin?: string;
}

/** What {@link parseAvroIngest} returns: the JSON ingest's shape, plus the container's sequence number. */
export interface AvroIngest {
  /** Vehicle identification number. */
  vin: string;
  /** The accepted datapoints, typed and validated. */
  datapoints: Datapoint[];
  /** The refused datapoints (index in decoding order, path, code, reason; no `at`). */
  refusals: Refusal[];
  /** Datapoints in the body. */
  count: number;
  /** Sequence number from metadata `vss.sequence`, when present. */
  sequence?: number;
}

function asAvroError(e: unknown): PipelineError {
  if (e instanceof PipelineError && (e.code === "codec.too_many" || e.code === "codec.avro")) return e;
  const detail = e instanceof PipelineError ? `${e.message} (${e.code})` : String((e as Error)?.message ?? e);
  return new PipelineError("codec.avro", `invalid AVRO body: ${detail}`, {
    path: e instanceof PipelineError ? e.path : undefined,
    cause: e,
  });
}

/**
 * Turn an AVRO ingest body (`Content-Type: application/avro`) into the JSON ingest's `{vin, datapoints, refusals,
 * count}`: every decoded datapoint goes through `validator` (the same path, datatype, range and time rules as
 * VISSv2 JSON and MQTT). The VIN comes from container metadata `vss.vin`, else from `options.vin`.
 *
 * @throws PipelineError `codec.avro` for bodies that are not valid AVRO of the schema set (bad or truncated bytes,
 *   unknown schema; never a TypeError or RangeError), `codec.too_many` beyond `maxDatapoints`, VissDataError
 *   `viss.vin` for a missing or bad VIN
 */
export function parseAvroIngest(
  bytes: Uint8Array,
  validator: DatapointValidator,
  options: ParseAvroOptions = {},
): AvroIngest {
  let payload: AvroPayload;
  try {
    payload = decodeAvroPayload(bytes, options);
  } catch (e) {
    throw asAvroError(e);
  }
  const vin = payload.vin ?? options.vin;
  if (vin === undefined) {
    throw new VissDataError(
      "viss.vin",
      `AVRO body carries no VIN: send a container file with metadata "${VIN_METADATA_KEY}" or give the VIN separately`,
      { path: VIN_METADATA_KEY },
    );
  }
  const out: AvroIngest = { vin: checkVin(vin, VIN_METADATA_KEY), datapoints: [], refusals: [], count: 0 };
  if (payload.sequence !== undefined) out.sequence = payload.sequence;
  const raw = { path: "", value: undefined as unknown, ts: 0 };
  const list = payload.datapoints;
  for (let i = 0; i < list.length; i++) {
    raw.path = list[i].path;
    raw.value = list[i].value;
    raw.ts = list[i].tsMs;
    const c = validator.accept(raw, i);
    if (c.ok) out.datapoints.push(c.datapoint);
    else out.refusals.push(c.refusal);
  }
  out.count = list.length;
  return out;
}
