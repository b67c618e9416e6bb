import type { Logger } from "../../core/log/mod.ts";
import { PipelineError } from "../../core/errors/mod.ts";
import type { StoredRow } from "../../core/ovds/mod.ts";
import type { DataMapItem } from "../datamap.ts";
import { deliver, type OutRecord, postJson } from "./delivery.ts";
import { type ForwardBackend, RetryableError, type SendOutcome } from "./types.ts";

/** DIG credentials: from the environment or a JSON file, never from flags. */
export interface DigCredentials {
  /** DIG user name. */
  username: string;
  /** DIG password. */
  password: string;
  /** Default device serial number (`SerialNo`) provisioned in MyAdmin. */
  serialNo?: string;
  /** Serial number per VIN, overriding `serialNo`. */
  serials?: Record<string, string>;
}

/** Options for {@link createDigBackend}. */
export interface DigBackendOptions {
  /** Base URL (default `https://dig.geotab.com:443`). */
  baseUrl?: string;
  /** Credentials. */
  credentials: DigCredentials;
  /** VSS path → mapping item. */
  dataMap: Map<string, DataMapItem>;
  /** Most records per call (DIG: 5000). */
  maxRecords?: number;
  /** Most body bytes per call (default 4 MiB). */
  maxBytes?: number;
  /** Logger (tokens are never logged). */
  log?: Logger;
  /** Called for each skipped row with the reason (`unmapped`, `value`, `gps_pending`). */
  onSkip?: (reason: string, count: number) => void;
}

/** Loads DIG credentials from `CESC_DIG_CREDENTIALS` (a JSON file) or `CESC_DIG_USERNAME`/`CESC_DIG_PASSWORD`/`CESC_DIG_SERIAL`. */
export async function loadDigCredentials(file?: string): Promise<DigCredentials> {
  const path = file ?? Deno.env.get("CESC_DIG_CREDENTIALS");
  if (path) {
    let c: DigCredentials;
    try {
      c = JSON.parse(await Deno.readTextFile(path));
    } catch (e) {
      throw new PipelineError("dig.credentials", `cannot read DIG credentials file ${path}: ${(e as Error).message}`);
    }
    if (typeof c?.username !== "string" || typeof c.password !== "string") {
      throw new PipelineError("dig.credentials", `${path}: needs string "username" and "password"`);
    }
    return c;
  }
  const username = Deno.env.get("CESC_DIG_USERNAME");
  const password = Deno.env.get("CESC_DIG_PASSWORD");
  if (!username || !password) {
    throw new PipelineError(
      "dig.credentials",
      "DIG backend needs credentials: set CESC_DIG_USERNAME and CESC_DIG_PASSWORD (and CESC_DIG_SERIAL), or --credentials FILE",
    );
  }
  return { username, password, serialNo: Deno.env.get("CESC_DIG_SERIAL") };
}

interface Token {
  bearer: string;
  refresh: string;
  expiresAt: number;
}

interface GpsHalf {
  value: number;
  row: StoredRow;
}

interface VehicleState {
  speed: number;
  ignition: boolean;
  lat: Map<string, GpsHalf>;
  long: Map<string, GpsHalf>;
}

const IGNITION_PATH = "Vehicle.LowVoltageSystemState";
const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const MAX_PENDING_GPS = 1000;

function parseExpiry(s: unknown): number {
  if (typeof s !== "string") return Date.now() + 25 * 60_000;
  // DIG examples carry no zone ("2019-07-26T00:00:10"): read them as UTC.
  const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : s + "Z");
  return Number.isFinite(t) ? t : Date.now() + 25 * 60_000;
}

