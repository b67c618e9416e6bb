/**
 * AVRO encoding of VSS signal data with the COVESA vss-tools serialization schemas (`assets/avro/vss-tools/`):
 * `Value`, `TimeStampedRecord`, `TimeSeries`, `SpecifiedTimeStampedRecord`, `Snapshot`, `Message`,
 * `MessageSequence`; TimeSeries/Snapshot bundling, numbered MessageSequence frames and object container files.
 *
 * - The `Value` union branch comes from the signal's VSS datatype (int8–int32, uint8, uint16 → `int`;
 *   uint32, int64, uint64 → `long`; `float`; `double`; `string`; `boolean`; `T[]` → `array`), never from the JS value,
 *   so other AVRO implementations read back exactly the type that was meant.
 * - `ts` is milliseconds since the Unix epoch (the draft leaves the unit open; containers carry `vss.ts_unit`).
 * - Integration points: {@link encodeDatapointsAvro} (VEC sinks; `framing: "container", vin` for CESC push) and
 *   {@link parseAvroIngest} (CESC ingest of `Content-Type: application/avro`, through the same `DatapointValidator`
 *   as VISSv2 JSON and MQTT) / {@link decodeAvroPayload}. They speak typed `core/datapoint` datapoints
 *   `{path, value, tsMs}` (no VISSv2 strings, no RFC 3339 text) and take a `core/vss` `VssCatalog` or a
 *   {@link DatatypeCatalog}. The default wire form is one raw `MessageSequence` datum (MQTT); object containers
 *   (`framing: "container"`, deflate) carry the schema, the VIN (`vss.vin`) and the sequence number (`vss.sequence`);
 *   the decoders accept either. See `docs/avro.md`.
 * - 64-bit integers beyond 2^53 travel as bigint, exactly, in AVRO `long`; `uint64` values beyond 2^63-1 have no
 *   AVRO `long` form and are refused on encode. Malformed or truncated bodies raise `PipelineError` `codec.*`
 *   (`codec.avro` from {@link parseAvroIngest}), never a TypeError or RangeError.
 *
 * @example
 * ```ts
 * import { DatapointValidator } from "../datapoint/mod.ts";
 * import { catalogFromMap, catalogSchema, encodeDatapointsAvro, parseAvroIngest } from "./mod.ts";
 * const catalog = catalogFromMap({ "Vehicle.Speed": "float", "Vehicle.TraveledDistanceHighRes": "uint64" });
 * const bytes = encodeDatapointsAvro([
 *   { path: "Vehicle.Speed", value: 23.5, tsMs: 1795429800000 },
 *   { path: "Vehicle.Speed", value: 24, tsMs: 1795429801000 },
 *   { path: "Vehicle.TraveledDistanceHighRes", value: 9007199254740993n, tsMs: 1795429801000 },
 * ], catalog, { framing: "container", vin: "ULF001" });
 * const r = parseAvroIngest(bytes, new DatapointValidator(catalogSchema(catalog)));
 * console.log(r.vin, r.count, r.datapoints[2].value); // ULF001 3 9007199254740993n
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
export type { Datapoint } from "../datapoint/mod.ts";
export {
  AVRO_CONTENT_TYPE,
  CONTAINER_METADATA,
  type DatapointSink,
  decodeAvro,
  type DecodedContainer,
  encodeAvro,
  groupSamples,
  type MessageInput,
  objectDatapoints,
  readContainerDatapoints,
  readDatapoints,
  readValue,
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
export {
  type AvroFraming,
  type AvroIngest,
  type AvroPayload,
  datapointToSample,
  type DecodeAvroOptions,
  decodeAvroPayload,
  decodeAvroToDatapoints,
  encodeDatapointsAvro,
  type EncodeDatapointsOptions,
  parseAvroIngest,
  type ParseAvroOptions,
} from "./datapoints.ts";
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
  catalogSchema,
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
  fromAvroValue,
  type ScalarBranch,
  type ScalarValue,
  toAvroValue,
  VALUE_BRANCHES,
  type ValueBranch,
  valueProblem,
  type VssValue,
} from "./datatype.ts";
export { type AvroType, avroTypeForSchema, avroTypes, SCHEMA_NAMES, type SchemaName, SCHEMAS } from "./schemas.ts";
export {
  datapointsToVissJson,
  parseVissJson,
  type ParseVissJsonOptions,
  type SourcedDatapoint,
  type VissTextFormat,
} from "./json.ts";
