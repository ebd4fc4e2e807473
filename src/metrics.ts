/** Counters for what went wrong and how much happened, rendered for Prometheus at /metrics. */

type Labels = Readonly<Record<string, string>>;

interface Counter {
  readonly help: string;
  readonly values: Map<string, { labels: Labels; value: number }>;
}

/** One key per label set whatever the order its keys were written in. */
function labelKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export class Metrics {
  private readonly counters = new Map<string, Counter>();
  private readonly gauges = new Map<string, { help: string; read: () => number }>();

  /** A value read when /metrics is rendered (memory, open files, event-loop delay). */
  gauge(name: string, help: string, read: () => number): void {
    this.gauges.set(name, { help, read });
  }

  /** A gauge's current value (NaN when there is none). */
  read(name: string): number {
    return this.gauges.get(name)?.read() ?? Number.NaN;
  }

  /** Declares a counter so it is listed (at zero) before anything happens. */
  define(name: string, help: string): void {
    if (!this.counters.has(name)) this.counters.set(name, { help, values: new Map() });
  }

  increment(name: string, labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`counter ${name} can only go up, got ${by}`);
    let counter = this.counters.get(name);
    if (counter === undefined) {
      counter = { help: name, values: new Map() };
      this.counters.set(name, counter);
    }
    const key = labelKey(labels);
    const entry = counter.values.get(key);
    if (entry === undefined) counter.values.set(key, { labels, value: by });
    else entry.value += by;
  }

  /** The sum over all label sets, or the one set given. */
  get(name: string, labels?: Labels): number {
    const counter = this.counters.get(name);
    if (counter === undefined) return 0;
    if (labels !== undefined) return counter.values.get(labelKey(labels))?.value ?? 0;
    let total = 0;
    for (const entry of counter.values.values()) total += entry.value;
    return total;
  }

  render(): string {
    const lines: string[] = [];
    const escape = (value: string): string => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    for (const [name, counter] of this.counters) {
      lines.push(`# HELP ${name} ${counter.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} counter`);
      if (counter.values.size === 0) lines.push(`${name} 0`);
      for (const { labels, value } of counter.values.values()) {
        const rendered = Object.entries(labels).map(([key, labelValue]) => `${key}="${escape(labelValue)}"`);
        lines.push(`${name}${rendered.length > 0 ? `{${rendered.join(',')}}` : ''} ${value}`);
      }
    }
    for (const [name, gauge] of this.gauges) lines.push(`# HELP ${name} ${gauge.help}`, `# TYPE ${name} gauge`, `${name} ${gauge.read()}`);
    return `${lines.join('\n')}\n`;
  }
}
