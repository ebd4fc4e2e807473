import { createHmac } from 'node:crypto';
import { buildAccessState } from '../../../src/access/build.js';
import type { AccessData, AccessRequest, AccessState, Credential, PresentedPin } from '../../../src/access/types.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
const key = Buffer.from('test-site-pin-key');

/** The keyed PIN digest as site/pins computes it (HMAC-SHA256 with the site key). */
export const pinDigest = (pin: string): Buffer => createHmac('sha256', key).update(pin).digest();

/** A PIN as the access path presents it, with the site's duress offset (1) taken back off. */
export function presentPin(pin: string, duressOffset: number | null = 1): PresentedPin {
  const last = Number(pin.at(-1));
  const undone = duressOffset === null ? null : `${pin.slice(0, -1)}${(last - duressOffset + 10) % 10}`;
  return { digest: pinDigest(pin), undoOffsetDigest: undone === null ? null : pinDigest(undone) };
}

export const card = (doorId: string, number: string, pin?: string): AccessRequest => ({ doorId, credential: { kind: 'card', digest: number }, ...(pin === undefined ? {} : { pin: presentPin(pin) }) });
export const pinOnly = (doorId: string, pin: string): AccessRequest => ({ doorId, credential: { kind: 'pin' }, pin: presentPin(pin) });

const cred = (id: string, cardholderId: string, number: string, extra: Partial<Credential> = {}): Credential => ({ id, cardholderId, kind: 'card', digest: number, status: 'active', validFromMs: null, validUntilMs: null, ...extra });

const weekdays = [1, 2, 3, 4, 5];

