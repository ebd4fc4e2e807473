import { describe, expect, it } from 'vitest';
import { buildAccessState } from '../../../src/access/build.js';
import { NORMAL_CONDITIONS, type AccessData, type AccessDoor, type SiteConditions } from '../../../src/access/types.js';
import { ScheduledUnlocks } from '../../../src/doors/scheduledUnlocks.js';
import { nextScheduleChangeMs, scheduledUnlockAt, type ScheduledUnlock } from '../../../src/doors/unlockSchedule.js';
import { createLogger } from '../../../src/logger.js';
import { FakeTime } from '../alarms/fakeTimers.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const weekdays = [1, 2, 3, 4, 5];

function site(doors: AccessDoor[], overrides: Partial<AccessData> = {}): AccessData {
  return {
    timezone: 'Europe/London',
    credentials: [],
    cardholders: [],
    groups: [{ id: 'managers', name: 'Managers', doorIds: [] }, { id: 'security', name: 'Security', doorIds: [] }],
    doors,
    schedules: [
      { id: 'office-hours', intervals: [{ days: weekdays, startMinute: 8 * 60, endMinute: 18 * 60 }], holidayCalendarIds: ['bank'], holidayIntervals: [] },
      { id: 'early', intervals: [{ days: [1, 2, 3, 4, 5, 6, 7], startMinute: 2 * 60 + 30, endMinute: 4 * 60 }], holidayCalendarIds: [], holidayIntervals: [] },
      { id: 'overnight', intervals: [{ days: [5], startMinute: 22 * 60, endMinute: 2 * 60 }], holidayCalendarIds: [], holidayIntervals: [] },
    ],
    holidayCalendars: [{ id: 'bank', dates: ['2025-12-25'] }],
    threatLevels: [
      { id: 'elevated', allowedGroupIds: ['security'], doors: {} },
      { id: 'watchful', allowedGroupIds: null, doors: {} },
    ],
    ...overrides,
  };
}

const lobby: AccessDoor = { id: 'lobby', mode: 'card', unlockScheduleId: 'office-hours' };
const atrium: AccessDoor = { id: 'atrium', mode: 'scheduled-unlock', unlockScheduleId: 'office-hours', firstPersonInGroupIds: ['managers'] };

