import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roleAllows } from '../../src/api/auth.js';
import type { Role } from '../../src/store/index.js';
import { seedUser, startTestGateway, TEST_ADMIN, tempDir, type TestGateway } from '../support/gateway.js';

interface Json {
  [key: string]: unknown;
}

async function call(gw: TestGateway, method: string, url: string, token?: string, body?: unknown): Promise<{ status: number; json: Json; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const controller = new AbortController();
  const response = await fetch(`${gw.httpUrl}${url}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: controller.signal });
  if (response.headers.get('content-type')?.startsWith('text/event-stream') === true) {
    // A live stream never ends: its status is all this table needs.
    controller.abort();
    return { status: response.status, json: {}, headers: response.headers };
  }
  const text = await response.text();
  const isJson = response.headers.get('content-type')?.includes('json') === true;
  return { status: response.status, json: isJson && text !== '' ? (JSON.parse(text) as Json) : { raw: text }, headers: response.headers };
}

describe('who may call which route (production mode)', () => {
  let gw: TestGateway;
  const tokens: Partial<Record<Role, string>> = {};

  beforeAll(async () => {
    const stateDir = tempDir();
    await seedUser(stateDir, 'sam-security', 'security', 'security-password-1');
    await seedUser(stateDir, 'val-viewer', 'viewer', 'viewer-password-1');
    gw = await startTestGateway({ stateDir, configYaml: 'demo: false' });
    tokens.admin = await gw.login();
    tokens.security = await gw.login('sam-security', 'security-password-1');
    tokens.viewer = await gw.login('val-viewer', 'viewer-password-1');
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('gives every /api route and /metrics an explicit auth rule', () => {
    const rules = gw.gateway.app.routeRules;
    expect(rules.length).toBeGreaterThan(5);
    for (const rule of rules) expect(gw.gateway.app.hasRoute({ method: rule.method as 'GET', url: rule.url }), `${rule.method} ${rule.url}`).toBe(true);
    // Registering a route without a rule fails loudly, so none can slip through unguarded.
    expect(() => gw.gateway.app.get('/api/v1/unguarded', async () => 'open')).toThrow(/has no auth rule|already listening|Fastify instance is already listening/);
  });

  // Table-driven over the registered routes: a new route is checked the day it is added.
  it('refuses anonymous callers and roles below each route\'s rule, and lets the others past the auth check', async () => {
    // API tokens, not sessions: the table calls logout too, which must not end the other tests' sessions.
    const apiTokens: Partial<Record<Role, string>> = {};
    for (const role of ['viewer', 'security', 'admin'] as const) {
      apiTokens[role] = (await call(gw, 'POST', '/api/v1/tokens', tokens.admin, { name: `table-${role}`, role })).json.token as string;
    }
    for (const rule of gw.gateway.app.routeRules) {
      if (rule.auth === 'public') continue;
      const url = rule.url.replace(/:[a-z]+/g, 'no-such-thing');
      const anonymous = await call(gw, rule.method, url);
      expect(anonymous.status, `anonymous ${rule.method} ${rule.url}`).toBe(401);
      for (const role of ['viewer', 'security', 'admin'] as const) {
        const result = await call(gw, rule.method, url, apiTokens[role], rule.method === 'GET' || rule.method === 'DELETE' ? undefined : {});
        if (roleAllows(role, rule.auth)) expect([401, 403], `${role} ${rule.method} ${rule.url}`).not.toContain(result.status);
        else expect(result.status, `${role} ${rule.method} ${rule.url}`).toBe(403);
      }
    }
  });

  it('answers a bad token with 401 naming the problem, even on a public route family', async () => {
    const result = await call(gw, 'GET', '/api/v1/doors', 'gps_not-a-real-session');
    expect(result.status).toBe(401);
    expect(result.json).toMatchObject({ code: 'GP_ERR_UNAUTHORIZED', message: 'the token is unknown, expired or revoked' });
  });

  it('creates an API token shown once, accepts it at once, and refuses it the moment it is revoked', async () => {
    const created = await call(gw, 'POST', '/api/v1/tokens', tokens.admin, { name: 'incident-system', role: 'viewer' });
    expect(created.status).toBe(201);
    const token = created.json.token as string;
    expect(token).toMatch(/^gpt_[a-f0-9]+\./);
    expect((await call(gw, 'GET', '/api/v1/doors', token)).status).toBe(200);
    const listed = await call(gw, 'GET', '/api/v1/tokens', tokens.admin);
    expect(JSON.stringify(listed.json)).not.toContain(token.split('.')[1]);
    expect((await call(gw, 'DELETE', `/api/v1/tokens/${created.json.id as string}`, tokens.admin)).status).toBe(200);
    expect((await call(gw, 'GET', '/api/v1/doors', token)).status).toBe(401);
  });

  it('writes an audit row, without secrets, for every change to users and tokens', async () => {
    const before = (await call(gw, 'GET', '/api/v1/audit?limit=1000', tokens.admin)).json as unknown as unknown[];
    expect((await call(gw, 'POST', '/api/v1/users', tokens.admin, { id: 'nina-new', role: 'viewer', password: 'nina-password-1' })).status).toBe(201);
    expect((await call(gw, 'PATCH', '/api/v1/users/nina-new', tokens.admin, { role: 'security', password: 'nina-password-2' })).status).toBe(200);
    expect((await call(gw, 'DELETE', '/api/v1/users/nina-new', tokens.admin)).status).toBe(204);
    const audit = (await call(gw, 'GET', '/api/v1/audit?limit=1000', tokens.admin)).json as unknown as { action: string; actor: string; target: string; before: Json | null; after: Json | null }[];
    const added = audit.slice(0, audit.length - before.length);
    expect(added.map((entry) => entry.action)).toEqual(['user.deleted', 'user.updated', 'user.created']);
    expect(added.every((entry) => entry.actor === TEST_ADMIN.user && entry.target === 'nina-new')).toBe(true);
    expect(added[1]).toMatchObject({ before: { role: 'viewer' }, after: { role: 'security', passwordChanged: true } });
    const text = JSON.stringify(audit);
    expect(text).not.toContain('nina-password');
    expect(text).not.toContain('$argon2');
  });

  it('refuses to remove or demote the last admin', async () => {
    const result = await call(gw, 'PATCH', `/api/v1/users/${TEST_ADMIN.user}`, tokens.admin, { role: 'viewer' });
    expect(result.status).toBe(409);
    expect(result.json).toMatchObject({ code: 'GP_ERR_CONFLICT', message: 'the site must keep at least one active admin' });
    expect((await call(gw, 'GET', '/api/v1/auth/me', tokens.admin)).json).toMatchObject({ kind: 'user', id: TEST_ADMIN.user, role: 'admin' });
  });

  it.each([
    ['an unknown field', { id: 'x-user', role: 'viewer', password: 'long-enough-pw-1', shoeSize: 44 }, 'shoeSize'],
    ['a wrong role', { id: 'x-user', role: 'superuser', password: 'long-enough-pw-1' }, 'role'],
    ['a short password', { id: 'x-user', role: 'viewer', password: 'short' }, 'password'],
  ])('answers a user body with %s with a 400 naming the field, and changes nothing', async (_what, body, field) => {
    const result = await call(gw, 'POST', '/api/v1/users', tokens.admin, body);
    expect(result.status).toBe(400);
    expect(result.json).toMatchObject({ code: 'GP_ERR_BAD_REQUEST' });
    expect(String(result.json.message)).toContain(field);
    expect(((await call(gw, 'GET', '/api/v1/users', tokens.admin)).json as unknown as { id: string }[]).map((user) => user.id)).not.toContain('x-user');
  });

  it('answers a huge body with 413 and a wrong content type with 415', async () => {
    const huge = await fetch(`${gw.httpUrl}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'big', role: 'viewer', password: 'x'.repeat(200_000) }),
    });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ statusCode: 413 });
    const xml = await fetch(`${gw.httpUrl}/api/v1/users`, { method: 'POST', headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/xml' }, body: '<user/>' });
    expect(xml.status).toBe(415);
    expect(await xml.json()).toMatchObject({ statusCode: 415, error: 'Unsupported Media Type' });
  });

  it('sends security headers', async () => {
    const response = await fetch(`${gw.httpUrl}/healthz`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
  });
});

