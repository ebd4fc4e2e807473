import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { GuardpostError } from '../../src/errors.js';
import { loadSiteFile, parseSiteData } from '../../src/config/load.js';

const repo = path.resolve(import.meta.dirname, '../..');
const fixtures = path.join(repo, 'tests/fixtures/config');

/** A small valid site; each test breaks one thing. */
function site(): Record<string, any> {
  return {
    site: { id: 'hq', name: 'HQ', timezone: 'Europe/London' },
    devices: [
      { id: 'front-reader', kind: 'reader' },
      { id: 'front-strike', kind: 'strike' },
      { id: 'back-reader', kind: 'reader' },
      { id: 'back-strike', kind: 'strike' },
    ],
    doors: [
      { id: 'front', name: 'Front', reader: 'front-reader', strike: 'front-strike' },
      { id: 'back', name: 'Back', reader: 'back-reader', strike: 'back-strike', unlockMs: 3000 },
    ],
    groups: [{ id: 'staff', name: 'Staff', doors: ['front', 'back'] }],
    cardholders: [
      { id: 'alice', name: 'Alice', groups: ['staff'], credentials: [{ card: '1001' }] },
      { id: 'bob', name: 'Bob', groups: ['staff'], credentials: [{ card: '1002' }, { card: '2002', id: 'bob-spare' }] },
    ],
  };
}

function problemsOf(raw: unknown): string[] {
  const result = parseSiteData(raw);
  return result.ok ? [] : result.problems;
}

function writeSite(text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gp-config-')), 'site.yaml');
  fs.writeFileSync(file, text);
  return file;
}

describe('the demo site', () => {
  it('parses with the contracted ids and the defaults filled in', () => {
    const data = loadSiteFile(path.join(repo, 'config/demo-site.yaml'));
    expect(data.site).toEqual({ id: 'demo', name: 'Demo floor', timezone: 'Europe/London' });
    expect(data.devices.map((d) => [d.id, d.kind])).toEqual([
      ['main-entrance-reader', 'reader'],
      ['main-entrance-strike', 'strike'],
      ['server-room-reader', 'reader'],
      ['server-room-strike', 'strike'],
      ['reception-panic', 'panic-button'],
      ['main-entrance-contact', 'door-contact'],
      ['main-entrance-exit', 'exit-button'],
      ['reception-camera', 'camera'],
      ['fire-panel', 'fire-alarm'],
    ]);
    expect(data.devices.every((d) => d.driver === 'json' && d.passwordHash === undefined)).toBe(true);
    expect(data.devices[4]?.location).toBe('Reception desk');
    expect(data.doors).toEqual([
      { id: 'main-entrance', name: 'Main entrance', reader: 'main-entrance-reader', strike: 'main-entrance-strike', unlockMs: 5000, mode: 'card',
        contact: 'main-entrance-contact', exit: 'main-entrance-exit', failMode: 'fail-safe', heldOpenMs: 30000, preAlarmMs: 10000, rexUnlocks: true },
      { id: 'server-room', name: 'Server room', reader: 'server-room-reader', strike: 'server-room-strike', unlockMs: 3000, mode: 'card',
        failMode: 'fail-secure', heldOpenMs: 30000, preAlarmMs: 10000, rexUnlocks: true },
    ]);
    expect(data.groups.map((g) => [g.id, g.doors])).toEqual([
      ['staff', ['main-entrance']],
      ['it', ['main-entrance', 'server-room']],
    ]);
    const holders = Object.fromEntries(data.cardholders.map((c) => [c.id, c]));
    expect(holders['alice-adams']).toMatchObject({ status: 'active', groups: ['staff'], credentials: [{ id: 'alice-adams-card-1', card: '1001', status: 'active' }] });
    expect(holders['bob-brown']).toMatchObject({ groups: ['it'], credentials: [{ card: '1002', status: 'active' }] });
    expect(holders['carol-clark']?.credentials[0]).toMatchObject({ card: '1003', validUntil: '2024-12-31T23:59:59.000Z' });
    expect(holders['dave-davis']?.credentials[0]).toMatchObject({ card: '1004', status: 'suspended' });
  });
});

