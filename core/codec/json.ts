/**
 * VISSv2 JSON / NDJSON ⇄ datapoints, for the CLI and for services that accept both encodings.
 * @module
 */
import { ParseError, PipelineError } from "../errors/mod.ts";
import type { Datapoint } from "../viss/mod.ts";

/** A datapoint read from text, with where it came from (for error messages). */
export interface SourcedDatapoint {
  /** The datapoint; `value` may be a string array for `T[]` signals. */
  datapoint: { path: string; value: string | string[]; ts: string };
  /** `file:line` plus a JSON path, e.g. `in.json:1 data[0].dp[2]`. */
  origin: string;
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
 * Read datapoints from VISSv2 JSON or NDJSON. Accepted shapes (also one per NDJSON line): an array of
 * `{path, value, ts}`; a single `{path, value, ts}`; VISSv2 `data` objects `{path, dp}` where `dp` is one
 * `{value, ts}` or an array of them; a message `{"action": …, "data": …}` whose `data` is one of those or an array.
 *
 * @throws ParseError `codec.json` (file:line:column) for syntax errors; PipelineError `codec.shape` naming the JSON
 *   path for wrong shapes
 */
export function parseVissJson(
  text: string,
  options: { source?: string; format?: VissTextFormat } = {},
): SourcedDatapoint[] {
  const source = options.source ?? "<input>";
  let format = options.format ?? "auto";
  if (format === "auto") {
    try {
      const v = JSON.parse(text);
      const out: SourcedDatapoint[] = [];
      collect(v, "", `${source}`, out);
      return out;
    } catch (e) {
      if (e instanceof PipelineError) throw e;
      // Several top-level values: NDJSON.
      if (text.trim().split("\n").length > 1) format = "ndjson";
      else throw jsonSyntax(text, e, source, 0);
    }
  }
  const out: SourcedDatapoint[] = [];
  if (format === "json") {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw jsonSyntax(text, e, source, 0);
    }
    collect(v, "", source, out);
    return out;
  }
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw jsonSyntax(line, e, source, i);
    }
    collect(v, "", `${source}:${i + 1}`, out);
  }
  return out;
}

function shape(where: string, jsonPath: string, msg: string): never {
  const at = `${where}${jsonPath ? ` ${jsonPath}` : ""}`;
  throw new PipelineError("codec.shape", `${at}: ${msg}`, { path: jsonPath || where });
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function collect(v: unknown, jp: string, where: string, out: SourcedDatapoint[]): void {
  if (Array.isArray(v)) {
    v.forEach((x, i) => collect(x, `${jp}[${i}]`, where, out));
    return;
  }
  if (!isObj(v)) return shape(where, jp, `expected a datapoint object or array, got ${JSON.stringify(v)}`);
  if ("data" in v) return collect(v.data, `${jp}${jp ? "." : ""}data`, where, out);
  if (typeof v.path !== "string") return shape(where, jp, `"path" must be a string, got ${JSON.stringify(v.path)}`);
  const path = v.path;
  if ("dp" in v) {
    const dps = Array.isArray(v.dp) ? v.dp : [v.dp];
    dps.forEach((dp, i) => {
      const p = Array.isArray(v.dp) ? `${jp}${jp ? "." : ""}dp[${i}]` : `${jp}${jp ? "." : ""}dp`;
      if (!isObj(dp)) return shape(where, p, `expected {"value", "ts"}, got ${JSON.stringify(dp)}`);
      out.push({
        datapoint: { path, value: checkValue(dp.value, where, p), ts: checkTs(dp.ts, where, p) },
        origin: `${where} ${p}`,
      });
    });
    return;
  }
  out.push({
    datapoint: { path, value: checkValue(v.value, where, jp), ts: checkTs(v.ts, where, jp) },
    origin: jp ? `${where} ${jp}` : where,
  });
}

function checkValue(value: unknown, where: string, jp: string): string | string[] {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return value.map((x) => (typeof x === "string" ? x : JSON.stringify(x)));
  return shape(where, `${jp}${jp ? "." : ""}value`, `expected a string, got ${JSON.stringify(value)}`);
}

function checkTs(ts: unknown, where: string, jp: string): string {
  if (typeof ts === "string") return ts;
  return shape(where, `${jp}${jp ? "." : ""}ts`, `expected an ISO 8601 string, got ${JSON.stringify(ts)}`);
}

/** Group datapoints VISSv2-style: `{"data": [{"path", "dp": [{"value", "ts"}, …]}, …]}` (first-seen path order). */
export function datapointsToVissJson(
  dps: readonly Datapoint[],
): { data: Array<{ path: string; dp: Array<{ value: string | string[]; ts: string }> }> } {
  const by = new Map<string, Array<{ value: string | string[]; ts: string }>>();
  for (const d of dps) {
    let list = by.get(d.path);
    if (!list) by.set(d.path, list = []);
    list.push({ value: d.value, ts: d.ts });
  }
  return { data: [...by].map(([path, dp]) => ({ path, dp })) };
}
