import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/index.js';
import { connect, connectDevice, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';

/** Suspicious patterns seen end to end: devices badge over MQTT, the rules answer on the journal. */

const SITE_YAML = `
site: { id: patterns, name: Pattern floor, timezone: Europe/London }
devices:
  - { id: front-reader, kind: reader }
  - { id: front-strike, kind: strike }
  - { id: store-reader, kind: reader }
  - { id: store-strike, kind: strike }
  - { id: store-contact, kind: door-contact }
  - { id: vault-reader, kind: reader }
  - { id: vault-strike, kind: strike }
doors:
  - { id: front, name: Front, reader: front-reader, strike: front-strike }
  - { id: store, name: Store room, reader: store-reader, strike: store-strike, contact: store-contact, unlockMs: 300 }
  - { id: vault, name: Vault, reader: vault-reader, strike: vault-strike, mode: card-and-pin }
groups:
  - { id: staff, name: Staff, doors: [front, store, vault] }
cardholders:
  - { id: alice, name: Alice, groups: [staff], credentials: [{ card: "1001" }] }
  - { id: vic, name: Vic, groups: [staff], pin: "4321", credentials: [{ card: "4001" }] }
threatRules:
  deniedReads: { count: 3, withinSeconds: 60, severity: critical }
  wrongPins: { count: 3, withinSeconds: 300 }
  grantedNotOpened: { graceSeconds: 0, severity: low }
  impossibleTravel: { walkingSpeedMps: 1.5 }
  doorPositions:
    - { door: front, x: 0, y: 0 }
    - { door: store, x: 90, y: 120 }
`;

describe('suspicious patterns over the live event stream', () => {
  let gw: TestGateway;
  let observer: TestClient;
  const devices = new Map<string, TestClient>();

  async function start(stateDir?: string): Promise<void> {
    gw = await startTestGateway({ configYaml: 'demo: true', siteYaml: SITE_YAML, ...(stateDir === undefined ? {} : { stateDir }) });
    observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    for (const id of ['front-reader', 'store-reader', 'store-contact', 'vault-reader']) devices.set(id, await connectDevice(gw.mqttUrl, id));
  }
  async function stop(): Promise<void> {
    await Promise.all([observer, ...devices.values()].map((client) => client.end()));
    await gw.stop();
  }
  beforeAll(() => start());
  afterAll(stop);

  const send = (device: string, payload: Record<string, unknown>): Promise<unknown> => (devices.get(device) as TestClient).publish(`guardpost/devices/${device}/input`, JSON.stringify(payload));
  const nextEvent = (match: (event: JournalEvent) => boolean, after: number): Promise<JournalEvent> => observer.nextEvent(match, after);
  async function badge(reader: string, card: string): Promise<JournalEvent> {
    const mark = observer.mark();
    await send(reader, { type: 'card', card });
    return nextEvent((event) => event.type.startsWith('access.') && event.device === reader && ['access.granted', 'access.denied'].includes(event.type), mark);
  }

  it('raises a silent access.suspicious alarm on the third refused card at one door, not before [THR-DENIED-READS]', async () => {
    const start = observer.mark();
    await badge('front-reader', '6661');
    await badge('front-reader', '6662');
    // An unrelated edit of site data (a cardholder) does not reset the count.
    const edit = await fetch(`${gw.httpUrl}/api/v1/cardholders/bob`, { method: 'PUT', headers: { ...(await gw.adminHeaders()), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Bob', groups: ['staff'], credentials: [{ card: '1002' }] }) });
    expect(edit.status).toBe(201);
    const third = observer.mark();
    const refusal = await badge('front-reader', '6663');
    const suspicious = await nextEvent((event) => event.type === 'access.suspicious', start);
    expect(observer.received.slice(start, third).some((message) => (message.json as { type?: string }).type === 'access.suspicious')).toBe(false);
    expect(suspicious).toMatchObject({ severity: 'critical', door: 'front', reason: 'denied_reads', data: { count: 3, withinSeconds: 60 } });
    expect((suspicious.data.events as string[]).at(-1)).toBe(refusal.id);
    const raised = await nextEvent((event) => event.type === 'alarm.raised' && event.data.alarm === suspicious.data.alarm, start);
    expect(raised).toMatchObject({ door: 'front', reason: 'suspicious', data: { kind: 'suspicious', silent: true } });
    const alarms = (await (await fetch(`${gw.httpUrl}/api/v1/alarms`, { headers: await gw.adminHeaders() })).json()) as unknown;
    expect(JSON.stringify(alarms)).toContain(String(suspicious.data.alarm));
  });

  it('reports a grant at a door that never opened, and not one whose door opened [THR-NOT-OPENED]', async () => {
    const start = observer.mark();
    const used = await badge('store-reader', '1001');
    await send('store-contact', { type: 'contact', state: 'open' });
    await send('store-contact', { type: 'contact', state: 'closed' });
    const unused = await badge('store-reader', '1001');
    const notOpened = await nextEvent((event) => event.type === 'threat.granted_not_opened', start);
    expect(notOpened).toMatchObject({ door: 'store', cardholder: 'alice', severity: 'low', data: { cause: unused.id } });
    const all = observer.received.slice(start).map((message) => message.json as unknown as JournalEvent).filter((event) => event.type === 'threat.granted_not_opened');
    expect(all.map((event) => event.data.cause)).not.toContain(used.id);
  });

  it('flags one card read at two doors 150 m apart within seconds [THR-TRAVEL]', async () => {
    const start = observer.mark();
    await badge('front-reader', '1001');
    const second = await badge('store-reader', '1001');
    // The earlier tests' reads at the store room count too: look for the one this read caused.
    const travel = await nextEvent((event) => event.type === 'threat.impossible_travel' && (event.data.events as string[])[1] === second.id, start);
    expect(travel).toMatchObject({ cardholder: 'alice', door: 'store', data: { from: 'front', to: 'store', minSeconds: 100 } });
  });

  it('raises a suspicious alarm on the third wrong PIN for one card, and not on the second [THR-WRONG-PINS]', async () => {
    const start = observer.mark();
    async function wrongPin(): Promise<JournalEvent> {
      await send('vault-reader', { type: 'card', card: '4001' });
      const mark = observer.mark();
      await send('vault-reader', { type: 'pin', pin: '0000' });
      return nextEvent((event) => event.type === 'access.denied' && event.reason === 'pin_invalid', mark);
    }
    await wrongPin();
    await wrongPin();
    const beforeThird = observer.mark();
    await wrongPin();
    const suspicious = await nextEvent((event) => event.type === 'access.suspicious' && event.reason === 'wrong_pins', start);
    expect(observer.received.slice(start, beforeThird).some((message) => (message.json as { reason?: string }).reason === 'wrong_pins')).toBe(false);
    expect(suspicious).toMatchObject({ cardholder: 'vic', severity: 'high', data: { credential: 'vic-card-1', count: 3, doors: ['vault'] } });
    expect(JSON.stringify(suspicious)).not.toContain('0000');
    expect(await nextEvent((event) => event.type === 'alarm.raised' && event.data.alarm === suspicious.data.alarm, start)).toMatchObject({ data: { kind: 'suspicious' } });
  });

  it('keeps counting refusals across a restart: two before it and one after are three [THR-DENIED-READS]', async () => {
    await badge('front-reader', '6671');
    await badge('front-reader', '6672');
    const stateDir = gw.stateDir;
    await stop();
    await start(stateDir);
    const mark = observer.mark();
    const third = await badge('front-reader', '6673');
    const suspicious = await nextEvent((event) => event.type === 'access.suspicious' && event.reason === 'denied_reads', mark);
    expect((suspicious.data.events as string[]).at(-1)).toBe(third.id);
    expect(suspicious.data.events as string[]).toHaveLength(3);
  });
});
