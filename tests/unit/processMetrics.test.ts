import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Metrics } from '../../src/metrics.js';
import { LOOP_DELAY_RESOLUTION_MS, registerProcessMetrics, type LoopDelaySource } from '../../src/processMetrics.js';

const value = (text: string, series: string): number => Number(new RegExp(`^${series.replace(/[{}"+.]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);

/** A delay histogram whose 99th percentile the test sets, in nanoseconds as perf_hooks gives it. */
class RecordedDelays implements LoopDelaySource {
  p99Ns = 0;
  count = 1;
  resets = 0;
  percentile(): number {
    return this.p99Ns;
  }
  reset(): void {
    this.resets += 1;
  }
}

describe('process metrics: event-loop delay and GC pauses', () => {
  let stop: (() => void) | undefined;
  afterEach(() => {
    stop?.();
    stop = undefined;
  });

  it('reads an idle loop as no delay: the monitor\'s own 10 ms interval is not counted as a stall', () => {
    const metrics = new Metrics();
    const delays = new RecordedDelays();
    stop = registerProcessMetrics(metrics, { loopDelay: delays });
    expect(LOOP_DELAY_RESOLUTION_MS).toBe(10);
    delays.p99Ns = 10.0e6;
    expect(value(metrics.render(), 'nodejs_eventloop_delay_p99_seconds')).toBe(0);
    // libuv's millisecond rounding runs the timer a little early at times: still no delay.
    delays.p99Ns = 9.3e6;
    expect(value(metrics.render(), 'nodejs_eventloop_delay_p99_seconds')).toBe(0);
    delays.p99Ns = 35e6;
    expect(value(metrics.render(), 'nodejs_eventloop_delay_p99_seconds')).toBeCloseTo(0.025, 9);
    // Each read covers the time since the previous one.
    expect(delays.resets).toBe(3);
  });

  it('shows a stall of the event loop on the delay gauge as about its length', async () => {
    const metrics = new Metrics();
    stop = registerProcessMetrics(metrics);
    metrics.render();
    // The monitor measures from its timer's previous run, and a read (reset) forgets it: let it run once first.
    await new Promise((resolve) => setTimeout(resolve, 3 * LOOP_DELAY_RESOLUTION_MS));
    const stallMs = 120;
    const until = performance.now() + stallMs;
    while (performance.now() < until) {
      // a handler that holds the loop, as a slow synchronous call would
    }
    // The monitor records the stall when its timer next runs.
    await new Promise((resolve) => setTimeout(resolve, 3 * LOOP_DELAY_RESOLUTION_MS));
    expect(value(metrics.render(), 'nodejs_eventloop_delay_p99_seconds')).toBeGreaterThanOrEqual((stallMs - LOOP_DELAY_RESOLUTION_MS) / 1e3);
  });

  it('counts garbage-collection pauses by kind and shows the longest since the previous read', async () => {
    const metrics = new Metrics();
    stop = registerProcessMetrics(metrics);
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    // perf_hooks delivers GC entries to observers after the collection, on a later turn.
    await vi.waitFor(() => expect(metrics.observations('nodejs_gc_duration_seconds', { kind: 'major' })).toBeGreaterThanOrEqual(1));
    const text = metrics.render();
    expect(text).toContain('# TYPE nodejs_gc_duration_seconds histogram');
    expect(value(text, 'nodejs_gc_duration_seconds_count{kind="major"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'nodejs_gc_pause_max_seconds')).toBeGreaterThan(0);
    expect(value(metrics.render(), 'nodejs_gc_pause_max_seconds')).toBe(0);
  });
});
