/**
 * What every VEC sink accepts: typed, validated datapoints ({@link Datapoint}) and typed events.
 * @module
 */
import type { Datapoint } from "../../core/datapoint/mod.ts";

export type { Datapoint };

/**
 * An event beside the datapoint stream (OBD-II diagnostics today): it has its own topic and QoS and travels
 * through the uplink's typed path, never through a cast. Sinks that have no place for events ignore them.
 */
export interface VecEvent {
  /** Topic suffix in the ESP gateway layout, e.g. `diagnostics/dtc`, `diagnostics/health`. */
  readonly topic: string;
  /** The event body (JSON-serialisable). */
  readonly payload: Readonly<Record<string, unknown>>;
  /** MQTT QoS the event asks for. */
  readonly qos: 0 | 1;
  /** Observation time, integer ms since the epoch. */
  readonly tsMs: number;
}

/** A destination of mapped datapoints (CESC push, MQTT, memory). */
export interface DatapointSink {
  /** Name in stats and metrics. */
  readonly name: string;
  /** Takes validated datapoints; must not block (buffer or queue internally). */
  write(datapoints: readonly Datapoint[]): void;
  /** Takes an event; sinks without a place for events leave it out. */
  event?(event: VecEvent): void;
  /** The VIN, once known. */
  setVin?(vin: string): void;
  /** Starts background work (connections, senders). */
  start?(): void | Promise<void>;
  /** Counters and state for `/health` and `/metrics`. */
  stats(): object;
  /** Flushes to the queue, waits up to `drainMs` for delivery, stops. */
  close(options?: { drainMs?: number }): Promise<void>;
}
