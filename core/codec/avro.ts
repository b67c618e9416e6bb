/**
 * Encoders and decoders for the VSS AVRO schema set, and the datapoint integration points
 * ({@link encodeDatapointsAvro}, {@link decodeAvroToDatapoints}).
 *
 * Conventions (the upstream draft leaves them open):
 * - `ts` is milliseconds since the Unix epoch (UTC); container files say so in metadata `vss.ts_unit = "ms"`.
 * - The `Value` branch is chosen from the signal's VSS datatype, never from the JS value.
 * - VISSv2 values are strings; arrays are string arrays, carried in {@link Datapoint.value} as JSON text.
 * @module
 */
import { Buffer } from "node:buffer";
import { PipelineError } from "../errors/mod.ts";
import { AvroReader, AvroWriter } from "./binary.ts";
import { type Datapoint, type IngestRequest, parseIngestBody, toVissData, VissDataError } from "../viss/mod.ts";
import { type CatalogLike, type DatatypeCatalog, loadDatatypeCatalog, toDatatypeCatalog } from "./catalog.ts";
import { AvroContainerWriter, type ContainerCodec, isAvroContainer, readAvroContainer } from "./container.ts";
import {
  type AvroDatatype,
  avroDatatype,
  type AvroValue,
  BRANCH_INDEX,
  formatScalar,
  fromAvroValue,
  parseArrayInput,
  parseScalar,
  type ScalarValue,
} from "./datatype.ts";
import { type AvroType, avroTypeForSchema, avroTypes, type SchemaName } from "./schemas.ts";

/** What {@link encodeDatapointsAvro} accepts: a {@link Datapoint}, or one whose array value is a string array. */
export interface DatapointInput {
  /** Dotted VSS path. */
  path: string;
  /** Value as a string (or string array for `T[]` datatypes); numbers and booleans are accepted too. */
  value: string | readonly string[] | number | boolean;
  /** ISO 8601 timestamp. */
  ts: string;
}

/** One timestamped value of a known signal, already in AVRO form. */
export interface Sample {
  /** Dotted VSS path. */
  path: string;
  /** The signal's resolved datatype. */
  datatype: AvroDatatype;
  /** Milliseconds since the Unix epoch. */
  ts: number;
  /** Scalar, or element list for array datatypes. */
  value: ScalarValue | readonly ScalarValue[];
}

/** A TimeSeries in columnar form: one signal, `count` samples. */
export interface TimeSeriesColumns {
  /** Dotted VSS path (`signal_identifier`). */
  path: string;
  /** The signal's resolved datatype. */
  datatype: AvroDatatype;
  /** Number of samples used from `ts` and `values`. */
  count: number;
  /** Timestamps, ms since the Unix epoch. */
  ts: ArrayLike<number>;
  /** Values (element lists for array datatypes). */
  values: ArrayLike<ScalarValue | readonly ScalarValue[]>;
}

/** A `Message` to encode: a single record, a TimeSeries, or a Snapshot. */
export type MessageInput =
  | { kind: "record"; sample: Sample }
  | { kind: "timeseries"; series: TimeSeriesColumns }
  | { kind: "snapshot"; start: number; end: number; samples: readonly Sample[] };

// ---------------------------------------------------------------------------------------------------------------
// Hand-written binary writers (allocation-free; tests check them byte for byte against avsc).

/** Write a `Value` record of `datatype`'s branch. */
export function writeValue(w: AvroWriter, datatype: AvroDatatype, value: ScalarValue | readonly ScalarValue[]): void {
  const branch = datatype.branch;
  w.long(BRANCH_INDEX[branch]);
  if (branch === "array") {
    const arr = value as readonly ScalarValue[];
    const el = datatype.element;
    const idx = BRANCH_INDEX[el];
    if (arr.length > 0) {
      w.long(arr.length);
      for (let i = 0; i < arr.length; i++) {
        w.long(idx);
        writeScalar(w, el, arr[i]);
      }
    }
    w.long(0);
  } else {
    writeScalar(w, branch, value as ScalarValue);
  }
}