/** GenericStatusRecord `Value` (an integer), or undefined when the value cannot be converted. */
export function statusValue(path: string, value: string): number | undefined {
  if (path === IGNITION_PATH) {
    if (value === "ON" || value === "START") return 1;
    if (value === "OFF" || value === "LOCK" || value === "ACC" || value === "UNDEFINED") return 0;
  }
  if (value === "true") return 1;
  if (value === "false") return 0;
  if (!NUMERIC.test(value)) return undefined;
  const n = Math.trunc(Number(value));
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Geotab Data Intake Gateway backend: authenticate / refresh-token, records per the data map
 * (GenericStatusRecord, GpsRecord from lat/long pairs with equal timestamps per vehicle, VinRecord),
 * ≤ 5000 records and a byte limit per call, split on 413, re-auth on 401, rejected records
 * (400) isolated and dead-lettered, unmapped paths skipped and counted.
 */
export function createDigBackend(options: DigBackendOptions): ForwardBackend {
  const base = (options.baseUrl ?? "https://dig.geotab.com:443").replace(/\/$/, "");
  const creds = options.credentials;
  const limits = { maxRecords: Math.min(options.maxRecords ?? 5000, 5000), maxBytes: options.maxBytes ?? 4 << 20 };
  const vehicles = new Map<string, VehicleState>();
  let token: Token | undefined;
  let state = "idle";
  const skip = (reason: string, n: number) => options.onSkip?.(reason, n);

  const readToken = async (path: string, body: unknown): Promise<Token | number> => {
    const ans = await postJson(base + path, JSON.stringify(body));
    if (ans.status < 200 || ans.status >= 300) return ans.status;
    try {
      const d = JSON.parse(ans.body).Data;
      const bearer = d?.BearerToken?.TokenString;
      if (typeof bearer !== "string" || !bearer) return 502;
      return {
        bearer,
        refresh: String(d.RefreshToken?.TokenString ?? ""),
        expiresAt: parseExpiry(d.BearerToken.Expires),
      };
    } catch {
      return 502;
    }
  };

  const authenticate = async (): Promise<Token> => {
    const t = await readToken("/authentication/authenticate", { Username: creds.username, Password: creds.password });
    if (typeof t === "number") {
      state = "auth_failed";
      throw new RetryableError(
        t === 429 ? "http_429" : t >= 500 ? "http_5xx" : "auth",
        `DIG authenticate answered ${t}`,
      );
    }
    options.log?.info("DIG authenticated", { expiresAt: new Date(t.expiresAt).toISOString() });
    return token = t;
  };

  const currentToken = async (): Promise<Token> => {
    if (!token) return await authenticate();
    if (Date.now() < token.expiresAt - 5 * 60_000) return token;
    const t = token.refresh
      ? await readToken("/authentication/refresh-token", { BearerToken: token.bearer, RefreshToken: token.refresh })
      : 401;
    if (typeof t === "number") return await authenticate(); // 401/403: refresh token spent or unknown
    options.log?.info("DIG token refreshed");
    return token = t;
  };

  const post = async (body: string) => {
    let t = await currentToken();
    let ans = await postJson(base + "/records", body, { headers: { authorization: `Bearer ${t.bearer}` } });
    if (ans.status === 401) {
      token = undefined;
      t = await authenticate();
      ans = await postJson(base + "/records", body, { headers: { authorization: `Bearer ${t.bearer}` } });
    }
    return ans;
  };

  const toRecords = (
    vin: string,
    rows: readonly StoredRow[],
  ): { records: OutRecord[]; skipped: number; next: VehicleState; skips: Record<string, number> } => {
    const serial = creds.serials?.[vin] ?? creds.serialNo;
    if (!serial) throw new PipelineError("dig.serial", `no DIG SerialNo for vehicle ${vin}: set serialNo or serials`);
    // Work on a copy: the pairing state is kept only when the call succeeds, so a retry pairs again.
    const prev = vehicles.get(vin);
    const v: VehicleState = prev
      ? { speed: prev.speed, ignition: prev.ignition, lat: new Map(prev.lat), long: new Map(prev.long) }
      : { speed: 0, ignition: false, lat: new Map(), long: new Map() };
    const records: OutRecord[] = [];
    const skips: Record<string, number> = {};
    let skipped = 0;
    for (const r of rows) {
      const m = options.dataMap.get(r.path);
      if (r.path === "Vehicle.Speed") {
        const s = Number(r.value);
        if (Number.isFinite(s)) v.speed = s;
      }
      if (r.path === IGNITION_PATH) v.ignition = r.value === "ON" || r.value === "START";
      if (!m) {
        skipped++;
        skips["unmapped"] = (skips["unmapped"] ?? 0) + 1;
        continue;
      }
      const head = { DateTime: r.ts, SerialNo: serial, Type: m.CloudType };
      if (m.CloudType === "GenericStatusRecord") {
        const value = statusValue(r.path, r.value);
        if (value === undefined) {
          skipped++;
          skips["value"] = (skips["value"] ?? 0) + 1;
          continue;
        }
        records.push({ json: JSON.stringify({ ...head, Code: Number(m.CloudValue), Value: value }), rows: [r] });
      } else if (m.CloudType === "VinRecord") {
        records.push({ json: JSON.stringify({ ...head, [m.CloudKey]: r.value }), rows: [r] });
      } else {
        const n = Number(r.value);
        if (!NUMERIC.test(r.value) || !Number.isFinite(n)) {
          skipped++;
          skips["value"] = (skips["value"] ?? 0) + 1;
          continue;
        }
        const isLat = m.CloudKey === "Latitude";
        const mine = isLat ? v.lat : v.long;
        const other = isLat ? v.long : v.lat;
        const pair = other.get(r.ts);
        if (!pair) {
          if (mine.size >= MAX_PENDING_GPS) mine.delete(mine.keys().next().value!);
          mine.set(r.ts, { value: n, row: r });
          skipped++;
          skips["gps_pending"] = (skips["gps_pending"] ?? 0) + 1;
          continue;
        }
        other.delete(r.ts);
        const rec = {
          ...head,
          IsGpsValid: true,
          IsIgnitionOn: v.ignition,
          Latitude: isLat ? n : pair.value,
          Longitude: isLat ? pair.value : n,
          Speed: v.speed,
        };
        // The earlier half was counted as skipped when it arrived; this record carries both rows.
        records.push({ json: JSON.stringify(rec), rows: [r] });
      }
    }
    return { records, skipped, next: v, skips };
  };

  return {
    name: "dig",
    async send(vin: string, rows: readonly StoredRow[]): Promise<SendOutcome> {
      const { records, skipped, next, skips } = toRecords(vin, rows);
      const commit = () => {
        vehicles.set(vin, next);
        for (const k in skips) skip(k, skips[k]);
      };
      if (records.length === 0) {
        commit();
        return { delivered: 0, rejected: [], skipped };
      }
      try {
        const res = await deliver(records, post, limits);
        commit();
        state = "ok";
        return { ...res, skipped };
      } catch (e) {
        if (e instanceof RetryableError && state !== "auth_failed") state = "retrying";
        throw e;
      }
    },
    state: () => state,
    close: () => Promise.resolve(),
  };
}
