/**
 * A VISSv2 WebSocket client source, compatible with the original VEC: it connects to an in-vehicle VISSv2 server,
 * gets the VIN (`Vehicle.VehicleIdentification.VIN`, retried until the server has it), sends the subscribe
 * requests of a `vecRequests.json` file and hands every subscription event's datapoints on.
 *
 * Unlike the original it parses messages as JSON (not by string search), counts and logs error responses and
 * error events instead of forwarding `data: null`, and reconnects with full-jitter exponential backoff and
 * re-subscribes when the socket drops. Event data is read by core/viss (`parseVissData`) through the VEC's one
 * `DatapointValidator`: `onData` gets typed datapoints and the refusals of the bad ones (values the server marks
 * `Data-not-available` are skipped and counted, not refused).
 *
 * @module
 */
import { PipelineError } from "../../core/errors/mod.ts";
import type { Logger } from "../../core/log/mod.ts";
import { silentLogger } from "../../core/log/mod.ts";
import {
  type Datapoint,
  DatapointValidator,
  type RawDatapoint,
  type Refusal,
  type SchemaLeaf,
} from "../../core/datapoint/mod.ts";
import { parseJsonExact, parseVissData } from "../../core/viss/mod.ts";

/** The VSS path of the VIN. */
export const VIN_PATH = "Vehicle.VehicleIdentification.VIN";
/** The value VISSv2 servers send while a signal has no data. */
export const DATA_NOT_AVAILABLE = "Data-not-available";
/** The request id of the VIN get (the original's). */
const VIN_REQUEST_ID = "666";
/** Refusal code of a `Data-not-available` value: skipped, not refused. */
const NOT_AVAILABLE = "viss.not_available";

/** The VEC's validator, with `Data-not-available` values set aside before they are typed. */
class EventValidator extends DatapointValidator {
  readonly #inner: DatapointValidator;
  constructor(inner: DatapointValidator) {
    super();
    this.#inner = inner;
  }
  override leaf(path: string): SchemaLeaf | undefined {
    return this.#inner.leaf(path);
  }
  override accept(raw: RawDatapoint, index: number) {
    if (raw.value === DATA_NOT_AVAILABLE) {
      const path = typeof raw.path === "string" ? raw.path : "";
      return { ok: false as const, refusal: { index, path, code: NOT_AVAILABLE, reason: DATA_NOT_AVAILABLE } };
    }
    return this.#inner.accept(raw, index);
  }
  override check(dp: Datapoint, index: number): Refusal | undefined {
    return this.#inner.check(dp, index);
  }
}

/** A subscribe request from the request file (sent as written). */
export interface VissSubscribeRequest {
  /** Only subscribe requests are supported, as in the original. */
  action: "subscribe";
  /** VSS path (a branch with a `paths` filter for several signals). */
  path: string;
  /** Request id, echoed by the server. */
  requestId: string;
  /** VISSv2 filter(s), sent as written. */
  filter?: unknown;
  /** Other request members, sent as written. */
  [key: string]: unknown;
}

/**
 * Parses a request file in the original format: `{"request": [...]}` or a single request object.
 * Only subscribe requests are supported (as in the original). Each problem names the file and the entry.
 * @throws PipelineError `viss.requests_invalid`
 */
