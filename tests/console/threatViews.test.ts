import { describe, expect, it } from 'vitest';
import { coalesce } from '../../console/src/coalesce.js';
import { briefAfter, byAcknowledger, changesOccupancy, duration, triggerText, visitState, type EventFacts } from '../../console/src/threatViews.js';
import type { AlarmResponse } from '../../src/threat/responseTimes.js';

const event = (type: string, data: Record<string, unknown>, extra: Partial<EventFacts> = {}): EventFacts => ({ time: '2026-03-02T09:00:00.000Z', type, door: null, data, ...extra });

describe("the console's threat-management helpers", () => {
  it('follows an evacuation from its muster events: started, each mark, ended', () => {
    const started = briefAfter(null, event('muster.started', { evacuation: 'ev-1', count: 3, trigger: { kind: 'fire-alarm', device: 'fire-panel' }, by: null, reason: 'fire alarm' }));
    expect(started).toMatchObject({ id: 'ev-1', total: 3, safe: 0, missing: 3, startedAt: '2026-03-02T09:00:00.000Z' });
    expect(triggerText(started!)).toBe('fire alarm (fire-panel)');
    expect(triggerText(started!, (id) => (id === 'fire-panel' ? 'Fire alarm panel' : id))).toBe('fire alarm (Fire alarm panel)');
    const marked = briefAfter(started, event('muster.marked_safe', { evacuation: 'ev-1', total: 3, safe: 1, missing: 2 }));
    expect(marked).toMatchObject({ id: 'ev-1', total: 3, safe: 1, missing: 2, trigger: { kind: 'fire-alarm' } });
    // Another evacuation's end leaves this one under way; its own end closes it.
    expect(briefAfter(marked, event('muster.ended', { evacuation: 'ev-0' }))).toBe(marked);
    expect(briefAfter(marked, event('muster.ended', { evacuation: 'ev-1' }))).toBeNull();
    expect(briefAfter(marked, event('access.granted', {}))).toBe(marked);
  });

  it('says who started an evacuation and why', () => {
    expect(triggerText({ trigger: { kind: 'api' }, startedBy: 'sam-security', reason: 'gas smell' })).toBe('started by sam-security: gas smell');
    expect(triggerText({ trigger: null, startedBy: null, reason: null })).toBe('started from the API');
  });

  it("tells a visitor's state from the record and who is inside", () => {
    const inside = new Set(['visitor-1']);
    expect(visitState({ id: 'visitor-1', status: 'active' }, inside)).toBe('inside');
    expect(visitState({ id: 'visitor-2', status: 'active' }, inside)).toBe('expected');
    expect(visitState({ id: 'visitor-1', status: 'blocked' }, inside)).toBe('blocked');
    expect(visitState({ id: 'visitor-1', status: 'checked_out' }, inside)).toBe('left');
    expect(visitState({ id: 'visitor-1', status: 'expired' }, inside)).toBe('expired');
  });

  it('reloads occupancy only for grants at area doors and the events that empty areas', () => {
    const areaDoors = new Set(['floor-in']);
    expect(changesOccupancy(event('access.granted', {}, { door: 'floor-in' }), areaDoors)).toBe(true);
    expect(changesOccupancy(event('access.granted', {}, { door: 'server-room' }), areaDoors)).toBe(false);
    expect(changesOccupancy(event('access.denied', {}, { door: 'floor-in' }), areaDoors)).toBe(false);
    expect(changesOccupancy(event('muster.ended', {}), areaDoors)).toBe(true);
    expect(changesOccupancy(event('access.granted', {}, { door: 'server-room' }), null)).toBe(true);
  });

  it('writes durations as a guard reads them', () => {
    expect([duration(null), duration(45), duration(60), duration(84.4), duration(366), duration(3600), duration(3725)]).toEqual(['—', '45 s', '1 min', '1 min 24 s', '6 min 6 s', '1 h', '1 h 2 min']);
  });

  it('groups acknowledgements by who made them, with their median and p90', () => {
    const alarm = (acknowledgedBy: string | null, acknowledgeSeconds: number | null): AlarmResponse =>
      ({ alarm: 'a', kind: 'panic', drill: false, door: null, zone: null, device: null, raisedAt: '', acknowledgedAt: null, acknowledgedBy, clearedAt: null, clearedBy: null, acknowledgeSeconds, clearSeconds: null, escalations: 0, hour: 9, period: '2026-W10' }) as AlarmResponse;
    expect(byAcknowledger([alarm('sam', 30), alarm('admin', 90), alarm('sam', 50), alarm(null, null)])).toEqual([
      { who: 'sam', count: 2, median: 40, p90: 48 },
      { who: 'admin', count: 1, median: 90, p90: 90 },
    ]);
  });

  it('runs a burst of reloads as one, plus one more for calls made while it ran', async () => {
    let runs = 0;
    const gates: (() => void)[] = [];
    const reload = coalesce(
      () =>
        new Promise<void>((resolve) => {
          runs += 1;
          gates.push(resolve);
        }),
      () => undefined,
    );
    const first = reload();
    void reload();
    void reload();
    expect(runs).toBe(1);
    gates[0]!();
    await Promise.resolve();
    await Promise.resolve();
    await expect.poll(() => runs).toBe(2);
    gates[1]!();
    await first;
    expect(runs).toBe(2);
    // Idle again: the next call runs at once.
    void reload();
    expect(runs).toBe(3);
    gates[2]!();
  });

  it('reports a failed reload and keeps working', async () => {
    const errors: unknown[] = [];
    let fail = true;
    const reload = coalesce(async () => {
      if (fail) throw new Error('gateway down');
    }, (error) => errors.push(error));
    await reload();
    fail = false;
    await reload();
    expect(errors.map((error) => (error as Error).message)).toEqual(['gateway down']);
  });
});