/** A London floor with every kind of rule; each cardholder exercises one. */
export function siteData(overrides: Partial<AccessData> = {}): AccessData {
  return {
    timezone: 'Europe/London',
    doors: [
      { id: 'front', mode: 'card', overrideGroupIds: ['security'] },
      { id: 'lab', mode: 'card' },
      { id: 'vault', mode: 'card-and-pin' },
      { id: 'lobby', mode: 'card-or-pin' },
      { id: 'server', mode: 'locked', overrideGroupIds: ['security'] },
      { id: 'atrium', mode: 'scheduled-unlock', unlockScheduleId: 'business-hours', firstPersonInGroupIds: ['managers'] },
      { id: 'cage', mode: 'card', twoPersonWindowMs: 30_000 },
      { id: 'floor-in', mode: 'card' },
      { id: 'floor-out', mode: 'card' },
      { id: 'annex-in', mode: 'card' },
      { id: 'annex-out', mode: 'card' },
    ],
    schedules: [
      { id: 'business-hours', intervals: [{ days: weekdays, startMinute: 8 * 60, endMinute: 18 * 60 }], holidayCalendarIds: ['uk-bank'], holidayIntervals: [{ startMinute: 10 * 60, endMinute: 12 * 60 }] },
      { id: 'night-shift', intervals: [{ days: weekdays, startMinute: 22 * 60, endMinute: 6 * 60 }], holidayCalendarIds: [], holidayIntervals: [] },
    ],
    holidayCalendars: [{ id: 'uk-bank', dates: ['2025-12-25', '2025-12-26'] }],
    accessLevels: [
      { id: 'lab-days', doorIds: ['lab'], scheduleId: 'business-hours' },
      { id: 'lab-nights', doorIds: ['lab'], scheduleId: 'night-shift' },
      { id: 'everywhere', doorIds: ['front', 'lab', 'vault', 'lobby', 'atrium', 'cage', 'floor-in', 'floor-out', 'annex-in', 'annex-out'], scheduleId: null },
    ],
    groups: [
      { id: 'staff', name: 'Staff', doorIds: ['front', 'lobby', 'atrium', 'floor-in', 'floor-out', 'annex-in', 'annex-out'] },
      { id: 'day-techs', name: 'Day technicians', doorIds: [], accessLevelIds: ['lab-days'] },
      { id: 'night-techs', name: 'Night technicians', doorIds: [], accessLevelIds: ['lab-nights'] },
      { id: 'security', name: 'Security', doorIds: [], accessLevelIds: ['everywhere'] },
      { id: 'managers', name: 'Managers', doorIds: ['atrium', 'front'] },
      { id: 'vault-staff', name: 'Vault staff', doorIds: ['vault', 'cage'] },
      { id: 'visitors', name: 'Visitors', doorIds: ['front'] },
    ],
    cardholders: [
      { id: 'alice', name: 'Alice', status: 'active', groupIds: ['staff'], pinDigest: pinDigest('1234') },
      { id: 'dan', name: 'Dan (days)', status: 'active', groupIds: ['day-techs'] },
      { id: 'nina', name: 'Nina (nights)', status: 'active', groupIds: ['night-techs'] },
      { id: 'both', name: 'Both shifts', status: 'active', groupIds: ['day-techs', 'night-techs'] },
      { id: 'sam', name: 'Sam (security)', status: 'active', groupIds: ['security'] },
      { id: 'maya', name: 'Maya (manager)', status: 'active', groupIds: ['managers'] },
      { id: 'vic', name: 'Vic (vault)', status: 'active', groupIds: ['vault-staff'], pinDigest: pinDigest('4321'), duressPinDigest: pinDigest('9999') },
      { id: 'val', name: 'Val (vault)', status: 'active', groupIds: ['vault-staff'], pinDigest: pinDigest('5555') },
      { id: 'ned', name: 'Ned (no PIN)', status: 'active', groupIds: ['vault-staff'] },
      { id: 'visitor', name: 'A visitor', status: 'active', groupIds: ['visitors'], escort: { groupIds: ['managers'], windowMs: 30_000 } },
      { id: 'banned', name: 'Banned', status: 'active', groupIds: ['staff'] },
      { id: 'twin-a', name: 'Twin A', status: 'active', groupIds: ['staff'], pinDigest: pinDigest('7777') },
      { id: 'twin-b', name: 'Twin B', status: 'active', groupIds: ['staff'], pinDigest: pinDigest('7777') },
    ],
    credentials: [
      cred('alice-1', 'alice', '1001'),
      cred('dan-1', 'dan', '2001'),
      cred('nina-1', 'nina', '2002'),
      cred('both-1', 'both', '2003'),
      cred('sam-1', 'sam', '3001'),
      cred('maya-1', 'maya', '3002'),
      cred('vic-1', 'vic', '4001'),
      cred('val-1', 'val', '4002'),
      cred('ned-1', 'ned', '4003'),
      cred('visitor-1', 'visitor', '5001'),
      cred('banned-1', 'banned', '6001'),
      cred('stolen-1', 'alice', '6002'),
      { id: 'alice-w', cardholderId: 'alice', kind: 'wiegand', digest: 'h10301:12:345', status: 'active', validFromMs: null, validUntilMs: null },
    ],
    threatLevels: [
      { id: 'elevated', allowedGroupIds: ['staff', 'security', 'managers'], doors: { lab: ['security'] } },
      { id: 'lockdown', allowedGroupIds: ['security'], doors: {} },
    ],
    areas: [
      { id: 'floor', entryDoorIds: ['floor-in'], exitDoorIds: ['floor-out'], passback: 'hard', forgiveAfterMs: null },
      { id: 'annex', entryDoorIds: ['annex-in'], exitDoorIds: ['annex-out'], passback: 'soft', forgiveAfterMs: HOUR },
    ],
    watchList: { cardholders: { banned: 'former employee, threats' }, credentials: { 'stolen-1': 'reported stolen' } },
    ...overrides,
  };
}

export const site = (overrides: Partial<AccessData> = {}): AccessState => buildAccessState(siteData(overrides));

/** Monday 2 June 2025, 09:00 in London (BST, UTC+1). */
export const MONDAY_9AM = Date.parse('2025-06-02T08:00:00Z');
