import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/index.js';
import { connect, connectDevice, startTestGateway, tempDir, type TestClient, type TestGateway } from '../support/gateway.js';

/** Occupancy from entry and exit readers, across a restart, and mustering during a fire alarm. */

const SITE_YAML = `
site: { id: muster, name: Muster floor, timezone: Europe/London }
devices:
  - { id: in-reader, kind: reader }
  - { id: in-strike, kind: strike }
  - { id: out-reader, kind: reader }
  - { id: out-strike, kind: strike }
  - { id: lab-reader, kind: reader }
  - { id: lab-strike, kind: strike }
  - { id: fire-panel, kind: fire-alarm }
  - { id: car-park-reader, kind: reader }
doors:
  - { id: floor-in, name: Floor entrance, reader: in-reader, strike: in-strike }
  - { id: floor-out, name: Floor exit, reader: out-reader, strike: out-strike }
  - { id: lab, name: Lab, reader: lab-reader, strike: lab-strike, overrideGroups: [security] }
groups:
  - { id: staff, name: Staff, doors: [floor-in, floor-out, lab] }
  - { id: security, name: Security, doors: [lab] }
areas:
  - { id: floor, name: Office floor, entryDoors: [floor-in], exitDoors: [floor-out] }
  - { id: lab, name: Lab, entryDoors: [lab] }
cardholders:
  - { id: alice, name: Alice Archer, groups: [staff], credentials: [{ card: "1001" }] }
  - { id: bob, name: Bob Baker, groups: [staff], credentials: [{ card: "1002" }] }
  - { id: carol, name: Carol Cole, groups: [staff], credentials: [{ card: "1003" }] }
  - { id: dave, name: Dave Dunn, groups: [staff], credentials: [{ card: "1004" }] }
  - { id: sam, name: Sam Guard, groups: [security], credentials: [{ card: "3001" }] }
threatRules:
  musterPoints: [{ reader: car-park-reader, name: Car park }]
  maxOccupancy: [{ area: lab, max: 1 }]
`;

interface Occupancy {
  total: number;
  areas: { area: string; count: number; max: number | null; people: { cardholder: string; name: string; lastSeenDoor: string | null }[] }[];
}
interface EvacuationView {
  id: string;
  trigger: { kind: string; device?: string };
  endedAt: string | null;
  people: { cardholder: string; name: string; areas: string[]; lastSeenAt: string; safe: { via: string; by: string | null } | null }[];
  summary: { total: number; safe: number; missing: number };
}

