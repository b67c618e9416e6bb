import { PipelineError } from "../core/errors/mod.ts";

/** One VSS→cloud mapping entry (`VssGeotabMap.json` item). */
export interface DataMapItem {
  /** VSS path, e.g. `Vehicle.Speed`. */
  VssPath: string;
  /** `GenericStatusRecord`, `GpsRecord` or `VinRecord`. */
  CloudType: string;
  /** Record field: `Code`, `Latitude`, `Longitude`, `VehicleIdentificationNumber`. */
  CloudKey: string;
  /** For GenericStatusRecord: the status code. */
  CloudValue?: string;
}

/** The default data map shipped with the CESC. */
export const DEFAULT_DATAMAP_URL: URL = new URL("../assets/cesc/vss_geotab_map.json", import.meta.url);

const TYPES = new Set(["GenericStatusRecord", "GpsRecord", "VinRecord"]);

/**
 * Parses a data map `{"DataMap": [items] | item}`. As in the original, any extra string key of an item is
 * taken as `CloudValue`. Throws `datamap.invalid` with the JSON path of the first problem.
 */
export function parseDataMap(json: string, source = "datamap"): Map<string, DataMapItem> {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (e) {
    throw new PipelineError("datamap.invalid", `${source}: invalid JSON: ${(e as Error).message}`, { path: source });
  }
  const raw = (doc as { DataMap?: unknown })?.DataMap;
  const items = Array.isArray(raw) ? raw : raw && typeof raw === "object" ? [raw] : null;
  if (!items || items.length === 0) {
    throw new PipelineError("datamap.invalid", `${source}: expected {"DataMap": [...]} with at least one item`, {
      path: "DataMap",
    });
  }
  const out = new Map<string, DataMapItem>();
  items.forEach((it, i) => {
    const at = `DataMap[${i}]`;
    const o = it as Record<string, unknown>;
    if (typeof o?.VssPath !== "string" || typeof o.CloudType !== "string" || typeof o.CloudKey !== "string") {
      throw new PipelineError("datamap.invalid", `${source}: ${at} needs string VssPath, CloudType and CloudKey`, {
        path: at,
      });
    }
    if (!TYPES.has(o.CloudType)) {
      throw new PipelineError(
        "datamap.invalid",
        `${source}: ${at}.CloudType "${o.CloudType}" is not one of ${[...TYPES].join(", ")}`,
        { path: `${at}.CloudType` },
      );
    }
    let value: string | undefined;
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === "string" && k !== "VssPath" && k !== "CloudType" && k !== "CloudKey") value = v;
    }
    if (o.CloudType === "GenericStatusRecord" && !(value && /^\d+$/.test(value))) {
      throw new PipelineError("datamap.invalid", `${source}: ${at} (GenericStatusRecord) needs an integer CloudValue`, {
        path: `${at}.CloudValue`,
      });
    }
    out.set(o.VssPath, { VssPath: o.VssPath, CloudType: o.CloudType, CloudKey: o.CloudKey, CloudValue: value });
  });
  return out;
}

/** Reads and parses a data map file (default: the shipped `assets/cesc/vss_geotab_map.json`). */
export async function loadDataMap(path?: string | URL): Promise<Map<string, DataMapItem>> {
  const where = path ?? DEFAULT_DATAMAP_URL;
  let text: string;
  try {
    text = await Deno.readTextFile(where);
  } catch (e) {
    throw new PipelineError("datamap.read", `cannot read data map ${where}: ${(e as Error).message}`, { cause: e });
  }
  return parseDataMap(text, String(where));
}
