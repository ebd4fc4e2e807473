import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/*
 * [SEC-API-FUZZ] Every route, with random parameters, query strings, bodies and content types,
 * as an admin (the role that reaches the most code). Pass: only 2xx/4xx answers, every error
 * in the catalogue's shape, and no change without a record of it (an audit row or a journal
 * event naming who asked).
 */

const ids = fc.oneof(fc.constantFrom('main-entrance', 'server-room', 'alice-adams', 'staff', 'no-such-thing', '', '..', '%00', 'a'.repeat(300)), fc.string({ maxLength: 40 }));
const bodies = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.constantFrom('id', 'name', 'role', 'password', 'note', 'resolution', 'level', 'durationMs', 'door', 'zone', 'groups', 'credentials', 'cardholder', 'fromSeq', 'user'), fc.jsonValue({ maxDepth: 2 })),
);
const contentTypes = fc.constantFrom('application/json', 'application/json', 'text/plain', 'text/csv', 'application/x-www-form-urlencoded', 'application/octet-stream');
const queries = fc.dictionary(fc.constantFrom('limit', 'offset', 'type', 'door', 'from', 'to', 'format', 'minutes', 'dryRun', 'q', 'sort', 'afterSeq'), fc.oneof(fc.string({ maxLength: 20 }), fc.integer().map(String)), { maxKeys: 3 });

describe('every API route under random input', () => {
  let gw: TestGateway;
  let headers: Record<string, string>;
  // (The fuzz never names the signed-in admin, so it cannot lock itself out half-way.)

  beforeAll(async () => {
    gw = await startTestGateway();
    headers = await gw.adminHeaders();
  });
  afterAll(async () => {
    await gw.stop();
  });

  const records = (): number =>
    (gw.gateway.store.db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n + gw.gateway.journal.query({ afterSeq: 0, limit: 1_000_000 }).length;

  it('answers only 2xx or 4xx, in the error catalogue\'s shape, and changes nothing without a record', async () => {
    const rules = gw.gateway.app.routeRules.filter((rule) => !rule.url.endsWith('/stream') && !rule.url.endsWith('/auth/logout'));
    expect(rules.length).toBeGreaterThan(20);
    const failures: string[] = [];
    for (const rule of rules) {
      await fc.assert(
        fc.asyncProperty(ids, queries, bodies, contentTypes, async (id, query, body, contentType) => {
          const url = rule.url.replace(/:[A-Za-z]+/g, encodeURIComponent(id) || 'x');
          const search = new URLSearchParams(query).toString();
          const before = records();
          const payload = body === undefined || rule.method === 'GET' || rule.method === 'DELETE' ? undefined : contentType === 'application/json' ? JSON.stringify(body) : String(JSON.stringify(body));
          const response = await gw.gateway.app.inject({
            method: rule.method as 'GET',
            url: search === '' ? url : `${url}?${search}`,
            headers: { ...headers, ...(payload === undefined ? {} : { 'content-type': contentType }) },
            payload,
          });
          const where = `${rule.method} ${url}?${search} ${contentType} ${payload?.slice(0, 120) ?? ''} → ${response.statusCode} ${response.body.slice(0, 200)}`;
          if (response.statusCode >= 500) failures.push(where);
          if (response.statusCode >= 400 && response.headers['content-type']?.toString().includes('json')) {
            const error = response.json() as Record<string, unknown>;
            if (typeof error.code !== 'string' || !error.code.startsWith('GP_ERR_') || typeof error.message !== 'string' || error.statusCode !== response.statusCode) failures.push(`not the catalogue's shape: ${where}`);
          }
          // Created (201), deleted (204) or replaced/changed (200 to PUT, PATCH, DELETE): recorded.
          const changed = response.statusCode === 201 || response.statusCode === 204 || (response.statusCode === 200 && ['PUT', 'PATCH', 'DELETE'].includes(rule.method));
          if (changed && records() === before) failures.push(`a change with no audit row or event: ${where}`);
        }),
        { numRuns: 25 },
      );
    }
    expect(failures).toEqual([]);
  }, 300_000);
});