describe('parseSiteData', () => {
  it('accepts the valid base site', () => {
    expect(parseSiteData(site()).ok).toBe(true);
  });

  it('names the key path when a door unlock time is below the minimum', () => {
    const raw = site();
    raw.doors[1].unlockMs = 50;
    expect(problemsOf(raw)).toEqual(['doors[1].unlockMs: expected integer ≥ 100, got 50']);
  });

  it('reports an unlock time given as text as a type problem only', () => {
    const raw = site();
    raw.doors[0].unlockMs = 'abc';
    expect(problemsOf(raw)).toEqual(['doors[0].unlockMs: expected integer, got string "abc"']);
  });

  it('reports a missing required key', () => {
    const raw = site();
    delete raw.doors[0].name;
    delete raw.site;
    expect(problemsOf(raw)).toEqual(['doors[0].name: required', 'site: required']);
  });

  it('reports an id that is not lowercase letters, digits and dashes', () => {
    const raw = site();
    raw.doors[0].id = 'Main Door';
    expect(problemsOf(raw)).toEqual(['doors[0].id: expected an id of lowercase letters, digits and dashes, got "Main Door"']);
  });

  it('reports an unknown device kind in one line', () => {
    const raw = site();
    raw.devices[0].kind = 'lock';
    expect(problemsOf(raw)).toEqual([
      'devices[0].kind: expected one of reader, strike, panic-button, door-contact, exit-button, camera, fire-alarm, tamper-switch, threat-button, got "lock"',
    ]);
  });

  it('reports lists and names of the wrong type', () => {
    const raw = site();
    raw.groups = 'x';
    raw.cardholders[0].name = { first: 'Alice' };
    expect(problemsOf(raw)).toEqual(['groups: expected array, got string "x"', 'cardholders[0].name: expected string, got object']);
  });

  it('reports an unknown key with the keys allowed there', () => {
    const raw = site();
    raw.doors[0].unlock = 5;
    expect(problemsOf(raw)).toEqual(['doors[0].unlock: unknown key (allowed: id, name, reader, strike, unlockMs, mode, overrideGroups, unlockSchedule, firstPersonInGroups, twoPersonSeconds, contact, exit, failMode, heldOpenMs, preAlarmMs, rexUnlocks)']);
  });

  it('reports a card that is not decimal digits', () => {
    const raw = site();
    raw.cardholders[0].credentials[0].card = '12ab';
    expect(problemsOf(raw)).toEqual(['cardholders[0].credentials[0].card: expected 1 to 20 decimal digits, got "12ab"']);
  });

  it('turns a card number given as a number into a string', () => {
    const raw = site();
    raw.cardholders[0].credentials[0].card = 1001;
    const result = parseSiteData(raw);
    expect(result.ok && result.site.cardholders[0]?.credentials[0]?.card).toBe('1001');
  });

  it('refuses a card number too long to have survived as a number', () => {
    const raw = site();
    raw.cardholders[0].credentials[0].card = 12345678901234567890;
    expect(problemsOf(raw)).toEqual(['cardholders[0].credentials[0].card: card number too long to be read as a number; quote it']);
  });

  it('keeps unquoted card numbers from YAML exactly as written', () => {
    const file = writeSite(
      'site: { id: s, name: S, timezone: UTC }\ncardholders:\n  - id: a\n    name: A\n    credentials:\n      - card: 0012\n      - card: 12345678901234567890\n',
    );
    expect(loadSiteFile(file).cardholders[0]?.credentials.map((c) => c.card)).toEqual(['0012', '12345678901234567890']);
  });

  it('defaults credential ids to the cardholder id and position', () => {
    const result = parseSiteData(site());
    expect(result.ok && result.site.cardholders[1]?.credentials.map((c) => c.id)).toEqual(['bob-card-1', 'bob-spare']);
  });

  it('accepts validity dates as strings or as Dates and normalises them to UTC', () => {
    const raw = site();
    raw.cardholders[0].credentials[0].validFrom = new Date('2024-01-01T00:00:00Z');
    raw.cardholders[0].credentials[0].validUntil = '2030-01-01T01:00:00+01:00';
    const result = parseSiteData(raw);
    expect(result.ok && result.site.cardholders[0]?.credentials[0]).toMatchObject({
      validFrom: '2024-01-01T00:00:00.000Z',
      validUntil: '2030-01-01T00:00:00.000Z',
    });
  });

  it('reports a validity date that is not an ISO-8601 date-time', () => {
    const raw = site();
    raw.cardholders[0].credentials[0].validFrom = 'tomorrow';
    raw.cardholders[1].credentials[0].validUntil = '2024-02-30T00:00:00Z';
    expect(problemsOf(raw)).toEqual([
      'cardholders[0].credentials[0].validFrom: expected an ISO-8601 date-time, got "tomorrow"',
      'cardholders[1].credentials[0].validUntil: expected an ISO-8601 date-time, got "2024-02-30T00:00:00Z"',
    ]);
  });

  it('reports a validity window that ends before it starts', () => {
    const raw = site();
    Object.assign(raw.cardholders[0].credentials[0], { validFrom: '2030-01-01T00:00:00Z', validUntil: '2024-01-01T00:00:00Z' });
    expect(problemsOf(raw)).toEqual(['cardholders[0].credentials[0].validUntil: validUntil must be after validFrom']);
  });

  it('reports an unknown time zone', () => {
    const raw = site();
    raw.site.timezone = 'Mars/Base';
    expect(problemsOf(raw)).toEqual(['site.timezone: unknown IANA time zone "Mars/Base"']);
  });

  it('reports a door whose reader does not exist or is the wrong kind of device', () => {
    const raw = site();
    raw.doors[0].reader = 'x';
    raw.doors[1].reader = 'back-strike';
    expect(problemsOf(raw)).toEqual([
      'doors[0].reader: unknown device "x"',
      'doors[1].reader: device "back-strike" is a strike, expected a reader',
    ]);
  });

  it('uses "an" before a kind starting with a vowel', () => {
    const raw = site();
    raw.devices.push({ id: 'exit', kind: 'exit-button' });
    raw.doors[0].strike = 'exit';
    expect(problemsOf(raw)).toEqual(['doors[0].strike: device "exit" is an exit-button, expected a strike']);
  });

  it('reports references to unknown groups and doors', () => {
    const raw = site();
    raw.groups[0].doors = ['front', 'x'];
    raw.cardholders[0].groups = ['x'];
    expect(problemsOf(raw)).toEqual(['groups[0].doors[1]: unknown door "x"', 'cardholders[0].groups[0]: unknown group "x"']);
  });

  it('reports a door listed twice in a group', () => {
    const raw = site();
    raw.groups[0].doors = ['front', 'front'];
    expect(problemsOf(raw)).toEqual(['groups[0].doors[1]: duplicate door "front" (also at groups[0].doors[0])']);
  });

  it('reports duplicate ids with the position of the first', () => {
    const raw = site();
    raw.doors.push({ id: 'front', name: 'Front again', reader: 'front-reader', strike: 'front-strike' });
    raw.cardholders[1].credentials[1].id = 'alice-card-1';
    expect(problemsOf(raw)).toEqual([
      'doors[2].id: duplicate id "front" (also at doors[0])',
      'cardholders[1].credentials[1].id: duplicate id "alice-card-1" (also at cardholders[0].credentials[0])',
    ]);
  });

  it('reports a card held twice, ignoring leading zeros', () => {
    const raw = site();
    raw.cardholders[1].credentials[0].card = '0001001';
    expect(problemsOf(raw)).toEqual([
      'cardholders[1].credentials[0].card: this card is already held by cardholders[0].credentials[0]',
    ]);
  });

  it('never shows a device password hash in a message', () => {
    const raw = site();
    raw.devices[0].passwordHash = 'hunter2';
    expect(problemsOf(raw)).toEqual(['devices[0].passwordHash: expected an argon2 hash starting with "$argon2"']);
  });
});

