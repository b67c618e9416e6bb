/**
 * The CESC's Prometheus metrics on prom-client (as the VEC's), rendered at `GET /metrics`.
 *
 * The hot path (per request, per datapoint) adds to plain numbers: {@link Metrics.inc} allocates nothing when its
 * labels object is reused (a module-level constant); the prom-client counters read those numbers at scrape time
 * (`collect`). Histograms are prom-client histograms observed directly. Every metric is declared in {@link METRICS}
 * (name, type, help, label names): a typo is a type error, not a silent new series.
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Label values of one series. */
export type Labels = Readonly<Record<string, string>>;

/** Latency buckets in seconds (ingest up to the commit, backend calls, WAL fsyncs). */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface MetricSpec {
  readonly type: "counter" | "gauge" | "histogram";
  readonly help: string;
  readonly labels?: readonly string[];
}

/** Every CESC metric: names users scrape (kept from before prom-client), type, help text and label names. */
export const METRICS = {
  cesc_ingest_requests_total: { type: "counter", help: "Ingest requests by HTTP status", labels: ["status"] },
  cesc_ingested_datapoints_total: { type: "counter", help: "Data points stored (HTTP and MQTT)" },
  cesc_duplicate_datapoints_total: { type: "counter", help: "Data points ignored as duplicates of (path, ts)" },
  cesc_rejected_requests_total: {
    type: "counter",
    help: "Requests and MQTT messages refused as a whole, by reason (error code)",
    labels: ["reason"],
  },
  cesc_datapoints_refused_total: {
    type: "counter",
    help: "Data points refused by validation (their request or message stored nothing), by reason",
    labels: ["reason"],
  },
  cesc_mqtt_messages_total: {
    type: "counter",
    help: "MQTT messages by outcome (stored, refused, rejected, skipped)",
    labels: ["outcome"],
  },
  cesc_forwarded_datapoints_total: { type: "counter", help: "Data points accepted by the backend" },
  cesc_skipped_datapoints_total: { type: "counter", help: "Data points with no backend record" },
  cesc_unmapped_datapoints_total: {
    type: "counter",
    help: "Data points skipped by the DIG mapping, by reason",
    labels: ["reason"],
  },
  cesc_dead_letters_total: { type: "counter", help: "Data points the backend refused for good" },
  cesc_forward_errors_total: { type: "counter", help: "Failed backend calls (retried) by kind", labels: ["kind"] },
  cesc_retention_deleted_total: { type: "counter", help: "Forwarded rows deleted by the retention rule" },
  cesc_commits_total: { type: "counter", help: "Ingest transactions" },
  cesc_wal_fsync_commits_total: {
    type: "counter",
    help: "Transactions made durable by WAL fsyncs (divide by the fsync count)",
  },
  cesc_backlog_datapoints: { type: "gauge", help: "Stored data points not yet forwarded" },
  cesc_ingest_latency_seconds: { type: "histogram", help: "Ingest request latency up to the commit" },
  cesc_forward_latency_seconds: { type: "histogram", help: "Backend call latency" },
  cesc_wal_fsync_seconds: { type: "histogram", help: "WAL fsync duration (--sync full; not with --store-worker)" },
} as const satisfies Record<string, MetricSpec>;

type Spec = typeof METRICS;
/** Names of the counters. */
export type CounterName = { [K in keyof Spec]: Spec[K]["type"] extends "counter" ? K : never }[keyof Spec];
/** Names of the gauges. */
export type GaugeName = { [K in keyof Spec]: Spec[K]["type"] extends "gauge" ? K : never }[keyof Spec];
/** Names of the histograms. */
export type HistogramName = { [K in keyof Spec]: Spec[K]["type"] extends "histogram" ? K : never }[keyof Spec];

interface Series {
  labels: Labels;
  value: number;
}

/** Series keys of label objects already seen: pass a module-level constant on hot paths and no string is built. */
const keys = new WeakMap<Labels, string>();

function key(labels?: Labels): string {
  if (!labels) return "";
  let k = keys.get(labels);
  if (k === undefined) {
    k = Object.keys(labels).sort().map((n) => `${n}=${labels[n]}`).join(",");
    keys.set(labels, k);
  }
  return k;
}

/** The CESC's metrics registry (prom-client), with plain-number counters for the hot path. */
export class Metrics {
  /** The prom-client registry (`/metrics` renders it). */
  readonly registry = new Registry();
  readonly #counters = new Map<CounterName, Map<string, Series>>();
  readonly #sources = new Map<CounterName, { label: string; read: () => Record<string, number> }>();
  readonly #gauges = new Map<GaugeName, Gauge>();
  readonly #histograms = new Map<HistogramName, Histogram>();

  /** Registers every metric of {@link METRICS}. */
  constructor() {
    for (const [name, spec] of Object.entries(METRICS) as [keyof Spec, MetricSpec][]) {
      const base = { name, help: spec.help, labelNames: [...spec.labels ?? []], registers: [this.registry] };
      if (spec.type === "counter") this.#counter(name as CounterName, base);
      else if (spec.type === "gauge") this.#gauges.set(name as GaugeName, new Gauge(base));
      else this.#histograms.set(name as HistogramName, new Histogram({ ...base, buckets: BUCKETS }));
    }
  }

  #counter(name: CounterName, base: { name: string; help: string; labelNames: string[]; registers: Registry[] }) {
    const series = new Map<string, Series>();
    this.#counters.set(name, series);
    const sources = this.#sources;
    new Counter({
      ...base,
      collect() {
        this.reset();
        for (const s of series.values()) this.inc(s.labels as Record<string, string>, s.value);
        const source = sources.get(name);
        if (source) { for (const [v, n] of Object.entries(source.read())) this.inc({ [source.label]: v }, n); }
      },
    });
  }

  /**
   * Counter `name` reads its series at scrape time from `read` (label value → count), e.g. the MQTT ingest's
   * message counts by outcome.
   */
  counterFrom(name: CounterName, label: string, read: () => Record<string, number>): void {
    this.#sources.set(name, { label, read });
  }

  /** Adds `by` (default 1) to counter `name` with `labels` (reuse a constant labels object on hot paths). */
  inc(name: CounterName, labels?: Labels, by = 1): void {
    const series = this.#counters.get(name)!;
    const k = key(labels);
    const s = series.get(k);
    if (s) s.value += by;
    else series.set(k, { labels: labels ?? {}, value: by });
  }

  /** Current value of a counter series (tests, health). */
  counter(name: CounterName, labels?: Labels): number {
    const source = this.#sources.get(name);
    if (source && labels?.[source.label] !== undefined) return source.read()[labels[source.label]] ?? 0;
    return this.#counters.get(name)!.get(key(labels))?.value ?? 0;
  }

  /** Sets gauge `name`. */
  set(name: GaugeName, value: number, labels?: Labels): void {
    const g = this.#gauges.get(name)!;
    if (labels) g.set(labels as Record<string, string>, value);
    else g.set(value);
  }

  /** Records `seconds` in histogram `name`. */
  observe(name: HistogramName, seconds: number): void {
    this.#histograms.get(name)!.observe(seconds);
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** The `Content-Type` of {@link render}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
