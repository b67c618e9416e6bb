/**
 * OBD-II on the VEC: the `obd` section of `config.json`, and a runner that polls the ECUs (core/obd) over a CAN link
 * and feeds the values into the same pipeline and sinks as the DBC decoder (VISSv2 datapoints on their VSS paths),
 * with DTC changes and derived diagnostics handed to `onEvent` (for the MQTT sink's `diagnostics/*` topics).
 *
 * ```json
 * "obd": {
 *   "enabled": true,
 *   "interface": "can0",
 *   "ecus": [0],
 *   "rates": { "engine_rpm": 100, "coolant_temp": 1000 },
 *   "dtc_interval_ms": 10000,
 *   "max_requests_per_second": 50
 * }
 * ```
 *
 * @module
 */
import { z } from "zod";
import type { CanLink } from "../core/isotp/mod.ts";
import { PipelineError } from "../core/errors/mod.ts";
import type { Logger } from "../core/log/mod.ts";
import {
  type DiagnosticsEvent,
  ObdClient,
  ObdPoller,
  type ObdPollerStats,
  pidDatapoints,
  pidDef,
  VSS_DTC_LIST,
  VSS_VIN,
} from "../core/obd/mod.ts";
import type { VissDatapoint } from "./sinks/types.ts";
import { filtersForIds, SocketCanLink, SocketCanReader } from "./sources/mod.ts";

const pidKey = z.union([z.number().int().min(0).max(255), z.string().min(1)]);

/** The schema of the `obd` section. */
export const obdConfigSchema = z.strictObject({
  /** Poll OBD-II PIDs and DTCs. */
  enabled: z.boolean().default(false),
  /** SocketCAN interface (default: `can.interface`). */
  interface: z.string().min(1).optional(),
  /** ECUs to poll: numbers 0-7 (11-bit, 0x7E0+n) or addresses (29-bit, e.g. 16 for 0x18DA10F1). */
  ecus: z.array(z.number().int().min(0).max(255)).min(1).default([0]),
  /** 29-bit addressing (0x18DB33F1 / 0x18DAxxF1). */
  extended: z.boolean().default(false),
  /** PIDs to poll by name or number; default: every known PID the ECU supports. */
  pids: z.array(pidKey).optional(),
  /** Polling interval per PID in ms, by name or number (defaults: rpm 100, coolant 1000, …). */
  rates: z.record(z.string(), z.number().int().min(10)).optional(),
  /** DTC read interval in ms (0 disables). */
  dtc_interval_ms: z.number().int().min(0).default(10_000),
  /** DTC services: 3 stored, 7 pending, 10 permanent. */
  dtc_services: z.array(z.union([z.literal(3), z.literal(7), z.literal(10)])).default([3, 7]),
  /** Bus-load limit over all ECUs. */
  max_requests_per_second: z.number().positive().max(1000).default(50),
  /** Response timeout (P2) in ms. */
  p2_ms: z.number().int().min(1).default(250),
  /** Consecutive failures before `diagnostics/health` says `no_response`. */
  failure_threshold: z.number().int().min(1).default(3),
  /** Read the VIN (service 09) at start. */
  read_vin: z.boolean().default(true),
});

/** A validated `obd` section. */
export type ObdConfig = z.infer<typeof obdConfigSchema>;

/**
 * Validate the `obd` section.
 * @throws PipelineError `config.invalid` naming the first bad key (`obd.rates.engine_rpm`, …)
 */
export function parseObdConfig(input: unknown, options: { source?: string } = {}): ObdConfig {
  const r = obdConfigSchema.safeParse(input ?? {});
  const where = options.source ?? "config";
  if (!r.success) {
    const issues = r.error.issues.map((i) => `obd.${i.path.join(".")}: ${i.message}`);
    const first = ["obd", ...(r.error.issues[0]?.path ?? [])].join(".");
    throw new PipelineError("config.invalid", `${where}: ${issues.join("; ")}`, { path: first });
  }
  const cfg = r.data;
  try {
    for (const p of cfg.pids ?? []) pidDef(p);
    for (const k of Object.keys(cfg.rates ?? {})) pidDef(/^\d+$/.test(k) ? Number(k) : k);
    if (!cfg.extended) {
      for (const e of cfg.ecus) {
        if (e > 7) throw new PipelineError("obd.ecu", `ECU ${e}: 11-bit OBD ECUs are numbered 0-7`);
      }
    }
  } catch (e) {
    const err = e as PipelineError;
    throw new PipelineError("config.invalid", `${where}: obd: ${err.message}`, { path: "obd", cause: e });
  }
  return cfg;
}