function writeScalar(w: AvroWriter, branch: string, v: ScalarValue): void {
  switch (branch) {
    case "int":
    case "long":
      w.long(v as number);
      break;
    case "float":
      w.float(v as number);
      break;
    case "double":
      w.double(v as number);
      break;
    case "string":
      w.string(v as string);
      break;
    case "boolean":
      w.boolean(v as boolean);
      break;
  }
}

/** Write a `TimeStampedRecord` (`ts` in ms, then the `Value`). */
export function writeTimeStampedRecord(
  w: AvroWriter,
  datatype: AvroDatatype,
  record: { ts: number; value: ScalarValue | readonly ScalarValue[] },
): void {
  w.long(record.ts);
  writeValue(w, datatype, record.value);
}

/** Write a `SpecifiedTimeStampedRecord`. */
export function writeSpecifiedTimeStampedRecord(w: AvroWriter, sample: Sample): void {
  w.string(sample.path);
  w.long(sample.ts);
  writeValue(w, sample.datatype, sample.value);
}

/** Write a `TimeSeries` (the hot path: no allocation for numeric signals). */
export function writeTimeSeries(w: AvroWriter, series: TimeSeriesColumns): void {
  const n = series.count;
  w.string(series.path);
  w.long(n);
  if (n > 0) {
    w.long(n);
    const { ts, values, datatype } = series;
    const branch = datatype.branch;
    if (branch === "float") {
      // Specialised loop for the common case.
      for (let i = 0; i < n; i++) {
        w.long(ts[i]);
        w.long(2);
        w.float(values[i] as number);
      }
    } else {
      for (let i = 0; i < n; i++) {
        w.long(ts[i]);
        writeValue(w, datatype, values[i]);
      }
    }
  }
  w.long(0);
}

/** Write a `Snapshot` of many signals over `[start, end]`. */
export function writeSnapshot(
  w: AvroWriter,
  snapshot: { start: number; end: number; samples: readonly Sample[] },
): void {
  const n = snapshot.samples.length;
  w.long(n);
  w.long(snapshot.start);
  w.long(snapshot.end);
  if (n > 0) {
    w.long(n);
    for (const s of snapshot.samples) writeSpecifiedTimeStampedRecord(w, s);
  }
  w.long(0);
}

/** Write a `Message` (union index 0 record, 1 TimeSeries, 2 Snapshot). */
export function writeMessage(w: AvroWriter, message: MessageInput): void {
  switch (message.kind) {
    case "record":
      w.long(0);
      writeSpecifiedTimeStampedRecord(w, message.sample);
      break;
    case "timeseries":
      w.long(1);
      writeTimeSeries(w, message.series);
      break;
    case "snapshot":
      w.long(2);
      writeSnapshot(w, message);
      break;
  }
}

/** Write a `MessageSequence`. */
export function writeMessageSequence(w: AvroWriter, messages: readonly MessageInput[]): void {
  if (messages.length > 0) {
    w.long(messages.length);
    for (const m of messages) writeMessage(w, m);
  }
  w.long(0);
}

// ---------------------------------------------------------------------------------------------------------------
// Hand-written readers producing datapoints.

/** Receives decoded datapoints: path, ts in ms, value as VISSv2 text. */
export type DatapointSink = (path: string, ts: number, value: string) => void;

/** Read a `Value` and return its VISSv2 text. */
export function readValueText(r: AvroReader): string {
  const b = r.long();
  if (b === 6) {
    const out: string[] = [];
    for (let n = r.blockCount(); n > 0; n = r.blockCount()) {
      for (let i = 0; i < n; i++) out.push(readScalarText(r, r.long()));
    }
    return JSON.stringify(out);
  }
  return readScalarText(r, b);
}

function readScalarText(r: AvroReader, b: number): string {
  switch (b) {
    case 0:
    case 1:
      return String(r.long());
    case 2:
      return formatScalar("float", r.float());
    case 3:
      return formatScalar("double", r.double());
    case 4:
      return r.string();
    case 5:
      return r.boolean() ? "true" : "false";
    default:
      throw new PipelineError("codec.union", `AVRO Value union index ${b} out of range 0..6 (byte ${r.pos})`);
  }
}