export function parseVissRequests(text: string, options: { source?: string } = {}): VissSubscribeRequest[] {
  const src = options.source ?? "vecRequests.json";
  const bad = (message: string, path = src) => new PipelineError("viss.requests_invalid", message, { path });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad(`${src}: not valid JSON (${(e as Error).message})`);
  }
  const list = json && typeof json === "object" && !Array.isArray(json) && "request" in json
    ? (json as { request: unknown }).request
    : json;
  const entries = Array.isArray(list) ? list : [list];
  if (entries.length === 0) throw bad(`${src}: no requests (expected {"request": [{"action": "subscribe", ...}]})`);
  return entries.map((entry, i) => {
    const at = Array.isArray(list) ? `${src}: request[${i}]` : `${src}: request`;
    if (!entry || typeof entry !== "object" || Array.isArray(entry)) throw bad(`${at}: must be an object`, at);
    const r = entry as Record<string, unknown>;
    if (r.action !== "subscribe") {
      throw bad(`${at}: action must be "subscribe" (got ${JSON.stringify(r.action)}); get/set are not supported`, at);
    }
    if (typeof r.path !== "string" || !/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_*]+)*$/.test(r.path)) {
      throw bad(`${at}: path must be a VSS path such as "Vehicle.Speed"`, at);
    }
    if (r.requestId !== undefined && typeof r.requestId !== "string") {
      throw bad(`${at}: requestId must be a string`, at);
    }
    if (r.filter !== undefined) checkFilter(r.filter, at, bad);
    return { ...r, action: "subscribe", path: r.path, requestId: (r.requestId as string) ?? String(1000 + i) };
  });
}

function checkFilter(filter: unknown, at: string, bad: (m: string, p?: string) => PipelineError): void {
  const list = Array.isArray(filter) ? filter : [filter];
  for (const f of list) {
    if (!f || typeof f !== "object") throw bad(`${at}: filter must be an object or an array of objects`, at);
    const { type } = f as Record<string, unknown>;
    if (typeof type !== "string") throw bad(`${at}: filter.type must be a string (timebased, change, paths, …)`, at);
    // 2022 files use "value", the current spec "parameter": both are accepted and sent as written.
    const o = f as Record<string, unknown>;
    if (o.value === undefined && o.parameter === undefined) {
      throw bad(`${at}: filter of type "${type}" needs "parameter" (or the 2022 key "value")`, at);
    }
  }
}

