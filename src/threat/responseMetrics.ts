import type { JournalEvent } from '../journal/index.js';
import type { Metrics } from '../metrics.js';

/** Upper bounds (seconds) of the response-time buckets: Prometheus' histogram_quantile() reads them. */
export const RESPONSE_BUCKETS_SECONDS = [10, 30, 60, 120, 300, 600, 1800, 3600] as const;

const STAGES = { 'alarm.acknowledged': 'acknowledge', 'alarm.cleared': 'clear' } as const;

/**
 * Response times as Prometheus series, by kind and drill: `guardpost_alarm_<stage>_seconds_bucket`
 * (cumulative, with `le`), `_sum` and `_count`, the layout of a Prometheus histogram.
 */
export class ResponseMetrics {
  constructor(
    private readonly metrics: Metrics,
    private readonly raisedAtMs: (alarmId: string) => number | undefined,
  ) {
    for (const stage of Object.values(STAGES)) {
      metrics.define(`guardpost_alarm_${stage}_seconds_bucket`, `Alarms by time from raised to ${stage}d, cumulative by upper bound le (seconds)`);
      metrics.define(`guardpost_alarm_${stage}_seconds_sum`, `Total seconds from raised to ${stage}d`);
      metrics.define(`guardpost_alarm_${stage}_seconds_count`, `Alarms ${stage}d`);
    }
  }

  onEvent(event: JournalEvent): void {
    if (event.type !== 'alarm.acknowledged' && event.type !== 'alarm.cleared') return;
    const stage = STAGES[event.type];
    const alarm = typeof event.data.alarm === 'string' ? event.data.alarm : undefined;
    const raisedMs = alarm === undefined ? undefined : this.raisedAtMs(alarm);
    if (raisedMs === undefined) return;
    const seconds = Math.max(0, (Date.parse(event.time) - raisedMs) / 1000);
    const labels = { kind: String(event.data.kind ?? 'unknown'), drill: String(event.data.drill === true) };
    for (const bound of RESPONSE_BUCKETS_SECONDS) if (seconds <= bound) this.metrics.increment(`guardpost_alarm_${stage}_seconds_bucket`, { ...labels, le: String(bound) });
    this.metrics.increment(`guardpost_alarm_${stage}_seconds_bucket`, { ...labels, le: '+Inf' });
    this.metrics.increment(`guardpost_alarm_${stage}_seconds_sum`, labels, seconds);
    this.metrics.increment(`guardpost_alarm_${stage}_seconds_count`, labels);
  }
}
