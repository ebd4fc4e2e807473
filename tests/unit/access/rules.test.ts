import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/access/decide.js';
import { applyEffects, emptyRuleState, forgivePassback, type RuleState } from '../../../src/access/ruleState.js';
import { NORMAL_CONDITIONS, ReasonCodes, RuntimeReasonCodes, type AccessRequest, type AccessState, type Decision, type ReasonCode, type SiteConditions } from '../../../src/access/types.js';
import { buildAccessState } from '../../../src/access/build.js';
import { HOUR, MONDAY_9AM, card, pinDigest, pinOnly, site, siteData } from './fixture.js';

const at = (iso: string): number => Date.parse(iso);

/** Decides and applies the effects, as the runtime does. */
function run(state: AccessState, rules: RuleState, request: AccessRequest, nowMs: number, conditions: SiteConditions = NORMAL_CONDITIONS): Decision {
  const decision = decide(request, state, nowMs, conditions, rules);
  applyEffects(rules, decision.effects);
  return decision;
}

describe('access levels and schedules [ACC-LEVEL] [ACC-SCHEDULE]', () => {
  const state = site();
  it.each([
    ['a day technician at the lab on a Monday morning', '2001', '2025-06-02T08:00:00Z', 'granted'],
    ['a day technician at the lab on a Monday night', '2001', '2025-06-02T22:00:00Z', 'outside_schedule'],
    ['a day technician at the lab on a Saturday', '2001', '2025-06-07T10:00:00Z', 'outside_schedule'],
    ['a night technician at 23:00 on a Friday', '2002', '2025-06-06T22:00:00Z', 'granted'],
    ['a night technician at 05:00 on the Saturday after a Friday shift', '2002', '2025-06-07T04:00:00Z', 'granted'],
    ['a night technician at 23:00 on a Saturday', '2002', '2025-06-07T22:00:00Z', 'outside_schedule'],
    ['a night technician at 05:00 on a Monday (Sunday has no shift)', '2002', '2025-06-02T04:00:00Z', 'outside_schedule'],
    ['a night technician at 05:00 on a Tuesday', '2002', '2025-06-03T04:00:00Z', 'granted'],
    ['a night technician at exactly 06:00 when the shift ends', '2002', '2025-06-03T05:00:00Z', 'outside_schedule'],
    ['a technician with both levels at noon', '2003', '2025-06-03T11:00:00Z', 'granted'],
    ['a technician with both levels at 02:00', '2003', '2025-06-03T01:00:00Z', 'granted'],
    ['a technician with both levels at 19:00', '2003', '2025-06-03T18:00:00Z', 'outside_schedule'],
    ['staff at the lab, which no level of theirs names', '1001', '2025-06-02T08:00:00Z', 'not_in_group'],
  ])('decides %s: %s', (_what, number, iso, reason) => {
    expect(decide(card('lab', number), state, at(iso)).reason).toBe(reason);
  });

  it('combines access levels: an always-level wins over a schedule for the same door', () => {
    expect(decide(card('lab', '3001'), state, at('2025-06-07T03:00:00Z'))).toMatchObject({ granted: true, cardholderId: 'sam' });
  });

  it('opens nothing through a schedule the site no longer has', () => {
    const broken = site({ schedules: [] });
    expect(decide(card('lab', '2001'), broken, MONDAY_9AM).reason).toBe('outside_schedule');
  });
});

