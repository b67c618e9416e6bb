/**
 * AVRO payloads for MQTT (COVESA vss-tools `MessageSequence`, one datapoint per message) via `core/codec`, from
 * typed values. Events have no AVRO form: {@link avroEncoder}'s `encodeEvent` writes JSON (`eventContentType`).
 * @module
 */
import {
  AVRO_CONTENT_TYPE,
  type CatalogLike,
  decodeAvroToDatapoints,
  encodeDatapointsAvro,
  loadDatatypeCatalog,
  toDatatypeCatalog,
} from "../codec/mod.ts";
import type { Datapoint } from "../datapoint/mod.ts";
import { PipelineError } from "../errors/mod.ts";
import { jsonEventBody, type PayloadDecoder, type PayloadEncoder, type RawDatapoint } from "./payload.ts";

/**
 * An AVRO {@link PayloadEncoder}: each datapoint becomes one raw `MessageSequence` datum whose `Value` branch comes
 * from the signal's VSS datatype (so the path must be in the catalog and the value of its type).
 *
 * @param options `catalog`: path → VSS datatype (default: the shipped VSS 4.0 catalog)
 */
export function avroEncoder(options: { catalog?: CatalogLike } = {}): PayloadEncoder {
  const catalog = toDatatypeCatalog(options.catalog ?? loadDatatypeCatalog());
  const one: Datapoint[] = [{ path: "", value: 0, tsMs: 0 }];
  return {
    contentType: AVRO_CONTENT_TYPE,
    eventContentType: "application/json",
    encode(dp) {
      one[0] = dp;
      try {
        return encodeDatapointsAvro(one, catalog);
      } catch (e) {
        throw new PipelineError("mqtt.payload", `${dp.path}: ${(e as Error).message}`, { path: dp.path, cause: e });
      }
    },
    encodeEvent: jsonEventBody,
  };
}

/** An AVRO {@link PayloadDecoder} (raw datum or object container; the path travels in the payload). */
export const avroDecoder: PayloadDecoder = (body): RawDatapoint[] => {
  let dps: Datapoint[];
  try {
    dps = decodeAvroToDatapoints(body);
  } catch (e) {
    throw new PipelineError("mqtt.payload", `payload is not AVRO of the VSS schemas: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const out: RawDatapoint[] = new Array(dps.length);
  for (let i = 0; i < dps.length; i++) out[i] = { path: dps[i].path, value: dps[i].value, ts: dps[i].tsMs };
  return out;
};

/** MQTT 5 content type of AVRO payloads. */
export { AVRO_CONTENT_TYPE };
