import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_WIEGAND_FORMATS, encodeWiegand } from '../../src/access/wiegand.js';
import type { JournalEvent } from '../../src/journal/index.js';
import { connect, connectDevice, startTestGateway, tempDir, type TestClient, type TestGateway } from '../support/gateway.js';

/** Every access rule seen end to end: a device badges over MQTT, the strike or the journal answers. */

const DOORS = ['front', 'vault', 'lobby', 'lab', 'cage', 'floor-in', 'floor-out', 'server', 'atrium'] as const;
type Door = (typeof DOORS)[number];

const SITE_YAML = `
site: { id: rules, name: Rules floor, timezone: Europe/London, duressPinOffset: 1 }
devices:
${DOORS.map((door) => `  - { id: ${door}-reader, kind: reader }\n  - { id: ${door}-strike, kind: strike }`).join('\n')}
doors:
  - { id: front, name: Front, reader: front-reader, strike: front-strike, overrideGroups: [security] }
  - { id: vault, name: Vault, reader: vault-reader, strike: vault-strike, mode: card-and-pin }
  - { id: lobby, name: Lobby, reader: lobby-reader, strike: lobby-strike, mode: card-or-pin }
  - { id: lab, name: Lab, reader: lab-reader, strike: lab-strike }
  - { id: cage, name: Cage, reader: cage-reader, strike: cage-strike, twoPersonSeconds: 30 }
  - { id: floor-in, name: Floor in, reader: floor-in-reader, strike: floor-in-strike }
  - { id: floor-out, name: Floor out, reader: floor-out-reader, strike: floor-out-strike }
  - { id: server, name: Server, reader: server-reader, strike: server-strike, mode: locked, overrideGroups: [security] }
  - { id: atrium, name: Atrium, reader: atrium-reader, strike: atrium-strike, mode: scheduled-unlock, unlockSchedule: business-hours, firstPersonInGroups: [managers] }
doorGroups:
  - { id: secure, name: Secure doors, doors: [vault, cage] }
schedules:
  - id: business-hours
    name: Business hours
    intervals: [{ days: [mon, tue, wed, thu, fri], from: "08:00", to: "18:00" }]
    holidays: [uk-bank]
holidays:
  - { id: uk-bank, name: UK bank holidays, dates: ["2025-12-25"] }
accessLevels:
  - { id: lab-days, name: Lab in business hours, doors: [lab], schedule: business-hours }
  - { id: secure-any-time, name: Secure doors, doorGroups: [secure] }
groups:
  - { id: staff, name: Staff, doors: [front, lobby, floor-in, floor-out, atrium] }
  - { id: techs, name: Technicians, accessLevels: [lab-days] }
  - { id: vault-staff, name: Vault staff, accessLevels: [secure-any-time] }
  - { id: security, name: Security, doors: [front, lab] }
  - { id: managers, name: Managers, doors: [front, atrium] }
  - { id: visitors, name: Visitors, doors: [front] }
threatLevels:
  - { id: elevated, name: Elevated, allowedGroups: [security, managers] }
areas:
  - { id: floor, name: Office floor, entryDoors: [floor-in], exitDoors: [floor-out], passback: hard }
watchList:
  - { cardholder: mallory, reason: "banned former employee" }
cardholders:
  - { id: alice, name: Alice, groups: [staff], pin: "1234", credentials: [{ card: "1001" }, { id: alice-w, wiegand: { format: h10301, facility: 12, number: 345 } }] }
  - { id: tom, name: Tom, groups: [techs], credentials: [{ card: "2001" }] }
  - { id: vic, name: Vic, groups: [vault-staff], pin: "4321", duressPin: "9999", credentials: [{ card: "4001" }] }
  - { id: val, name: Val, groups: [vault-staff], pin: "5555", credentials: [{ card: "4002" }] }
  - { id: sam, name: Sam, groups: [security], credentials: [{ card: "3001" }] }
  - { id: maya, name: Maya, groups: [managers], credentials: [{ card: "3002" }] }
  - { id: guest, name: Guest, groups: [visitors], escort: { groups: [managers], withinSeconds: 30 }, credentials: [{ card: "5001" }] }
  - { id: mallory, name: Mallory, groups: [staff], credentials: [{ card: "6001" }] }
`;

/** Monday 2 June 2025, 09:00 BST. */
const MONDAY_9AM = Date.parse('2025-06-02T08:00:00Z');