describe('schedules across DST changes in two zones [ACC-SCHEDULE]', () => {
  const london = site();
  const newYork = site({ timezone: 'America/New_York' });
  it.each([
    // London: clocks go forward on Sunday 30 March 2025 at 01:00 UTC; back on 26 October at 01:00 UTC.
    [london, 'London: 07:30 UTC on the Friday before is 07:30 GMT', '2025-03-28T07:30:00Z', 'outside_schedule'],
    [london, 'London: 07:30 UTC on the Monday after is 08:30 BST', '2025-03-31T07:30:00Z', 'granted'],
    [london, 'London: 17:30 UTC in summer is 18:30 BST, closed', '2025-06-02T17:30:00Z', 'outside_schedule'],
    [london, 'London: 17:30 UTC on the Monday after the clocks go back is 17:30 GMT, open', '2025-10-27T17:30:00Z', 'granted'],
    [london, 'London: 07:30 UTC on the Friday before the clocks go back is 08:30 BST', '2025-10-24T07:30:00Z', 'granted'],
    [london, 'London: 07:30 UTC on the Monday after is 07:30 GMT', '2025-10-27T07:30:00Z', 'outside_schedule'],
    // New York: forward on Sunday 9 March 2025 at 07:00 UTC; back on 2 November at 06:00 UTC.
    [newYork, 'New York: 12:30 UTC on Friday 7 March is 07:30 EST', '2025-03-07T12:30:00Z', 'outside_schedule'],
    [newYork, 'New York: 13:30 UTC on Friday 7 March is 08:30 EST', '2025-03-07T13:30:00Z', 'granted'],
    [newYork, 'New York: 12:30 UTC on Monday 10 March is 08:30 EDT', '2025-03-10T12:30:00Z', 'granted'],
    [newYork, 'New York: 22:30 UTC on Monday 10 March is 18:30 EDT', '2025-03-10T22:30:00Z', 'outside_schedule'],
    [newYork, 'New York: 22:30 UTC on Monday 3 November is 17:30 EST', '2025-11-03T22:30:00Z', 'granted'],
  ])('%s: %s', (state, _what, iso, reason) => {
    expect(decide(card('lab', '2001'), state, at(iso)).reason).toBe(reason);
  });

  it('keeps a night shift open through the hour the clocks skip and the hour they repeat', () => {
    const state = site({ schedules: [{ id: 'night-shift', intervals: [{ days: [6], startMinute: 22 * 60, endMinute: 4 * 60 }], holidayCalendarIds: [], holidayIntervals: [] }] });
    // Saturday 29 March 22:00 GMT → Sunday 30 March 04:00 BST: 5 real hours.
    expect(decide(card('lab', '2002'), state, at('2025-03-30T00:59:00Z')).granted).toBe(true);
    expect(decide(card('lab', '2002'), state, at('2025-03-30T01:00:00Z')).granted).toBe(true); // 02:00 BST
    expect(decide(card('lab', '2002'), state, at('2025-03-30T02:59:00Z')).granted).toBe(true); // 03:59 BST
    expect(decide(card('lab', '2002'), state, at('2025-03-30T03:00:00Z')).granted).toBe(false); // 04:00 BST
    // Saturday 25 October 22:00 BST → Sunday 26 October 04:00 GMT: 7 real hours, 01:xx happens twice.
    expect(decide(card('lab', '2002'), state, at('2025-10-26T00:30:00Z')).granted).toBe(true); // 01:30 BST
    expect(decide(card('lab', '2002'), state, at('2025-10-26T01:30:00Z')).granted).toBe(true); // 01:30 GMT
    expect(decide(card('lab', '2002'), state, at('2025-10-26T03:59:00Z')).granted).toBe(true);
    expect(decide(card('lab', '2002'), state, at('2025-10-26T04:00:00Z')).granted).toBe(false);
  });
});

describe('holidays [ACC-HOLIDAY]', () => {
  const state = site();
  it.each([
    ['Christmas Eve, a Wednesday, at 09:00', '2025-12-24T09:00:00Z', 'granted'],
    ['Christmas Day, a Thursday, at 09:00: the weekday hours do not apply', '2025-12-25T09:00:00Z', 'outside_schedule'],
    ['Christmas Day at 11:00: inside the holiday hours', '2025-12-25T11:00:00Z', 'granted'],
    ['Boxing Day at 12:00: the holiday hours have ended', '2025-12-26T12:00:00Z', 'outside_schedule'],
    ['the Monday after at 09:00', '2025-12-29T09:00:00Z', 'granted'],
  ])('at the lab on %s: %s', (_what, iso, reason) => {
    expect(decide(card('lab', '2001'), state, at(iso)).reason).toBe(reason);
  });
});

