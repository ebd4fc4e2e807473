import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, connectDevice, seedUser, startTestGateway, tempDir, type TestClient, type TestGateway } from '../support/gateway.js';

type Json = Record<string, unknown>;

describe('the rest of the site data through the API', () => {
  let gw: TestGateway;
  let admin: string;
  let security: string;
  let viewer: string;
  let observer: TestClient;
  let mainReader: TestClient;
  let serverReader: TestClient;

  beforeAll(async () => {
    const stateDir = tempDir();
    await seedUser(stateDir, 'sam-security', 'security', 'security-password-1');
    await seedUser(stateDir, 'val-viewer', 'viewer', 'viewer-password-1');
    gw = await startTestGateway({ stateDir });
    admin = await gw.login();
    security = await gw.login('sam-security', 'security-password-1');
    viewer = await gw.login('val-viewer', 'viewer-password-1');
    observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    mainReader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
    serverReader = await connectDevice(gw.mqttUrl, 'server-room-reader');
  });
  afterAll(async () => {
    await Promise.all([observer, mainReader, serverReader].map((client) => client?.end()));
    await gw?.stop();
  });

  const api = async (method: string, url: string, token = admin, body?: unknown) => {
    const response = await fetch(`${gw.httpUrl}/api/v1${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? undefined : (JSON.parse(text) as Json & Json[]) };
  };
  const badge = async (reader: TestClient, readerId: string, card: string) => {
    const after = observer.mark();
    await reader.publish(`guardpost/devices/${readerId}/input`, JSON.stringify({ type: 'card', card }));
    return observer.nextEvent((event) => event.type.startsWith('access.') && event.device === readerId, after);
  };
  const lastAudit = async () => ((await api('GET', '/audit?limit=1')).body as unknown as Json[])[0];

  it('opens the server room to a group the moment an admin gives it an access level built from a door group', async () => {
    expect((await api('POST', '/door-groups', admin, { id: 'secure-doors', name: 'Secure doors', doors: ['server-room'] })).status).toBe(201);
    expect(await lastAudit()).toMatchObject({ actor: 'admin', action: 'doorGroup.created', target: 'secure-doors', after: { doors: ['server-room'] } });
    expect((await api('POST', '/access-levels', admin, { id: 'server-access', name: 'Server access', doorGroups: ['secure-doors'] })).status).toBe(201);
    expect((await api('POST', '/groups', admin, { id: 'night-it', name: 'Night IT', accessLevels: ['server-access'] })).status).toBe(201);
    expect(await badge(serverReader, 'server-room-reader', '1001')).toMatchObject({ type: 'access.denied', reason: 'not_in_group' });
    const alice = (await api('GET', '/cardholders/alice-adams')).body!;
    expect((await api('PUT', '/cardholders/alice-adams', admin, { ...alice, groups: ['staff', 'night-it'] })).status).toBe(200);
    expect(await badge(serverReader, 'server-room-reader', '1001')).toMatchObject({ type: 'access.granted', door: 'server-room' });
    // The level is in use: deleting its door group would break it, so nothing is deleted.
    const refused = await api('DELETE', '/door-groups/secure-doors');
    expect(refused.status).toBe(400);
    expect(String(refused.body?.message)).toMatch(/^would break accessLevels\[\d+\]\.doorGroups\[0\]: unknown door group "secure-doors"/);
    expect((await api('GET', '/door-groups/secure-doors', viewer)).status).toBe(200);
  });

  it('edits schedules and holidays with the site file\'s rules, naming the field that is wrong', async () => {
    const bad = await api('PUT', '/schedules/business-hours', admin, { name: 'Business hours', intervals: [{ days: ['mon'], from: '25:00', to: '19:00' }] });
    expect(bad.status).toBe(400);
    expect(String(bad.body?.message)).toContain('body.intervals[0].from');
    const holidays = await api('PUT', '/holidays/uk-bank-holidays', admin, { name: 'Bank holidays', dates: ['2026-12-25'] });
    expect(holidays.status).toBe(200);
    expect((await api('GET', '/holidays/uk-bank-holidays', viewer)).body).toMatchObject({ name: 'Bank holidays', dates: ['2026-12-25'] });
    expect(await lastAudit()).toMatchObject({ action: 'holidayCalendar.updated', target: 'uk-bank-holidays', before: { name: 'England and Wales bank holidays' }, after: { name: 'Bank holidays' } });
    const unknown = await api('POST', '/schedules', admin, { id: 'nights', name: 'Nights', holidays: ['no-such-calendar'] });
    expect(unknown.status).toBe(400);
    expect(String(unknown.body?.message)).toContain('body.holidays[0]: unknown holiday calendar "no-such-calendar"');
    expect((await api('GET', '/schedules/nights')).status).toBe(404);
    expect((await api('DELETE', '/holidays/uk-bank-holidays')).status).toBe(400);
  });

  it('adds a zone that a software panic alarm can name at once, and refuses to delete one a panic button uses', async () => {
    expect((await api('POST', '/zones', admin, { id: 'first-floor', name: 'First floor', doors: ['server-room'] })).status).toBe(201);
    expect(await lastAudit()).toMatchObject({ action: 'zone.created', target: 'first-floor' });
    const alarm = await api('POST', '/alarms', viewer, { zone: 'first-floor', silent: true });
    expect(alarm.status).toBe(201);
    const refused = await api('DELETE', '/zones/ground-floor');
    expect(refused.status).toBe(400);
    expect(String(refused.body?.message)).toContain('would break');
    await api('POST', `/alarms/${String(alarm.body!.id)}/acknowledge`, security, { note: 'test alarm' });
    expect((await api('POST', `/alarms/${String(alarm.body!.id)}/clear`, security, { resolution: 'test alarm' })).status).toBe(200);
  });

  it('never shows a camera password, keeps it when the masked URL is sent back, and leaves it out of the audit log', async () => {
    const camera = { id: 'lobby-camera', name: 'Lobby', kind: 'http', url: 'http://nvr:s3cret-pw@127.0.0.1:9/trigger', doors: ['main-entrance'] };
    const created = await api('POST', '/cameras', admin, camera);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ url: 'http://nvr:********@127.0.0.1:9/trigger' });
    expect(JSON.stringify((await api('GET', '/cameras', viewer)).body)).not.toContain('s3cret-pw');
    const updated = await api('PUT', '/cameras/lobby-camera', admin, { ...created.body, name: 'Lobby camera' });
    expect(updated.status).toBe(200);
    // What is stored still has the real password (the camera trigger needs it).
    expect(gw.gateway.store.documents.get('cameras', 'lobby-camera')).toMatchObject({ name: 'Lobby camera', url: 'http://nvr:s3cret-pw@127.0.0.1:9/trigger' });
    const audit = JSON.stringify((await api('GET', '/audit?target=lobby-camera')).body);
    expect(audit).toContain('camera.updated');
    expect(audit).not.toContain('s3cret-pw');
    const guessed = await api('PUT', '/cameras/lobby-camera', admin, { ...created.body, url: 'http://nvr:********@10.0.0.9/trigger' });
    expect(guessed.status).toBe(400);
    expect(String(guessed.body?.message)).toContain('body.url: the password is the mask');
  });

  it('refuses to delete the threat level the site is at, and deletes it once the level is lowered', async () => {
    expect((await api('POST', '/threat-levels', admin, { id: 'guarded', name: 'Guarded' })).status).toBe(201);
    expect((await api('PUT', '/threat-level', security, { level: 'guarded' })).status).toBe(200);
    const refused = await api('DELETE', '/threat-levels/guarded');
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'GP_ERR_CONFLICT', message: expect.stringContaining('current level') });
    expect((await api('PUT', '/threat-level', security, { level: 'normal' })).status).toBe(200);
    expect((await api('DELETE', '/threat-levels/guarded')).status).toBe(204);
    expect(await lastAudit()).toMatchObject({ action: 'threatLevel.deleted', target: 'guarded' });
    expect((await api('GET', '/threat-level', viewer)).body).not.toMatchObject({ levels: expect.arrayContaining([{ id: 'guarded', name: 'Guarded' }]) });
  });

  it('lets security staff watch a cardholder: the next badge is refused and flagged; removing the entry lets them in', async () => {
    expect((await api('POST', '/watch-list', viewer, { cardholder: 'bob-brown', reason: 'x' })).status).toBe(403);
    const added = await api('POST', '/watch-list', security, { cardholder: 'bob-brown', reason: 'badge reported stolen by HR' });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ key: 'cardholder:bob-brown', reason: 'badge reported stolen by HR' });
    expect(await lastAudit()).toMatchObject({ actor: 'sam-security', action: 'watchList.created', target: 'cardholder:bob-brown' });
    const after = observer.mark();
    expect(await badge(mainReader, 'main-entrance-reader', '1002')).toMatchObject({ type: 'access.denied', reason: 'watchlist' });
    expect(await observer.nextEvent((event) => event.type === 'access.watchlist', after)).toMatchObject({ cardholder: 'bob-brown', data: expect.objectContaining({ watchReason: 'badge reported stolen by HR' }) });
    expect((await api('PUT', '/watch-list/cardholder:bob-brown', security, { reason: 'under review' })).body).toMatchObject({ reason: 'under review' });
    const unknown = await api('POST', '/watch-list', security, { cardholder: 'nobody-here', reason: 'x' });
    expect(unknown.status).toBe(400);
    expect(String(unknown.body?.message)).toContain('body.cardholder: unknown cardholder "nobody-here"');
    expect((await api('DELETE', '/watch-list/cardholder:bob-brown', security)).status).toBe(204);
    expect(await badge(mainReader, 'main-entrance-reader', '1002')).toMatchObject({ type: 'access.granted' });
  });

  it('issues a card to a cardholder, lets security report it lost in one request, and refuses the next badge', async () => {
    const issued = await api('POST', '/cardholders/alice-adams/credentials', admin, { card: '55501234' });
    expect(issued.status).toBe(201);
    // Taken whole, kept as a digest, answered masked, to the admin who typed it too [SEC-CARD-DIGEST].
    expect(issued.body).toEqual({ id: 'alice-adams-card-2', card: '******34', status: 'active' });
    expect(await badge(mainReader, 'main-entrance-reader', '55501234')).toMatchObject({ type: 'access.granted', cardholder: 'alice-adams' });
    expect((await api('POST', '/cardholders/alice-adams/credentials', security, { card: '55509999' })).status).toBe(403);
    const lost = await api('PATCH', '/cardholders/alice-adams/credentials/alice-adams-card-2', security, { status: 'lost' });
    expect(lost.status).toBe(200);
    expect(lost.body).toMatchObject({ id: 'alice-adams-card-2', status: 'lost', card: '******34' });
    expect(await badge(mainReader, 'main-entrance-reader', '55501234')).toMatchObject({ type: 'access.denied', reason: 'credential_lost' });
    const entry = await lastAudit();
    expect(entry).toMatchObject({ actor: 'sam-security', action: 'cardholder.updated', target: 'alice-adams' });
    expect(JSON.stringify(entry)).not.toContain('55501234');
    const listed = (await api('GET', '/cardholders/alice-adams/credentials', security)).body as unknown as Json[];
    expect(listed.map((credential) => credential.card)).toEqual(['***1', '******34']);
    expect((await api('PATCH', '/cardholders/alice-adams/credentials/alice-adams-card-2', security, { validUntil: '2030-01-01T00:00:00Z' })).status).toBe(403);
    expect((await api('PATCH', '/cardholders/alice-adams/credentials/alice-adams-card-2', security, { status: 'stolen' })).status).toBe(400);
    expect((await api('PATCH', '/cardholders/alice-adams/credentials/no-such-card', security, { status: 'active' })).status).toBe(404);
    const taken = await api('POST', '/cardholders/carol-clark/credentials', admin, { card: '55501234' });
    expect(taken.status).toBe(400);
    expect(String(taken.body?.message)).toContain('body.card: this card is already held by');
    expect((await api('DELETE', '/cardholders/alice-adams/credentials/alice-adams-card-2')).status).toBe(204);
    expect(await badge(mainReader, 'main-entrance-reader', '55501234')).toMatchObject({ type: 'access.denied', reason: 'unknown_credential' });
  });
});
