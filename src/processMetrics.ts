import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Forwarders } from './forwarders/index.js';
import type { Journal } from './journal/index.js';
import type { Metrics } from './metrics.js';
import type { SiteRuntime } from './site/runtime.js';
import type { Store } from './store/index.js';

/**
 * What an operator (and the soak test) watches for leaks and stalls: memory, open files and
 * event-loop delay, as gauges on /metrics. The delay percentile covers the time since the last
 * read, so each scrape sees its own interval.
 */
export function registerProcessMetrics(metrics: Metrics): () => void {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  metrics.gauge('process_resident_memory_bytes', 'Resident memory of the gateway process', () => process.memoryUsage.rss());
  metrics.gauge('nodejs_heap_used_bytes', 'V8 heap in use', () => process.memoryUsage().heapUsed);
  metrics.gauge('process_open_fds', 'Open file descriptors (sockets, database files, serial ports)', () => {
    try {
      return fs.readdirSync('/proc/self/fd').length;
    } catch {
      return Number.NaN;
    }
  });
  metrics.gauge('nodejs_eventloop_delay_p99_seconds', 'Event-loop delay, 99th percentile since the previous read', () => {
    const p99 = delay.count > 0 ? delay.percentile(99) / 1e9 : 0;
    delay.reset();
    return p99;
  });
  return () => delay.disable();
}

export interface GatewayMetricsDeps {
  readonly metrics: Metrics;
  readonly journal: Journal;
  readonly store: Store;
  readonly forwarders: Forwarders;
  readonly runtime: SiteRuntime;
  /** The embedded broker, when there is one: its connected clients. */
  readonly broker?: { readonly clientCount: number };
}

/**
 * The gateway as an operator watches it on /metrics: events by type, devices by availability,
 * forwarder lag, broker clients and the journal's size. Gauges are read when /metrics is asked
 * for, never on the badge path.
 */
export function registerGatewayMetrics({ metrics, journal, store, forwarders, runtime, broker }: GatewayMetricsDeps): void {
  metrics.define('guardpost_events_total', 'Events journalled, by type');
  journal.onAppend((event) => metrics.increment('guardpost_events_total', { type: event.type }));
  metrics.labelledGauge('guardpost_devices', 'Devices in the site data, by availability', () => {
    const counts = { online: 0, offline: 0, unknown: 0 };
    for (const id of runtime.site.devices.keys()) counts[runtime.deviceAvailability(id)] += 1;
    return Object.entries(counts).map(([state, value]) => ({ labels: { state }, value }));
  });
  metrics.labelledGauge('guardpost_forwarder_lag_events', 'Events journalled but not yet delivered, per destination', () =>
    forwarders.statuses().map((status) => ({ labels: { destination: status.id }, value: status.lagEvents })),
  );
  metrics.labelledGauge('guardpost_forwarder_lag_seconds', 'Age of the oldest event not yet delivered, per destination', () =>
    forwarders.statuses().map((status) => ({ labels: { destination: status.id }, value: status.lagSeconds })),
  );
  if (broker !== undefined) metrics.gauge('guardpost_mqtt_clients', 'Clients connected to the embedded broker', () => broker.clientCount);
  metrics.gauge('guardpost_journal_last_seq', 'The newest event\'s sequence number', () => journal.lastSeq());
  metrics.gauge('guardpost_database_bytes', 'Size of the SQLite database (pages in use times page size)', () => {
    const pages = store.db.pragma('page_count', { simple: true }) as number;
    const pageSize = store.db.pragma('page_size', { simple: true }) as number;
    return pages * pageSize;
  });
}
