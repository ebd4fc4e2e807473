import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { nextJournalEvent } from '../support/journal.js';
import { connect, connectDevice, demoSiteFile, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';

const input = (device: string): string => `guardpost/devices/${device}/input`;
const availability = (device: string): string => `guardpost/devices/${device}/availability`;
const card = (number: string): string => JSON.stringify({ type: 'card', card: number });

/**
 * The demo site with a one-minute unlock schedule, 08:00–08:01 every day in London: the server
 * room (a card door) stands unlocked in it; the main entrance is a scheduled-unlock door that
 * waits for its first IT badge (IT also overrides a lockdown there).
 */
function scheduledSite(): string {
  let site = fs.readFileSync(demoSiteFile, 'utf8');
  const edits: [string, string][] = [
    ['    preAlarmMs: 10000\n', '    preAlarmMs: 10000\n    mode: scheduled-unlock\n    unlockSchedule: quick\n    firstPersonInGroups: [it]\n    overrideGroups: [it]\n'],
    ['    unlockMs: 3000\n', '    unlockMs: 3000\n    unlockSchedule: quick\n'],
    ['schedules:\n', 'schedules:\n  - id: quick\n    name: One minute of free access\n    intervals:\n      - { days: [mon, tue, wed, thu, fri, sat, sun], from: "08:00", to: "08:01" }\n'],
  ];
  for (const [from, to] of edits) {
    if (!site.includes(from)) throw new Error(`demo site no longer contains ${JSON.stringify(from)}`);
    site = site.replace(from, to);
  }
  return site;
}

/** A clock that reads `startIso` now and runs at the real rate, so real timers fire at its boundaries. */
function clockFrom(startIso: string): () => number {
  const offsetMs = Date.parse(startIso) - Date.now();
  return () => Date.now() + offsetMs;
}

describe('doors held unlocked on their schedule, through the broker [SAFE-SCHEDULE]', () => {
  let gw: TestGateway | undefined;
  let clients: TestClient[] = [];

  afterEach(async () => {
    await Promise.all(clients.map((client) => client.end()));
    clients = [];
    await gw?.stop();
    gw = undefined;
  });

  async function start(clockIso: string): Promise<{ gw: TestGateway; observer: TestClient }> {
    gw = await startTestGateway({ configYaml: 'demo: true', siteYaml: scheduledSite(), clock: clockFrom(clockIso) });
    const observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    await observer.subscribe('guardpost/doors/+/state');
    clients.push(observer);
    return { gw, observer };
  }

  async function device(id: string): Promise<TestClient> {
    const client = await connectDevice((gw as TestGateway).mqttUrl, id);
    clients.push(client);
    return client;
  }

  it('unlocks the strike when the schedule opens, at the boundary, with no polling', async () => {
    // Monday 2 June 2025, 07:59:55 BST: five seconds before the schedule opens.
    const { observer } = await start('2025-06-02T06:59:55Z');
    const strike = await device('server-room-strike');
    const unlocked = await observer.nextEvent((event) => event.type === 'door.unlocked_on_schedule' && event.door === 'server-room', 0, 15_000);
    expect(unlocked).toMatchObject({ severity: 'low', data: { schedule: 'quick', firstPersonIn: false, strike: 'unlock', lockdown: false } });
    expect(Date.parse(unlocked.time)).toBeGreaterThanOrEqual(Date.parse('2025-06-02T07:00:00Z'));
    expect((await strike.next((m) => m.json.type === 'strike')).json).toEqual({ type: 'strike', action: 'unlock' });
    expect((await observer.next((m) => m.topic === 'guardpost/doors/server-room/state' && m.json.lock === 'unlocked')).json).toMatchObject({ lock: 'unlocked', lockdown: false, scheduled: true });
    // The first-person-in door did not open with it.
    expect(observer.received.some((m) => m.json.type === 'door.unlocked_on_schedule' && m.json.door === 'main-entrance')).toBe(false);
  });

  it('unlocks at once when started inside the schedule, re-sends the held unlock to a strike that comes online, and relocks at the end', async () => {
    // 08:00:52 BST: eight seconds before the schedule closes (a gateway restarted during free access hours).
    const { gw: gateway, observer } = await start('2025-06-02T07:00:52Z');
    expect(await nextJournalEvent(gateway.gateway.journal, (event) => event.type === 'door.unlocked_on_schedule' && event.door === 'server-room')).toMatchObject({ data: { schedule: 'quick' } });
    // Retained: the state a newcomer sees says unlocked.
    await observer.next((m) => m.topic === 'guardpost/doors/server-room/state' && m.json.lock === 'unlocked');
    const strike = await device('server-room-strike');
    const mark = strike.mark();
    await strike.publish(availability('server-room-strike'), 'online');
    expect((await strike.next((m) => m.json.type === 'strike', mark)).json).toEqual({ type: 'strike', action: 'unlock' });
    const relocked = await observer.nextEvent((event) => event.type === 'door.relocked_on_schedule' && event.door === 'server-room', 0, 15_000);
    expect(relocked).toMatchObject({ data: { schedule: 'quick', why: 'closed', strike: 'lock' } });
    expect(Date.parse(relocked.time)).toBeGreaterThanOrEqual(Date.parse('2025-06-02T07:01:00Z'));
    expect((await strike.next((m) => m.json.type === 'strike' && m.json.action === 'lock', mark)).json).toEqual({ type: 'strike', action: 'lock' });
    await observer.next((m) => m.topic === 'guardpost/doors/server-room/state' && m.json.lock === 'locked');
  });

  it('[SAFE-CLOCK] keeps scheduled doors locked when the gateway starts with a clock behind its journal', async () => {
    gw = await startTestGateway({ configYaml: 'demo: true', siteYaml: scheduledSite() });
    const stateDir = gw.stateDir;
    await gw.stop();
    // Restarted on a board whose clock has not been set: it reads a time inside the schedule, but long before the journal's last event.
    gw = await startTestGateway({ stateDir, configYaml: 'demo: true', siteYaml: scheduledSite(), clock: clockFrom('2025-06-02T07:00:30Z') });
    const suspended = await nextJournalEvent(gw.gateway.journal, (event) => event.type === 'door.schedules_suspended');
    expect(suspended).toMatchObject({ severity: 'high', reason: 'clock', data: { clock: expect.stringMatching(/^2025-06-02T07:00:3/) } });
    const observer = await connect(gw.mqttUrl);
    clients.push(observer);
    await observer.subscribe('guardpost/doors/server-room/state');
    expect((await observer.next((m) => m.topic === 'guardpost/doors/server-room/state')).json).toMatchObject({ lock: 'locked', scheduled: false });
    expect(gw.gateway.journal.query({ limit: 100, type: 'door.unlocked_on_schedule' })).toEqual([]);
  });

  it('[ACC-FIRST-IN] still holds a released door unlocked after a restart the same morning', async () => {
    const clock = clockFrom('2025-06-02T07:00:30Z');
    gw = await startTestGateway({ configYaml: 'demo: true', siteYaml: scheduledSite(), clock });
    const stateDir = gw.stateDir;
    const reader = await device('main-entrance-reader');
    await reader.publish(input('main-entrance-reader'), card('1002'));
    await nextJournalEvent(gw.gateway.journal, (event) => event.type === 'door.unlocked_on_schedule' && event.door === 'main-entrance');
    await Promise.all(clients.map((client) => client.end()));
    clients = [];
    await gw.stop();

    gw = await startTestGateway({ stateDir, configYaml: 'demo: true', siteYaml: scheduledSite(), clock });
    const observer = await connect(gw.mqttUrl);
    clients.push(observer);
    await observer.subscribe('guardpost/doors/main-entrance/state');
    expect((await observer.next((m) => m.topic === 'guardpost/doors/main-entrance/state')).json).toMatchObject({ lock: 'unlocked', scheduled: true });
    const afterRestart = gw.gateway.journal.query({ limit: 1000, type: 'system.started' }).at(-1)?.seq ?? 0;
    expect(await nextJournalEvent(gw.gateway.journal, (event) => event.type === 'door.unlocked_on_schedule' && event.door === 'main-entrance', afterRestart)).toMatchObject({ data: { firstPersonIn: true } });
  });

  it('[ACC-FIRST-IN] keeps a scheduled-unlock door locked for staff until the first IT badge, lets a lockdown override it, and relocks it when the schedule ends', async () => {
    const { gw: gateway, observer } = await start('2025-06-02T07:00:46Z');
    const [reader, strike, contact] = [await device('main-entrance-reader'), await device('main-entrance-strike'), await device('main-entrance-contact')];
    await contact.publish(input('main-entrance-contact'), JSON.stringify({ type: 'contact', state: 'closed' }));
    // Staff before the first person in: an ordinary pulse.
    let mark = strike.mark();
    await reader.publish(input('main-entrance-reader'), card('1001'));
    expect((await strike.next((m) => m.json.type === 'strike', mark)).json).toEqual({ type: 'strike', action: 'pulse', durationMs: 5000 });
    // [SAFE-LOCKDOWN] the door is locked down before anyone releases it.
    const auth = await gateway.adminHeaders();
    expect((await fetch(`${gateway.httpUrl}/api/v1/doors/main-entrance/lockdown`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' })).status).toBe(201);
    // Bob (IT, an override group) is the first person in: he gets in, but the lockdown keeps the door from standing open.
    const eventsMark = observer.mark();
    mark = strike.mark();
    await reader.publish(input('main-entrance-reader'), card('1002'));
    expect(await observer.nextEvent((event) => event.type === 'access.first_person_in', eventsMark)).toMatchObject({ door: 'main-entrance', cardholder: 'bob-brown' });
    expect(await observer.nextEvent((event) => event.type === 'door.unlocked_on_schedule' && event.door === 'main-entrance', eventsMark)).toMatchObject({ data: { firstPersonIn: true, strike: 'lock', lockdown: true } });
    await strike.next((m) => m.json.type === 'strike' && m.json.action === 'pulse', mark);
    expect(strike.received.slice(mark).map((m) => m.json)).toEqual([{ type: 'strike', action: 'unlock' }, { type: 'strike', action: 'pulse', durationMs: 5000 }]);
    // The lockdown ends: the schedule holds the door unlocked until it closes.
    mark = strike.mark();
    expect((await fetch(`${gateway.httpUrl}/api/v1/doors/main-entrance/lockdown`, { method: 'DELETE', headers: auth })).status).toBe(200);
    expect((await strike.next((m) => m.json.type === 'strike', mark)).json).toEqual({ type: 'strike', action: 'unlock' });
    // Opening and closing meanwhile is no alarm.
    await contact.publish(input('main-entrance-contact'), JSON.stringify({ type: 'contact', state: 'open' }));
    await observer.next((m) => m.topic === 'guardpost/doors/main-entrance/state' && m.json.position === 'open' && m.json.lock === 'unlocked', eventsMark);
    await contact.publish(input('main-entrance-contact'), JSON.stringify({ type: 'contact', state: 'closed' }));
    await observer.next((m) => m.topic === 'guardpost/doors/main-entrance/state' && m.json.position === 'closed', eventsMark);
    // The schedule ends: relocked.
    mark = strike.mark();
    expect(await observer.nextEvent((event) => event.type === 'door.relocked_on_schedule' && event.door === 'main-entrance', eventsMark, 20_000)).toMatchObject({ data: { why: 'closed', strike: 'lock' } });
    expect((await strike.next((m) => m.json.type === 'strike', mark)).json).toEqual({ type: 'strike', action: 'lock' });
    expect(observer.received.slice(eventsMark).some((m) => m.json.type === 'door.forced' || m.json.type === 'door.held')).toBe(false);
  });
});
