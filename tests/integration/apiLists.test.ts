import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedUser, startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';

type Json = Record<string, unknown>;

describe('list endpoints page, search, filter and sort', () => {
  let gw: TestGateway;
  let admin: string;
  let security: string;

  beforeAll(async () => {
    const stateDir = tempDir();
    await seedUser(stateDir, 'sam-security', 'security', 'security-password-1');
    gw = await startTestGateway({ stateDir, configYaml: 'demo: false' });
    admin = await gw.login();
    security = await gw.login('sam-security', 'security-password-1');
  });
  afterAll(async () => {
    await gw?.stop();
  });

  const list = async (url: string, token = admin) => {
    const response = await fetch(`${gw.httpUrl}/api/v1${url}`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await response.json()) as Json[] & Json;
    return { status: response.status, body, total: Number(response.headers.get('x-total-count')), link: response.headers.get('link') };
  };
  const ids = (items: Json[]) => items.map((item) => item.id);

  it('pages cardholders with the total in X-Total-Count and a Link to the next page', async () => {
    const first = await list('/cardholders?limit=3&sort=id');
    expect(first.status).toBe(200);
    expect(first.total).toBe(4);
    expect(ids(first.body)).toEqual(['alice-adams', 'bob-brown', 'carol-clark']);
    expect(first.link).toBe('</api/v1/cardholders?limit=3&sort=id&offset=3>; rel="next"');
    const second = await list('/cardholders?limit=3&sort=id&offset=3');
    expect(ids(second.body)).toEqual(['dave-davis']);
    expect(second.link).toBeNull();
  });

  it('sorts descending with a leading dash, and answers an unknown sort field with a 400 naming the fields it can sort by', async () => {
    expect(ids((await list('/doors?sort=-name')).body)).toEqual(['server-room', 'main-entrance']);
    expect(ids((await list('/doors?sort=unlockMs')).body)).toEqual(['server-room', 'main-entrance']);
    const bad = await list('/doors?sort=colour');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'GP_ERR_BAD_REQUEST', message: 'querystring.sort: cannot sort by "colour"; sort by one of id, name, mode, unlockMs, failMode (prefix "-" for descending)' });
  });

  it('filters by field and finds people by name, and by the digits a masked card shows', async () => {
    expect(ids((await list('/cardholders?group=it')).body)).toEqual(['bob-brown']);
    expect(ids((await list('/cardholders?credentialStatus=suspended')).body)).toEqual(['dave-davis']);
    expect(ids((await list('/cardholders?q=BROWN')).body)).toEqual(['bob-brown']);
    expect(ids((await list('/groups?door=server-room')).body)).toEqual(['it']);
    expect(ids((await list('/zones?door=main-entrance')).body)).toEqual(['ground-floor']);
    // Security staff see "***2": they find Bob by the 2 the mask shows, never by digits it hides.
    expect(ids((await list('/cardholders?q=2', security)).body)).toEqual(['bob-brown']);
    expect(ids((await list('/cardholders?q=1002', security)).body)).toEqual([]);
    // Admins too: no whole number is kept to search through [SEC-CARD-DIGEST]; `card` finds the
    // holder of a whole number by its digest.
    expect(ids((await list('/cardholders?q=1002', admin)).body)).toEqual([]);
    expect(ids((await list('/cardholders?card=1002', admin)).body)).toEqual(['bob-brown']);
    expect(ids((await list('/cardholders?card=0001002', security)).body)).toEqual(['bob-brown']);
    expect(ids((await list('/cardholders?card=9999', admin)).body)).toEqual([]);
  });

  it('refuses an unknown filter and a limit out of range, naming the parameter', async () => {
    const unknown = await list('/doors?colour=red');
    expect(unknown.status).toBe(400);
    expect(String(unknown.body.message)).toContain('querystring.colour: unknown field');
    const huge = await list('/cardholders?limit=5000');
    expect(huge.status).toBe(400);
    expect(String(huge.body.message)).toContain('querystring.limit');
  });

  it('lists users and tokens with filters', async () => {
    const users = await list('/users?role=security');
    expect(ids(users.body)).toEqual(['sam-security']);
    expect(users.total).toBe(1);
    await fetch(`${gw.httpUrl}/api/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'pager-bridge', role: 'viewer' }) });
    const tokens = await list('/tokens?q=pager&revoked=false');
    expect(tokens.body.map((token) => token.name)).toEqual(['pager-bridge']);
    expect((await list('/users?disabled=maybe')).status).toBe(400);
  });

  it('lists open alarms by default and cleared ones with state=closed', async () => {
    const post = (url: string, body: unknown, token = admin) =>
      fetch(`${gw.httpUrl}/api/v1${url}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((response) => response.json() as Promise<Json>);
    const first = await post('/alarms', { location: 'desk 14', silent: true });
    const second = await post('/alarms', { location: 'desk 15', silent: true });
    await post(`/alarms/${String(first.id)}/acknowledge`, { note: 'on my way' }, security);
    await post(`/alarms/${String(first.id)}/clear`, { resolution: 'pressed by mistake' }, security);
    expect(ids((await list('/alarms')).body)).toEqual([second.id]);
    const closed = await list('/alarms?state=closed');
    expect(ids(closed.body)).toEqual([first.id]);
    expect(closed.body[0]).toMatchObject({ state: 'cleared', cleared: expect.objectContaining({ note: 'pressed by mistake' }) });
    expect(ids((await list('/alarms?state=all&sort=-raisedAt')).body)).toEqual([second.id, first.id]);
    expect((await list('/alarms?state=sleeping')).status).toBe(400);
  });

  it('filters the audit log by actor, action prefix and target, and pages it', async () => {
    const put = (url: string, body: unknown) =>
      fetch(`${gw.httpUrl}/api/v1${url}`, { method: 'PUT', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await put('/zones/lobby', { name: 'Lobby', doors: ['main-entrance'] })).status).toBe(201);
    expect((await put('/zones/lobby', { name: 'Lobby and stairs', doors: ['main-entrance'] })).status).toBe(200);
    const zones = await list('/audit?action=zone.&target=lobby');
    expect(zones.body.map((entry) => entry.action)).toEqual(['zone.updated', 'zone.created']);
    expect(zones.total).toBe(2);
    const oldestFirst = await list('/audit?action=zone.&sort=seq&limit=1');
    expect(oldestFirst.body.map((entry) => entry.action)).toEqual(['zone.created']);
    expect(oldestFirst.link).toContain('offset=1');
    expect((await list('/audit?actor=admin&q=lobby')).total).toBe(2);
    expect((await list('/audit?sort=actor')).status).toBe(400);
  });

  it('documents paging, search and sort of each list in the OpenAPI description', async () => {
    const document = (await (await fetch(`${gw.httpUrl}/docs/json`)).json()) as { paths: Record<string, { get?: { parameters?: { name: string; description?: string }[] } }> };
    for (const path of ['/api/v1/cardholders', '/api/v1/zones', '/api/v1/access-levels', '/api/v1/watch-list', '/api/v1/users', '/api/v1/alarms', '/api/v1/audit']) {
      const names = (document.paths[path]?.get?.parameters ?? []).map((parameter) => parameter.name);
      expect(names, path).toEqual(expect.arrayContaining(['limit', 'offset', 'sort']));
    }
    const sort = document.paths['/api/v1/cardholders']!.get!.parameters!.find((parameter) => parameter.name === 'sort');
    expect(sort?.description).toContain('id, name, status');
  });
});
