import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Journal, type JournalEvent } from '../../src/journal/index.js';
import { Store } from '../../src/store/index.js';
import { connectDevice, seedUser, startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Hot read routes (events page, doors list) answer from a cache of their serialized answers:
 * these tests prove the cache is invisible to users: every change shows on the next request,
 * auth is decided on every request, headers stay, and 304 answers only an unchanged answer.
 */

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

async function get(gw: TestGateway, url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${gw.httpUrl}${url}`, { headers });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** How often the API's thread was asked for a cached route's answer (from its cache or afresh). */
const askedOf = (cache: { hits: number; misses: number }): number => cache.hits + cache.misses;

/** Resolves with the next journal event matching `match`. */
function nextEvent(gw: TestGateway, match: (event: JournalEvent) => boolean): Promise<JournalEvent> {
  return new Promise((resolve) => {
    const off = gw.gateway.journal.onAppend((event) => {
      if (!match(event)) return;
      off();
      resolve(event);
    });
  });
}

describe('cached answers while devices report (demo mode, so demo devices log in)', () => {
  let gw: TestGateway;
  let admin: Record<string, string>;

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = await gw.adminHeaders();
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('shows a badge read on the very next events request after a cached answer', async () => {
    await get(gw, '/api/v1/events?limit=3', admin);
    await get(gw, '/api/v1/events?limit=3', admin);
    const reader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
    try {
      const decided = nextEvent(gw, (event) => event.type.startsWith('access.'));
      await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: '1001' }));
      const event = await decided;
      const page = JSON.parse((await get(gw, '/api/v1/events?limit=3', admin)).text) as JournalEvent[];
      expect(page.map((shown) => shown.seq)).toContain(event.seq);
      expect(page[0]!.seq).toBe(gw.gateway.journal.lastSeq());
    } finally {
      await reader.end();
    }
  });

  it('shows a reader going offline on the very next doors and devices request after a cached answer', async () => {
    const reader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
    try {
      const online = nextEvent(gw, (event) => event.type === 'device.online' && event.device === 'main-entrance-reader');
      await reader.publish('guardpost/devices/main-entrance-reader/availability', 'online');
      await online;
      const status = async (): Promise<unknown> => ((JSON.parse((await get(gw, '/api/v1/doors', admin)).text) as { id: string; status: unknown }[]).find((door) => door.id === 'main-entrance')!).status;
      const availability = async (): Promise<unknown> =>
        ((JSON.parse((await get(gw, '/api/v1/devices', admin)).text) as { id: string; availability: unknown }[]).find((device) => device.id === 'main-entrance-reader')!).availability;
      expect(await availability()).toBe('online');
      expect(await availability()).toBe('online');
      expect(await status()).toEqual({ reader: 'online', strike: 'unknown' });
      // Kept by the HTTP front: the API's thread is not asked again.
      const asked = askedOf(gw.gateway.app.doorsCache);
      expect(await status()).toEqual({ reader: 'online', strike: 'unknown' });
      expect(askedOf(gw.gateway.app.doorsCache)).toBe(asked);
      const offline = nextEvent(gw, (event) => event.type === 'device.offline' && event.device === 'main-entrance-reader');
      await reader.publish('guardpost/devices/main-entrance-reader/availability', 'offline');
      await offline;
      expect(await status()).toEqual({ reader: 'offline', strike: 'unknown' });
      expect(await availability()).toBe('offline');
    } finally {
      await reader.end();
    }
  });
});

describe('cached answers of the events page and the doors list (production mode)', () => {
  let gw: TestGateway;
  let admin: Record<string, string>;

  beforeAll(async () => {
    gw = await startTestGateway({ configYaml: 'demo: false' });
    admin = await gw.adminHeaders();
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('serves a repeated events page from the HTTP front without asking the API thread, byte for byte what was computed', async () => {
    const first = await get(gw, '/api/v1/events?limit=5', admin);
    const asked = askedOf(gw.gateway.app.eventsCache);
    const second = await get(gw, '/api/v1/events?limit=5', admin);
    expect(second.status).toBe(200);
    expect(askedOf(gw.gateway.app.eventsCache)).toBe(asked);
    expect(second.text).toBe(first.text);
    expect(JSON.parse(second.text)).toEqual(gw.gateway.journal.query({ limit: 5 }));
    expect(second.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('shows a door renamed through the API on the next doors request', async () => {
    const before = JSON.parse((await get(gw, '/api/v1/doors?sort=name', admin)).text) as { id: string; name: string }[];
    await get(gw, '/api/v1/doors?sort=name', admin);
    const door = await (await fetch(`${gw.httpUrl}/api/v1/doors/server-room`, { headers: admin })).json() as Record<string, unknown>;
    const { status: _status, ...authored } = door;
    const put = await fetch(`${gw.httpUrl}/api/v1/doors/server-room`, { method: 'PUT', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ ...authored, name: 'A server room' }) });
    expect(put.status).toBe(200);
    const after = JSON.parse((await get(gw, '/api/v1/doors?sort=name', admin)).text) as { id: string; name: string }[];
    expect(before.find((item) => item.id === 'server-room')!.name).not.toBe('A server room');
    expect(after.map((item) => item.name)).toEqual(['A server room', 'Main entrance']);
  });

  it('shows an event another process committed (as the CLI does) on the next request', async () => {
    await get(gw, '/api/v1/events?limit=1', admin);
    await get(gw, '/api/v1/events?limit=1', admin);
    const other = Store.open(gw.stateDir);
    let appended: JournalEvent;
    try {
      appended = new Journal(other.db, 'demo-site').append({ type: 'config.changed', data: { by: 'another process', what: 'a test' } });
    } finally {
      other.close();
    }
    const page = JSON.parse((await get(gw, '/api/v1/events?limit=1', admin)).text) as JournalEvent[];
    expect(page[0]).toMatchObject({ id: appended.id, type: 'config.changed' });
  });

  it('answers 304 to the current ETag with the security headers, and 200 with a new ETag once the answer changed', async () => {
    const first = await get(gw, '/api/v1/doors', admin);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(first.headers.get('cache-control')).toBe('private, no-cache');
    expect(first.headers.get('x-total-count')).toBe('2');
    const unchanged = await get(gw, '/api/v1/doors', { ...admin, 'if-none-match': etag! });
    expect(unchanged.status).toBe(304);
    expect(unchanged.text).toBe('');
    expect(unchanged.headers.get('etag')).toBe(etag);
    expect(unchanged.headers.get('x-content-type-options')).toBe('nosniff');
    expect(unchanged.headers.get('content-security-policy')).toContain("default-src 'self'");
    // A list with the same answer keeps its ETag even though the database moved on meanwhile.
    gw.gateway.journal.append({ type: 'config.changed', data: { by: 'test', what: 'nothing the doors show' } });
    expect((await get(gw, '/api/v1/doors', { ...admin, 'if-none-match': `W/${etag!}, "other"` })).status).toBe(304);
    const door = (await (await fetch(`${gw.httpUrl}/api/v1/doors/main-entrance`, { headers: admin })).json()) as Record<string, unknown>;
    const { status: _status, ...authored } = door;
    await fetch(`${gw.httpUrl}/api/v1/doors/main-entrance`, { method: 'PUT', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ ...authored, unlockMs: 4000 }) });
    const changed = await get(gw, '/api/v1/doors', { ...admin, 'if-none-match': etag! });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect((JSON.parse(changed.text) as { id: string; unlockMs: number }[]).find((item) => item.id === 'main-entrance')!.unlockMs).toBe(4000);
  });

  it('keeps paging headers on a cached list answer', async () => {
    const first = await get(gw, '/api/v1/doors?limit=1', admin);
    const second = await get(gw, '/api/v1/doors?limit=1', admin);
    for (const answer of [first, second]) {
      expect(answer.headers.get('x-total-count')).toBe('2');
      expect(answer.headers.get('link')).toBe('</api/v1/doors?limit=1&offset=1>; rel="next"');
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('refuses a revoked API token at once, even for an answer it had cached and with its ETag', async () => {
    const created = (await (await fetch(`${gw.httpUrl}/api/v1/tokens`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'wallboard', role: 'viewer' }) })).json()) as {
      id: string;
      token: string;
    };
    const bearer = { authorization: `Bearer ${created.token}` };
    for (const url of ['/api/v1/doors', '/api/v1/events?limit=10']) {
      expect((await get(gw, url, bearer)).status).toBe(200);
      expect((await get(gw, url, bearer)).status).toBe(200);
    }
    const etag = (await get(gw, '/api/v1/doors', bearer)).headers.get('etag')!;
    expect((await fetch(`${gw.httpUrl}/api/v1/tokens/${created.id}`, { method: 'DELETE', headers: admin })).status).toBe(200);
    for (const url of ['/api/v1/doors', '/api/v1/events?limit=10']) {
      const refused = await get(gw, url, { ...bearer, 'if-none-match': etag });
      expect(refused.status, url).toBe(401);
      expect(JSON.parse(refused.text)).toMatchObject({ code: 'GP_ERR_UNAUTHORIZED', message: 'the token is unknown, expired or revoked' });
    }
    // Nobody without a token gets the cached answer either.
    expect((await get(gw, '/api/v1/doors')).status).toBe(401);
  });

  it('applies a user demoted or disabled through the API to that user\'s open session on the next request', async () => {
    await seedUser(gw.stateDir, 'dana-demoted', 'security', 'dana-password-1');
    const session = { authorization: `Bearer ${await gw.login('dana-demoted', 'dana-password-1')}` };
    expect(JSON.parse((await get(gw, '/api/v1/auth/me', session)).text)).toMatchObject({ id: 'dana-demoted', role: 'security' });
    expect((await get(gw, '/api/v1/events/export', session)).status).toBe(200);
    const patch = (change: unknown) => fetch(`${gw.httpUrl}/api/v1/users/dana-demoted`, { method: 'PATCH', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify(change) });
    expect((await patch({ role: 'viewer' })).status).toBe(200);
    expect(JSON.parse((await get(gw, '/api/v1/auth/me', session)).text)).toMatchObject({ role: 'viewer' });
    expect((await get(gw, '/api/v1/events/export', session)).status).toBe(403);
    expect((await patch({ disabled: true })).status).toBe(200);
    expect((await get(gw, '/api/v1/doors', session)).status).toBe(401);
  });

  it('sends helmet\'s security headers on every answer: cached, 304, refused and unknown routes alike', async () => {
    const expected = {
      'content-security-policy': expect.stringContaining("default-src 'self'") as unknown,
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
      'origin-agent-cluster': '?1',
      'referrer-policy': 'no-referrer',
      'strict-transport-security': 'max-age=31536000; includeSubDomains',
      'x-content-type-options': 'nosniff',
      'x-dns-prefetch-control': 'off',
      'x-download-options': 'noopen',
      'x-frame-options': 'SAMEORIGIN',
      'x-permitted-cross-domain-policies': 'none',
      'x-xss-protection': '0',
    };
    await get(gw, '/api/v1/events?limit=2', admin);
    const cached = await get(gw, '/api/v1/events?limit=2', admin);
    const etag = cached.headers.get('etag')!;
    const answers = [cached, await get(gw, '/api/v1/events?limit=2', { ...admin, 'if-none-match': etag }), await get(gw, '/api/v1/events?limit=2'), await get(gw, '/api/v1/no-such-route', admin)];
    expect(answers.map((answer) => answer.status)).toEqual([200, 304, 401, 404]);
    for (const answer of answers) expect(Object.fromEntries(answer.headers)).toMatchObject(expected);
  });
});
