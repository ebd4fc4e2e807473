import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Metrics } from './metrics.js';

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