describe('occupancy and mustering', () => {
  const stateDir = tempDir();
  let gw: TestGateway;
  let observer: TestClient;
  let devices = new Map<string, TestClient>();

  async function start(): Promise<void> {
    gw = await startTestGateway({ stateDir, configYaml: 'demo: true', siteYaml: SITE_YAML });
    observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    devices = new Map();
    for (const id of ['in-reader', 'out-reader', 'lab-reader', 'fire-panel', 'car-park-reader']) devices.set(id, await connectDevice(gw.mqttUrl, id));
  }
  async function stop(): Promise<void> {
    await Promise.all([observer, ...devices.values()].map((client) => client.end()));
    await gw.stop();
  }
  beforeAll(start);
  afterAll(stop);

  const send = (device: string, payload: Record<string, unknown>): Promise<unknown> => (devices.get(device) as TestClient).publish(`guardpost/devices/${device}/input`, JSON.stringify(payload));
  async function badge(reader: string, card: string): Promise<JournalEvent> {
    const mark = observer.mark();
    await send(reader, { type: 'card', card });
    return observer.nextEvent((event) => (event.type === 'access.granted' || event.type === 'access.denied') && event.device === reader, mark);
  }
  async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
    const response = await fetch(`${gw.httpUrl}${path}`, { method, headers: { ...(await gw.adminHeaders()), ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, json: (await response.json()) as T };
  }
  const inside = (occupancy: Occupancy, area: string): string[] => occupancy.areas.find((entry) => entry.area === area)?.people.map((person) => person.cardholder) ?? [];

  it('counts who badged in and not who badged out', async () => {
    await badge('in-reader', '1001');
    await badge('in-reader', '1002');
    await badge('in-reader', '1003');
    await badge('out-reader', '1003');
    await badge('lab-reader', '1002');
    const { status, json } = await api<Occupancy>('GET', '/api/v1/occupancy');
    expect(status).toBe(200);
    expect(inside(json, 'floor')).toEqual(['alice', 'bob']);
    expect(inside(json, 'lab')).toEqual(['bob']);
    expect(json.total).toBe(2);
    // Named for the console: people read names, not ids.
    expect(json.areas.find((entry) => entry.area === 'floor')?.people.map((person) => person.name)).toEqual(['Alice Archer', 'Bob Baker']);
  });

  it('refuses entry to a full area, lets security through and journals the excess [THR-CAPACITY]', async () => {
    expect(await badge('lab-reader', '1001')).toMatchObject({ type: 'access.denied', reason: 'area_full', cardholder: 'alice' });
    const mark = observer.mark();
    expect(await badge('lab-reader', '3001')).toMatchObject({ type: 'access.granted', cardholder: 'sam' });
    const exceeded = await observer.nextEvent((event) => event.type === 'occupancy.exceeded', mark);
    expect(exceeded).toMatchObject({ cardholder: 'sam', door: 'lab', data: { area: 'lab', count: 2, max: 1 } });
  });

  it('keeps occupancy across a restart, rebuilt from the journal', async () => {
    const before = (await api<Occupancy>('GET', '/api/v1/occupancy')).json;
    await stop();
    await start();
    const after = (await api<Occupancy>('GET', '/api/v1/occupancy')).json;
    expect(after.areas).toEqual(before.areas);
    expect(inside(after, 'floor')).toEqual(['alice', 'bob']);
  });

  it('on a fire alarm lists exactly the people inside, and marshals mark them safe by API and at the muster reader [THR-MUSTER]', async () => {
    const mark = observer.mark();
    await send('fire-panel', { type: 'contact', state: 'open' });
    const started = await observer.nextEvent((event) => event.type === 'muster.started', mark);
    expect(started).toMatchObject({ reason: 'fire-alarm', data: { trigger: { kind: 'fire-alarm', device: 'fire-panel' }, count: 3 } });
    const current = await api<EvacuationView>('GET', '/api/v1/evacuations/current');
    // Exactly the people inside: not carol (badged out), not dave (never came in).
    expect(current.json.people.map((person) => [person.cardholder, person.name, person.areas])).toEqual([
      ['alice', 'Alice Archer', ['floor']],
      ['bob', 'Bob Baker', ['floor', 'lab']],
      ['sam', 'Sam Guard', ['lab']],
    ]);
    expect(current.json.people.every((person) => person.safe === null && person.lastSeenAt !== '')).toBe(true);

    // A second start while one runs is refused.
    expect((await api('POST', '/api/v1/evacuations', {})).status).toBe(409);

    const badgeMark = observer.mark();
    const ledMark = (devices.get('car-park-reader') as TestClient).mark();
    await send('car-park-reader', { type: 'card', card: '1002' });
    const safe = await observer.nextEvent((event) => event.type === 'muster.marked_safe', badgeMark);
    expect((await (devices.get('car-park-reader') as TestClient).next((message) => message.json.type === 'led', ledMark)).json).toMatchObject({ color: 'green' });
    expect(safe).toMatchObject({ cardholder: 'bob', device: 'car-park-reader', data: { via: 'reader', safe: 1, missing: 2 } });

    expect((await api('POST', `/api/v1/evacuations/${current.json.id}/safe`, { cardholder: 'zed' })).status).toBe(404);
    // Dave and Carol were not seen inside: found at the assembly point, they are added, safe.
    expect((await api('POST', `/api/v1/evacuations/${current.json.id}/safe`, { cardholder: 'dave' })).json).toMatchObject({ cardholder: 'dave', name: 'Dave Dunn', areas: [], safe: { via: 'api' } });
    const carolMark = observer.mark();
    await send('car-park-reader', { type: 'card', card: '1003' });
    expect(await observer.nextEvent((event) => event.type === 'muster.marked_safe' && event.cardholder === 'carol', carolMark)).toMatchObject({ reason: 'not_on_list', data: { onList: false, via: 'reader' } });
    const marked = await api<{ cardholder: string; safe: { via: string; by: string } }>('POST', `/api/v1/evacuations/${current.json.id}/safe`, { cardholder: 'alice' });
    expect(marked.json).toMatchObject({ cardholder: 'alice', safe: { via: 'api', by: 'admin' } });
    expect((await api('POST', `/api/v1/evacuations/${current.json.id}/safe`, { cardholder: 'alice' })).status).toBe(409);

    const ended = await api<EvacuationView>('POST', `/api/v1/evacuations/${current.json.id}/end`);
    expect(ended.json.summary).toEqual(expect.objectContaining({ total: 5, safe: 4, missing: 1 }));
    expect((await api('GET', '/api/v1/evacuations/current')).status).toBe(404);
    const stored = await api<EvacuationView>('GET', `/api/v1/evacuations/${current.json.id}`);
    expect(stored.json.endedAt).not.toBeNull();
    expect(stored.json.people.map((person) => [person.cardholder, person.safe?.via ?? 'missing'])).toEqual([['alice', 'api'], ['bob', 'reader'], ['sam', 'missing'], ['dave', 'api'], ['carol', 'reader']]);
    // The mustering list exported for the incident file: one row per person, how each was accounted for.
    const csv = await fetch(`${gw.httpUrl}/api/v1/evacuations/${current.json.id}?format=csv`, { headers: await gw.adminHeaders() });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="mustering-\d{4}-\d\d-\d\d-[0-9a-f-]{36}\.csv"$/);
    const rows = (await csv.text()).trim().split('\r\n');
    expect(rows[0]).toBe('cardholder,name,areas,lastSeenAt,lastSeenDoor,status,safeAt,safeBy,safeVia,safePoint');
    expect(rows.slice(1).map((row) => row.split(','))).toEqual([
      ['alice', 'Alice Archer', 'floor', expect.any(String), expect.any(String), 'safe', expect.any(String), 'admin', 'api', ''],
      ['bob', 'Bob Baker', 'floor lab', expect.any(String), 'lab', 'safe', expect.any(String), 'bob', 'reader', 'car-park-reader'],
      ['sam', 'Sam Guard', 'lab', expect.any(String), 'lab', 'missing', '', '', '', ''],
      ['dave', 'Dave Dunn', '', expect.any(String), '', 'safe', expect.any(String), 'admin', 'api', ''],
      ['carol', 'Carol Cole', '', expect.any(String), '', 'safe', expect.any(String), 'carol', 'reader', 'car-park-reader'],
    ]);
    expect((await fetch(`${gw.httpUrl}/api/v1/evacuations/${current.json.id}?format=xml`, { headers: await gw.adminHeaders() })).status).toBe(400);
    // Everyone left by the fire exits: the count starts afresh.
    expect((await api<Occupancy>('GET', '/api/v1/occupancy')).json.total).toBe(0);

    // The mustering list goes out with the incident report of an alarm in the same window.
    const panic = await api<{ id: string }>('POST', '/api/v1/alarms', { location: 'fire warden desk' });
    const report = await api<{ evacuations: EvacuationView[] }>('GET', `/api/v1/alarms/${panic.json.id}/report?format=json`);
    expect(report.json.evacuations.map((evacuation) => [evacuation.id, evacuation.people.map((person) => person.cardholder), evacuation.summary.missing])).toEqual([[current.json.id, ['alice', 'bob', 'sam', 'dave', 'carol'], 1]]);
  });

  it('keeps an evacuation under way, with who is marked safe, across a restart', async () => {
    await badge('in-reader', '1001');
    await badge('in-reader', '1004');
    const started = await api<EvacuationView>('POST', '/api/v1/evacuations', { reason: 'gas smell on floor 2' });
    expect(started.status).toBe(201);
    expect(started.json.people.map((person) => person.cardholder)).toEqual(['alice', 'dave']);
    await api('POST', `/api/v1/evacuations/${started.json.id}/safe`, { cardholder: 'dave' });
    await stop();
    await start();
    const current = await api<EvacuationView>('GET', '/api/v1/evacuations/current');
    expect(current.json.id).toBe(started.json.id);
    expect(current.json.people.map((person) => [person.cardholder, person.safe === null ? 'missing' : 'safe'])).toEqual([['alice', 'missing'], ['dave', 'safe']]);
    expect(current.json.summary).toMatchObject({ total: 2, safe: 1, missing: 1 });
  });

  it('keeps where people are from anonymous demo visitors, who are only viewers', async () => {
    expect((await fetch(`${gw.httpUrl}/api/v1/occupancy`)).status).toBe(403);
    expect((await fetch(`${gw.httpUrl}/api/v1/evacuations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(403);
  });
});
