/**
 * What every VEC sink accepts.
 * @module
 */
import type { Datapoint } from "../../core/viss/mod.ts";

/** One VSS datapoint in VISSv2 form: the value as a string, the time as ISO 8601 UTC. */
export type VissDatapoint = Datapoint;

/** A destination of mapped datapoints (CESC push, MQTT, memory). */
export interface DatapointSink {
  /** Name in stats and metrics. */
  readonly name: string;
  /** Takes datapoints; must not block (buffer or queue internally). */
  write(datapoints: readonly VissDatapoint[]): void;
  /** The VIN, once known. */
  setVin?(vin: string): void;
  /** Starts background work (connections, senders). */
  start?(): void | Promise<void>;
  /** Counters and state for `/health` and `/metrics`. */
  stats(): object;
  /** Flushes to the queue, waits up to `drainMs` for delivery, stops. */
  close(options?: { drainMs?: number }): Promise<void>;
}