describe('the next change of an unlock schedule [SAFE-SCHEDULE]', () => {
  const state = buildAccessState(site([lobby]));
  const schedule = (id: string) => state.schedules?.get(id) ?? expect.fail(`no schedule ${id}`);

  it('finds the opening and closing minute of a weekday interval in the site zone (BST: UTC+1)', () => {
    // Monday 2 June 2025, 06:00 London = 05:00 UTC.
    expect(iso(nextScheduleChangeMs(schedule('office-hours'), 'Europe/London', at('2025-06-02T05:00:00Z')))).toBe('2025-06-02T07:00:00.000Z');
    expect(iso(nextScheduleChangeMs(schedule('office-hours'), 'Europe/London', at('2025-06-02T07:00:00Z')))).toBe('2025-06-02T17:00:00.000Z');
  });

  it('skips the weekend and a bank holiday', () => {
    // Friday 18:00 London → Monday 08:00.
    expect(iso(nextScheduleChangeMs(schedule('office-hours'), 'Europe/London', at('2025-06-06T17:00:00Z')))).toBe('2025-06-09T07:00:00.000Z');
    // Wednesday 24 Dec 2025 18:00 (GMT) → Friday 26 Dec 08:00, Christmas Day closed.
    expect(iso(nextScheduleChangeMs(schedule('office-hours'), 'Europe/London', at('2025-12-24T18:00:00Z')))).toBe('2025-12-26T08:00:00.000Z');
  });

  it('opens at 08:00 wall clock on both sides of a DST change', () => {
    // Friday 28 March 2025 18:00 GMT → Monday 31 March 08:00 BST = 07:00 UTC (clocks went forward on the 30th).
    expect(iso(nextScheduleChangeMs(schedule('office-hours'), 'Europe/London', at('2025-03-28T18:00:00Z')))).toBe('2025-03-31T07:00:00.000Z');
    // Friday 24 October 2025 18:00 BST → Monday 27 October 08:00 GMT = 08:00 UTC.
    expect(iso(nextScheduleChangeMs(schedule('office-hours'), 'Europe/London', at('2025-10-24T17:00:00Z')))).toBe('2025-10-27T08:00:00.000Z');
  });

  it('opens at the DST jump when the interval starts inside the skipped hour', () => {
    // Berlin, Sunday 30 March 2025: 02:00 CET jumps to 03:00 CEST at 01:00 UTC; 02:30 never happens, so it opens at the jump.
    expect(iso(nextScheduleChangeMs(schedule('early'), 'Europe/Berlin', at('2025-03-30T00:00:00Z')))).toBe('2025-03-30T01:00:00.000Z');
    // And closes at 04:00 CEST = 02:00 UTC.
    expect(iso(nextScheduleChangeMs(schedule('early'), 'Europe/Berlin', at('2025-03-30T01:00:00Z')))).toBe('2025-03-30T02:00:00.000Z');
  });

  it('follows the wall clock through the repeated hour when clocks go back', () => {
    // Berlin, Sunday 26 October 2025: 03:00 CEST goes back to 02:00 CET at 01:00 UTC. 02:30 CEST (00:30 UTC) opens;
    // back at 02:00 CET it is before 02:30 again, so it closes; 02:30 CET (01:30 UTC) opens it again until 04:00 CET.
    const changes: (string | null)[] = [];
    let fromMs = at('2025-10-26T00:00:00Z');
    for (let i = 0; i < 4; i += 1) {
      const next = nextScheduleChangeMs(schedule('early'), 'Europe/Berlin', fromMs);
      changes.push(iso(next));
      fromMs = next ?? fromMs;
    }
    expect(changes).toEqual(['2025-10-26T00:30:00.000Z', '2025-10-26T01:00:00.000Z', '2025-10-26T01:30:00.000Z', '2025-10-26T03:00:00.000Z']);
  });

  it('follows an interval past midnight and a 45-minute zone', () => {
    // Friday 22:00 → Saturday 02:00 in Kathmandu (UTC+5:45).
    expect(iso(nextScheduleChangeMs(schedule('overnight'), 'Asia/Kathmandu', at('2025-06-06T12:00:00Z')))).toBe('2025-06-06T16:15:00.000Z');
    expect(iso(nextScheduleChangeMs(schedule('overnight'), 'Asia/Kathmandu', at('2025-06-06T16:15:00Z')))).toBe('2025-06-06T20:15:00.000Z');
  });

  it('counts local midnight as a change for first-person-in doors, whose release lasts one local day', () => {
    expect(iso(nextScheduleChangeMs(schedule('office-hours'), 'Europe/London', at('2025-06-07T12:00:00Z'), { dateChanges: true }))).toBe('2025-06-07T23:00:00.000Z');
  });

  it('reports no change within the horizon for a schedule that never opens', () => {
    const never = buildAccessState(site([lobby], { schedules: [{ id: 'office-hours', intervals: [], holidayCalendarIds: [], holidayIntervals: [] }] }));
    expect(nextScheduleChangeMs(never.schedules?.get('office-hours') ?? expect.fail('no schedule'), 'Europe/London', at('2025-06-02T05:00:00Z'))).toBeNull();
  });
});

