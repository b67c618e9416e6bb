/**
 * Shared set-up of the VEC pipeline benchmarks and tests (not production code): a Model 3 candump log of the
 * messages the Kuksa mapping uses, with changing values, and a pipeline that decodes, maps and JSON-encodes it into
 * memory.
 *
 * @module
 */
import { compileDecodePlan, createWasmDecoder, encodeReference, type MessageDef, parseDbc } from "../core/can/mod.ts";
import { type Datapoint, DatapointValidator } from "../core/datapoint/mod.ts";
import { encodeVissIngest } from "../core/viss/mod.ts";
import { compileVssMapping, loadVssCatalog, physicalChoices } from "../core/vss/mod.ts";
import { DEFAULT_CATALOG, DEFAULT_DBC, DEFAULT_MAPPING } from "../vec/config.ts";
import { Pipeline } from "../vec/pipeline.ts";
import type { DatapointSink } from "../vec/sinks/types.ts";
import { CandumpSource } from "../vec/sources/mod.ts";

/** A sink that encodes every batch as a VISSv2 JSON body (the CESC push body) and keeps only the byte count. */
export class MemoryJsonSink implements DatapointSink {
  readonly name = "memory";
  bytes = 0;
  datapoints = 0;
  write(datapoints: readonly Datapoint[]): void {
    this.bytes += encodeVissIngest("BENCHVIN", datapoints).length;
    this.datapoints += datapoints.length;
  }
  stats(): object {
    return { bytes: this.bytes, datapoints: this.datapoints };
  }
  async close(): Promise<void> {}
}

/** Builds a candump log of `frames` frames cycling over the mapped Model 3 messages, `stepMs` apart. */
export async function buildModel3Log(frames: number, options: { stepMs?: number } = {}): Promise<string> {
  const db = parseDbc(await Deno.readTextFile(DEFAULT_DBC));
  const plan = compileDecodePlan(db);
  const mapper = compileVssMapping(DEFAULT_MAPPING, {
    catalog: loadVssCatalog(DEFAULT_CATALOG),
    signals: plan.signalNames,
    choices: physicalChoices(plan.signalDefs),
  });
  const messages = [...new Set(mapper.mappedSignalIds.map((id) => plan.signalMessage[id]))]
    .map((i) => plan.messageDefs[i]);
  const step = (options.stepMs ?? 1) / 1000;
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0").toUpperCase()).join("");
  // 64 payload variants per message, values sweeping each signal's range.
  const variants = messages.map((m: MessageDef) =>
    Array.from({ length: 64 }, (_, k) => {
      const values: Record<string, number> = {};
      for (const s of m.signals) {
        const rawMax = s.length >= 31 ? 2 ** 30 : 2 ** s.length - 1;
        const raw = Math.floor((rawMax * k) / 63);
        const signedRaw = s.signed ? raw - Math.floor(rawMax / 2) : raw;
        values[s.name] = s.valueType === "integer" ? signedRaw * s.factor + s.offset : k;
      }
      try {
        return `${m.id.toString(16).toUpperCase().padStart(3, "0")}#${hex(encodeReference(m, values))}`;
      } catch {
        return `${m.id.toString(16).toUpperCase().padStart(3, "0")}#${"00".repeat(m.length)}`;
      }
    })
  );
  const lines: string[] = new Array(frames);
  const t0 = 1_700_000_000;
  for (let i = 0; i < frames; i++) {
    const m = i % messages.length;
    lines[i] = `(${(t0 + i * step).toFixed(6)}) can0 ${variants[m][Math.floor(i / messages.length) % 64]}`;
  }
  return lines.join("\n") + "\n";
}

/**
 * A ready pipeline over `log` (as fast as possible) into a {@link MemoryJsonSink}: the log text itself, or
 * `{ file }` to stream a candump file from disk.
 */
export async function createBenchPipeline(
  log: string | { file: string },
): Promise<{ pipeline: Pipeline; sink: MemoryJsonSink }> {
  const plan = compileDecodePlan(parseDbc(await Deno.readTextFile(DEFAULT_DBC)));
  const decoder = await createWasmDecoder(plan, { maxFrames: 1024 });
  const catalog = loadVssCatalog(DEFAULT_CATALOG);
  const mapper = compileVssMapping(DEFAULT_MAPPING, {
    catalog,
    signals: plan.signalNames,
    choices: physicalChoices(plan.signalDefs),
  });
  const sink = new MemoryJsonSink();
  const source = typeof log === "string"
    ? new CandumpSource(log, { speed: 0 })
    : await CandumpSource.open(log.file, { speed: 0 });
  const validator = new DatapointValidator(catalog);
  const pipeline = new Pipeline({ source, decoder, mapper, sinks: [sink], validator });
  return { pipeline, sink };
}
