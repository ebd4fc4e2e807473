import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/access/decide.js';
import { canonicalCardNumber, maskCardNumber } from '../../../src/access/credentials.js';
import {
  NO_FLAGS,
  ReasonCodes,
  type AccessDoor,
  type AccessRequest,
  type AccessState,
  type Cardholder,
  type Credential,
  type Decision,
  type Group,
  type ReasonCode,
} from '../../../src/access/types.js';

const NOW = Date.parse('2025-06-02T09:00:00Z');
const HOUR = 3_600_000;

function credential(overrides: Partial<Credential> & Pick<Credential, 'id' | 'cardholderId' | 'digest'>): Credential {
  return { kind: 'card', status: 'active', validFromMs: null, validUntilMs: null, ...overrides };
}

/** A small floor: two doors that take cards, a locked server room, staff and contractors. */
function buildState(extra: { credentials?: Credential[]; cardholders?: Cardholder[]; groups?: Group[]; doors?: AccessDoor[] } = {}): AccessState {
  const doors: AccessDoor[] = [
    { id: 'front', mode: 'card' },
    { id: 'lab', mode: 'card' },
    { id: 'server-room', mode: 'locked' },
    { id: 'roof', mode: 'card' },
    ...(extra.doors ?? []),
  ];
  const groups: Group[] = [
    { id: 'staff', name: 'Staff', doorIds: ['front'] },
    { id: 'lab-techs', name: 'Lab technicians', doorIds: ['lab'] },
    { id: 'admins', name: 'Admins', doorIds: ['front', 'lab', 'server-room'] },
    ...(extra.groups ?? []),
  ];
  const cardholders: Cardholder[] = [
    { id: 'alice', name: 'Alice', status: 'active', groupIds: ['staff'] },
    { id: 'bob', name: 'Bob', status: 'suspended', groupIds: ['staff'] },
    { id: 'carol', name: 'Carol', status: 'active', groupIds: ['staff', 'lab-techs'] },
    { id: 'dave', name: 'Dave', status: 'active', groupIds: ['admins'] },
    { id: 'erin', name: 'Erin', status: 'active', groupIds: [] },
    { id: 'frank', name: 'Frank', status: 'active', groupIds: ['no-such-group', 'lab-techs'] },
    ...(extra.cardholders ?? []),
  ];
  const credentials: Credential[] = [
    credential({ id: 'alice-1', cardholderId: 'alice', digest: '12345678' }),
    credential({ id: 'alice-old', cardholderId: 'alice', digest: '11111111', status: 'suspended' }),
    credential({ id: 'alice-lost', cardholderId: 'alice', digest: '22222222', status: 'lost' }),
    credential({ id: 'bob-1', cardholderId: 'bob', digest: '33333333' }),
    credential({ id: 'carol-1', cardholderId: 'carol', digest: '44444444' }),
    credential({ id: 'dave-1', cardholderId: 'dave', digest: '55555555' }),
    credential({ id: 'erin-1', cardholderId: 'erin', digest: '66666666' }),
    credential({ id: 'frank-1', cardholderId: 'frank', digest: '77777777' }),
    credential({ id: 'ghost-1', cardholderId: 'ghost', digest: '88888888' }),
    credential({ id: 'temp-1', cardholderId: 'alice', digest: '99999999', validFromMs: NOW, validUntilMs: NOW + 8 * HOUR }),
    ...(extra.credentials ?? []),
  ];
  return {
    doors: new Map(doors.map((door) => [door.id, door])),
    groups: new Map(groups.map((group) => [group.id, group])),
    cardholders: new Map(cardholders.map((holder) => [holder.id, holder])),
    credentialsByCard: new Map(credentials.map((cred) => [cred.digest, cred])),
  };
}

const badge = (doorId: string, number: string): AccessRequest => ({ doorId, credential: { kind: 'card', digest: number } });

/** Freezes the state and everything reachable from it, Maps included (set/delete/clear throw). */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  if (value instanceof Map) {
    for (const [key, entry] of value) {
      deepFreeze(key);
      deepFreeze(entry);
    }
    const refuse = (): never => {
      throw new TypeError('frozen map');
    };
    Object.defineProperties(value, { set: { value: refuse }, delete: { value: refuse }, clear: { value: refuse } });
  }
  for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  return Object.freeze(value);
}

