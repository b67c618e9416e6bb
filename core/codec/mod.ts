/**
 * AVRO encoding of VSS signal data with the COVESA vss-tools serialization schemas (`assets/avro/vss-tools/`):
 * `Value`, `TimeStampedRecord`, `TimeSeries`, `SpecifiedTimeStampedRecord`, `Snapshot`, `Message`,
 * `MessageSequence`; TimeSeries/Snapshot bundling, numbered MessageSequence frames and object container files.
 *
 * - The `Value` union branch comes from the signal's VSS datatype (int8–int32, uint8, uint16 → `int`;
 *   uint32, int64, uint64 → `long`; `float`; `double`; `string`; `boolean`; `T[]` → `array`), never from the JS value,
 *   so other AVRO implementations read back exactly the type that was meant.
 * - `ts` is milliseconds since the Unix epoch (the draft leaves the unit open; containers carry `vss.ts_unit`).
 * - Integration points: {@link encodeDatapointsAvro} (VEC sinks, `--encoding avro`; `framing: "container", vin` for
 *   CESC push) and {@link avroIngestRequest} / {@link decodeAvroPayload} / {@link decodeAvroToDatapoints} (CESC ingest
 *   of `Content-Type: application/avro`). They speak `core/viss` datapoints `{path, value: string, ts: ISO 8601}` and
 *   take a `core/vss` `VssCatalog` or a {@link DatatypeCatalog}. The default wire form is one raw `MessageSequence`
 *   datum (MQTT); object containers (`framing: "container"`, deflate) carry the schema, the VIN (`vss.vin`) and the
 *   sequence number (`vss.sequence`); the decoders accept either. See `docs/avro.md`.
 * - Limits: integers beyond ±2^53 (large uint64/int64) are rejected on encode; timestamps keep millisecond precision.
 *
 * @example
 * ```ts
 * import { catalogFromMap, decodeAvroToDatapoints, encodeDatapointsAvro } from "./mod.ts";
 * const catalog = catalogFromMap({ "Vehicle.Speed": "float" });
 * const bytes = encodeDatapointsAvro([
 *   { path: "Vehicle.Speed", value: "23.5", ts: "2026-11-23T10:30:00.000Z" },
 *   { path: "Vehicle.Speed", value: "24", ts: "2026-11-23T10:30:01.000Z" },
 * ], { catalog });
 * const back = decodeAvroToDatapoints(bytes); // [{ path: "Vehicle.Speed", value: "23.5", ts: "…" }, …]
 * ```
 *
 * @example Hot path: bundle 1 Hz numeric samples into 60-sample TimeSeries and frame them.
 * ```ts
 * import { avroDatatype, MessageSequencer, TimeSeriesBundler, type MessageInput } from "./mod.ts";
 * const seq = new MessageSequencer();
 * const ready: Uint8Array[] = [];
 * const bundler = new TimeSeriesBundler({
 *   maxCount: 60,
 *   onBundle: (series) => ready.push(seq.frame([{ kind: "timeseries", series }] as MessageInput[]).bytes),
 * });
 * const float = avroDatatype("float");
 * for (let t = 0; t < 120; t++) bundler.addNumber("Vehicle.Speed", float, 1_700_000_000_000 + t * 1000, t);
 * ```
 * @module
 */
export type { Datapoint, IngestRequest } from "../viss/mod.ts";
export {
  AVRO_CONTENT_TYPE,
  type AvroFraming,
  avroIngestRequest,
  type AvroPayload,
  CONTAINER_METADATA,
  type DatapointInput,
  type DatapointSink,
  datapointToSample,
  decodeAvro,
  decodeAvroPayload,
  decodeAvroToDatapoints,
  type DecodedContainer,
  encodeAvro,
  encodeDatapointsAvro,
  type EncodeDatapointsOptions,
  formatTs,
  groupSamples,
  type MessageInput,
  objectDatapoints,
  parseTs,
  readContainerDatapoints,
  readDatapoints,
  readValueText,
  type Sample,
  type TimeSeriesColumns,
  VIN_METADATA_KEY,
  writeMessage,
  writeMessageSequence,
  writeSnapshot,
  writeSpecifiedTimeStampedRecord,
  writeTimeSeries,
  writeTimeStampedRecord,
  writeValue,
} from "./avro.ts";
export { AvroReader, AvroWriter } from "./binary.ts";
export {
  buildSnapshot,
  MessageSequencer,
  readSequenceNumber,
  SEQUENCE_METADATA_KEY,
  type SequenceFrame,
  TimeSeriesBundler,
  type TimeSeriesBundlerOptions,
} from "./bundle.ts";
export {
  catalogFromMap,
  catalogFromVssTree,
  type CatalogLike,
  type DatatypeCatalog,
  DEFAULT_VSS_CATALOG,
  loadDatatypeCatalog,
  toDatatypeCatalog,
  type VssCatalogLike,
} from "./catalog.ts";
export {
  type AvroContainer,
  AvroContainerWriter,
  CONTAINER_MAGIC,
  type ContainerBlock,
  type ContainerCodec,
  type ContainerWriterOptions,
  DEFAULT_MAX_BLOCK_BYTES,
  isAvroContainer,
  readAvroContainer,
} from "./container.ts";
export {
  type AvroDatatype,
  avroDatatype,
  type AvroValue,
  BRANCH_INDEX,
  formatFloat32,
  fromAvroValue,
  parseScalar,
  type ScalarBranch,
  type ScalarValue,
  toAvroValue,
  VALUE_BRANCHES,
  type ValueBranch,
} from "./datatype.ts";
export { type AvroType, avroTypeForSchema, avroTypes, SCHEMA_NAMES, type SchemaName, SCHEMAS } from "./schemas.ts";
export { datapointsToVissJson, parseVissJson, type SourcedDatapoint, type VissTextFormat } from "./json.ts";