function readRecordInto(r: AvroReader, sink: DatapointSink): void {
  const path = r.string();
  const ts = r.long();
  sink(path, ts, readValueText(r));
}

function readTimeSeriesInto(r: AvroReader, sink: DatapointSink): void {
  const path = r.string();
  r.long(); // count
  for (let n = r.blockCount(); n > 0; n = r.blockCount()) {
    for (let i = 0; i < n; i++) {
      const ts = r.long();
      sink(path, ts, readValueText(r));
    }
  }
}

function readSnapshotInto(r: AvroReader, sink: DatapointSink): void {
  r.long(); // count
  r.long(); // start
  r.long(); // end
  for (let n = r.blockCount(); n > 0; n = r.blockCount()) {
    for (let i = 0; i < n; i++) readRecordInto(r, sink);
  }
}

function readMessageInto(r: AvroReader, sink: DatapointSink): void {
  const b = r.long();
  if (b === 0) readRecordInto(r, sink);
  else if (b === 1) readTimeSeriesInto(r, sink);
  else if (b === 2) readSnapshotInto(r, sink);
  else throw new PipelineError("codec.union", `AVRO Message union index ${b} out of range 0..2 (byte ${r.pos})`);
}

function readMessageSequenceInto(r: AvroReader, sink: DatapointSink): void {
  for (let n = r.blockCount(); n > 0; n = r.blockCount()) {
    for (let i = 0; i < n; i++) readMessageInto(r, sink);
  }
}

const READERS: Partial<Record<SchemaName, (r: AvroReader, sink: DatapointSink) => void>> = {
  SpecifiedTimeStampedRecord: readRecordInto,
  TimeSeries: readTimeSeriesInto,
  Snapshot: readSnapshotInto,
  Message: readMessageInto,
  MessageSequence: readMessageSequenceInto,
};

/**
 * Stream the datapoints of one binary datum of schema `schema` (default `MessageSequence`) into `sink`, without
 * building intermediate objects.
 *
 * @throws PipelineError `codec.truncated`, `codec.union`, `codec.trailing` for malformed data
 */
