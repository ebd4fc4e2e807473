import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildAccessState } from '../../../src/access/build.js';
import { decide } from '../../../src/access/decide.js';
import { emptyRuleState, type RuleState } from '../../../src/access/ruleState.js';
import { DOOR_MODES, type AccessData, type AccessRequest, type Cardholder, type SiteConditions } from '../../../src/access/types.js';
import { pinDigest, presentPin } from './fixture.js';

const DOORS = ['d0', 'd1', 'd2', 'd3'];
const GROUPS = ['g0', 'g1', 'g2', 'g3'];
const HOLDERS = ['h0', 'h1', 'h2', 'h3', 'h4'];
const SCHEDULES = ['s0', 's1'];
const CARDS = ['1', '2', '3', '4', '5', '6', '7'];
const PINS = ['1111', '2222', '3333'];
const T0 = Date.parse('2025-01-01T00:00:00Z');
const YEAR_MS = 365 * 24 * 3_600_000;

const subset = <T>(items: readonly T[]) => fc.subarray([...items]);
const time = fc.integer({ min: T0 - YEAR_MS, max: T0 + 2 * YEAR_MS });

const siteArb: fc.Arbitrary<AccessData> = fc.record({
  timezone: fc.constantFrom('Europe/London', 'America/New_York', 'Australia/Lord_Howe', 'UTC', 'Not/AZone'),
  doors: fc.tuple(...DOORS.map((id) =>
    fc.record({
      id: fc.constant(id),
      mode: fc.oneof({ arbitrary: fc.constant('card' as const), weight: 4 }, { arbitrary: fc.constantFrom(...DOOR_MODES), weight: 3 }),
      overrideGroupIds: subset(GROUPS),
      unlockScheduleId: fc.option(fc.constantFrom(...SCHEDULES, 'missing'), { nil: null }),
      firstPersonInGroupIds: subset(GROUPS),
      twoPersonWindowMs: fc.option(fc.integer({ min: 1_000, max: 60_000 }), { nil: null, freq: 4 }),
    }),
  )),
  groups: fc.tuple(...GROUPS.map((id) => fc.record({ id: fc.constant(id), name: fc.constant(id), doorIds: subset(DOORS), accessLevelIds: subset(['l0', 'l1', 'missing']) }))),
  accessLevels: fc.tuple(
    fc.record({ id: fc.constant('l0'), doorIds: subset(DOORS), scheduleId: fc.option(fc.constantFrom(...SCHEDULES, 'missing'), { nil: null }) }),
    fc.record({ id: fc.constant('l1'), doorIds: subset(DOORS), scheduleId: fc.option(fc.constantFrom(...SCHEDULES), { nil: null }) }),
  ),
  schedules: fc.tuple(...SCHEDULES.map((id) =>
    fc.record({
      id: fc.constant(id),
      intervals: fc.array(fc.record({ days: subset([1, 2, 3, 4, 5, 6, 7]), startMinute: fc.integer({ min: 0, max: 1439 }), endMinute: fc.integer({ min: 0, max: 1440 }) }), { maxLength: 3 }),
      holidayCalendarIds: subset(['c0']),
      holidayIntervals: fc.array(fc.record({ startMinute: fc.integer({ min: 0, max: 1439 }), endMinute: fc.integer({ min: 1, max: 1440 }) }), { maxLength: 2 }),
    }),
  )),
  holidayCalendars: fc.constant([{ id: 'c0', dates: ['2025-01-01', '2025-12-25'] }]),
  cardholders: fc.tuple(...HOLDERS.map((id) =>
    fc.record({
      id: fc.constant(id),
      name: fc.constant(id),
      status: fc.constantFrom('active' as const, 'suspended' as const),
      groupIds: subset([...GROUPS, 'gone']),
      pinDigest: fc.option(fc.constantFrom(...PINS).map(pinDigest), { nil: null }),
      duressPinDigest: fc.option(fc.constantFrom(...PINS).map(pinDigest), { nil: null }),
      escort: fc.option(fc.record({ groupIds: subset(GROUPS), windowMs: fc.integer({ min: 1_000, max: 60_000 }) }), { nil: null, freq: 4 }),
    }),
  )),
  credentials: fc.tuple(...CARDS.map((number) =>
    fc.record({
      id: fc.constant(`c${number}`),
      cardholderId: fc.constantFrom(...HOLDERS, 'ghost'),
      kind: fc.constant('card' as const),
      digest: fc.constant(number),
      status: fc.constantFrom('active' as const, 'active' as const, 'suspended' as const, 'lost' as const, 'expired' as const),
      validFromMs: fc.option(time, { nil: null }),
      validUntilMs: fc.option(time, { nil: null }),
    }),
  )),
  threatLevels: fc.constant([{ id: 'elevated', allowedGroupIds: ['g0', 'g1'], doors: { d0: ['g2'] } }]),
  areas: fc.constant([{ id: 'a0', entryDoorIds: ['d0'], exitDoorIds: ['d1'], passback: 'hard' as const, forgiveAfterMs: 60_000 }]),
  watchList: fc.record({
    cardholders: fc.constantFrom<Record<string, string>>({}, { h4: 'banned' }),
    credentials: fc.constantFrom<Record<string, string>>({}, { c7: 'stolen' }),
  }),
});

const requestArb: fc.Arbitrary<AccessRequest> = fc.record({
  doorId: fc.constantFrom(...DOORS, 'nowhere'),
  credential: fc.oneof(
    { arbitrary: fc.constantFrom(...CARDS, '0001', '999', '').map((number) => ({ kind: 'card' as const, digest: number })), weight: 4 },
    { arbitrary: fc.constant({ kind: 'pin' as const }), weight: 1 },
  ),
  pin: fc.option(fc.constantFrom(...PINS, '0000', '2223').map((pin) => presentPin(pin)), { nil: undefined }),
}).map(({ pin, ...rest }) => (pin === undefined ? rest : { ...rest, pin }));