describe('access rules through the MQTT badge path', () => {
  let gw: TestGateway;
  let stateDir: string;
  let observer: TestClient;
  let nowMs = MONDAY_9AM;
  const readers = new Map<Door, TestClient>();
  const strikes = new Map<Door, TestClient>();

  async function start(): Promise<void> {
    gw = await startTestGateway({ stateDir, configYaml: 'demo: true', siteYaml: SITE_YAML, clock: () => nowMs });
    observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    await Promise.all(
      DOORS.flatMap((door) => [
        connectDevice(gw.mqttUrl, `${door}-reader`).then((client) => readers.set(door, client)),
        connectDevice(gw.mqttUrl, `${door}-strike`).then((client) => strikes.set(door, client)),
      ]),
    );
  }

  async function stop(): Promise<void> {
    await Promise.all([observer, ...readers.values(), ...strikes.values()].map((client) => client.end()));
    await gw.stop();
  }

  beforeAll(async () => {
    stateDir = tempDir();
    await start();
  });
  afterAll(stop);

  const reader = (door: Door): TestClient => readers.get(door) as TestClient;
  const strike = (door: Door): TestClient => strikes.get(door) as TestClient;

  /** Publishes a signal at a door's reader and resolves with the decision event journalled for it. */
  async function signal(door: Door, payload: Record<string, unknown>): Promise<JournalEvent> {
    const after = observer.mark();
    await reader(door).publish(`guardpost/devices/${door}-reader/input`, JSON.stringify(payload));
    return observer.nextEvent((event) => ['access.granted', 'access.denied', 'access.error'].includes(event.type) && event.device === `${door}-reader`, after);
  }
  const badge = (door: Door, card: string): Promise<JournalEvent> => signal(door, { type: 'card', card });

  /** Resolves with the next strike command at a door from `after` on. */
  const nextStrike = (door: Door, after: number) => strike(door).next((message) => message.json.type === 'strike', after);

  it('opens a lab door to a technician only within business hours in the site zone [ACC-SCHEDULE]', async () => {
    const mark = strike('lab').mark();
    expect(await badge('lab', '2001')).toMatchObject({ type: 'access.granted', cardholder: 'tom' });
    expect((await nextStrike('lab', mark)).json).toEqual({ type: 'strike', action: 'pulse', durationMs: 5000 });
    nowMs = Date.parse('2025-06-02T17:30:00Z'); // 18:30 BST
    expect(await badge('lab', '2001')).toMatchObject({ type: 'access.denied', reason: 'outside_schedule' });
    nowMs = Date.parse('2025-12-25T10:00:00Z'); // Christmas Day, a Thursday
    expect(await badge('lab', '2001')).toMatchObject({ type: 'access.denied', reason: 'outside_schedule' });
    nowMs = MONDAY_9AM;
  });

  it('opens a card + PIN door only after the right PIN follows the card [ACC-PIN]', async () => {
    const readerMark = reader('vault').mark();
    const strikeMark = strike('vault').mark();
    await reader('vault').publish('guardpost/devices/vault-reader/input', JSON.stringify({ type: 'card', card: '4001' }));
    expect((await reader('vault').next((message) => message.json.type === 'led', readerMark)).json).toMatchObject({ color: 'amber' });
    const event = await signal('vault', { type: 'pin', pin: '4321' });
    expect(event).toMatchObject({ type: 'access.granted', cardholder: 'vic', data: { pin: true, card: '***1' } });
    // (The event's random UUID may hold any four hex digits; the PIN must be nowhere else.)
    expect(JSON.stringify({ ...event, id: undefined })).not.toContain('4321');
    expect((await nextStrike('vault', strikeMark)).json).toMatchObject({ action: 'pulse' });

    await reader('vault').publish('guardpost/devices/vault-reader/input', JSON.stringify({ type: 'card', card: '4001' }));
    expect(await signal('vault', { type: 'pin', pin: '1111' })).toMatchObject({ type: 'access.denied', reason: 'pin_invalid' });
  });

  it('journals a card that waited in vain for its PIN as refused once the next card or a late PIN comes [ACC-PIN]', async () => {
    await reader('vault').publish('guardpost/devices/vault-reader/input', JSON.stringify({ type: 'card', card: '4002' }));
    const refusal = await signal('vault', { type: 'card', card: '4001' });
    expect(refusal).toMatchObject({ type: 'access.denied', reason: 'pin_required', cardholder: 'val', data: { pinEntered: false } });
    nowMs += 11_000; // past the 10 s PIN entry window
    const late = observer.mark();
    await reader('vault').publish('guardpost/devices/vault-reader/input', JSON.stringify({ type: 'pin', pin: '4321' }));
    expect(await observer.nextEvent((event) => event.reason === 'pin_required' && event.cardholder === 'vic', late)).toMatchObject({ type: 'access.denied' });
    // The late PIN was then a PIN alone, which a card + PIN door does not take.
    expect(await observer.nextEvent((event) => event.reason === 'pin_not_accepted', late)).toMatchObject({ door: 'vault' });
    nowMs = MONDAY_9AM;
  });

  it('grants a duress PIN as normal and journals a critical duress event for the silent alarm [ACC-DURESS]', async () => {
    const after = observer.mark();
    await reader('vault').publish('guardpost/devices/vault-reader/input', JSON.stringify({ type: 'card', card: '4001' }));
    await reader('vault').next((message) => message.json.type === 'led' && message.json.color === 'amber', reader('vault').mark() - 1);
    const readerMark = reader('vault').mark();
    expect(await signal('vault', { type: 'pin', pin: '4322' })).toMatchObject({ type: 'access.granted', cardholder: 'vic' });
    const duress = await observer.nextEvent((event) => event.type === 'access.duress', after);
    expect(duress).toMatchObject({ severity: 'critical', door: 'vault', cardholder: 'vic' });
    // Silent: the reader shows an ordinary grant.
    const buzzer = await reader('vault').next((message) => message.json.type === 'buzzer', readerMark);
    expect(buzzer.json).toMatchObject({ pattern: 'grant' });
  });

  it('opens a card-or-PIN door to a PIN alone, and a card-only door refuses one [ACC-PIN-ONLY]', async () => {
    expect(await signal('lobby', { type: 'pin', pin: '1234' })).toMatchObject({ type: 'access.granted', cardholder: 'alice' });
    expect(await signal('front', { type: 'pin', pin: '1234' })).toMatchObject({ type: 'access.denied', reason: 'pin_not_accepted' });
  });

  it('decodes a Wiegand frame, checks its parity, and refuses a misread [ACC-WIEGAND]', async () => {
    const h10301 = BUILT_IN_WIEGAND_FORMATS[0];
    if (h10301 === undefined) throw new Error('no built-in formats');
    const bits = encodeWiegand(h10301, 12, 345);
    expect(await signal('front', { type: 'wiegand', bits })).toMatchObject({ type: 'access.granted', cardholder: 'alice', data: { credential: 'alice-w' } });
    const flipped = `${bits.slice(0, 5)}${bits[5] === '1' ? '0' : '1'}${bits.slice(6)}`;
    expect(await signal('front', { type: 'wiegand', bits: flipped })).toMatchObject({ type: 'access.denied', reason: 'unreadable_credential', data: { code: 'bad_parity' } });
  });

  it('lets only override groups through a locked door [ACC-DOOR-LOCKED]', async () => {
    expect(await badge('server', '1001')).toMatchObject({ type: 'access.denied', reason: 'door_locked' });
    expect(await badge('server', '3001')).toMatchObject({ type: 'access.granted', cardholder: 'sam' });
  });

  it('follows a raised threat level and a lockdown on the very next read [ACC-THREAT] [ACC-LOCKDOWN]', async () => {
    gw.gateway.runtime.setConditions({ threatLevel: 'elevated', lockedDownDoors: new Set() });
    expect(await badge('front', '1001')).toMatchObject({ type: 'access.denied', reason: 'threat_level' });
    expect(await badge('front', '3002')).toMatchObject({ type: 'access.granted' });
    gw.gateway.runtime.setConditions({ threatLevel: 'normal', lockedDownDoors: new Set(['front']) });
    expect(await badge('front', '1001')).toMatchObject({ type: 'access.denied', reason: 'door_lockdown' });
    expect(await badge('front', '3001')).toMatchObject({ type: 'access.granted', cardholder: 'sam' });
    gw.gateway.runtime.setConditions({ threatLevel: 'normal', lockedDownDoors: new Set() });
    expect(await badge('front', '1001')).toMatchObject({ type: 'access.granted' });
  });

  it('denies a watch-listed person and raises a high-severity watch-list event [ACC-WATCHLIST]', async () => {
    const after = observer.mark();
    expect(await badge('front', '6001')).toMatchObject({ type: 'access.denied', reason: 'watchlist', cardholder: 'mallory' });
    expect(await observer.nextEvent((event) => event.type === 'access.watchlist', after)).toMatchObject({ severity: 'high', data: { watchReason: 'banned former employee' } });
  });

  it('opens a two-person door only for the second of two different cardholders [ACC-TWO-PERSON]', async () => {
    const mark = strike('cage').mark();
    expect(await badge('cage', '4001')).toMatchObject({ type: 'access.denied', reason: 'two_person_waiting' });
    expect(await badge('cage', '4002')).toMatchObject({ type: 'access.granted', cardholder: 'val' });
    await nextStrike('cage', mark);
    expect(strike('cage').received.slice(mark).filter((message) => message.json.type === 'strike')).toHaveLength(1);
  });

  it('opens for a visitor only with an escort from a named group [ACC-ESCORT]', async () => {
    nowMs = MONDAY_9AM + 10 * 60_000; // well after any earlier manager badge at the front door
    expect(await badge('front', '5001')).toMatchObject({ type: 'access.denied', reason: 'escort_required' });
    expect(await badge('front', '3002')).toMatchObject({ type: 'access.granted', cardholder: 'maya', data: { escortedVisitor: 'guest' } });
    nowMs += 5_000;
    expect(await badge('front', '5001')).toMatchObject({ type: 'access.granted', cardholder: 'guest' });
    nowMs += 60_000;
    expect(await badge('front', '5001')).toMatchObject({ type: 'access.denied', reason: 'escort_required' });
    nowMs = MONDAY_9AM;
  });

  it('releases a scheduled-unlock door for its first manager and holds the strike unlocked [ACC-FIRST-IN]', async () => {
    const mark = strike('atrium').mark();
    const after = observer.mark();
    expect(await badge('atrium', '1001')).toMatchObject({ type: 'access.granted' });
    expect((await nextStrike('atrium', mark)).json).toMatchObject({ action: 'pulse' });
    const second = strike('atrium').mark();
    expect(await badge('atrium', '3002')).toMatchObject({ type: 'access.granted', cardholder: 'maya' });
    expect((await nextStrike('atrium', second)).json).toEqual({ type: 'strike', action: 'unlock' });
    await observer.nextEvent((event) => event.type === 'access.first_person_in', after);
  });

  it('refuses a second entry without an exit, even after a restart, until an admin forgives it [ACC-PASSBACK]', async () => {
    expect(await badge('floor-in', '1001')).toMatchObject({ type: 'access.granted' });
    expect(await badge('floor-in', '1001')).toMatchObject({ type: 'access.denied', reason: 'passback' });
    await stop();
    readers.clear();
    strikes.clear();
    await start();
    expect(await badge('floor-in', '1001')).toMatchObject({ type: 'access.denied', reason: 'passback' });
    const after = observer.mark();
    const forgive = await fetch(`${gw.httpUrl}/api/v1/passback/forgive`, {
      method: 'POST',
      headers: { ...(await gw.adminHeaders()), 'content-type': 'application/json' },
      body: JSON.stringify({ cardholder: 'alice' }),
    });
    expect(await forgive.json()).toEqual({ forgiven: 1 });
    const forgiven = await observer.nextEvent((event) => event.type === 'access.passback_forgiven' && event.cardholder === 'alice', after);
    expect(forgiven.data).toMatchObject({ by: 'admin' });
    expect(await badge('floor-in', '1001')).toMatchObject({ type: 'access.granted' });
  });

  it('refuses a card the moment it is suspended, and opens for a new one at once, without a reload [ACC-INDEX]', async () => {
    const { runtime, store } = gw.gateway;
    const indexBefore = runtime.site;
    runtime.changeCardholders(['tom'], { by: 'test-admin', what: 'cardholder tom: card 2001 suspended, card 2002 added' }, () => {
      store.cardholders.upsertCredential({ id: 'tom-card-1', cardholderId: 'tom', kind: 'card', digest: store.cardDigests!.ofCard('2001'), status: 'suspended', validFromMs: null, validUntilMs: null }, '****');
      store.cardholders.upsertCredential({ id: 'tom-new', cardholderId: 'tom', kind: 'card', digest: store.cardDigests!.ofCard('2002'), status: 'active', validFromMs: null, validUntilMs: null }, '****');
    });
    expect(runtime.site).toBe(indexBefore); // patched in place, not rebuilt
    expect(await badge('lab', '2001')).toMatchObject({ type: 'access.denied', reason: 'credential_suspended' });
    expect(await badge('lab', '2002')).toMatchObject({ type: 'access.granted', cardholder: 'tom', data: { credential: 'tom-new' } });
    runtime.changeCardholders(['tom'], { by: 'test-admin', what: 'cardholder tom: groups cleared' }, () => store.cardholders.upsert({ id: 'tom', name: 'Tom', status: 'active', groupIds: [] }));
    expect(await badge('lab', '2002')).toMatchObject({ type: 'access.denied', reason: 'not_in_group' });
  });

  it('never journals a PIN or a whole card number', async () => {
    const rows = gw.gateway.store.db.prepare<[], { data: string }>("SELECT data FROM events WHERE type LIKE 'access.%'").all();
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) for (const secret of ['1234', '4321', '4322', '9999', '1001', '2001', '4001', '345']) expect(row.data).not.toContain(`"${secret}"`);
    const pins = gw.gateway.store.db.prepare<[], { pin_digest: Buffer }>('SELECT pin_digest FROM cardholder_pins').all();
    expect(pins).toHaveLength(3);
    for (const pin of pins) expect(pin.pin_digest.byteLength).toBe(32);
  });
});
