/**
 * A small Prometheus registry: counters, gauges read at scrape time, and fixed-bucket histograms.
 * Label sets are bounded by construction (codes, command types), never by player or socket.
 */
type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${String(labels[k]).replace(/["\\\n]/g, "_")}"`).join(",")}}`;
}

export class Counter {
  private readonly values = new Map<string, number>();
  /** Rendered label sets by their values in call order: the hot path skips sorting and escaping. */
  private readonly keyCache = new Map<string, string>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    let cacheKey = "";
    for (const key in labels) cacheKey += `${key}\u0000${labels[key]}\u0001`;
    let key = this.keyCache.get(cacheKey);
    if (key === undefined) {
      key = labelKey(labels);
      this.keyCache.set(cacheKey, key);
    }
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  /**
   * The counter of one label set, resolved once: for hot paths that count the same labels on
   * every call (no label object, no key building per increment).
   */
  child(labels: Labels): { inc(by?: number): void } {
    const key = labelKey(labels);
    return {
      inc: (by = 1) => {
        this.values.set(key, (this.values.get(key) ?? 0) + by);
      },
    };
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0) lines.push(`${this.name} 0`);
    for (const [key, value] of this.values) lines.push(`${this.name}${key} ${value}`);
    return lines.join("\n");
  }
}

export class Gauge {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}

  render(): string {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} gauge`,
      `${this.name} ${this.read()}`,
    ].join("\n");
  }
}

export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bucketBounds: readonly number[],
  ) {
    this.counts = bucketBounds.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count += 1;
    for (let i = 0; i < this.bucketBounds.length; i++) {
      if (value <= (this.bucketBounds[i] as number)) {
        this.counts[i] = (this.counts[i] as number) + 1;
        return;
      }
    }
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    let cumulative = 0;
    this.bucketBounds.forEach((bound, i) => {
      cumulative += this.counts[i] as number;
      lines.push(`${this.name}_bucket{le="${bound}"} ${cumulative}`);
    });
    lines.push(
      `${this.name}_bucket{le="+Inf"} ${this.count}`,
      `${this.name}_sum ${this.sum}`,
      `${this.name}_count ${this.count}`,
    );
    return lines.join("\n");
  }
}

export class MetricsRegistry {
  private readonly metrics: { render(): string }[] = [];

  counter(name: string, help: string): Counter {
    const metric = new Counter(name, help);
    this.metrics.push(metric);
    return metric;
  }

  gauge(name: string, help: string, read: () => number): Gauge {
    const metric = new Gauge(name, help, read);
    this.metrics.push(metric);
    return metric;
  }

  histogram(name: string, help: string, bucketBounds: readonly number[]): Histogram {
    const metric = new Histogram(name, help, bucketBounds);
    this.metrics.push(metric);
    return metric;
  }

  render(): string {
    return `${this.metrics.map((m) => m.render()).join("\n")}\n`;
  }
}

export const latencyBucketsMs = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000] as const;
