import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { AlarmService } from '../../../src/alarms/service.js';
import type { Actor } from '../../../src/doors/actor.js';
import { Journal, type JournalEvent } from '../../../src/journal/index.js';
import { createLogger } from '../../../src/logger.js';
import { Store } from '../../../src/store/index.js';
import { isoWeek, percentile, responseTimeReport } from '../../../src/threat/responseTimes.js';
import { tempDir } from '../../support/gateway.js';
import { FakeTime } from '../alarms/fakeTimers.js';

/** Monday 2 March 2026, 08:00 UTC (08:00 in London, GMT). */
const MONDAY = Date.parse('2026-03-02T08:00:00Z');
const MINUTE = 60_000;

describe('percentiles', () => {
  it('interpolates between ranks: the median of an even count is the mean of the middle two', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([30], 90)).toBe(30);
    expect(percentile([40, 10, 30, 20], 50)).toBe(25);
    expect(percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90)).toBe(91);
  });

  it('numbers ISO weeks across a year end', () => {
    expect(isoWeek(2026, 3, 2)).toBe('2026-W10');
    expect(isoWeek(2026, 1, 1)).toBe('2026-W01');
    expect(isoWeek(2027, 1, 1)).toBe('2026-W53');
    expect(isoWeek(2024, 12, 30)).toBe('2025-W01');
  });
});

describe('response times from a scripted alarm sequence', () => {
  /** Runs real alarms through the real alarm service on a fake clock and returns the journal. */
  function script(): JournalEvent[] {
    const store = Store.open(tempDir());
    store.importSiteData({ site: { id: 's', name: 'S', timezone: 'Europe/London' }, devices: [], doors: [], groups: [], cardholders: [], doorGroups: [], schedules: [], holidays: [], accessLevels: [], threatLevels: [], areas: [], watchList: [], wiegandFormats: [], zones: [], cameras: [], panicButtons: [], alarms: { escalation: [] } });
    const time = new FakeTime();
    time.nowMs = MONDAY;
    const journal = new Journal(store.db, 's', time.clock);
    const alarms = new AlarmService({ store, journal, logger: createLogger('silent'), clock: time.clock, timers: time, publishAlarm: () => undefined });
    alarms.start();
    const guard = (by: string): Actor => ({ via: 'api', by });
    const raise = (kind: 'panic' | 'duress', door: string | null) => alarms.raise({ kind, source: { device: null, door, zone: null, location: null }, sourceKey: uuidv7(), silent: false, actor: guard('desk') }).alarm;

    // 08:00 panic at the front door: acknowledged by sam after 1 min, cleared after 5.
    const a = raise('panic', 'front');
    time.advance(MINUTE);
    alarms.acknowledge(a.id, guard('sam'), 'on my way');
    time.advance(4 * MINUTE);
    alarms.clear(a.id, guard('sam'), 'false alarm');
    // 08:30 panic at the front door: acknowledged after 3 min by lee, cleared after 10.
    time.advance(25 * MINUTE);
    const b = raise('panic', 'front');
    time.advance(3 * MINUTE);
    alarms.acknowledge(b.id, guard('lee'), '');
    time.advance(7 * MINUTE);
    alarms.clear(b.id, guard('lee'), 'caller left');
    // A drill in the afternoon: fast, and never mixed with real alarms.
    time.advance(6 * 60 * MINUTE);
    alarms.startDrill(guard('sam'), 30 * MINUTE);
    const drill = raise('panic', 'back');
    time.advance(10_000);
    alarms.acknowledge(drill.id, guard('sam'), '');
    time.advance(20_000);
    alarms.clear(drill.id, guard('sam'), 'drill');
    time.advance(60 * MINUTE);
    // A duress alarm still unacknowledged.
    raise('duress', 'vault');
    const events = [...journal.iterate({})];
    store.close();
    return events;
  }

  it('computes per-alarm times and who responded, and median and p90 apart from drills', () => {
    const report = responseTimeReport(script(), { fromMs: MONDAY, toMs: MONDAY + 86_400_000, timezone: 'Europe/London', period: 'week' });
    expect(report.alarms.map((alarm) => [alarm.kind, alarm.door, alarm.acknowledgedBy, alarm.acknowledgeSeconds, alarm.clearedBy, alarm.clearSeconds, alarm.drill])).toEqual([
      ['panic', 'front', 'sam', 60, 'sam', 300, false],
      ['panic', 'front', 'lee', 180, 'lee', 600, false],
      ['panic', 'back', 'sam', 10, 'sam', 30, true],
      ['duress', 'vault', null, null, null, null, false],
    ]);
    expect(report.real.total).toEqual({ count: 3, acknowledged: 2, cleared: 2, acknowledgeSeconds: { median: 120, p90: 168 }, clearSeconds: { median: 450, p90: 570 } });
    expect(report.drills.total).toMatchObject({ count: 1, acknowledgeSeconds: { median: 10, p90: 10 } });
    expect(Object.keys(report.real.byDoor)).toEqual(['front', 'vault']);
    expect(report.real.byKind.duress).toMatchObject({ count: 1, acknowledged: 0 });
    expect(report.real.byHour['08']).toMatchObject({ count: 2 });
    expect(Object.keys(report.real.byPeriod)).toEqual(['2026-W10']);
  });

  it('leaves out alarms raised outside the range, even when acknowledged inside it', () => {
    const report = responseTimeReport(script(), { fromMs: MONDAY + 10 * MINUTE, toMs: MONDAY + 86_400_000, timezone: 'Europe/London', period: 'month' });
    expect(report.alarms.map((alarm) => alarm.acknowledgedBy)).toEqual(['lee', 'sam', null]);
    expect(Object.keys(report.real.byPeriod)).toEqual(['2026-03']);
  });
});