export function readDatapoints(bytes: Uint8Array, sink: DatapointSink, options: { schema?: SchemaName } = {}): void {
  const schema = options.schema ?? "MessageSequence";
  const read = READERS[schema];
  if (!read) {
    throw new PipelineError("codec.schema", `${schema} datums carry no signal path; cannot produce datapoints`);
  }
  const r = new AvroReader(bytes);
  read(r, sink);
  if (!r.done) {
    throw new PipelineError("codec.trailing", `${r.end - r.pos} unexpected bytes after the ${schema} datum`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Generic object API (avsc), for callers that want the records as objects.

/**
 * Encode a JS object of one of the schema types (unions wrapped: `{value: {item: {float: 1.5}}}`) with avsc.
 *
 * @throws PipelineError `codec.schema` naming the first field and value that do not fit
 */
export function encodeAvro(schema: SchemaName, value: unknown): Uint8Array {
  const type = avroTypes()[schema];
  let problem: string | undefined;
  if (!type.isValid(value, { errorHook: (p, v) => (problem ??= `${p.join(".") || "<root>"} = ${describe(v)}`) })) {
    throw new PipelineError("codec.schema", `${schema}: field ${problem} does not fit the schema`, {
      path: problem?.split(" = ")[0],
    });
  }
  return type.toBuffer(value);
}

/** Decode one binary datum of `schema` into a JS object (unions wrapped) with avsc. */
export function decodeAvro(schema: SchemaName, bytes: Uint8Array): unknown {
  try {
    return avroTypes()[schema].fromBuffer(asBuffer(bytes));
  } catch (cause) {
    throw new PipelineError("codec.decode", `cannot decode ${schema}: ${(cause as Error).message}`, { cause });
  }
}

function asBuffer(b: Uint8Array): Uint8Array {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function describe(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Datapoints.

/**
 * Convert a VISSv2 datapoint into a {@link Sample}, choosing the branch from the catalog datatype.
 *
 * @throws PipelineError `codec.unknown_path`, `codec.datatype`, `codec.value`, `codec.ts`
 */
export function datapointToSample(dp: DatapointInput, catalog: CatalogLike): Sample {
  const path = dp.path;
  const datatype = resolveDatatype(path, toDatatypeCatalog(catalog));
  const value = datatype.branch === "array"
    ? parseArrayInput(dp.value, datatype, path).map((x, i) =>
      parseScalar(x, datatype.elementVss, { path, field: `value[${i}]` })
    )
    : parseScalar(dp.value, datatype.elementVss, { path });
  return { path, datatype, ts: parseTs(dp.ts, path), value };
}

function resolveDatatype(path: unknown, cat: DatatypeCatalog): AvroDatatype {
  if (typeof path !== "string" || path === "") {
    throw new PipelineError("codec.value", `path ${describe(path)} is not a VSS path`, { path: "path" });
  }
  const vss = cat.datatypeOf(path);
  if (vss === undefined) {
    throw new PipelineError(
      "codec.unknown_path",
      `${path}: not in the VSS catalog, so the AVRO Value branch cannot be chosen (check the path or the catalog)`,
      { path },
    );
  }
  return avroDatatype(vss, { path });
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
let parsedDay = "";
let parsedDayMs = NaN;

function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return n;
}

function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48, b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : NaN;
}

/** `YYYY-MM-DDTHH:MM:SS[.f…]Z` without Date (NaN when the text has another form). */
function fastIsoMs(s: string): number {
  const len = s.length;
  if (
    len < 20 || s.charCodeAt(len - 1) !== 90 /* Z */ || s.charCodeAt(10) !== 84 /* T */ ||
    s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58 || (len > 20 && s.charCodeAt(19) !== 46 /* . */)
  ) return NaN;
  let dayMs: number;
  if (s.startsWith(parsedDay) && parsedDay !== "") dayMs = parsedDayMs;
  else {
    if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return NaN;
    const y = digits(s, 0, 4), mo = digits(s, 5, 7), d = digits(s, 8, 10);
    dayMs = Date.UTC(y, mo - 1, d);
    const check = new Date(dayMs);
    if (
      !(y >= 100) || check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d
    ) return NaN;
    parsedDay = s.slice(0, 11);
    parsedDayMs = dayMs;
  }
  const h = two(s, 11), mi = two(s, 14), se = two(s, 17);
  if (!(h < 24 && mi < 60 && se < 60)) return NaN;
  let frac = 0;
  if (len > 20) {
    if (len === 21) return NaN;
    const end = Math.min(len - 1, 23);
    frac = digits(s, 20, end);
    if (end - 20 === 1) frac *= 100;
    else if (end - 20 === 2) frac *= 10;
    if (len - 1 > 23 && Number.isNaN(digits(s, 23, len - 1))) return NaN;
  }
  if (Number.isNaN(frac)) return NaN;
  return dayMs + h * 3_600_000 + mi * 60_000 + se * 1000 + frac;
}

/** Date.parse normalises 2026-02-30 to March 2; refuse days the month does not have. */
function validDay(ts: string): boolean {
  const y = digits(ts, 0, 4), mo = digits(ts, 5, 7), d = digits(ts, 8, 10);
  const c = new Date(0);
  c.setUTCFullYear(y, mo - 1, d);
  return c.getUTCMonth() === mo - 1 && c.getUTCDate() === d;
}

/** Parse an ISO 8601 timestamp to ms since the epoch. @throws PipelineError `codec.ts` */
export function parseTs(ts: unknown, path = "<signal>"): number {
  let ms = typeof ts === "string" ? fastIsoMs(ts) : NaN;
  if (Number.isNaN(ms)) ms = typeof ts === "string" && ISO.test(ts) && validDay(ts) ? Date.parse(ts) : NaN;
  if (!Number.isFinite(ms)) {
    throw new PipelineError(
      "codec.ts",
      `${path}: ts ${describe(ts)} is not an ISO 8601 UTC timestamp (e.g. 2026-11-23T10:30:53.123Z)`,
      { path },
    );
  }
  return ms;
}

const DAY_MS = 86_400_000;
const PAD2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0"));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0"));
let cachedDay = NaN;
let cachedPrefix = "";

/** ms since the epoch → ISO 8601 UTC (millisecond precision). @throws PipelineError `codec.ts` out of range */
export function formatTs(ms: number): string {
  if (!(Math.abs(ms) <= 8.64e15)) {
    throw new PipelineError("codec.ts", `ts ${ms} ms is outside the range of dates`);
  }
  const t = Math.floor(ms);
  const day = Math.floor(t / DAY_MS);
  if (day !== cachedDay) {
    const iso = new Date(day * DAY_MS).toISOString();
    cachedPrefix = iso.slice(0, iso.indexOf("T") + 1);
    cachedDay = day;
  }
  let r = t - day * DAY_MS;
  const h = Math.floor(r / 3_600_000);
  r -= h * 3_600_000;
  const m = Math.floor(r / 60_000);
  r -= m * 60_000;
  const s = Math.floor(r / 1000);
  return cachedPrefix + PAD2[h] + ":" + PAD2[m] + ":" + PAD2[s] + "." + PAD3[r - s * 1000] + "Z";
}

/**
 * Group samples into messages: signals with two or more samples become a TimeSeries each (in first-seen order),
 * the remaining single samples one Snapshot (or a single record when there is only one).
 */
export function groupSamples(samples: readonly Sample[]): MessageInput[] {
  const byPath = new Map<string, Sample[]>();
  for (const s of samples) {
    const list = byPath.get(s.path);
    if (list) list.push(s);
    else byPath.set(s.path, [s]);
  }
  const messages: MessageInput[] = [];
  const singles: Sample[] = [];
  for (const [path, list] of byPath) {
    if (list.length === 1) {
      singles.push(list[0]);
      continue;
    }
    messages.push({
      kind: "timeseries",
      series: {
        path,
        datatype: list[0].datatype,
        count: list.length,
        ts: list.map((s) => s.ts),
        values: list.map((s) => s.value),
      },
    });
  }
  if (singles.length === 1) messages.push({ kind: "record", sample: singles[0] });
  else if (singles.length > 1) {
    let start = Infinity, end = -Infinity;
    for (const s of singles) {
      if (s.ts < start) start = s.ts;
      if (s.ts > end) end = s.ts;
    }
    messages.push({ kind: "snapshot", start, end, samples: singles });
  }
  return messages;
}

/** Output framing of {@link encodeDatapointsAvro}. */
export type AvroFraming = "binary" | "container";

/** Options for {@link encodeDatapointsAvro}. */
export interface EncodeDatapointsOptions {
  /**
   * path → VSS datatype: a {@link DatatypeCatalog} or a `VssCatalog` from `core/vss` (`loadVssCatalog`);
   * default: the shipped VSS 4.0 catalog (needs read permission for `assets/`).
   */
  catalog?: CatalogLike;
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
}

/** Container metadata key holding the VIN. */
export const VIN_METADATA_KEY = "vss.vin";
/** HTTP media type of AVRO bodies. */
export const AVRO_CONTENT_TYPE = "application/avro";

/** Container metadata written by this module. */
export const CONTAINER_METADATA: Readonly<Record<string, string>> = {
  "vss.ts_unit": "ms",
  "vss.schema_source": "COVESA vss-tools serialization@4c27490 serializations/avro/schemas",
};

/**
 * Encode VISSv2 datapoints as AVRO (see {@link EncodeDatapointsOptions.framing}).
 * Signals with several datapoints become TimeSeries, single ones a Snapshot.
 *
 * @throws PipelineError naming the datapoint index, the signal, the field and the value that do not fit
 */
export function encodeDatapointsAvro(
  datapoints: readonly DatapointInput[],
  options: EncodeDatapointsOptions = {},
): Uint8Array {
  const catalog = toDatatypeCatalog(options.catalog ?? loadDatatypeCatalog());
  if (options.vin !== undefined && options.framing !== "container") {
    throw new PipelineError("codec.framing", 'a VIN can only travel in container framing (framing: "container")');
  }
  // Group by path (first-seen order), resolving each signal's datatype once; then parse and write in one pass,
  // without intermediate sample objects.
  const groups = new Map<string, { path: string; datatype: AvroDatatype; idx: number[] }>();
  const order: Array<{ path: string; datatype: AvroDatatype; idx: number[] }> = [];
  let cur = 0;
  const indexed = (e: unknown): never => {
    if (e instanceof PipelineError) {
      throw new PipelineError(e.code, `datapoint ${cur}: ${e.message}`, { path: e.path, cause: e });
    }
    throw e;
  };
  for (cur = 0; cur < datapoints.length; cur++) {
    const path = datapoints[cur].path;
    let g = groups.get(path);
    if (!g) {
      try {
        g = { path, datatype: resolveDatatype(path, catalog), idx: [] };
      } catch (e) {
        indexed(e);
      }
      groups.set(path, g!);
      order.push(g!);
    }
    g!.idx.push(cur);
  }
  const series = order.filter((g) => g.idx.length > 1);
  const singles = order.filter((g) => g.idx.length === 1);
  const value = (i: number, dt: AvroDatatype, path: string) => {
    const v = datapoints[i].value;
    return dt.branch === "array"
      ? parseArrayInput(v, dt, path).map((x, k) => parseScalar(x, dt.elementVss, { path, field: `value[${k}]` }))
      : parseScalar(v, dt.elementVss, { path });
  };
  const writeMessages = (w: AvroWriter, commit: () => void) => {
    try {
      for (const g of series) {
        const { path, datatype, idx } = g;
        w.long(1); // Message.item = TimeSeries
        w.string(path);
        w.long(idx.length);
        w.long(idx.length);
        for (let k = 0; k < idx.length; k++) {
          cur = idx[k];
          w.long(parseTs(datapoints[cur].ts, path));
          writeValue(w, datatype, value(cur, datatype, path));
        }
        w.long(0);
        commit();
      }
      if (singles.length === 0) return;
      const ts = singles.map((g) => {
        cur = g.idx[0];
        return parseTs(datapoints[cur].ts, g.path);
      });
      if (singles.length === 1) w.long(0); // SpecifiedTimeStampedRecord
      else {
        w.long(2); // Snapshot
        w.long(singles.length);
        let start = Infinity, end = -Infinity;
        for (const t of ts) {
          if (t < start) start = t;
          if (t > end) end = t;
        }
        w.long(start);
        w.long(end);
        w.long(singles.length);
      }
      for (let k = 0; k < singles.length; k++) {
        const g = singles[k];
        cur = g.idx[0];
        w.string(g.path);
        w.long(ts[k]);
        writeValue(w, g.datatype, value(cur, g.datatype, g.path));
      }
      if (singles.length > 1) w.long(0);
      commit();
    } catch (e) {
      indexed(e);
    }
  };
  const messageCount = series.length + (singles.length > 0 ? 1 : 0);
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
    writeMessages(cw.datum, () => cw.commit());
    return cw.finish();
  }
  const w = new AvroWriter(Math.max(256, datapoints.length * 16));
  if (messageCount > 0) {
    w.long(messageCount);
    writeMessages(w, () => {});
  }
  w.long(0);
  return w.toBytes();
}

/** Result of {@link decodeAvroContainer}. */
export interface DecodedContainer {
  /** Top-level record name of the writer schema. */
  schemaName: string;
  /** Header metadata (including `avro.schema`, `avro.codec`). */
  metadata: Record<string, string>;
  /** Number of datums. */
  count: number;
}

function schemaNameOf(schema: unknown): string {
  if (schema && typeof schema === "object" && "name" in schema) {
    const n = String((schema as { name: unknown }).name);
    return n.slice(n.lastIndexOf(".") + 1);
  }
  return describe(schema).slice(0, 40);
}

const equalCache = new Map<string, AvroType | null>();

/**
 * Stream the datapoints of an object container file into `sink`. The writer schema must be one of
 * SpecifiedTimeStampedRecord, TimeSeries, Snapshot, Message, MessageSequence; when it is not exactly ours (different
 * field order, extra fields, namespaces) the data is resolved against our schema with avsc.
 */
export function readContainerDatapoints(
  bytes: Uint8Array,
  sink: DatapointSink,
  options: { source?: string; maxBlockBytes?: number } = {},
): DecodedContainer {
  const c = readAvroContainer(bytes, options);
  const name = schemaNameOf(c.schema) as SchemaName;
  const read = READERS[name];
  if (!read) {
    throw new PipelineError(
      "codec.schema",
      `${options.source ?? "<avro>"}: container schema "${name}" carries no signal path ` +
        `(expected SpecifiedTimeStampedRecord, TimeSeries, Snapshot, Message or MessageSequence)`,
    );
  }
  const ours = avroTypes()[name];
  const key = c.metadata["avro.schema"];
  let resolver = equalCache.get(key);
  if (resolver === undefined) {
    // Names decide schema resolution; writers that put the records in a namespace (the early draft used "VSS")
    // are accepted by matching unqualified names.
    const writer = avroTypeForSchema(stripNamespaces(c.schema)) as AvroType & { equals(o: unknown): boolean };
    resolver = writer.equals(ours) ? null : writer;
    if (equalCache.size > 64) equalCache.clear();
    equalCache.set(key, resolver);
  }
  let count = 0;
  const res = resolver === null
    ? undefined
    : (ours as unknown as { createResolver(t: unknown): unknown }).createResolver(resolver);
  for (const block of c.blocks) {
    if (resolver === null) {
      const r = new AvroReader(block.data);
      for (let i = 0; i < block.count; i++) read(r, sink);
      if (!r.done) throw new PipelineError("codec.trailing", `block has ${r.end - r.pos} bytes after its datums`);
    } else {
      let pos = 0;
      for (let i = 0; i < block.count; i++) {
        const { value, offset } = (ours as unknown as {
          decode(b: Uint8Array, p: number, r: unknown): { value: unknown; offset: number };
        }).decode(asBuffer(block.data), pos, res);
        if (offset < 0) throw new PipelineError("codec.truncated", "container block ends inside a datum");
        pos = offset;
        objectDatapoints(name, value, sink);
      }
    }
    count += block.count;
  }
  return { schemaName: name, metadata: c.metadata, count };
}

/** A copy of `schema` without namespaces (names reduced to their last segment). */
function stripNamespaces(schema: unknown): unknown {
  if (typeof schema === "string") return schema.slice(schema.lastIndexOf(".") + 1);
  if (Array.isArray(schema)) return schema.map(stripNamespaces);
  if (!schema || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "namespace") continue;
    if (k === "name" && typeof v === "string") out[k] = v.slice(v.lastIndexOf(".") + 1);
    else if (k === "type" || k === "items" || k === "values" || k === "fields") out[k] = stripNamespaces(v);
    else out[k] = v;
  }
  return out;
}