describe('PINs and door modes [ACC-PIN] [ACC-PIN-ONLY] [ACC-DURESS]', () => {
  const state = site();
  it.each<[string, AccessRequest, ReasonCode, boolean]>([
    ['a card alone at a card + PIN door', card('vault', '4001'), 'pin_required', false],
    ['a card with the right PIN', card('vault', '4001', '4321'), 'granted', false],
    ['a card with a wrong PIN', card('vault', '4001', '4320'), 'pin_invalid', false],
    ['a card with another cardholder’s PIN', card('vault', '4001', '5555'), 'pin_invalid', false],
    ['a card whose holder has no PIN', card('vault', '4003', '0000'), 'pin_invalid', false],
    ['a card with the holder’s alternate duress PIN', card('vault', '4001', '9999'), 'granted', true],
    ['a card with the PIN plus the site duress offset', card('vault', '4001', '4322'), 'granted', true],
    ['a PIN alone at a card or PIN door', pinOnly('lobby', '1234'), 'granted', false],
    ['a card alone at a card or PIN door', card('lobby', '1001'), 'granted', false],
    ['a PIN alone at a card-only door', pinOnly('front', '1234'), 'pin_not_accepted', false],
    ['a PIN alone at a card + PIN door', pinOnly('vault', '4321'), 'pin_not_accepted', false],
    ['an unknown PIN alone', pinOnly('lobby', '0042'), 'pin_invalid', false],
    ['a PIN two cardholders share, alone', pinOnly('lobby', '7777'), 'pin_invalid', false],
    ['a duress PIN alone (offset)', pinOnly('lobby', '1235'), 'granted', true],
    ['an alternate duress PIN alone at a card-only door', pinOnly('front', '9999'), 'pin_not_accepted', false],
  ])('decides %s: %s', (_what, request, reason, duress) => {
    const decision = decide(request, state, MONDAY_9AM);
    expect(decision.reason).toBe(reason);
    expect(decision.granted).toBe(reason === 'granted');
    expect(decision.flags.duress).toBe(duress);
  });

  it('opens a card-or-PIN door to an alternate duress PIN alone, flagged as duress', () => {
    const data = siteData();
    const state = buildAccessState({ ...data, groups: data.groups.map((group) => (group.id === 'vault-staff' ? { ...group, doorIds: [...group.doorIds, 'lobby'] } : group)) });
    const decision = decide(pinOnly('lobby', '9999'), state, MONDAY_9AM);
    expect(decision).toMatchObject({ granted: true, cardholderId: 'vic' });
    expect(decision.flags.duress).toBe(true);
    expect(decide(pinOnly('lobby', '4321'), state, MONDAY_9AM).flags.duress).toBe(false);
  });

  it('names the cardholder a PIN alone identified', () => {
    expect(decide(pinOnly('lobby', '1234'), state, MONDAY_9AM)).toMatchObject({ cardholderId: 'alice', credentialId: null });
  });

  it('compares PIN digests of a different length as a mismatch instead of throwing', () => {
    const request: AccessRequest = { doorId: 'vault', credential: { kind: 'card', digest: '4001' }, pin: { digest: pinDigest('4321').subarray(0, 8), undoOffsetDigest: null } };
    expect(decide(request, state, MONDAY_9AM).reason).toBe('pin_invalid');
  });

  it('reads a Wiegand credential by its format, facility code and number', () => {
    expect(decide(card('front', 'h10301:12:345'), state, MONDAY_9AM)).toMatchObject({ granted: true, credentialId: 'alice-w' });
  });
});

