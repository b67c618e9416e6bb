/**
 * `deno task avro encode|decode|inspect`: convert between VISSv2 JSON / NDJSON and AVRO (VSS vss-tools schemas).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Datapoint, DatapointValidator, formatTime, formatValue, isTsMs } from "../core/datapoint/mod.ts";
import { PipelineError } from "../core/errors/mod.ts";
import {
  AvroContainerWriter,
  avroTypes,
  AvroWriter,
  catalogSchema,
  CONTAINER_METADATA,
  type ContainerCodec,
  datapointsToVissJson,
  datapointToSample,
  type DatatypeCatalog,
  decodeAvroToDatapoints,
  groupSamples,
  isAvroContainer,
  loadDatatypeCatalog,
  parseVissJson,
  readAvroContainer,
  readContainerDatapoints,
  readDatapoints,
  type Sample,
  VIN_METADATA_KEY,
  type VissTextFormat,
  writeMessage,
  writeMessageSequence,
} from "../core/codec/mod.ts";

const HELP = `Usage: deno task avro <command> [options] [input]

Convert VSS signal data between VISSv2 JSON / NDJSON and AVRO (COVESA vss-tools serialization schemas).
Input is a file or "-" / nothing for stdin; output goes to --output or stdout.

Commands:
  encode    VISSv2 JSON or NDJSON datapoints -> AVRO. Signals with several datapoints become TimeSeries,
            the rest a Snapshot. The Value branch comes from the VSS datatype in the catalog.
  decode    AVRO (object container file or raw MessageSequence) -> VISSv2 JSON or NDJSON
  inspect   Describe an AVRO file: header metadata, schema, codec, blocks, signals, time range

Options:
  -o, --output FILE      write here instead of stdout
  -c, --catalog FILE     VSS JSON catalog for datatypes (default assets/vss/vss_release_4.0.json)
  -f, --format FMT       encode input / decode output: auto|json|ndjson (encode default auto, decode default json)
      --framing F        encode output: container (default; .avro file, self-describing) | binary (raw MessageSequence)
      --codec C          container codec: deflate (default) | null
      --vin VIN          encode: put the VIN in container metadata vss.vin (what the CESC AVRO ingest reads)
  -h, --help             show this help

Accepted JSON shapes: [{"path","value","ts"}...], {"path","dp":[{"value","ts"}...]}, {"action":...,"data":...};
NDJSON: one of those per line. ts is RFC 3339 (any fraction digits, Z or an offset); in AVRO it is a long in
milliseconds since the epoch. Values are checked against the catalog datatype (and its min/max). Decoded times are
written in the canonical form YYYY-MM-DDTHH:MM:SS.sssZ.

Examples:
  deno task avro encode speeds.ndjson -o speeds.avro
  deno task avro decode speeds.avro --format ndjson
  deno task avro inspect speeds.avro
`;

class UsageError extends Error {}

async function readInput(file: string | undefined): Promise<Uint8Array> {
  if (!file || file === "-") return new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
  try {
    return await Deno.readFile(file);
  } catch (cause) {
    throw new PipelineError("avro.input", `cannot read ${file}: ${(cause as Error).message}`, { path: file });
  }
}

async function writeOutput(file: string | undefined, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  if (!file || file === "-") {
    const w = Deno.stdout.writable.getWriter();
    await w.write(bytes);
    w.releaseLock();
    return;
  }
  try {
    await Deno.writeFile(file, bytes);
  } catch (cause) {
    throw new PipelineError("avro.output", `cannot write ${file}: ${(cause as Error).message}`, { path: file });
  }
}

function encode(text: string, options: {
  source: string;
  format: VissTextFormat;
  catalog: DatatypeCatalog;
  framing: "container" | "binary";
  codec: ContainerCodec;
  vin?: string;
}): Uint8Array {
  const validator = new DatapointValidator(catalogSchema(options.catalog));
  const sourced = parseVissJson(text, { source: options.source, format: options.format, validator });
  const samples: Sample[] = sourced.map((s) => {
    try {
      return datapointToSample(s.datapoint, options.catalog);
    } catch (e) {
      if (e instanceof PipelineError) throw new PipelineError(e.code, `${s.origin}: ${e.message}`, { path: e.path });
      throw e;
    }
  });
  const messages = groupSamples(samples);
  if (options.framing === "binary") {
    const w = new AvroWriter();
    writeMessageSequence(w, messages);
    return w.toBytes();
  }
  const cw = new AvroContainerWriter({
    schema: avroTypes().Message.schema(),
    codec: options.codec,
    metadata: { ...CONTAINER_METADATA, ...(options.vin !== undefined ? { [VIN_METADATA_KEY]: options.vin } : {}) },
  });
  for (const m of messages) {
    writeMessage(cw.datum, m);
    cw.commit();
  }
  return cw.finish();
}

function decode(bytes: Uint8Array, source: string, format: VissTextFormat): string {
  const dps: Datapoint[] = decodeAvroToDatapoints(bytes, { source });
  for (let i = 0; i < dps.length; i++) {
    if (!isTsMs(dps[i].tsMs)) {
      throw new PipelineError(
        "codec.ts",
        `${source}: datapoint ${i} (${dps[i].path}): ts ${dps[i].tsMs} ms is out of range`,
      );
    }
  }
  if (format === "ndjson") {
    const line = (d: Datapoint) =>
      JSON.stringify({ path: d.path, value: formatValue(d.value), ts: formatTime(d.tsMs) });
    return dps.map(line).join("\n") + (dps.length ? "\n" : "");
  }
  return JSON.stringify(datapointsToVissJson(dps), null, 2) + "\n";
}

function timeText(ms: number): string {
  return isTsMs(ms) ? formatTime(ms) : `${ms} ms (outside 0000..9999)`;
}

function inspect(bytes: Uint8Array, source: string): string {
  const signals = new Map<string, { n: number; first: number; last: number }>();
  let total = 0, min = Infinity, max = -Infinity;
  const sink = (path: string, ts: number) => {
    total++;
    if (ts < min) min = ts;
    if (ts > max) max = ts;
    const s = signals.get(path);
    if (s) {
      s.n++;
      s.last = ts;
    } else signals.set(path, { n: 1, first: ts, last: ts });
  };
  const lines: string[] = [`file: ${source} (${bytes.length} bytes)`];
  if (isAvroContainer(bytes)) {
    const c = readAvroContainer(bytes, { source });
    const info = readContainerDatapoints(bytes, sink, { source });
    lines.push(`format: object container file, codec ${c.codec}, ${c.blocks.length} block(s), ${info.count} datum(s)`);
    lines.push(`schema: ${info.schemaName}`);
    for (const [k, v] of Object.entries(c.metadata)) {
      if (k !== "avro.schema" && k !== "avro.codec") lines.push(`metadata ${k}: ${v}`);
    }
  } else {
    readDatapoints(bytes, sink);
    lines.push("format: raw binary MessageSequence datum");
  }
  lines.push(`datapoints: ${total}, signals: ${signals.size}`);
  if (total > 0) {
    lines.push(`time range: ${timeText(min)} .. ${timeText(max)}`);
    lines.push(`bytes per datapoint: ${(bytes.length / total).toFixed(2)}`);
  }
  for (const [path, s] of signals) lines.push(`  ${path}: ${s.n}`);
  return lines.join("\n") + "\n";
}

/** Run the CLI with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        output: { type: "string", short: "o" },
        catalog: { type: "string", short: "c" },
        format: { type: "string", short: "f" },
        framing: { type: "string" },
        codec: { type: "string" },
        vin: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    console.error(`avro: ${(e as Error).message.split("\n")[0]}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  try {
    const [command, input, ...extra] = positionals;
    if (!command) throw new UsageError("missing command (encode, decode or inspect); see --help");
    if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const format = (values.format ?? (command === "encode" ? "auto" : "json")) as VissTextFormat;
    if (!["auto", "json", "ndjson"].includes(format) || (command === "decode" && format === "auto")) {
      throw new UsageError(`--format must be ${command === "decode" ? "json or ndjson" : "auto, json or ndjson"}`);
    }
    const framing = values.framing ?? "container";
    if (framing !== "container" && framing !== "binary") throw new UsageError("--framing must be container or binary");
    const codec = values.codec ?? "deflate";
    if (codec !== "deflate" && codec !== "null") throw new UsageError("--codec must be deflate or null");
    if (values.vin !== undefined && framing !== "container") {
      throw new UsageError("--vin needs --framing container (a raw MessageSequence has no place for it)");
    }
    const source = input && input !== "-" ? input : "<stdin>";
    switch (command) {
      case "encode": {
        const catalog = loadDatatypeCatalog(values.catalog);
        const text = new TextDecoder().decode(await readInput(input));
        await writeOutput(values.output, encode(text, { source, format, catalog, framing, codec, vin: values.vin }));
        return 0;
      }
      case "decode":
        await writeOutput(values.output, decode(await readInput(input), source, format));
        return 0;
      case "inspect":
        await writeOutput(values.output, inspect(await readInput(input), source));
        return 0;
      default:
        throw new UsageError(`unknown command "${command}" (encode, decode or inspect)`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`avro: ${e.message}`);
      return 2;
    }
    if (e instanceof PipelineError) {
      console.error(`avro: ${e.message.split("\n")[0]}`);
      return 1;
    }
    console.error(`avro: unexpected error: ${(e as Error).message ?? e}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