describe('whether a door stands unlocked on its schedule', () => {
  const state = buildAccessState(site([lobby, atrium, { id: 'vault', mode: 'locked', unlockScheduleId: 'office-hours' }]));
  const monday10 = at('2025-06-02T09:00:00Z');
  const door = (id: string) => state.doors.get(id) ?? expect.fail(`no door ${id}`);

  it('holds a door with an unlock schedule open inside it and locked outside it', () => {
    expect(scheduledUnlockAt(state, NORMAL_CONDITIONS, door('lobby'), new Map(), monday10)).toEqual({ unlocked: true, schedule: 'office-hours', firstPersonIn: false });
    expect(scheduledUnlockAt(state, NORMAL_CONDITIONS, door('lobby'), new Map(), at('2025-06-02T19:00:00Z'))).toMatchObject({ unlocked: false, why: 'closed' });
  });

  it('[ACC-FIRST-IN] keeps a first-person-in door locked until its first person of the day has badged', () => {
    expect(scheduledUnlockAt(state, NORMAL_CONDITIONS, door('atrium'), new Map(), monday10)).toMatchObject({ unlocked: false, why: 'waiting-first-person' });
    expect(scheduledUnlockAt(state, NORMAL_CONDITIONS, door('atrium'), new Map([['atrium', '2025-05-30']]), monday10)).toMatchObject({ unlocked: false, why: 'waiting-first-person' });
    expect(scheduledUnlockAt(state, NORMAL_CONDITIONS, door('atrium'), new Map([['atrium', '2025-06-02']]), monday10)).toEqual({ unlocked: true, schedule: 'office-hours', firstPersonIn: true });
  });

  it('never holds a locked-mode door open, and suspends free access under a threat level that restricts the door', () => {
    expect(scheduledUnlockAt(state, NORMAL_CONDITIONS, door('vault'), new Map(), monday10)).toMatchObject({ unlocked: false, why: 'no-schedule' });
    const elevated: SiteConditions = { threatLevel: 'elevated', lockedDownDoors: new Set() };
    expect(scheduledUnlockAt(state, elevated, door('lobby'), new Map(), monday10)).toMatchObject({ unlocked: false, why: 'threat-level' });
    const watchful: SiteConditions = { threatLevel: 'watchful', lockedDownDoors: new Set() };
    expect(scheduledUnlockAt(state, watchful, door('lobby'), new Map(), monday10)).toMatchObject({ unlocked: true });
  });

  it('fails secure on an unknown zone or a schedule the site no longer has', () => {
    const badZone = buildAccessState(site([lobby], { timezone: 'Mars/Olympus_Mons' }));
    expect(scheduledUnlockAt(badZone, NORMAL_CONDITIONS, lobby, new Map(), monday10)).toMatchObject({ unlocked: false, why: 'closed' });
    const gone = buildAccessState(site([{ ...lobby, unlockScheduleId: 'gone' }]));
    expect(scheduledUnlockAt(gone, NORMAL_CONDITIONS, { ...lobby, unlockScheduleId: 'gone' }, new Map(), monday10)).toMatchObject({ unlocked: false, why: 'closed' });
  });
});

