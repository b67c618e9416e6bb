/**
 * Prometheus text-format counters, gauges and histograms; no dependencies. An increment allocates
 * nothing when its labels object is reused (a constant); a fresh object costs one key string.
 */

type Labels = Record<string, string>;

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Histo {
  counts: number[];
  sum: number;
  count: number;
}

/** Series keys of label objects already seen: pass a module-level constant on hot paths and no string is built. */
const keys = new WeakMap<Labels, string>();

function key(labels?: Labels): string {
  if (!labels) return "";
  let k = keys.get(labels);
  if (k === undefined) {
    const parts = Object.keys(labels).sort().map((k) => `${k}="${labels[k].replace(/["\\\n]/g, "_")}"`);
    k = parts.length ? `{${parts.join(",")}}` : "";
    keys.set(labels, k);
  }
  return k;
}

/** A small metrics registry rendering the Prometheus text exposition format. */
export class Metrics {
  #counters = new Map<string, Map<string, number>>();
  #gauges = new Map<string, Map<string, number>>();
  #histos = new Map<string, Histo>();
  #help = new Map<string, string>();

  /** Declares a metric's HELP text. */
  describe(name: string, help: string): void {
    this.#help.set(name, help);
  }

  /** Adds `by` (default 1) to counter `name` with `labels`. */
  inc(name: string, labels?: Labels, by = 1): void {
    let m = this.#counters.get(name);
    if (!m) this.#counters.set(name, m = new Map());
    const k = key(labels);
    m.set(k, (m.get(k) ?? 0) + by);
  }

  /** Current value of a counter (tests, health). */
  counter(name: string, labels?: Labels): number {
    return this.#counters.get(name)?.get(key(labels)) ?? 0;
  }

  /** Sets gauge `name`. */
  set(name: string, value: number, labels?: Labels): void {
    let m = this.#gauges.get(name);
    if (!m) this.#gauges.set(name, m = new Map());
    m.set(key(labels), value);
  }

  /** Records `seconds` in histogram `name`. */
  observe(name: string, seconds: number): void {
    let h = this.#histos.get(name);
    if (!h) this.#histos.set(name, h = { counts: new Array(BUCKETS.length).fill(0), sum: 0, count: 0 });
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]) h.counts[i]++;
    h.sum += seconds;
    h.count++;
  }

  /** Renders everything in the Prometheus text format. */
  render(): string {
    const out: string[] = [];
    const head = (name: string, type: string) => {
      const help = this.#help.get(name);
      if (help) out.push(`# HELP ${name} ${help}`);
      out.push(`# TYPE ${name} ${type}`);
    };
    for (const [name, m] of this.#counters) {
      head(name, "counter");
      for (const [k, v] of m) out.push(`${name}${k} ${v}`);
    }
    for (const [name, m] of this.#gauges) {
      head(name, "gauge");
      for (const [k, v] of m) out.push(`${name}${k} ${v}`);
    }
    for (const [name, h] of this.#histos) {
      head(name, "histogram");
      BUCKETS.forEach((b, i) => out.push(`${name}_bucket{le="${b}"} ${h.counts[i]}`));
      out.push(`${name}_bucket{le="+Inf"} ${h.count}`, `${name}_sum ${h.sum}`, `${name}_count ${h.count}`);
    }
    return out.join("\n") + "\n";
  }
}
