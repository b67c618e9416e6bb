/**
 * VISSv2 JSON / NDJSON ⇄ typed datapoints, for the CLI and for services that accept both encodings.
 * @module
 */
import { type Datapoint, DatapointValidator } from "../datapoint/mod.ts";
import { ParseError, PipelineError } from "../errors/mod.ts";
import { jsonParseExact, type VissDataObject, vissDataObjects } from "../viss/mod.ts";

/** A typed datapoint read from text, with where it came from (for error messages). */
export interface SourcedDatapoint {
  /** The datapoint, typed and validated. */
  datapoint: Datapoint;
  /** `file:line` plus a JSON path, e.g. `in.json:1 data[0].dp[2]`. */
  origin: string;
}

/** Options of {@link parseVissJson}. */
export interface ParseVissJsonOptions {
  /** Name of the input in errors (default `<input>`). */
  source?: string;
  /** Input format (default `auto`). */
  format?: VissTextFormat;
  /** Types and checks every datapoint (default: an untyped validator; give one on the VSS catalog to type values). */
  validator?: DatapointValidator;
}

/** Input formats of {@link parseVissJson}. */
export type VissTextFormat = "auto" | "json" | "ndjson";

function jsonSyntax(text: string, e: unknown, source: string, lineOffset: number): ParseError {
  const msg = (e as Error).message;
  let line = 1, column = 1;
  const lc = /line (\d+) column (\d+)/.exec(msg);
  const pos = /position (\d+)/.exec(msg);
  if (lc) {
    line = Number(lc[1]);
    column = Number(lc[2]);
  } else if (pos) {
    const before = text.slice(0, Number(pos[1]));
    line = before.split("\n").length;
    column = before.length - before.lastIndexOf("\n");
  }
  return new ParseError("codec.json", `invalid JSON: ${msg.replace(/ in JSON.*$/, "")}`, {
    source,
    line: line + lineOffset,
    column,
    cause: e,
  });
}

/**
 * Read typed datapoints from VISSv2 JSON or NDJSON; every datapoint goes through `options.validator`. Accepted shapes (also one per NDJSON line): an array of
 * `{path, value, ts}`; a single `{path, value, ts}`; VISSv2 `data` objects `{path, dp}` where `dp` is one
 * `{value, ts}` or an array of them; a message `{"action": …, "data": …}` whose `data` is one of those or an array.
 *
 * @throws ParseError `codec.json` (file:line:column) for syntax errors; PipelineError `codec.shape` naming the JSON
 *   path for wrong shapes; PipelineError with the refusal's code (`datapoint.ts`, `datapoint.type`, …) naming the
 *   origin for the first datapoint the validator refuses
 */
export function parseVissJson(text: string, options: ParseVissJsonOptions = {}): SourcedDatapoint[] {
  const source = options.source ?? "<input>";
  const c: Collector = { validator: options.validator ?? new DatapointValidator(), out: [] };
  let format = options.format ?? "auto";
  if (format === "auto") {
    try {
      const v = jsonParseExact(text);
      collect(v, "", `${source}`, c);
      return c.out;
    } catch (e) {
      if (e instanceof PipelineError) throw e;
      // Several top-level values: NDJSON.
      if (text.trim().split("\n").length > 1) format = "ndjson";
      else throw jsonSyntax(text, e, source, 0);
    }
  }
  if (format === "json") {
    let v: unknown;
    try {
      v = jsonParseExact(text);
    } catch (e) {
      throw jsonSyntax(text, e, source, 0);
    }
    collect(v, "", source, c);
    return c.out;
  }
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    let v: unknown;
    try {
      v = jsonParseExact(line);
    } catch (e) {
      throw jsonSyntax(line, e, source, i);
    }
    collect(v, "", `${source}:${i + 1}`, c);
  }
  return c.out;
}

function shape(where: string, jsonPath: string, msg: string): never {
  const at = `${where}${jsonPath ? ` ${jsonPath}` : ""}`;
  throw new PipelineError("codec.shape", `${at}: ${msg}`, { path: jsonPath || where });
}

function show(v: unknown): string {
  if (typeof v === "bigint") return String(v);
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? String(x) : x))?.slice(0, 80) ?? String(v);
  } catch {
    return String(v);
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

interface Collector {
  readonly validator: DatapointValidator;
  readonly out: SourcedDatapoint[];
}

function add(c: Collector, path: string, dp: Record<string, unknown>, origin: string): void {
  const r = c.validator.accept({ path, value: dp.value, ts: dp.ts }, c.out.length);
  if (!r.ok) {
    throw new PipelineError(r.refusal.code, `${origin}: ${path.slice(0, 80)}: ${r.refusal.reason}`, { path: origin });
  }
  c.out.push({ datapoint: r.datapoint, origin });
}

function collect(v: unknown, jp: string, where: string, c: Collector): void {
  if (Array.isArray(v)) {
    v.forEach((x, i) => collect(x, `${jp}[${i}]`, where, c));
    return;
  }
  if (!isObj(v)) return shape(where, jp, `expected a datapoint object or array, got ${show(v)}`);
  if ("data" in v) return collect(v.data, `${jp}${jp ? "." : ""}data`, where, c);
  if (typeof v.path !== "string") return shape(where, jp, `"path" must be a string, got ${show(v.path)}`);
  const path = v.path;
  if ("dp" in v) {
    const dps = Array.isArray(v.dp) ? v.dp : [v.dp];
    dps.forEach((dp, i) => {
      const p = Array.isArray(v.dp) ? `${jp}${jp ? "." : ""}dp[${i}]` : `${jp}${jp ? "." : ""}dp`;
      if (!isObj(dp)) return shape(where, p, `expected {"value", "ts"}, got ${show(dp)}`);
      add(c, path, dp, `${where} ${p}`);
    });
    return;
  }
  add(c, path, v, jp ? `${where} ${jp}` : where);
}

/** Group typed datapoints VISSv2-style: `{"data": [{"path", "dp": [{"value", "ts"}, …]}, …]}` (first-seen order). */
export function datapointsToVissJson(dps: readonly Datapoint[]): { data: VissDataObject[] } {
  return { data: vissDataObjects(dps) };
}
