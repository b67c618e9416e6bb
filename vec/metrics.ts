/**
 * The VEC's Prometheus metrics (`GET /metrics`), read from the pipeline's and sinks' counters at scrape time,
 * so the hot path only bumps plain numbers. Totals are Prometheus counters, rates and states gauges.
 *
 * @module
 */
import { Counter, Gauge, Registry } from "prom-client";
import type { PipelineStats } from "./pipeline.ts";

/** What the metrics read at scrape time. */
export interface VecMetricsSource {
  /** The pipeline's counters. */
  pipeline(): PipelineStats;
  /** Refused datapoints by reason code (`datapoint.ts`, `datapoint.range`, …). */
  refusals?(): ReadonlyMap<string, number>;
  /** Per-sink counters: name → numeric fields (non-numeric fields are ignored). */
  sinks(): Record<string, object>;
  /** Source counters (frames read, dropped, malformed lines, …). */
  source?(): Record<string, number>;
}

/** Builds a registry whose metrics read `source` on every scrape. */
export function createVecMetrics(source: VecMetricsSource): Registry {
  const registry = new Registry();
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  counter("vec_frames_total", "CAN frames read from the source", () => source.pipeline().frames);
  counter("vec_signals_decoded_total", "Signal values decoded", () => source.pipeline().signals);
  counter("vec_datapoints_total", "VSS datapoints delivered to the sinks", () => source.pipeline().datapoints);
  gauge("vec_frame_rate", "Frames per second over the last second", () => source.pipeline().frameRate);
  gauge(
    "vec_uptime_seconds",
    "Seconds since the pipeline started",
    () => (Date.now() - source.pipeline().startedAt) / 1000,
  );
  if (source.refusals) {
    const read = source.refusals;
    new Counter({
      name: "vec_datapoints_refused_total",
      help: "Datapoints refused before any sink (time outside RFC 3339, bad value, unknown path), by reason",
      labelNames: ["code"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [code, n] of read()) this.inc({ code }, n);
      },
    });
  }
  new Gauge({
    name: "vec_sink",
    help: "Sink counters by sink and field (sent, queued, failures, dropped, …)",
    labelNames: ["sink", "field"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [sink, stats] of Object.entries(source.sinks())) {
        for (const [field, value] of Object.entries(stats)) {
          if (typeof value === "number" && Number.isFinite(value)) this.set({ sink, field }, value);
        }
      }
    },
  });
  if (source.source) {
    const read = source.source;
    new Gauge({
      name: "vec_source",
      help: "Source counters by field",
      labelNames: ["field"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [field, value] of Object.entries(read())) this.set({ field }, value);
      },
    });
  }
  return registry;
}