describe('locked doors, lockdown and threat levels [ACC-DOOR-LOCKED] [ACC-LOCKDOWN] [ACC-THREAT]', () => {
  const state = site();
  const lockdown: SiteConditions = { threatLevel: 'normal', lockedDownDoors: new Set(['front']) };
  it.each<[string, AccessRequest, SiteConditions, ReasonCode]>([
    ['staff at a locked door', card('server', '1001'), NORMAL_CONDITIONS, 'door_locked'],
    ['security (an override group) at a locked door', card('server', '3001'), NORMAL_CONDITIONS, 'granted'],
    ['staff at a door under lockdown', card('front', '1001'), lockdown, 'door_lockdown'],
    ['security at a door under lockdown', card('front', '3001'), lockdown, 'granted'],
    ['staff at another door during a lockdown elsewhere', card('lobby', '1001'), lockdown, 'granted'],
    ['staff at the front door at elevated', card('front', '1001'), { threatLevel: 'elevated', lockedDownDoors: new Set() }, 'granted'],
    ['a day technician at the lab at elevated (only security there)', card('lab', '2001'), { threatLevel: 'elevated', lockedDownDoors: new Set() }, 'threat_level'],
    ['security at the lab at elevated', card('lab', '3001'), { threatLevel: 'elevated', lockedDownDoors: new Set() }, 'granted'],
    ['staff at the lockdown threat level', card('front', '1001'), { threatLevel: 'lockdown', lockedDownDoors: new Set() }, 'threat_level'],
    ['staff at a threat level the site does not define', card('front', '1001'), { threatLevel: 'martian', lockedDownDoors: new Set() }, 'threat_level'],
  ])('decides %s: %s', (_what, request, conditions, reason) => {
    expect(decide(request, state, MONDAY_9AM, conditions).reason).toBe(reason);
  });

  it('takes a raised threat level into account on the very next read', () => {
    const rules = emptyRuleState();
    expect(run(state, rules, card('front', '1001'), MONDAY_9AM).granted).toBe(true);
    expect(run(state, rules, card('front', '1001'), MONDAY_9AM + 1, { threatLevel: 'lockdown', lockedDownDoors: new Set() }).reason).toBe('threat_level');
  });
});

describe('watch list [ACC-WATCHLIST]', () => {
  const state = site();
  it('denies a watch-listed cardholder everywhere and flags it for security', () => {
    for (const door of ['front', 'lobby', 'server']) {
      const decision = decide(card(door, '6001'), state, MONDAY_9AM);
      expect(decision).toMatchObject({ granted: false, reason: 'watchlist', cardholderId: 'banned' });
      expect(decision.flags.watchlist).toBe(true);
    }
  });

  it('denies a watch-listed credential even though its holder is in good standing', () => {
    expect(decide(card('front', '6002'), state, MONDAY_9AM)).toMatchObject({ reason: 'watchlist', cardholderId: 'alice', credentialId: 'stolen-1' });
  });
});

describe('anti-passback [ACC-PASSBACK]', () => {
  const state = site();
  it('hard: refuses a second entry without an exit, then lets the holder out and in again', () => {
    const rules = emptyRuleState();
    expect(run(state, rules, card('floor-in', '1001'), MONDAY_9AM).granted).toBe(true);
    expect(run(state, rules, card('floor-in', '1001'), MONDAY_9AM + 60_000)).toMatchObject({ granted: false, reason: 'passback' });
    expect(run(state, rules, card('floor-out', '1001'), MONDAY_9AM + 120_000).granted).toBe(true);
    expect(run(state, rules, card('floor-out', '1001'), MONDAY_9AM + 180_000).reason).toBe('passback');
    expect(run(state, rules, card('floor-in', '1001'), MONDAY_9AM + 240_000).granted).toBe(true);
  });

  it('hard: an admin forgive lets the holder back in', () => {
    const rules = emptyRuleState();
    run(state, rules, card('floor-in', '1001'), MONDAY_9AM);
    expect(run(state, rules, card('floor-in', '1001'), MONDAY_9AM + 1).reason).toBe('passback');
    expect(forgivePassback(rules, 'alice')).toBe(1);
    expect(run(state, rules, card('floor-in', '1001'), MONDAY_9AM + 2).granted).toBe(true);
  });

  it('soft: grants a second entry with a passback warning, and forgives by itself after an hour', () => {
    const rules = emptyRuleState();
    expect(run(state, rules, card('annex-in', '1001'), MONDAY_9AM).flags.passback).toBe(false);
    const second = run(state, rules, card('annex-in', '1001'), MONDAY_9AM + 60_000);
    expect(second).toMatchObject({ granted: true, reason: 'granted' });
    expect(second.flags.passback).toBe(true);
    expect(run(state, rules, card('annex-in', '1001'), MONDAY_9AM + 60_000 + HOUR).flags.passback).toBe(false);
  });

  it('lets a first-ever exit through: where someone was before the rule started is unknown', () => {
    expect(run(state, emptyRuleState(), card('floor-out', '1001'), MONDAY_9AM).granted).toBe(true);
  });
});

