/**
 * The VEC's Prometheus metrics (`GET /metrics`), read from the pipeline's and sinks' counters at scrape time,
 * so the hot path only bumps plain numbers.
 *
 * @module
 */
import { Gauge, Registry } from "prom-client";
import type { PipelineStats } from "./pipeline.ts";

/** What the metrics read at scrape time. */
export interface VecMetricsSource {
  pipeline(): PipelineStats;
  /** Per-sink counters: name → numeric fields (non-numeric fields are ignored). */
  sinks(): Record<string, object>;
  /** Source counters (frames read, dropped, malformed lines, …). */
  source?(): Record<string, number>;
}

/** Builds a registry whose gauges read `source` on every scrape. */
export function createVecMetrics(source: VecMetricsSource): Registry {
  const registry = new Registry();
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  gauge("vec_frames_total", "CAN frames read from the source", () => source.pipeline().frames);
  gauge("vec_signals_decoded_total", "Signal values decoded", () => source.pipeline().signals);
  gauge("vec_datapoints_total", "VSS datapoints produced", () => source.pipeline().datapoints);
  gauge("vec_frame_rate", "Frames per second over the last second", () => source.pipeline().frameRate);
  gauge(
    "vec_uptime_seconds",
    "Seconds since the pipeline started",
    () => (Date.now() - source.pipeline().startedAt) / 1000,
  );
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
