/**
 * AVRO payloads for MQTT (COVESA vss-tools `MessageSequence`, one datapoint per message) via `core/codec`.
 * @module
 */
import {
  AVRO_CONTENT_TYPE,
  type CatalogLike,
  type DatapointInput,
  decodeAvroToDatapoints,
  encodeDatapointsAvro,
  loadDatatypeCatalog,
  toDatatypeCatalog,
} from "../codec/mod.ts";
import { PipelineError } from "../errors/mod.ts";
import { isoTime, type MqttDatapoint, type PayloadDecoder, type PayloadEncoder } from "./payload.ts";

/**
 * An AVRO {@link PayloadEncoder}: each value becomes one raw `MessageSequence` datum whose `Value` branch comes from
 * the signal's VSS datatype (so the path must be in the catalog).
 *
 * @param options `catalog`: path → VSS datatype (default: the shipped VSS 4.0 catalog)
 */
export function avroEncoder(options: { catalog?: CatalogLike } = {}): PayloadEncoder {
  const catalog = toDatatypeCatalog(options.catalog ?? loadDatatypeCatalog());
  const dp: DatapointInput = { path: "", value: "", ts: "" };
  const one = [dp];
  const opts = { catalog };
  return {
    contentType: AVRO_CONTENT_TYPE,
    encode(path, value, ts) {
      if (value === null) throw new PipelineError("mqtt.payload", `${path}: AVRO cannot carry a null value`);
      dp.path = path;
      dp.value = value;
      dp.ts = isoTime(ts);
      return encodeDatapointsAvro(one, opts);
    },
  };
}

/** An AVRO {@link PayloadDecoder} (raw datum or object container; the path travels in the payload). */
export const avroDecoder: PayloadDecoder = (body): MqttDatapoint[] => decodeAvroToDatapoints(body);

/** MQTT 5 content type of AVRO payloads. */
export { AVRO_CONTENT_TYPE };
