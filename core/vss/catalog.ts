/**
 * VSS catalog: the flattened leaves of a VSS JSON tree (as produced by vss-tools
 * `vspec2json`), indexed by dotted path.
 * @module
 */

import { ParseError, PipelineError } from "../errors/mod.ts";

/** VSS scalar datatypes. */
export const VSS_SCALAR_DATATYPES = [
  "boolean",
  "string",
  "int8",
  "int16",
  "int32",
  "int64",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "float",
  "double",
] as const;

/** A VSS scalar datatype. */
export type VssScalarDatatype = typeof VSS_SCALAR_DATATYPES[number];

/** A VSS datatype: a scalar or an array of one (`uint8[]`). */
export type VssDatatype = VssScalarDatatype | `${VssScalarDatatype}[]`;

/** Kind of VSS leaf. */
export type VssLeafType = "sensor" | "actuator" | "attribute";

/** One VSS leaf (sensor, actuator or attribute). */
export interface VssLeaf {
  /** Dotted path, e.g. `Vehicle.Speed`. */
  readonly path: string;
  /** VSS datatype. */
  readonly datatype: VssDatatype;
  /** Leaf kind. */
  readonly type: VssLeafType;
  /** Unit, e.g. `km/h`, when the catalog gives one. */
  readonly unit?: string;
  /** Inclusive minimum, when given. */
  readonly min?: number;
  /** Inclusive maximum, when given. */
  readonly max?: number;
  /** Allowed values, when the catalog restricts them. */
  readonly allowed?: readonly (string | number | boolean)[];
  /** Human description. */
  readonly description?: string;
}

/** A loaded VSS catalog with O(1) lookup by path. */
export interface VssCatalog {
  /** Number of leaves. */
  readonly size: number;
  /** The leaf at `path`, or undefined. */
  get(path: string): VssLeaf | undefined;
  /** Whether a leaf exists at `path`. */
  has(path: string): boolean;
  /** All leaf paths in catalog order. */
  paths(): IterableIterator<string>;
}

const LEAF_TYPES = new Set(["sensor", "actuator", "attribute"]);
const DATATYPES = new Set<string>([...VSS_SCALAR_DATATYPES, ...VSS_SCALAR_DATATYPES.map((d) => `${d}[]`)]);

/** Inclusive value range of each integer datatype. */
export const VSS_INTEGER_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

/** Input accepted by {@link loadVssCatalog} and the mapping compiler: a parsed object, JSON text, a file path or URL. */
export type JsonInput = string | URL | Record<string, unknown>;

/**
 * Read a JSON input: an already parsed object, JSON text (starts with `{`), or a file path/URL.
 * @throws {PipelineError} `<code>.read` when the file cannot be read; {@link ParseError} `<code>.json` on bad JSON.
 */