const conditionsArb: fc.Arbitrary<SiteConditions> = fc.record({
  threatLevel: fc.constantFrom('normal', 'normal', 'normal', 'elevated', 'unknown-level'),
  lockedDownDoors: fc.oneof({ arbitrary: fc.constant<string[]>([]), weight: 3 }, { arbitrary: subset(DOORS), weight: 1 }).map((doors) => new Set(doors)),
});

/** Rule state as a run of earlier badges might have left it. */
const rulesArb: fc.Arbitrary<RuleState> = fc
  .record({
    presence: fc.array(fc.tuple(fc.constantFrom(...HOLDERS), fc.boolean(), time), { maxLength: 4 }),
    twoPerson: fc.array(fc.tuple(fc.constantFrom(...DOORS), fc.constantFrom(...HOLDERS), time), { maxLength: 3 }),
    escorts: fc.array(fc.tuple(fc.constantFrom(...DOORS), fc.constantFrom(...HOLDERS, 'ghost'), time), { maxLength: 3 }),
    waiting: fc.array(fc.tuple(fc.constantFrom(...DOORS), fc.constantFrom(...HOLDERS, 'ghost'), time), { maxLength: 3 }),
  })
  .map((raw) => {
    const state = emptyRuleState();
    for (const [holder, inside, atMs] of raw.presence) state.presence.set(`a0|${holder}`, { inside, atMs });
    for (const [door, holder, atMs] of raw.twoPerson) state.twoPerson.set(door, { cardholderId: holder, atMs });
    for (const [door, holder, atMs] of raw.escorts) state.escorts.set(door, { cardholderId: holder, atMs });
    for (const [door, holder, atMs] of raw.waiting) state.waitingVisitors.set(door, { cardholderId: holder, atMs });
    return state;
  });

const RUNS = { numRuns: 400 };

describe('decide() properties', () => {
  it('never throws, whatever the site, request, time (even not a number), zone, conditions and rule state', () => {
    fc.assert(
      fc.property(siteArb, requestArb, fc.oneof(time, fc.constantFrom(Number.NaN, -1, 8.64e15)), conditionsArb, rulesArb, (data, request, nowMs, conditions, rules) => {
        const decision = decide(request, buildAccessState(data), nowMs, conditions, rules);
        expect(decision.granted).toBe(decision.reason === 'granted');
        // A time that is not a number never opens a time-windowed card.
        if (Number.isNaN(nowMs) && decision.granted && decision.credentialId !== null) {
          const credential = data.credentials.find((candidate) => candidate.id === decision.credentialId);
          expect(credential?.validFromMs ?? null).toBeNull();
          expect(credential?.validUntilMs ?? null).toBeNull();
        }
      }),
      RUNS,
    );
  });

  it('never grants a card that is not active or is outside its validity window', () => {
    fc.assert(
      fc.property(siteArb.filter((data) => data.timezone !== 'Not/AZone'), requestArb, time, conditionsArb, rulesArb, (data, request, nowMs, conditions, rules) => {
        const decision = decide(request, buildAccessState(data), nowMs, conditions, rules);
        if (!decision.granted || decision.credentialId === null) return;
        const credential = data.credentials.find((candidate) => candidate.id === decision.credentialId);
        expect(credential?.status).toBe('active');
        if (credential?.validFromMs != null) expect(nowMs).toBeGreaterThanOrEqual(credential.validFromMs);
        if (credential?.validUntilMs != null) expect(nowMs).toBeLessThan(credential.validUntilMs);
        const holder = data.cardholders.find((candidate) => candidate.id === decision.cardholderId);
        expect(holder?.status).toBe('active');
      }),
      RUNS,
    );
  });

  it('never grants more after a cardholder is removed from a group', () => {
    fc.assert(
      fc.property(
        siteArb.filter((data) => data.timezone !== 'Not/AZone'),
        requestArb,
        time,
        conditionsArb,
        rulesArb,
        fc.constantFrom(...HOLDERS),
        fc.constantFrom(...GROUPS),
        (data, request, nowMs, conditions, rules, holderId, groupId) => {
          const fewer: AccessData = {
            ...data,
            cardholders: data.cardholders.map((holder): Cardholder => (holder.id === holderId ? { ...holder, groupIds: holder.groupIds.filter((id) => id !== groupId) } : holder)),
          };
          const before = decide(request, buildAccessState(data), nowMs, conditions, rules);
          const after = decide(request, buildAccessState(fewer), nowMs, conditions, rules);
          if (after.granted) expect(before.granted).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it('is exercised by generated cases that grant as well as deny, so the properties above mean something', () => {
    const samples = fc.sample(fc.tuple(siteArb.filter((data) => data.timezone !== 'Not/AZone'), requestArb, time, conditionsArb, rulesArb), { numRuns: 2_000, seed: 42 });
    const reasons = new Set(samples.map(([data, request, nowMs, conditions, rules]) => decide(request, buildAccessState(data), nowMs, conditions, rules).reason));
    expect(reasons.has('granted')).toBe(true);
    expect(reasons.size).toBeGreaterThan(12);
  });

  it('gives the same decision for the same inputs (no hidden state)', () => {
    fc.assert(
      fc.property(siteArb.filter((data) => data.timezone !== 'Not/AZone'), requestArb, time, conditionsArb, rulesArb, (data, request, nowMs, conditions, rules) => {
        const state = buildAccessState(data);
        expect(decide(request, state, nowMs, conditions, rules)).toEqual(decide(request, state, nowMs, conditions, rules));
      }),
      { numRuns: 200 },
    );
  });
});