describe('decide()', () => {
  it('opens the door for an active card whose cardholder is in a group that includes the door', () => {
    expect(decide(badge('front', '12345678'), buildState(), NOW)).toEqual<Decision>({
      flags: NO_FLAGS,
      effects: [],
      granted: true,
      reason: 'granted',
      doorId: 'front',
      cardholderId: 'alice',
      credentialId: 'alice-1',
    });
  });

  it('refuses a door the site does not know, naming no cardholder', () => {
    expect(decide(badge('basement', '12345678'), buildState(), NOW)).toEqual<Decision>({
      flags: NO_FLAGS,
      effects: [],
      granted: false,
      reason: 'unknown_door',
      doorId: 'basement',
      cardholderId: null,
      credentialId: null,
    });
  });

  it('refuses every card at a locked door, even one whose group includes that door', () => {
    const decision = decide(badge('server-room', '55555555'), buildState(), NOW);
    expect(decision).toMatchObject({ granted: false, reason: 'door_locked', doorId: 'server-room' });
  });

  it('refuses a card number the site has never seen', () => {
    expect(decide(badge('front', '10101010'), buildState(), NOW)).toEqual<Decision>({
      flags: NO_FLAGS,
      effects: [],
      granted: false,
      reason: 'unknown_credential',
      doorId: 'front',
      cardholderId: null,
      credentialId: null,
    });
  });

  it('refuses a suspended card even though its cardholder is active and in the right group', () => {
    expect(decide(badge('front', '11111111'), buildState(), NOW)).toEqual<Decision>({
      flags: NO_FLAGS,
      effects: [],
      granted: false,
      reason: 'credential_suspended',
      doorId: 'front',
      cardholderId: 'alice',
      credentialId: 'alice-old',
    });
  });

  it('refuses a card reported lost and names whose card it was', () => {
    expect(decide(badge('front', '22222222'), buildState(), NOW)).toMatchObject({
      granted: false,
      reason: 'credential_lost',
      cardholderId: 'alice',
      credentialId: 'alice-lost',
    });
  });

  it('refuses a temporary card one millisecond before its validity starts', () => {
    expect(decide(badge('front', '99999999'), buildState(), NOW - 1)).toMatchObject({
      granted: false,
      reason: 'credential_not_yet_valid',
      credentialId: 'temp-1',
    });
  });

  it('grants a temporary card at exactly the first millisecond of its validity', () => {
    expect(decide(badge('front', '99999999'), buildState(), NOW)).toMatchObject({ granted: true, reason: 'granted', credentialId: 'temp-1' });
  });

  it('grants a temporary card in the last millisecond before it expires', () => {
    expect(decide(badge('front', '99999999'), buildState(), NOW + 8 * HOUR - 1)).toMatchObject({ granted: true, reason: 'granted' });
  });

  it('refuses a temporary card at exactly its expiry time', () => {
    expect(decide(badge('front', '99999999'), buildState(), NOW + 8 * HOUR)).toMatchObject({
      granted: false,
      reason: 'credential_expired',
      cardholderId: 'alice',
      credentialId: 'temp-1',
    });
  });

  it('treats a card with only a start date as valid forever after it', () => {
    const state = buildState({ credentials: [credential({ id: 'open-ended', cardholderId: 'alice', digest: '123', validFromMs: NOW })] });
    expect(decide(badge('front', '123'), state, NOW + 10 * 365 * 24 * HOUR).granted).toBe(true);
  });

  it('treats a card with only an expiry date as valid any time before it', () => {
    const state = buildState({ credentials: [credential({ id: 'until-only', cardholderId: 'alice', digest: '124', validUntilMs: NOW })] });
    expect(decide(badge('front', '124'), state, 0).granted).toBe(true);
    expect(decide(badge('front', '124'), state, NOW).reason).toBe('credential_expired');
  });

  it('refuses an active card whose cardholder is suspended', () => {
    expect(decide(badge('front', '33333333'), buildState(), NOW)).toEqual<Decision>({
      flags: NO_FLAGS,
      effects: [],
      granted: false,
      reason: 'cardholder_suspended',
      doorId: 'front',
      cardholderId: 'bob',
      credentialId: 'bob-1',
    });
  });

  it('refuses a card whose cardholder record is missing as an unknown credential', () => {
    expect(decide(badge('front', '88888888'), buildState(), NOW)).toMatchObject({ granted: false, reason: 'unknown_credential' });
  });

  it('refuses a cardholder at a door none of their groups includes', () => {
    expect(decide(badge('lab', '12345678'), buildState(), NOW)).toEqual<Decision>({
      flags: NO_FLAGS,
      effects: [],
      granted: false,
      reason: 'not_in_group',
      doorId: 'lab',
      cardholderId: 'alice',
      credentialId: 'alice-1',
    });
  });

  it('refuses a cardholder who belongs to no group at all', () => {
    expect(decide(badge('front', '66666666'), buildState(), NOW).reason).toBe('not_in_group');
  });

  it('refuses a door no group includes, even to an admin', () => {
    expect(decide(badge('roof', '55555555'), buildState(), NOW).reason).toBe('not_in_group');
  });

  it('lets a cardholder in several groups through every door any of those groups includes', () => {
    const state = buildState();
    expect(decide(badge('front', '44444444'), state, NOW)).toMatchObject({ granted: true, cardholderId: 'carol' });
    expect(decide(badge('lab', '44444444'), state, NOW)).toMatchObject({ granted: true, cardholderId: 'carol' });
    expect(decide(badge('roof', '44444444'), state, NOW)).toMatchObject({ granted: false, reason: 'not_in_group' });
  });

  it('ignores a group that no longer exists and still grants through the cardholder’s other groups', () => {
    const state = buildState();
    expect(decide(badge('lab', '77777777'), state, NOW)).toMatchObject({ granted: true, cardholderId: 'frank' });
    expect(decide(badge('front', '77777777'), state, NOW)).toMatchObject({ granted: false, reason: 'not_in_group' });
  });

  it('looks a card up by the key as presented: padding is the key derivation\'s to undo (cardDigest.test.ts)', () => {
    const state = buildState();
    expect(decide(badge('front', '12345678'), state, NOW)).toMatchObject({ granted: true, credentialId: 'alice-1' });
    expect(decide(badge('front', '0012345678'), state, NOW).reason).toBe('unknown_credential');
  });

  it('does not confuse a card with another whose digits differ only by trailing zeros', () => {
    expect(decide(badge('front', '123456780'), buildState(), NOW).reason).toBe('unknown_credential');
  });

  it('checks the door before the card: a locked door reports door_locked even for an unknown card', () => {
    expect(decide(badge('server-room', '10101010'), buildState(), NOW).reason).toBe('door_locked');
  });

  it('checks the card state before its validity window: a lost, expired card reports credential_lost', () => {
    const state = buildState({
      credentials: [credential({ id: 'old-lost', cardholderId: 'alice', digest: '500', status: 'lost', validUntilMs: NOW - HOUR })],
    });
    expect(decide(badge('front', '500'), state, NOW).reason).toBe('credential_lost');
  });

  it('checks the card before the person: an expired card of a suspended cardholder reports credential_expired', () => {
    const state = buildState({
      credentials: [credential({ id: 'bob-old', cardholderId: 'bob', digest: '501', validUntilMs: NOW - HOUR })],
    });
    expect(decide(badge('front', '501'), state, NOW).reason).toBe('credential_expired');
  });

  it('produces each reason code of the card, person and group checks from a plain card floor', () => {
    const state = buildState();
    const cases: [AccessRequest, number][] = [
      [badge('front', '12345678'), NOW],
      [badge('basement', '12345678'), NOW],
      [badge('server-room', '55555555'), NOW],
      [badge('front', '10101010'), NOW],
      [badge('front', '11111111'), NOW],
      [badge('front', '22222222'), NOW],
      [badge('front', '99999999'), NOW - 1],
      [badge('front', '99999999'), NOW + 8 * HOUR],
      [badge('front', '33333333'), NOW],
      [badge('lab', '12345678'), NOW],
    ];
    const seen = new Set<ReasonCode>(cases.map(([request, nowMs]) => decide(request, state, nowMs).reason));
    const basic: ReasonCode[] = ['granted', 'unknown_door', 'door_locked', 'unknown_credential', 'credential_suspended', 'credential_lost', 'credential_not_yet_valid', 'credential_expired', 'cardholder_suspended', 'not_in_group'];
    expect([...seen].sort()).toEqual(basic.sort());
    expect(ReasonCodes).toEqual(expect.arrayContaining(basic));
  });

  it('grants only with the reason granted, and denies with every other reason', () => {
    const state = buildState();
    for (const number of ['12345678', '10101010', '11111111', '22222222', '33333333', '66666666']) {
      const decision = decide(badge('front', number), state, NOW);
      expect(decision.granted).toBe(decision.reason === 'granted');
    }
  });

  it('gives the same decision for the same inputs, every time', () => {
    const state = buildState();
    const requests = [badge('front', '12345678'), badge('lab', '12345678'), badge('front', '99999999'), badge('server-room', '55555555')];
    for (const request of requests) {
      const first = decide(request, state, NOW);
      for (let i = 0; i < 5; i++) expect(decide(request, state, NOW)).toEqual(first);
    }
  });

  it('decides on a deeply frozen state without changing it', () => {
    const state = buildState();
    const before = structuredClone(state);
    deepFreeze(state);
    const request = deepFreeze(badge('front', '0012345678'));
    expect(() => {
      for (const number of ['0012345678', '11111111', '22222222', '33333333', '44444444', '88888888', '99999999']) {
        decide(badge('front', number), state, NOW);
        decide(badge('lab', number), state, NOW - 1);
      }
      decide(request, state, NOW);
    }).not.toThrow();
    expect(state).toEqual(before);
    expect(request).toEqual(badge('front', '0012345678'));
  });

  it('gives a card without a validity window the same answer a day later', () => {
    const state = buildState();
    const later = NOW + 24 * HOUR;
    expect(decide(badge('front', '12345678'), state, later)).toEqual(decide(badge('front', '12345678'), state, NOW));
  });
});

