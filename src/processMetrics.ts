import fs from 'node:fs';
import { constants as perfConstants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import type { Forwarders } from './forwarders/index.js';
import type { Journal } from './journal/index.js';
import type { Metrics } from './metrics.js';
import type { SiteRuntime } from './site/runtime.js';
import type { Store } from './store/index.js';

/** How often the event-loop delay monitor's timer runs. */
export const LOOP_DELAY_RESOLUTION_MS = 10;

/**
 * `monitorEventLoopDelay` records the whole time between two runs of its timer, so an idle loop
 * reads the resolution itself (10 ms) and a 2 ms stall reads 12 ms. The delay is what exceeds
 * the interval; a timer run early by libuv's millisecond rounding reads 0.
 */
export function loopDelayBeyondIntervalSeconds(recordedNs: number, resolutionMs: number): number {
  return Math.max(0, recordedNs / 1e9 - resolutionMs / 1e3);
}

/** The event-loop delay histogram's part this module reads (tests hand in their own). */
export interface LoopDelaySource {
  readonly count: number;
  percentile(p: number): number;
  reset(): void;
}

/** perf_hooks' GC kinds, by the name an operator reads on /metrics. */
const GC_KINDS: Readonly<Record<number, string>> = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** Bucket bounds of GC pauses, in seconds: a pause over 10 ms is a stall a badge waits for. */
const GC_PAUSE_BOUNDS_S = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5];

/**
 * What an operator (and the soak test) watches for leaks and stalls: memory, open files,
 * event-loop delay and garbage-collection pauses, as gauges on /metrics. The delay percentile
 * and the longest pause cover the time since the last read, so each scrape sees its own interval.
 */
export function registerProcessMetrics(metrics: Metrics, options: { readonly loopDelay?: LoopDelaySource } = {}): () => void {
  const monitor = options.loopDelay === undefined ? monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS }) : undefined;
  monitor?.enable();
  const delay: LoopDelaySource = options.loopDelay ?? monitor!;
  metrics.gauge('process_resident_memory_bytes', 'Resident memory of the gateway process', () => process.memoryUsage.rss());
  metrics.gauge('nodejs_heap_used_bytes', 'V8 heap in use', () => process.memoryUsage().heapUsed);
  metrics.gauge('process_open_fds', 'Open file descriptors (sockets, database files, serial ports)', () => {
    try {
      return fs.readdirSync('/proc/self/fd').length;
    } catch {
      return Number.NaN;
    }
  });
  metrics.gauge('nodejs_eventloop_delay_p99_seconds', 'Event-loop delay (beyond the monitor\'s 10 ms interval), 99th percentile since the previous read', () => {
    const p99 = delay.count > 0 ? loopDelayBeyondIntervalSeconds(delay.percentile(99), LOOP_DELAY_RESOLUTION_MS) : 0;
    delay.reset();
    return p99;
  });
  // Garbage collection stops the loop: its pauses, by kind, tell a GC stall from a slow handler.
  metrics.histogram('nodejs_gc_duration_seconds', 'Garbage-collection pauses, by kind', GC_PAUSE_BOUNDS_S);
  let longestPauseS = 0;
  metrics.gauge('nodejs_gc_pause_max_seconds', 'Longest garbage-collection pause since the previous read', () => {
    const longest = longestPauseS;
    longestPauseS = 0;
    return longest;
  });
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const pauseS = entry.duration / 1e3;
      const kind = GC_KINDS[(entry as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other';
      metrics.observe('nodejs_gc_duration_seconds', { kind }, pauseS);
      if (pauseS > longestPauseS) longestPauseS = pauseS;
    }
  });
  gc.observe({ entryTypes: ['gc'] });
  return () => {
    gc.disconnect();
    monitor?.disable();
  };
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
  metrics.gauge('guardpost_journal_pending_events', 'Events waiting in memory for a database locked by another process', () => journal.backlogStatus().pending);
  metrics.define('guardpost_journal_busy_total', 'Times a journal write met the database locked by another process');
  journal.onBusy(() => metrics.increment('guardpost_journal_busy_total'));
  metrics.define('guardpost_journal_dropped_total', 'Ordinary events not kept because the journal backlog was full');
  journal.onDropped(() => metrics.increment('guardpost_journal_dropped_total'));
  metrics.gauge('guardpost_database_bytes', 'Size of the SQLite database (pages in use times page size)', () => {
    const pages = store.db.pragma('page_count', { simple: true }) as number;
    const pageSize = store.db.pragma('page_size', { simple: true }) as number;
    return pages * pageSize;
  });
}