describe('two-person rule [ACC-TWO-PERSON]', () => {
  const state = site();
  it('waits for a second, different cardholder within 30 seconds', () => {
    const rules = emptyRuleState();
    expect(run(state, rules, card('cage', '4001'), MONDAY_9AM)).toMatchObject({ granted: false, reason: 'two_person_waiting' });
    expect(run(state, rules, card('cage', '4001'), MONDAY_9AM + 1_000).reason).toBe('two_person_waiting');
    expect(run(state, rules, card('cage', '4002'), MONDAY_9AM + 20_000)).toMatchObject({ granted: true, cardholderId: 'val' });
    // The pair is used up: the next one starts over.
    expect(run(state, rules, card('cage', '4001'), MONDAY_9AM + 21_000).reason).toBe('two_person_waiting');
  });

  it('starts over when the second badge comes too late', () => {
    const rules = emptyRuleState();
    run(state, rules, card('cage', '4001'), MONDAY_9AM);
    expect(run(state, rules, card('cage', '4002'), MONDAY_9AM + 30_001).reason).toBe('two_person_waiting');
    expect(run(state, rules, card('cage', '4001'), MONDAY_9AM + 40_000).granted).toBe(true);
  });

  it('does not count a cardholder who may not pass the door as one of the two', () => {
    const rules = emptyRuleState();
    run(state, rules, card('cage', '4001'), MONDAY_9AM);
    expect(run(state, rules, card('cage', '1001'), MONDAY_9AM + 1_000).reason).toBe('not_in_group');
    expect(rules.twoPerson.get('cage')?.cardholderId).toBe('vic');
  });
});

describe('visitors and escorts [ACC-ESCORT]', () => {
  const state = site();
  it('refuses a visitor alone, then lets them in with the escort who badges within 30 seconds', () => {
    const rules = emptyRuleState();
    expect(run(state, rules, card('front', '5001'), MONDAY_9AM)).toMatchObject({ granted: false, reason: 'escort_required' });
    const escort = run(state, rules, card('front', '3002'), MONDAY_9AM + 10_000);
    expect(escort).toMatchObject({ granted: true, cardholderId: 'maya' });
    expect(escort.flags.escortedVisitorId).toBe('visitor');
  });

  it('opens for a visitor who badges right after an escort', () => {
    const rules = emptyRuleState();
    run(state, rules, card('front', '3002'), MONDAY_9AM);
    expect(run(state, rules, card('front', '5001'), MONDAY_9AM + 5_000)).toMatchObject({ granted: true, cardholderId: 'visitor' });
    expect(run(state, rules, card('front', '5001'), MONDAY_9AM + 40_000).reason).toBe('escort_required');
  });

  it('keeps the visitor waiting when the escort is refused by a later rule', () => {
    const state = site({ doors: [{ id: 'front', mode: 'card', twoPersonWindowMs: 30_000 }] });
    const rules = emptyRuleState();
    run(state, rules, card('front', '5001'), MONDAY_9AM);
    const escort = run(state, rules, card('front', '3002'), MONDAY_9AM + 1_000);
    expect(escort.reason).toBe('two_person_waiting');
    expect(escort.effects).toEqual([{ kind: 'two-person-wait', doorId: 'front', cardholderId: 'maya', atMs: MONDAY_9AM + 1_000 }]);
    expect(rules.waitingVisitors.get('front')?.cardholderId).toBe('visitor');
  });

  it('does not accept someone outside the escort groups as an escort', () => {
    const rules = emptyRuleState();
    run(state, rules, card('front', '1001'), MONDAY_9AM);
    expect(run(state, rules, card('front', '5001'), MONDAY_9AM + 1_000).reason).toBe('escort_required');
  });
});

describe('first-person-in [ACC-FIRST-IN]', () => {
  const state = site();
  it('releases a scheduled-unlock door once, on the first manager badge after the schedule starts', () => {
    const rules = emptyRuleState();
    const early = run(state, rules, card('atrium', '3002'), at('2025-06-02T06:30:00Z')); // 07:30 BST
    expect(early.granted).toBe(true);
    expect(early.flags.firstPersonIn).toBe(false);
    expect(run(state, rules, card('atrium', '1001'), at('2025-06-02T07:05:00Z')).flags.firstPersonIn).toBe(false); // staff: no release
    expect(run(state, rules, card('atrium', '3002'), at('2025-06-02T07:10:00Z')).flags.firstPersonIn).toBe(true);
    expect(run(state, rules, card('atrium', '3002'), at('2025-06-02T07:20:00Z')).flags.firstPersonIn).toBe(false);
    expect(run(state, rules, card('atrium', '3002'), at('2025-06-03T07:10:00Z')).flags.firstPersonIn).toBe(true); // next day
  });
});