describe('loadSiteFile', () => {
  it('reports every schema problem of a file at once, prefixed with the file', () => {
    const file = path.relative(process.cwd(), path.join(fixtures, 'site-many-problems.yaml'));
    let error: unknown;
    try {
      loadSiteFile(file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GuardpostError);
    const gp = error as GuardpostError;
    expect(gp.code).toBe('GP_ERR_SITE_INVALID');
    expect(gp.message).toBe(`${file}: 6 problems`);
    expect(gp.details).toEqual([
      `${file}: site.id: expected an id of lowercase letters, digits and dashes, got "Demo Site"`,
      `${file}: devices[1].kind: expected one of reader, strike, panic-button, door-contact, exit-button, camera, fire-alarm, tamper-switch, threat-button, got "lock"`,
      `${file}: doors[0].unlockMs: expected integer ≥ 100, got 50`,
      `${file}: cardholders[0].credentials[0].card: expected 1 to 20 decimal digits, got "12ab"`,
      `${file}: cardholders[0].credentials[0].validFrom: expected an ISO-8601 date-time, got "tomorrow"`,
      `${file}: cardholders[0].colour: unknown key (allowed: id, name, status, groups, credentials, pin, duressPin, escort)`,
    ]);
  });

  it('reports a missing site file as a read error', () => {
    expect(() => loadSiteFile('no/such/site.yaml')).toThrow('cannot read site file no/such/site.yaml: no such file');
  });
});