/** Accepts the original's `-w` value (a host) or a full `ws://` / `wss://` URL. */
export function vissUrl(value: string): string {
  if (/^wss?:\/\//.test(value)) return value;
  if (/^[a-z]+:\/\//i.test(value)) {
    throw new PipelineError("viss.url", `VISSv2 URL must be ws:// or wss://, got "${value}"`);
  }
  return `ws://${value.includes(":") && !value.startsWith("[") ? value : `${value}:8081`}`;
}

/** Options of {@link VissSource}. */
export interface VissSourceOptions {
  /** `ws://host:port` or `wss://…`. */
  url: string;
  /** Subscribe requests, sent in order after the VIN is known. */
  requests: VissSubscribeRequest[];
  /** Receives the typed datapoints of each subscription event and the refusals of its bad ones. */
  onData: (datapoints: Datapoint[], refusals: Refusal[]) => void;
  /** The VEC's validator (default: no schema, every path untyped). */
  validator?: DatapointValidator;
  /** Receives the VIN once the server has it (and again after a reconnect if it changed). */
  onVin?: (vin: string) => void;
  /** HTTP client for `wss://` with a custom CA or a client certificate (`Deno.createHttpClient`). */
  client?: Deno.HttpClient;
  /** Known VIN: the VIN get is skipped. */
  vin?: string;
  /** Wait between VIN gets while the server answers `Data-not-available` (default 10 s, as the original). */
  vinRetryMs?: number;
  /** Wait between subscribe requests (default 13 ms, as the original). */
  requestGapMs?: number;
  /** First reconnect delay bound (default 500 ms). */
  reconnectMinMs?: number;
  /** Largest reconnect delay (default 30 s). */
  reconnectMaxMs?: number;
  /** Structured logger (default: silent). */
  logger?: Logger;
  /** Random source for the jitter (tests). */
  random?: () => number;
}

/** Counters of a {@link VissSource}. */
export interface VissSourceStats {
  /** What the connection is doing. */
  state: "connecting" | "waiting_for_vin" | "subscribed" | "backoff" | "closed";
  /** Connections opened. */
  connects: number;
  /** Connections lost. */
  disconnects: number;
  /** Subscribe requests the server acknowledged. */
  subscriptions: number;
  /** Subscription events with data. */
  events: number;
  /** Datapoints handed on. */
  datapoints: number;
  /** Datapoints refused (bad value or time), handed on as refusals. */
  refused: number;
  /** Values the server marked `Data-not-available` (skipped). */
  notAvailable: number;
  /** Error responses (get/subscribe). */
  errorResponses: number;
  /** Error events of subscriptions (not forwarded). */
  errorEvents: number;
  /** Messages that were not JSON or had bad data. */
  malformed: number;
  /** The last connection error. */
  lastError?: string;
}

/** The VISSv2 WebSocket client (see the module doc). */
export class VissSource {
  #o:
    & Required<Omit<VissSourceOptions, "onVin" | "vin" | "logger" | "random" | "client" | "validator">>
    & VissSourceOptions;
  #validator: EventValidator;
  #log: Logger;
  #ws?: WebSocket;
  #closed = false;
  #vin?: string;
  #loop?: Promise<void>;
  #wake?: () => void;
  #random: () => number;
  readonly #stats: VissSourceStats = {
    state: "connecting",
    connects: 0,
    disconnects: 0,
    subscriptions: 0,
    events: 0,
    datapoints: 0,
    refused: 0,
    notAvailable: 0,
    errorResponses: 0,
    errorEvents: 0,
    malformed: 0,
  };

  /**
   * Creates the source; `start()` connects.
   * @param options see {@link VissSourceOptions}
   */
  constructor(options: VissSourceOptions) {
    this.#o = {
      vinRetryMs: 10_000,
      requestGapMs: 13,
      reconnectMinMs: 500,
      reconnectMaxMs: 30_000,
      ...options,
    };
    this.#vin = options.vin;
    this.#validator = new EventValidator(options.validator ?? new DatapointValidator());
    this.#log = options.logger ?? silentLogger;
    this.#random = options.random ?? Math.random;
  }

  /** Replaces the datapoint receiver. */
  set onData(fn: (datapoints: Datapoint[], refusals: Refusal[]) => void) {
    this.#o.onData = fn;
  }

  /** Replaces the VIN receiver. */
  set onVin(fn: (vin: string) => void) {
    this.#o.onVin = fn;
  }

  /** Starts connecting (and reconnecting) in the background. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** The VIN, once known. */
  get vin(): string | undefined {
    return this.#vin;
  }

  /** A copy of the counters. */
  stats(): VissSourceStats {
    return { ...this.#stats };
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#closed) {
      this.#stats.state = "connecting";
      const connected = await this.#session();
      if (this.#closed) break;
      attempt = connected ? 1 : attempt + 1;
      const ceiling = Math.min(this.#o.reconnectMaxMs, this.#o.reconnectMinMs * 2 ** Math.min(attempt - 1, 20));
      const delay = Math.max(this.#o.reconnectMinMs / 2, this.#random() * ceiling);
      this.#stats.state = "backoff";
      this.#log.warn("VISSv2 connection lost; reconnecting", {
        url: this.#o.url,
        delay_ms: Math.round(delay),
        error: this.#stats.lastError,
      });
      await this.#sleep(delay);
    }
    this.#stats.state = "closed";
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(t);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  /** One connection: resolves when it closes; true if it had opened. */
  #session(): Promise<boolean> {
    return new Promise((resolve) => {
      let opened = false;
      let vinTimer: ReturnType<typeof setTimeout> | undefined;
      const subscribeTimers: ReturnType<typeof setTimeout>[] = [];
      let ws: WebSocket;
      try {
        // Deno's WebSocket takes the same HTTP client as fetch (custom CA, client certificate).
        ws = this.#o.client
          ? new WebSocket(this.#o.url, { client: this.#o.client } as unknown as string[])
          : new WebSocket(this.#o.url);
      } catch (e) {
        this.#stats.lastError = (e as Error).message;
        resolve(false);
        return;
      }
      this.#ws = ws;
      const send = (msg: unknown) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
      };
      const subscribe = () => {
        this.#stats.state = "subscribed";
        this.#o.requests.forEach((r, i) => {
          subscribeTimers.push(setTimeout(() => send(r), i * this.#o.requestGapMs));
        });
      };
      const askVin = () => {
        send({ action: "get", path: VIN_PATH, requestId: VIN_REQUEST_ID });
      };
      ws.onopen = () => {
        opened = true;
        this.#stats.connects++;
        this.#log.info("VISSv2 connected", { url: this.#o.url });
        if (this.#vin) subscribe();
        else {
          this.#stats.state = "waiting_for_vin";
          askVin();
        }
      };
      ws.onmessage = (ev) => {
        let msg: Record<string, unknown>;
        try {
          // Exact: integers beyond 2^53 keep their digits (bigint) for 64-bit VSS leaves.
          msg = parseJsonExact(typeof ev.data === "string" ? ev.data : new TextDecoder().decode(ev.data)) as Record<
            string,
            unknown
          >;
          if (!msg || typeof msg !== "object") throw new Error("not an object");
        } catch (e) {
          this.#stats.malformed++;
          this.#log.warn("VISSv2 message is not JSON; ignored", { error: (e as Error).message });
          return;
        }
        const action = msg.action;
        if (msg.error !== undefined) {
          const err = msg.error as Record<string, unknown>;
          if (action === "subscription") this.#stats.errorEvents++;
          else this.#stats.errorResponses++;
          this.#log.warn("VISSv2 error", {
            action,
            requestId: msg.requestId,
            subscriptionId: msg.subscriptionId,
            ...err,
          });
          if (action === "get" && msg.requestId === VIN_REQUEST_ID && !this.#vin) {
            vinTimer = setTimeout(askVin, this.#o.vinRetryMs);
          }
          return;
        }
        if (action === "get" && msg.requestId === VIN_REQUEST_ID) {
          const vin = vinFrom(msg.data);
          if (!vin) {
            this.#log.info("VIN not available yet; asking again", { retry_ms: this.#o.vinRetryMs });
            vinTimer = setTimeout(askVin, this.#o.vinRetryMs);
            return;
          }
          if (vin !== this.#vin) {
            this.#vin = vin;
            this.#o.onVin?.(vin);
          }
          subscribe();
          return;
        }
        if (action === "subscribe") {
          this.#stats.subscriptions++;
          return;
        }
        if (action === "subscription") {
          this.#event(msg.data);
          return;
        }
        this.#stats.malformed++;
      };
      ws.onerror = (ev) => {
        this.#stats.lastError = (ev as ErrorEvent).message ?? "WebSocket error";
      };
      ws.onclose = () => {
        if (vinTimer !== undefined) clearTimeout(vinTimer);
        for (const t of subscribeTimers) clearTimeout(t);
        if (opened) this.#stats.disconnects++;
        this.#ws = undefined;
        resolve(opened);
      };
    });
  }

  /** One subscription event's data: typed datapoints and refusals to `onData`. */
  #event(data: unknown): void {
    let parsed;
    try {
      parsed = parseVissData(data, this.#validator);
    } catch (e) {
      this.#stats.malformed++;
      this.#log.warn("VISSv2 event with bad data; ignored", { error: (e as Error).message });
      return;
    }
    const refused = parsed.refusals.filter((r) => r.code !== NOT_AVAILABLE);
    this.#stats.events++;
    this.#stats.datapoints += parsed.datapoints.length;
    this.#stats.refused += refused.length;
    this.#stats.notAvailable += parsed.refusals.length - refused.length;
    if (parsed.datapoints.length > 0 || refused.length > 0) this.#o.onData(parsed.datapoints, refused);
  }

  /** Closes the socket and stops reconnecting. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    this.#ws?.close();
    await this.#loop;
    this.#stats.state = "closed";
  }
}

/** The VIN in a get response's data (`{path, dp: {value}}`, or an array of those), if the server has it. */
function vinFrom(data: unknown): string | undefined {
  const objects = Array.isArray(data) ? data : [data];
  const obj = objects.find((o) => o?.path === VIN_PATH) ?? objects[0];
  const dp = Array.isArray(obj?.dp) ? obj.dp[0] : obj?.dp;
  const value = dp?.value;
  if (typeof value !== "string" || value === DATA_NOT_AVAILABLE || value.trim() === "") return undefined;
  return value;
}