/** Stream the datapoints of a decoded (avsc) object of `schema` into `sink`. */
export function objectDatapoints(schema: SchemaName, value: unknown, sink: DatapointSink): void {
  // deno-lint-ignore no-explicit-any
  const v = value as any;
  switch (schema) {
    case "SpecifiedTimeStampedRecord":
      sink(v.signal_identifier, v.ts, fromAvroValue(v.value as AvroValue));
      break;
    case "TimeSeries":
      for (const it of v.items) sink(v.signal_identifier, it.ts, fromAvroValue(it.value));
      break;
    case "Snapshot":
      for (const it of v.values) objectDatapoints("SpecifiedTimeStampedRecord", it, sink);
      break;
    case "Message": {
      const item = v.item;
      for (const k of Object.keys(item)) {
        objectDatapoints(k.slice(k.lastIndexOf(".") + 1) as SchemaName, item[k], sink);
      }
      break;
    }
    case "MessageSequence":
      for (const m of v.seq) objectDatapoints("Message", m, sink);
      break;
    default:
      throw new PipelineError("codec.schema", `${schema} datums carry no signal path`);
  }
}

/**
 * Decode AVRO bytes into VISSv2 datapoints. Accepts an object container file (any codec this module supports; schema
 * SpecifiedTimeStampedRecord, TimeSeries, Snapshot, Message or MessageSequence) or one raw `MessageSequence` datum
 * (what {@link encodeDatapointsAvro} writes by default).
 *
 * @throws PipelineError `codec.*` for malformed data
 */
