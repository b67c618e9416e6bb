/**
 * Message encoders of the batch uplinks: VISSv2 JSON (`core/viss`) and AVRO object container files (`core/codec`,
 * loaded only when asked for: it costs memory on a Raspberry Pi).
 * @module
 */
import { type Datapoint, DatapointValidator, type Refusal } from "../datapoint/mod.ts";
import type { QueuePayload } from "../queue/mod.ts";
import { encodeVissIngest, parseVissIngest } from "../viss/mod.ts";
import type { DecodedMessage, MessageEncoder } from "./types.ts";

/** A parse result aligned to the receiver's indices: refused positions are `undefined`. */
function aligned(r: { vin: string; datapoints: Datapoint[]; refusals: Refusal[]; count: number }): DecodedMessage {
  if (r.refusals.length === 0) return { vin: r.vin, datapoints: r.datapoints };
  const refused = new Set(r.refusals.map((x) => x.index));
  const out = new Array<Datapoint | undefined>(r.count);
  let j = 0;
  for (let i = 0; i < r.count; i++) out[i] = refused.has(i) ? undefined : r.datapoints[j++];
  return { vin: r.vin, datapoints: out };
}

/** Without a schema the validator keeps the values as the body carries them: a re-encoding gives the same text. */
const untyped = new DatapointValidator();

/**
 * VISSv2 JSON: `{"vin","data":[{"path","dp":[{"value","ts"}…]}…]}` by `encodeVissIngest`; read back by the
 * parser the CESC runs, so refusal indices mean the same datapoints on both sides.
 */
export const vissJsonEncoder: MessageEncoder = {
  contentType: "application/json",
  encode: (vin, datapoints) => encodeVissIngest(vin, datapoints),
  decode: (body: QueuePayload) => aligned(parseVissIngest(body, untyped)),
};

/**
 * AVRO object container files (deflate, the VIN in the file header) from typed values, read back by the parser the
 * CESC runs. A datapoint AVRO cannot carry (path not in the catalog, value not of its datatype) is left out and
 * listed in `options.refusals` instead of failing the batch. Loads `core/codec` when called.
 *
 * @param catalog the VSS datatypes of the paths sent (a `core/vss` catalog fits)
 */
export async function avroContainerEncoder(
  catalog: import("../codec/mod.ts").CatalogLike,
): Promise<MessageEncoder> {
  const codec = await import("../codec/mod.ts");
  const types = codec.toDatatypeCatalog(catalog);
  const validator = new DatapointValidator();
  return {
    contentType: codec.AVRO_CONTENT_TYPE,
    encode: (vin, datapoints, options) =>
      codec.encodeDatapointsAvro(datapoints, types, { framing: "container", vin, refusals: options?.refusals }),
    decode: (body: QueuePayload) => {
      const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
      return aligned(codec.parseAvroIngest(bytes, validator));
    },
  };
}