describe('reason codes', () => {
  it('decide() produces every reason code of the contract except those the runtime assigns', () => {
    const state = site();
    const seen = new Set<ReasonCode>();
    const rules = emptyRuleState();
    const record = (request: AccessRequest, nowMs = MONDAY_9AM, conditions: SiteConditions = NORMAL_CONDITIONS): void => {
      seen.add(run(state, rules, request, nowMs, conditions).reason);
    };
    record(card('front', '1001'));
    record(card('nowhere', '1001'));
    record(card('server', '1001'));
    record(card('front', '1001'), MONDAY_9AM, { threatLevel: 'normal', lockedDownDoors: new Set(['front']) });
    record(card('front', '424242'));
    record(card('front', '6001'));
    const expiring = site({ credentials: [
      { id: 's', cardholderId: 'alice', kind: 'card', digest: '1', status: 'suspended', validFromMs: null, validUntilMs: null },
      { id: 'l', cardholderId: 'alice', kind: 'card', digest: '2', status: 'lost', validFromMs: null, validUntilMs: null },
      { id: 'n', cardholderId: 'alice', kind: 'card', digest: '3', status: 'active', validFromMs: MONDAY_9AM + 1, validUntilMs: null },
      { id: 'e', cardholderId: 'alice', kind: 'card', digest: '4', status: 'active', validFromMs: null, validUntilMs: MONDAY_9AM },
      { id: 'h', cardholderId: 'held', kind: 'card', digest: '5', status: 'active', validFromMs: null, validUntilMs: null },
    ], cardholders: [{ id: 'alice', name: 'A', status: 'active', groupIds: ['staff'] }, { id: 'held', name: 'H', status: 'suspended', groupIds: ['staff'] }] });
    for (const number of ['1', '2', '3', '4', '5']) seen.add(decide(card('front', number), expiring, MONDAY_9AM).reason);
    record(card('vault', '4001'));
    record(card('vault', '4001', '0000'));
    record(pinOnly('front', '1234'));
    record(card('lab', '2001'), MONDAY_9AM, { threatLevel: 'elevated', lockedDownDoors: new Set() });
    record(card('lab', '1001'));
    record(card('lab', '2001'), at('2025-06-07T10:00:00Z'));
    record(card('front', '5001'));
    record(card('cage', '4001'));
    record(card('floor-in', '1001'));
    record(card('floor-in', '1001'), MONDAY_9AM + 1);
    record(card('floor-in', '1001'), MONDAY_9AM, { threatLevel: 'normal', lockedDownDoors: new Set(), fullAreaEntryDoors: new Set(['floor-in']) });
    expect([...seen].sort()).toEqual(ReasonCodes.filter((code) => !RuntimeReasonCodes.includes(code)).sort());
  });

  it('refuses a card an admin marked expired, even inside its validity window', () => {
    const state = site({ credentials: [{ id: 'x', cardholderId: 'alice', kind: 'card', digest: '9', status: 'expired', validFromMs: null, validUntilMs: null }] });
    expect(decide(card('front', '9'), state, MONDAY_9AM)).toMatchObject({ granted: false, reason: 'credential_expired', credentialId: 'x' });
  });

  it('grants only with the reason granted', () => {
    const state = site();
    for (const number of ['1001', '2001', '3001', '4001', '5001', '6001', '6002', '999']) {
      for (const door of ['front', 'lab', 'vault', 'lobby', 'server', 'atrium', 'cage']) {
        const decision = decide(card(door, number), state, MONDAY_9AM);
        expect(decision.granted).toBe(decision.reason === 'granted');
      }
    }
  });

  it('changes no rule state on a plain refusal', () => {
    expect(decide(card('floor-in', '424242'), site(), MONDAY_9AM).effects).toEqual([]);
    expect(decide(card('lab', '1001'), site(), MONDAY_9AM).effects).toEqual([]);
  });
});
