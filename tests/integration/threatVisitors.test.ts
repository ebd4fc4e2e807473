import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/index.js';
import { connect, connectDevice, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';

/** Visitors end to end: registration and screening over the API, their cards at real readers over MQTT. */

const SITE_YAML = `
site: { id: visitors, name: Visitor floor, timezone: Europe/London }
devices:
  - { id: front-reader, kind: reader }
  - { id: front-strike, kind: strike }
  - { id: lab-reader, kind: reader }
  - { id: lab-strike, kind: strike }
doors:
  - { id: front, name: Front, reader: front-reader, strike: front-strike }
  - { id: lab, name: Lab, reader: lab-reader, strike: lab-strike }
groups:
  - { id: staff, name: Staff, doors: [front, lab] }
  - { id: visitors, name: Visitors, doors: [front] }
areas:
  - { id: floor, name: Office floor, entryDoors: [front] }
cardholders:
  - { id: maya, name: Maya Host, groups: [staff], credentials: [{ card: "3002" }] }
  - { id: mallory, name: Mallory Quinn, groups: [staff], credentials: [{ card: "6001" }] }
watchList:
  - { cardholder: mallory, reason: "banned former employee" }
threatRules:
  visitors: { group: visitors, escortGroups: [staff], closingTime: "18:00" }
`;

/** Monday 2 March 2026, 09:00 in London (GMT). */
const MONDAY_9AM = Date.parse('2026-03-02T09:00:00Z');

interface Visitor {
  id: string;
  status: string;
  card: string;
  validFrom: string;
  validUntil: string;
  matches: { entry: string; on: string; reason: string }[];
}

describe('visitors', () => {
  let gw: TestGateway;
  let observer: TestClient;
  let nowMs = MONDAY_9AM;
  const readers = new Map<string, TestClient>();

  beforeAll(async () => {
    gw = await startTestGateway({ configYaml: 'demo: true', siteYaml: SITE_YAML, clock: () => nowMs });
    observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    for (const id of ['front-reader', 'lab-reader']) readers.set(id, await connectDevice(gw.mqttUrl, id));
  });
  afterAll(async () => {
    await Promise.all([observer, ...readers.values()].map((client) => client.end()));
    await gw.stop();
  });

  async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
    const response = await fetch(`${gw.httpUrl}${path}`, { method, headers: { ...(await gw.adminHeaders()), ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, json: (response.status === 204 ? undefined : await response.json()) as T };
  }
  async function badge(reader: string, card: string): Promise<JournalEvent> {
    const mark = observer.mark();
    await (readers.get(reader) as TestClient).publish(`guardpost/devices/${reader}/input`, JSON.stringify({ type: 'card', card }));
    return observer.nextEvent((event) => (event.type === 'access.granted' || event.type === 'access.denied') && event.device === reader, mark);
  }
  const register = (body: Record<string, unknown>) => api<Visitor>('POST', '/api/v1/visitors', { host: 'maya', expectedAt: '2026-03-02T10:00:00Z', ...body });

  it('admits a registered visitor at the visitor doors only, for that day until closing [THR-VISITOR]', async () => {
    const { status, json } = await register({ name: 'Jane Doe', company: 'Acme', photoUrl: 'https://photos.example/jane.jpg', card: '7005' });
    expect(status).toBe(201);
    expect(json).toMatchObject({ status: 'active', card: '***5', validFrom: '2026-03-02T09:00:00.000Z', validUntil: '2026-03-02T18:00:00.000Z', matches: [] });
    expect(await badge('front-reader', '7005')).toMatchObject({ type: 'access.granted', cardholder: json.id });
    expect(await badge('lab-reader', '7005')).toMatchObject({ type: 'access.denied', reason: 'not_in_group' });
  });

  it('blocks a watch-listed name written with other case, spacing and accents, and raises an alarm [THR-VISITOR-SCREEN]', async () => {
    const added = await api<{ id: string }>('POST', '/api/v1/watch-list/people', { name: 'José Álvarez-Núñez', identifiers: ['P 123-456'], reason: 'threatened agents on three calls' });
    expect(added.status).toBe(201);
    const mark = observer.mark();
    const { status, json } = await register({ name: '  ALVAREZ NUNEZ,  jose ', card: '7010' });
    expect(status).toBe(201);
    expect(json).toMatchObject({ status: 'blocked', matches: [{ entry: added.json.id, on: 'name', reason: 'threatened agents on three calls' }] });
    const match = await observer.nextEvent((event) => event.type === 'visitor.watchlist_match', mark);
    expect(match).toMatchObject({ severity: 'critical', cardholder: json.id, data: { visitor: json.id, watchlist: true } });
    expect(await observer.nextEvent((event) => event.type === 'alarm.raised' && event.data.alarm === match.data.alarm, mark)).toMatchObject({ data: { kind: 'watchlist', silent: true } });
    expect(await badge('front-reader', '7010')).toMatchObject({ type: 'access.denied', cardholder: json.id });
  });

  it('blocks on an identifier and on a watch-listed cardholder\'s name, and lets security approve a namesake', async () => {
    expect((await register({ name: 'Someone Else', identifiers: ['p123456'], card: '7011' })).json.status).toBe('blocked');
    const namesake = await register({ name: 'mallory quinn', card: '7012' });
    expect(namesake.json).toMatchObject({ status: 'blocked', matches: [{ entry: 'cardholder:mallory', reason: 'banned former employee' }] });
    const approved = await api<Visitor>('POST', `/api/v1/visitors/${namesake.json.id}/approve`, { note: 'different person, checked ID' });
    expect(approved.json.status).toBe('active');
    expect(await badge('front-reader', '7012')).toMatchObject({ type: 'access.granted', cardholder: namesake.json.id });
  });

  it('holds an escorted visitor at the door until an escort badges', async () => {
    const { json } = await register({ name: 'Eve Escorted', escorted: true, card: '7020' });
    expect(await badge('front-reader', '7020')).toMatchObject({ type: 'access.denied', reason: 'escort_required', cardholder: json.id });
    expect(await badge('front-reader', '3002')).toMatchObject({ type: 'access.granted', cardholder: 'maya', data: { escortedVisitor: json.id } });
  });

  it('withdraws a checked-out visitor\'s card at once', async () => {
    const { json } = await register({ name: 'Carl Checkout', card: '7030' });
    expect((await api<Visitor>('POST', `/api/v1/visitors/${json.id}/check-out`)).json.status).toBe('checked_out');
    expect(await badge('front-reader', '7030')).toMatchObject({ type: 'access.denied', reason: 'unknown_credential' });
  });

  it('audits watch-list changes and screens against the list as it stands', async () => {
    const added = await api<{ id: string; addedBy: string }>('POST', '/api/v1/watch-list/people', { name: 'Temporary Person', reason: 'left threatening voicemail' });
    expect(added.json.addedBy).toBe('admin');
    expect((await api<{ id: string }[]>('GET', '/api/v1/watch-list/people')).json.map((entry) => entry.id)).toContain(added.json.id);
    expect((await api('DELETE', `/api/v1/watch-list/people/${added.json.id}`)).status).toBe(204);
    expect((await register({ name: 'temporary person', card: '7040' })).json.status).toBe('active');
    const entries = (await api<{ action: string; actor: string; target: string }[]>('GET', '/api/v1/audit?limit=50')).json;
    expect(entries.filter((entry) => entry.target === added.json.id).map((entry) => [entry.action, entry.actor])).toEqual(expect.arrayContaining([['watchlist.added', 'admin'], ['watchlist.removed', 'admin']]));
    expect((await api('DELETE', `/api/v1/watch-list/people/${added.json.id}`)).status).toBe(404);
  });

  it('refuses a visit on a day already closed, naming the field', async () => {
    const response = await register({ name: 'Late Larry', expectedAt: '2026-03-01T10:00:00Z' });
    expect(response.status).toBe(400);
    expect((response.json as unknown as { message: string }).message).toContain('body.expectedAt: the site closes at 18:00');
  });

  it('expires visitor cards at closing time on their own and reports a visitor still inside [THR-VISITOR]', async () => {
    nowMs = Date.parse('2026-03-02T18:00:00Z');
    expect(await badge('front-reader', '7005')).toMatchObject({ type: 'access.denied', reason: 'credential_expired' });
    const mark = observer.mark();
    gw.gateway.threat.visitors.sweep(); // what the closing-time timer runs
    const stillInside = await observer.nextEvent((event) => event.type === 'visitor.still_inside' && event.data.name === 'Jane Doe', mark);
    expect(stillInside).toMatchObject({ data: { host: 'maya', areas: ['floor'], closedAt: '2026-03-02T18:00:00.000Z' } });
    // Everyone who entered and never checked out, escorted visitors included; not the one who checked out.
    const inside = gw.gateway.journal.query({ type: 'visitor.still_inside', limit: 10 }).map((event) => event.data.name);
    expect(inside.sort()).toEqual(['Eve Escorted', 'Jane Doe', 'mallory quinn']);
    expect(gw.gateway.journal.query({ type: 'visitor.expired', limit: 10 })).toHaveLength(6);
    // Nine hours on, the morning's session has timed out: sign in again.
    const token = await gw.login();
    const list = { json: (await (await fetch(`${gw.httpUrl}/api/v1/visitors?date=2026-03-02`, { headers: { authorization: `Bearer ${token}` } })).json()) as Visitor[] };
    expect(list.json).toHaveLength(7);
    expect(list.json.filter((visitor) => visitor.status === 'active')).toEqual([]);
    expect(list.json.find((visitor) => visitor.id === stillInside.cardholder)?.status).toBe('expired');
  });
});