export function decodeAvroToDatapoints(
  bytes: Uint8Array,
  options: { source?: string; maxBlockBytes?: number; maxDatapoints?: number } = {},
): Datapoint[] {
  return decodeAvroPayload(bytes, options).datapoints;
}

/** Result of {@link decodeAvroPayload}. */
export interface AvroPayload {
  /** The datapoints in message order. */
  datapoints: Datapoint[];
  /** Container header metadata (empty for raw binary). */
  metadata: Record<string, string>;
  /** VIN from metadata `vss.vin`, when present. */
  vin?: string;
  /** Sequence number from metadata `vss.sequence` (MessageSequencer frames), when present. */
  sequence?: number;
}

/**
 * Like {@link decodeAvroToDatapoints}, plus the container metadata, VIN and sequence number: what an ingest endpoint
 * for `Content-Type: application/avro` needs. `maxDatapoints` stops decoding early (`codec.too_many`).
 */
export function decodeAvroPayload(
  bytes: Uint8Array,
  options: { source?: string; maxBlockBytes?: number; maxDatapoints?: number } = {},
): AvroPayload {
  const datapoints: Datapoint[] = [];
  const max = options.maxDatapoints ?? Infinity;
  const sink: DatapointSink = (path, ts, value) => {
    if (datapoints.length >= max) {
      throw new PipelineError("codec.too_many", `more than ${max} datapoints in one AVRO body; send fewer per request`);
    }
    datapoints.push({ path, value, ts: formatTs(ts) });
  };
  if (!isAvroContainer(bytes)) {
    readDatapoints(bytes, sink);
    return { datapoints, metadata: {} };
  }
  const { metadata } = readContainerDatapoints(bytes, sink, options);
  const out: AvroPayload = { datapoints, metadata };
  if (metadata[VIN_METADATA_KEY] !== undefined) out.vin = metadata[VIN_METADATA_KEY];
  const seq = metadata["vss.sequence"];
  if (seq !== undefined && /^\d+$/.test(seq)) out.sequence = Number(seq);
  return out;
}

/**
 * Turn an AVRO ingest body (`Content-Type: application/avro`) into the same `{vin, datapoints}` the JSON ingest
 * produces, validated by `core/viss` `parseIngestBody` (same path, ts, value and VIN rules). The VIN comes from
 * container metadata `vss.vin`, else from `options.vin` (e.g. a request header).
 *
 * @throws VissDataError (`viss.*`) for data the JSON ingest would refuse too; PipelineError `codec.*` for bodies that
 *   are not valid AVRO of the schema set
 */
export function avroIngestRequest(
  bytes: Uint8Array,
  options: { vin?: string; maxDatapoints?: number; maxBlockBytes?: number } = {},
): IngestRequest {
  const payload = decodeAvroPayload(bytes, options);
  const vin = payload.vin ?? options.vin;
  if (vin === undefined) {
    throw new VissDataError(
      "viss.vin",
      `AVRO body carries no VIN: send a container file with metadata "${VIN_METADATA_KEY}" or give the VIN separately`,
      { path: VIN_METADATA_KEY },
    );
  }
  return parseIngestBody(toVissData(vin, payload.datapoints), { maxDatapoints: options.maxDatapoints });
}
