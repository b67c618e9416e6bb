/**
 * Encoders and decoders for the VSS AVRO schema set, and the datapoint integration points
 * ({@link encodeDatapointsAvro}, {@link decodeAvroToDatapoints}).
 *
 * Conventions (the upstream draft leaves them open):
 * - `ts` is milliseconds since the Unix epoch (UTC); container files say so in metadata `vss.ts_unit = "ms"`.
 * - The `Value` branch is chosen from the signal's VSS datatype, never from the JS value.
 * - Values are typed (`core/datapoint` `VssValue`): numbers, bigint for 64-bit integers beyond 2^53 (AVRO `long`
 *   carries them exactly), booleans, strings, arrays. No text is parsed or formatted here.
 * @module
 */
import { Buffer } from "node:buffer";
import { canonicalFloat32, type ScalarValue, type VssValue } from "../datapoint/mod.ts";
import { PipelineError } from "../errors/mod.ts";
import { AvroReader, type AvroWriter } from "./binary.ts";
import { readAvroContainer } from "./container.ts";
import { type AvroDatatype, type AvroValue, BRANCH_INDEX, fromAvroValue } from "./datatype.ts";
import { type AvroType, avroTypeForSchema, avroTypes, type SchemaName } from "./schemas.ts";

/** One timestamped value of a known signal, already in AVRO form. */
export interface Sample {
  /** Dotted VSS path. */
  path: string;
  /** The signal's resolved datatype. */
  datatype: AvroDatatype;
  /** Milliseconds since the Unix epoch. */
  ts: number;
  /** Scalar, or element list for array datatypes. */
  value: VssValue;
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
  values: ArrayLike<VssValue>;
}

/** A `Message` to encode: a single record, a TimeSeries, or a Snapshot. */
export type MessageInput =
  | { kind: "record"; sample: Sample }
  | { kind: "timeseries"; series: TimeSeriesColumns }
  | { kind: "snapshot"; start: number; end: number; samples: readonly Sample[] };

// ---------------------------------------------------------------------------------------------------------------
// Hand-written binary writers (allocation-free; tests check them byte for byte against avsc).

/** Write a `Value` record of `datatype`'s branch. */
export function writeValue(w: AvroWriter, datatype: AvroDatatype, value: VssValue): void {
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
      w.long(v as number);
      break;
    case "long":
      if (typeof v === "bigint") w.longBig(v);
      else w.long(v as number);
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
  record: { ts: number; value: VssValue },
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

/** Receives decoded datapoints: path, ts in ms (as written, not yet validated), typed value. */
export type DatapointSink = (path: string, ts: number, value: VssValue) => void;

/** Read a `Value` as a typed value (floats as the shortest double of their float32, longs beyond 2^53 as bigint). */
export function readValue(r: AvroReader): VssValue {
  const b = r.long();
  if (b === 6) {
    const out: ScalarValue[] = [];
    for (let n = r.blockCount(); n > 0; n = r.blockCount()) {
      for (let i = 0; i < n; i++) out.push(readScalar(r, r.long()));
    }
    return out;
  }
  return readScalar(r, b);
}

function readScalar(r: AvroReader, b: number): ScalarValue {
  switch (b) {
    case 0:
      return r.long();
    case 1:
      return r.longValue();
    case 2:
      return canonicalFloat32(r.float());
    case 3:
      return r.double();
    case 4:
      return r.string();
    case 5:
      return r.boolean();
    default:
      throw new PipelineError("codec.union", `AVRO Value union index ${b} out of range 0..6 (byte ${r.pos})`);
  }
}

function readRecordInto(r: AvroReader, sink: DatapointSink): void {
  const path = r.string();
  const ts = r.long();
  sink(path, ts, readValue(r));
}

function readTimeSeriesInto(r: AvroReader, sink: DatapointSink): void {
  const path = r.string();
  r.long(); // count
  for (let n = r.blockCount(); n > 0; n = r.blockCount()) {
    for (let i = 0; i < n; i++) {
      const ts = r.long();
      sink(path, ts, readValue(r));
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

/** Result of {@link readContainerDatapoints}. */
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

/** The avsc resolver from the writer schema `schema` to ours (`resolver` null: the schemas are equal). */
function resolverOf(
  key: string,
  schema: unknown,
  ours: AvroType,
  source = "<avro>",
): { resolver: AvroType | null; res: unknown } {
  let resolver = equalCache.get(key);
  try {
    if (resolver === undefined) {
      // Names decide schema resolution; writers that put the records in a namespace (the early draft used "VSS")
      // are accepted by matching unqualified names.
      const writer = avroTypeForSchema(stripNamespaces(schema)) as AvroType & { equals(o: unknown): boolean };
      resolver = writer.equals(ours) ? null : writer;
      if (equalCache.size > 64) equalCache.clear();
      equalCache.set(key, resolver);
    }
    const res = resolver === null
      ? undefined
      : (ours as unknown as { createResolver(t: unknown): unknown }).createResolver(resolver);
    return { resolver, res };
  } catch (cause) {
    throw new PipelineError(
      "codec.schema",
      `${source}: the container's writer schema cannot be read as ours: ${(cause as Error).message}`,
      { cause },
    );
  }
}

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
  const { resolver, res } = resolverOf(key, c.schema, ours, options.source);
  let count = 0;
  for (const block of c.blocks) {
    if (resolver === null) {
      const r = new AvroReader(block.data);
      for (let i = 0; i < block.count; i++) read(r, sink);
      if (!r.done) throw new PipelineError("codec.trailing", `block has ${r.end - r.pos} bytes after its datums`);
    } else {
      let pos = 0;
      for (let i = 0; i < block.count; i++) {
        let decoded: { value: unknown; offset: number };
        try {
          decoded = (ours as unknown as {
            decode(b: Uint8Array, p: number, r: unknown): { value: unknown; offset: number };
          }).decode(asBuffer(block.data), pos, res);
        } catch (cause) {
          throw new PipelineError("codec.decode", `container datum ${i}: ${(cause as Error).message}`, { cause });
        }
        const { value, offset } = decoded;
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