describe('canonicalCardNumber', () => {
  it('strips leading zeros so readers that pad the number still match', () => {
    expect(canonicalCardNumber('0001234')).toBe('1234');
    expect(canonicalCardNumber('1234')).toBe('1234');
  });

  it('keeps a card numbered zero as "0"', () => {
    expect(canonicalCardNumber('0000')).toBe('0');
    expect(canonicalCardNumber('0')).toBe('0');
  });
});

describe('maskCardNumber', () => {
  const samples = ['123', '1234', '12345678', '0012345678', '98765432109876543210', '100', '999'];

  it('never shows a card number whole', () => {
    for (const number of ['1', '12', ...samples]) {
      const masked = maskCardNumber(number);
      expect(masked).not.toBe(number);
      expect(masked).not.toContain(number);
    }
  });

  it('keeps the last two digits of a card of six digits or more so two reads can be told apart', () => {
    for (const number of samples.filter((sample) => sample.length >= 6)) {
      const masked = maskCardNumber(number);
      expect(masked.slice(-2)).toBe(number.slice(-2));
      expect(masked.slice(0, -2)).toMatch(/^\*+$/);
    }
    expect(maskCardNumber('12345678')).toBe('******78');
  });

  it('shows at most a third of the digits of a short card', () => {
    expect(maskCardNumber('123')).toBe('**3');
    expect(maskCardNumber('1001')).toBe('***1');
    expect(maskCardNumber('12345')).toBe('****5');
  });

  it('shows no digit at all of a one- or two-digit number', () => {
    expect(maskCardNumber('7')).toBe('*');
    expect(maskCardNumber('42')).toBe('**');
  });

  it('does not reveal the length of a long card number beyond eight masked digits', () => {
    expect(maskCardNumber('98765432109876543210')).toBe('********10');
    expect(maskCardNumber('1234567890')).toBe('********90');
  });
});
