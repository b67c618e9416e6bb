/**
 * OBD-II on the VEC: a runner that polls the ECUs (core/obd) over a CAN link and feeds the values into the same
 * pipeline, validation and sinks as the DBC decoder (typed datapoints on their VSS paths), with DTC changes and derived
 * diagnostics handed to `onEvent` as typed {@link VecEvent}s (the uplinks' `diagnostics/*` topics). The `obd` section
 * of `config.json` is `vec/obd_config.ts` (re-exported here).
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
import type { CanLink } from "../core/isotp/mod.ts";
import type { Datapoint } from "../core/datapoint/mod.ts";
import type { Logger } from "../core/log/mod.ts";
import {
  type DiagnosticsEvent,
  ObdClient,
  ObdPoller,
  type ObdPollerStats,
  pidDatapoints,
  VSS_DTC_LIST,
  VSS_VIN,
} from "../core/obd/mod.ts";
import type { ObdConfig } from "./obd_config.ts";
import type { VecEvent } from "./sinks/types.ts";
import { filtersForIds, SocketCanLink, SocketCanReader } from "./sources/mod.ts";

export { type ObdConfig, obdConfigSchema, parseObdConfig } from "./obd_config.ts";

/** Options of {@link startObd}. */
export interface StartObdOptions {
  /** The CAN link (a {@link SocketCanLink}, or an in-memory bus in tests). */
  link: CanLink;
  /** Receives the typed datapoints of every poll (the pipeline's `inject`, which validates them). */
  inject: (datapoints: Datapoint[]) => void;
  /** DTC events (QoS 1), error count and health for the `diagnostics/*` topics. */
  onEvent?: (event: VecEvent) => void;
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

/** A poller event as a typed {@link VecEvent}: its members but topic, QoS and time are the payload. */
export function obdEvent(e: DiagnosticsEvent): VecEvent {
  const { topic, qos, tsMs, ...payload } = e;
  return { topic, qos, payload, tsMs };
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
    // Typed datapoints; the pipeline's validator checks (and coerces) them.
    onSample: (s) => options.inject(pidDatapoints(s.pid, s.value, s.tsMs)),
    onEvent: (e) => {
      if (e.topic === VSS_DTC_LIST) {
        options.inject([{ path: VSS_DTC_LIST, value: e.value, tsMs: e.tsMs }]);
        return;
      }
      options.onEvent?.(obdEvent(e));
    },
  });
  let stopped = false;
  const vinRead = config.read_vin
    ? clients[0].readVin().then((vin) => {
      if (stopped || !vin) return;
      options.log?.info("VIN over OBD-II", { vin });
      options.inject([{ path: VSS_VIN, value: vin, tsMs: Date.now() }]);
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
