/**
 * A tiny VSS catalog lookup: signal path → VSS datatype, read from a VSS JSON export (vss-tools `vspec2json`, e.g.
 * `assets/vss/vss_release_4.0.json`).
 * @module
 */
import { PipelineError } from "../errors/mod.ts";

/** Anything that can tell the VSS datatype of a signal path. */
export interface DatatypeCatalog {
  /** The VSS datatype of `path` (e.g. `float`, `uint8`, `string[]`), or undefined when unknown. */
  datatypeOf(path: string): string | undefined;
}

/** The shape of `VssCatalog` from `core/vss` that this module needs (accepted wherever a catalog is). */
export interface VssCatalogLike {
  /** The leaf at `path`, or undefined. */
  get(path: string): { readonly datatype: string } | undefined;
}

/** A {@link DatatypeCatalog} or a `core/vss` `VssCatalog`. */
export type CatalogLike = DatatypeCatalog | VssCatalogLike;

/** Adapt a `core/vss` catalog (or pass a {@link DatatypeCatalog} through). */
export function toDatatypeCatalog(catalog: CatalogLike): DatatypeCatalog {
  if ("datatypeOf" in catalog) return catalog;
  return { datatypeOf: (path) => catalog.get(path)?.datatype };
}

/**
 * A catalog as the schema of a `core/datapoint` `DatapointValidator` (`get(path) → {datatype}`); a `core/vss`
 * `VssCatalog` already is one (with min/max/allowed) and is passed through.
 */
export function catalogSchema(catalog: CatalogLike): VssCatalogLike {
  if ("get" in catalog) return catalog;
  return {
    get: (path) => {
      const datatype = catalog.datatypeOf(path);
      return datatype === undefined ? undefined : { datatype };
    },
  };
}

/** Default catalog file, shipped in `assets/`. */
export const DEFAULT_VSS_CATALOG = new URL("../../assets/vss/vss_release_4.0.json", import.meta.url);

class MapCatalog implements DatatypeCatalog {
  constructor(readonly map: ReadonlyMap<string, string>) {}
  datatypeOf(path: string): string | undefined {
    return this.map.get(path);
  }
}

/** A catalog from a plain path → datatype map (tests, or a catalog loaded elsewhere). */
export function catalogFromMap(entries: ReadonlyMap<string, string> | Record<string, string>): DatatypeCatalog {
  return new MapCatalog(entries instanceof Map ? entries : new Map(Object.entries(entries)));
}

/**
 * Build a catalog from a parsed VSS JSON tree (`{"Vehicle": {"type": "branch", "children": {...}}}`).
 * Every node with a `datatype` becomes an entry under its dotted path.
 */
export function catalogFromVssTree(tree: unknown): DatatypeCatalog {
  const map = new Map<string, string>();
  const walk = (node: Record<string, unknown>, prefix: string) => {
    for (const [name, child] of Object.entries(node)) {
      if (!child || typeof child !== "object") continue;
      const c = child as Record<string, unknown>;
      const path = prefix ? `${prefix}.${name}` : name;
      if (typeof c.datatype === "string") map.set(path, c.datatype);
      if (c.children && typeof c.children === "object") walk(c.children as Record<string, unknown>, path);
    }
  };
  if (!tree || typeof tree !== "object") {
    throw new PipelineError("codec.catalog", "VSS catalog: expected a JSON object with the tree root (e.g. Vehicle)");
  }
  walk(tree as Record<string, unknown>, "");
  return new MapCatalog(map);
}

const loaded = new Map<string, DatatypeCatalog>();

/**
 * Read a VSS JSON file into a catalog (cached per file). Needs read permission for the file.
 *
 * @param file path or URL; default {@link DEFAULT_VSS_CATALOG}
 * @throws PipelineError `codec.catalog` when the file is missing or not VSS JSON
 */
export function loadDatatypeCatalog(file: string | URL = DEFAULT_VSS_CATALOG): DatatypeCatalog {
  const key = String(file);
  let cat = loaded.get(key);
  if (cat) return cat;
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (cause) {
    throw new PipelineError("codec.catalog", `cannot read VSS catalog ${key}: ${(cause as Error).message}`, {
      path: key,
      cause,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new PipelineError("codec.catalog", `VSS catalog ${key} is not JSON: ${(cause as Error).message}`, {
      path: key,
      cause,
    });
  }
  cat = catalogFromVssTree(json);
  loaded.set(key, cat);
  return cat;
}