/** Options of {@link startObd}. */
export interface StartObdOptions {
  /** The CAN link (a {@link SocketCanLink}, or an in-memory bus in tests). */
  link: CanLink;
  /** Receives the datapoints of every poll (pipeline `inject`). */
  inject: (datapoints: VissDatapoint[]) => void;
  /** DTC events (QoS 1), error count and health for the `diagnostics/*` topics. */
  onEvent?: (event: DiagnosticsEvent) => void;
  /** Called with the VIN read over OBD. */
  onVin?: (vin: string) => void;
  /** Logger for request failures and state changes. */
  log?: Logger;
}

/** A running OBD poller. */
export interface ObdHandle {
  /** Counters, active DTCs and health. */
  stats(): ObdPollerStats;
  /** Stop polling and release the clients (not the link). */
  stop(): Promise<void>;
}

function iso(tsSeconds: number): string {
  return new Date(Math.round(tsSeconds * 1000)).toISOString();
}

/** Start polling the configured ECUs over `options.link`. */
export function startObd(config: ObdConfig, options: StartObdOptions): ObdHandle {
  const clients = config.ecus.map((ecu) =>
    new ObdClient(options.link, { ecu, extended: config.extended, p2Ms: config.p2_ms })
  );
  const poller = new ObdPoller(clients, {
    pids: config.pids,
    rates: config.rates,
    dtcIntervalMs: config.dtc_interval_ms,
    dtcServices: config.dtc_services as (0x03 | 0x07 | 0x0a)[],
    maxRequestsPerSecond: config.max_requests_per_second,
    failureThreshold: config.failure_threshold,
    log: options.log,
    onSample: (s) => {
      options.inject(
        pidDatapoints(s.pid, s.value, s.timestamp).map((d) => ({
          path: d.path,
          value: String(d.value),
          ts: iso(d.timestamp),
        })),
      );
    },
    onEvent: (e) => {
      if (e.topic === VSS_DTC_LIST) {
        options.inject([{ path: VSS_DTC_LIST, value: JSON.stringify(e.value), ts: iso(e.timestamp) }]);
        return;
      }
      options.onEvent?.(e);
    },
  });
  let stopped = false;
  const vinRead = config.read_vin
    ? clients[0].readVin().then((vin) => {
      if (stopped || !vin) return;
      options.log?.info("VIN over OBD-II", { vin });
      options.inject([{ path: VSS_VIN, value: vin, ts: new Date().toISOString() }]);
      options.onVin?.(vin);
    }).catch((e) => options.log?.warn("VIN read over OBD-II failed", { error: (e as Error).message }))
    : Promise.resolve();
  // The VIN request goes first (requests to one ECU are serialized), then polling starts.
  poller.start();
  return {
    stats: () => poller.stats(),
    async stop() {
      stopped = true;
      await poller.stop();
      for (const c of clients) c.close();
      await vinRead;
    },
  };
}

/**
 * Open a SocketCAN link for OBD-II on `iface` with kernel filters for the response IDs (0x7E8-0x7EF, or
 * 0x18DAF1xx for the configured 29-bit ECUs).
 */
export function openObdLink(iface: string, config: Pick<ObdConfig, "ecus" | "extended">): SocketCanLink {
  const ids = config.extended
    ? config.ecus.map((e) => ({ id: 0x18daf100 | e, extended: true }))
    : [0, 1, 2, 3, 4, 5, 6, 7].map((n) => ({ id: 0x7e8 + n, extended: false }));
  return new SocketCanLink(SocketCanReader.open(iface, { filters: filtersForIds(ids) }));
}