describe('the scheduled-unlock service with a fake clock', () => {
  function harness(startIso: string, doors: AccessDoor[] = [lobby, atrium], notBeforeIso?: string) {
    const time = new FakeTime();
    time.nowMs = at(startIso);
    const state = buildAccessState(site(doors));
    const released = new Map<string, string>();
    let conditions: SiteConditions = NORMAL_CONDITIONS;
    const applied: { atIso: string; door: string; unlock: ScheduledUnlock }[] = [];
    const held = new Map<string, boolean>();
    const trust: [string, boolean][] = [];
    const service = new ScheduledUnlocks({
      clock: time.clock,
      timers: time,
      logger: createLogger('silent'),
      access: () => state,
      conditions: () => conditions,
      released: () => released,
      apply: (door, unlock) => {
        // Only changes, as DoorService.setScheduledUnlock passes them on.
        if ((held.get(door) ?? false) === unlock.unlocked) return;
        held.set(door, unlock.unlocked);
        applied.push({ atIso: new Date(time.nowMs).toISOString(), door, unlock });
      },
      monotonicMs: time.monotonicMs,
      ...(notBeforeIso === undefined ? {} : { notBeforeMs: at(notBeforeIso) }),
      onClockTrust: (trusted, clockMs) => trust.push([new Date(clockMs).toISOString(), trusted]),
    });
    return { time, service, released, applied, held, trust, setConditions: (next: SiteConditions) => ((conditions = next), service.evaluate()) };
  }

  it('unlocks at the schedule start and relocks at its end with one timer, not a poll', () => {
    const { time, service, applied } = harness('2025-06-02T05:00:00Z', [lobby]);
    service.start();
    expect(applied).toEqual([]);
    time.advance(24 * 3_600_000);
    expect(applied.map((change) => [change.atIso, change.unlock.unlocked])).toEqual([
      ['2025-06-02T07:00:00.000Z', true],
      ['2025-06-02T17:00:00.000Z', false],
    ]);
    service.stop();
  });

  it('unlocks at once when started inside the interval (a restart during office hours)', () => {
    const { service, applied } = harness('2025-06-02T12:34:56Z', [lobby]);
    service.start();
    expect(applied).toEqual([{ atIso: '2025-06-02T12:34:56.000Z', door: 'lobby', unlock: { unlocked: true, schedule: 'office-hours', firstPersonIn: false } }]);
    service.stop();
  });

  it('[ACC-FIRST-IN] holds a first-person-in door from the first badge to the end of the schedule, and waits again the next day', () => {
    const { time, service, applied, released, held } = harness('2025-06-02T06:00:00Z', [atrium]);
    service.start();
    time.advance(2 * 3_600_000); // 09:00 London: open, but nobody has badged
    expect(held.get('atrium')).toBeUndefined();
    released.set('atrium', '2025-06-02');
    service.evaluate(); // the access path journalled access.first_person_in
    expect(held.get('atrium')).toBe(true);
    time.advance(12 * 3_600_000);
    expect(applied.map((change) => [change.atIso, change.unlock.unlocked])).toEqual([
      ['2025-06-02T08:00:00.000Z', true],
      ['2025-06-02T17:00:00.000Z', false],
    ]);
    time.advance(12 * 3_600_000); // Tuesday 09:00: yesterday's release does not count
    expect(held.get('atrium')).toBe(false);
    service.stop();
  });

  it('suspends free access while a restricting threat level is current and resumes it when the level drops', () => {
    const { service, held, setConditions } = harness('2025-06-02T09:00:00Z', [lobby]);
    service.start();
    expect(held.get('lobby')).toBe(true);
    setConditions({ threatLevel: 'elevated', lockedDownDoors: new Set() });
    expect(held.get('lobby')).toBe(false);
    setConditions(NORMAL_CONDITIONS);
    expect(held.get('lobby')).toBe(true);
    service.stop();
  });

  it('[SAFE-CLOCK] keeps scheduled doors locked while the clock is behind the journal, and opens them once NTP has set it', () => {
    // Booted without a real-time clock: it reads 1 January 1970 while the journal's newest event is Monday 09:00.
    const { time, service, held, trust, applied } = harness('1970-01-01T00:00:00Z', [lobby], '2025-06-02T08:00:00Z');
    service.start();
    expect(service.clockTrusted()).toBe(false);
    expect(trust).toEqual([['1970-01-01T00:00:00.000Z', false]]);
    time.advance(60_000);
    expect(held.get('lobby')).toBeUndefined();
    time.stepWallClock(at('2025-06-02T08:30:00Z') - time.nowMs); // NTP syncs: 09:30 London, office hours
    time.advance(10_000);
    expect(service.clockTrusted()).toBe(true);
    expect(trust.at(-1)).toEqual(['2025-06-02T08:30:10.000Z', true]);
    expect(applied).toEqual([{ atIso: '2025-06-02T08:30:10.000Z', door: 'lobby', unlock: { unlocked: true, schedule: 'office-hours', firstPersonIn: false } }]);
    service.stop();
  });

  it('trusts a clock a few minutes behind the journal (a restart), and not one an hour behind', () => {
    const close = harness('2025-06-02T08:56:00Z', [lobby], '2025-06-02T09:00:00Z');
    close.service.start();
    expect(close.held.get('lobby')).toBe(true);
    close.service.stop();
    const far = harness('2025-06-02T08:00:00Z', [lobby], '2025-06-02T09:00:00Z');
    far.service.start();
    expect(far.held.get('lobby')).toBeUndefined();
    // It catches up by itself: trusted again five minutes before the newest event.
    far.time.advance(55 * 60_000);
    expect(far.held.get('lobby')).toBe(true);
    far.service.stop();
  });

  it('relocks at the right wall-clock time when the clock is stepped, although the boundary timer counts monotonic time', () => {
    // 17:30 London, open until 18:00 (17:00 UTC).
    const { time, service, applied } = harness('2025-06-02T16:30:00Z', [lobby]);
    service.start();
    time.stepWallClock(60 * 60_000); // set forward an hour: it is really 18:30
    time.advance(10_000);
    expect(applied.map((change) => [change.atIso, change.unlock.unlocked])).toEqual([
      ['2025-06-02T16:30:00.000Z', true],
      ['2025-06-02T17:30:10.000Z', false],
    ]);
    service.stop();
  });

  it('does nothing more once stopped', () => {
    const { time, service, applied } = harness('2025-06-02T05:00:00Z', [lobby]);
    service.start();
    service.stop();
    time.advance(24 * 3_600_000);
    expect(applied).toEqual([]);
  });
});