export function readJsonInput(input: JsonInput, code: string): { json: Record<string, unknown>; source: string } {
  if (typeof input === "object" && !(input instanceof URL)) return { json: input, source: "<object>" };
  let text: string;
  let source: string;
  if (typeof input === "string" && input.trimStart().startsWith("{")) {
    text = input;
    source = "<json>";
  } else {
    source = input instanceof URL ? input.pathname : input;
    try {
      text = Deno.readTextFileSync(input);
    } catch (e) {
      throw new PipelineError(
        `${code}.read`,
        `cannot read ${source}: ${e instanceof Error ? e.message : String(e)}; check the path`,
        { path: source, cause: e },
      );
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const { line, column } = jsonErrorLocation(text, msg);
    throw new ParseError(`${code}.json`, `invalid JSON: ${msg}`, { source, line, column, cause: e });
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new ParseError(`${code}.json`, "expected a JSON object at the top level", { source, line: 1 });
  }
  return { json: json as Record<string, unknown>, source };
}

function jsonErrorLocation(text: string, msg: string): { line: number; column: number } {
  const lc = /line (\d+) column (\d+)/.exec(msg);
  if (lc) return { line: Number(lc[1]), column: Number(lc[2]) };
  const p = /position (\d+)/.exec(msg);
  if (!p) return { line: 1, column: 1 };
  const pos = Number(p[1]);
  const before = text.slice(0, pos);
  const line = before.split("\n").length;
  return { line, column: pos - before.lastIndexOf("\n") };
}

class MapCatalog implements VssCatalog {
  constructor(private readonly leaves: Map<string, VssLeaf>) {}
  get size(): number {
    return this.leaves.size;
  }
  get(path: string): VssLeaf | undefined {
    return this.leaves.get(path);
  }
  has(path: string): boolean {
    return this.leaves.has(path);
  }
  paths(): IterableIterator<string> {
    return this.leaves.keys();
  }
}

/**
 * Walk a VSS JSON tree the way Kuksa's dbcfeeder does and call `visit` for every leaf node.
 * Branches are nodes with `type: "branch"` and `children`; leaves have type sensor, actuator or attribute.
 * Other objects are descended into (that is how top-level keys such as `Vehicle` are reached).
 */
export function walkVssTree(
  root: Record<string, unknown>,
  visit: (path: string, node: Record<string, unknown>) => void,
): void {
  const walk = (name: string, node: unknown, prefix: string) => {
    if (node === null || typeof node !== "object" || Array.isArray(node)) return;
    const n = node as Record<string, unknown>;
    if (n.type === "branch") {
      const children = n.children;
      if (children && typeof children === "object") {
        for (const [k, v] of Object.entries(children)) walk(k, v, `${prefix}${name}.`);
      }
    } else if (typeof n.type === "string" && LEAF_TYPES.has(n.type)) {
      visit(prefix + name, n);
    } else {
      for (const [k, v] of Object.entries(n)) walk(k, v, prefix);
    }
  };
  for (const [k, v] of Object.entries(root)) walk(k, v, "");
}

/**
 * Load a VSS catalog (e.g. `assets/vss/vss_release_4.0.json`) and flatten it to its leaves.
 *
 * @param pathOrJson a file path or URL, JSON text, or an already parsed object
 * @throws {PipelineError} `vss.catalog.read`, `vss.catalog.json` (ParseError), `vss.catalog.invalid`
 * @example
 * ```ts
 * import { loadVssCatalog } from "./catalog.ts";
 * const catalog = loadVssCatalog("assets/vss/vss_release_4.0.json");
 * catalog.get("Vehicle.Speed")?.unit; // "km/h"
 * ```
 */
export function loadVssCatalog(pathOrJson: JsonInput): VssCatalog {
  const { json, source } = readJsonInput(pathOrJson, "vss.catalog");
  const leaves = new Map<string, VssLeaf>();
  walkVssTree(json, (path, n) => {
    const invalid = (what: string) => new PipelineError("vss.catalog.invalid", `${source}: ${path}: ${what}`, { path });
    if (typeof n.datatype !== "string" || !DATATYPES.has(n.datatype)) {
      throw invalid(`unknown datatype ${JSON.stringify(n.datatype)}`);
    }
    const leaf: {
      -readonly [K in keyof VssLeaf]: VssLeaf[K];
    } = { path, datatype: n.datatype as VssDatatype, type: n.type as VssLeafType };
    if (typeof n.unit === "string") leaf.unit = n.unit;
    if (n.min !== undefined) {
      if (typeof n.min !== "number") throw invalid(`min must be a number`);
      leaf.min = n.min;
    }
    if (n.max !== undefined) {
      if (typeof n.max !== "number") throw invalid(`max must be a number`);
      leaf.max = n.max;
    }
    if (n.allowed !== undefined) {
      if (!Array.isArray(n.allowed)) throw invalid(`allowed must be an array`);
      leaf.allowed = n.allowed as (string | number | boolean)[];
    }
    if (typeof n.description === "string") leaf.description = n.description;
    leaves.set(path, leaf);
  });
  if (leaves.size === 0) {
    throw new PipelineError("vss.catalog.invalid", `${source}: no VSS leaves found; is this a VSS JSON file?`, {
      path: source,
    });
  }
  return new MapCatalog(leaves);
}