describe('logging in', () => {
  it('locks a user out with 429 and Retry-After after five failures, and journals each failure and the lock-out', async () => {
    let nowMs = Date.parse('2026-11-23T09:00:00Z');
    const gw = await startTestGateway({ configYaml: 'demo: false', clock: () => nowMs });
    try {
      const attempt = () => call(gw, 'POST', '/api/v1/auth/login', undefined, { user: TEST_ADMIN.user, password: 'wrong-password' });
      for (let index = 0; index < 4; index++) expect((await attempt()).status).toBe(401);
      const locked = await attempt();
      expect(locked.status).toBe(429);
      expect(locked.json).toMatchObject({ code: 'GP_ERR_TOO_MANY_ATTEMPTS' });
      expect(Number(locked.headers.get('retry-after'))).toBe(300);
      // Even the right password waits out the lock.
      expect((await call(gw, 'POST', '/api/v1/auth/login', undefined, { user: TEST_ADMIN.user, password: TEST_ADMIN.password })).status).toBe(429);
      expect(gw.gateway.journal.query({ limit: 10, type: 'auth.login_failed' })).toHaveLength(5);
      expect(gw.gateway.journal.query({ limit: 10, type: 'auth.locked_out' })[0]).toMatchObject({ data: { user: TEST_ADMIN.user } });
      nowMs += 5 * 60_000;
      expect((await call(gw, 'POST', '/api/v1/auth/login', undefined, { user: TEST_ADMIN.user, password: TEST_ADMIN.password })).status).toBe(200);
    } finally {
      await gw.stop();
    }
  });

  it('does not start outside demo mode without an admin, and says how to create one', async () => {
    await expect(startTestGateway({ configYaml: 'demo: false', seedAdmin: false })).rejects.toMatchObject({ code: 'GP_ERR_NO_ADMIN', message: expect.stringContaining('guardpost user add NAME --role admin') });
  });

  it('creates a demo admin with a generated password printed once, which logs in', async () => {
    const gw = await startTestGateway({ seedAdmin: false });
    try {
      const line = gw.logs.find((text) => text.includes('demo admin created'));
      const password = /with password (\S+)/.exec(line ?? '')?.[1];
      expect(password).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      expect(gw.logs.filter((text) => text.includes(password!))).toHaveLength(1);
      expect(await gw.login('admin', password)).toMatch(/^gps_/);
    } finally {
      await gw.stop();
    }
  });
});

describe('the API description', () => {
  it('serves an OpenAPI document listing the routes, with bearer auth, and a browsable page', async () => {
    const gw = await startTestGateway({ configYaml: 'demo: false' });
    try {
      const response = await fetch(`${gw.httpUrl}/docs/json`);
      expect(response.status).toBe(200);
      const document = (await response.json()) as { openapi: string; paths: Record<string, unknown>; components: { securitySchemes: Record<string, unknown> } };
      expect(document.openapi).toMatch(/^3\./);
      expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/api/v1/events', '/api/v1/doors/{id}', '/api/v1/alarms/{id}/acknowledge', '/api/v1/auth/login']));
      expect(document.components.securitySchemes).toHaveProperty('bearer');
      const page = await fetch(`${gw.httpUrl}/docs`, { redirect: 'follow' });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('swagger');
    } finally {
      await gw.stop();
    }
  });
});
