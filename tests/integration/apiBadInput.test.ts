import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

type Json = Record<string, unknown>;

/** The routes added for the rest of the site data, each with a body it would accept. */
const routes: { method: string; path: string; body: Json }[] = [
  { method: 'POST', path: '/api/v1/zones', body: { id: 'bad-zone', name: 'Zone', doors: [] } },
  { method: 'PUT', path: '/api/v1/zones/ground-floor', body: { name: 'Ground', doors: ['main-entrance'] } },
  { method: 'POST', path: '/api/v1/schedules', body: { id: 'bad-schedule', name: 'Schedule' } },
  { method: 'PUT', path: '/api/v1/holidays/uk-bank-holidays', body: { name: 'Holidays', dates: [] } },
  { method: 'POST', path: '/api/v1/access-levels', body: { id: 'bad-level', name: 'Level' } },
  { method: 'POST', path: '/api/v1/threat-levels', body: { id: 'bad-threat', name: 'Threat' } },
  { method: 'POST', path: '/api/v1/cameras', body: { id: 'bad-camera', kind: 'http', url: 'http://127.0.0.1:9/x' } },
  { method: 'POST', path: '/api/v1/door-groups', body: { id: 'bad-doors', name: 'Doors' } },
  { method: 'POST', path: '/api/v1/areas', body: { id: 'bad-area', name: 'Area' } },
  { method: 'POST', path: '/api/v1/watch-list', body: { cardholder: 'alice-adams', reason: 'x' } },
  { method: 'PUT', path: '/api/v1/watch-list/cardholder:alice-adams', body: { reason: 'x' } },
  { method: 'POST', path: '/api/v1/cardholders/alice-adams/credentials', body: { card: '4440001' } },
  { method: 'PATCH', path: '/api/v1/cardholders/alice-adams/credentials/alice-adams-card-1', body: { status: 'suspended' } },
  { method: 'POST', path: '/api/v1/forwarders/none/resend', body: { fromSeq: 1 } },
];

describe('bad requests to the site-data, watch-list, credential and resend routes', () => {
  let gw: TestGateway;
  let admin: string;

  beforeAll(async () => {
    gw = await startTestGateway({ configYaml: 'demo: false' });
    admin = await gw.login();
  });
  afterAll(async () => {
    await gw?.stop();
  });

  const send = async (method: string, path: string, body: string, contentType = 'application/json') => {
    const response = await fetch(`${gw.httpUrl}${path}`, { method, headers: { authorization: `Bearer ${admin}`, 'content-type': contentType }, body });
    return { status: response.status, body: (await response.json()) as Json };
  };
  const state = async () => {
    const site = await (await fetch(`${gw.httpUrl}/api/v1/site/export`, { headers: { authorization: `Bearer ${admin}` } })).text();
    return { site, audit: Number((await fetch(`${gw.httpUrl}/api/v1/audit?limit=1`, { headers: { authorization: `Bearer ${admin}` } })).headers.get('x-total-count')) };
  };

  it.each(routes)('$method $path: an unknown field is a 400 naming it, and nothing changes', async ({ method, path, body }) => {
    const before = await state();
    const result = await send(method, path, JSON.stringify({ ...body, shoeSize: 44 }));
    expect(result.status).toBe(400);
    expect(result.body).toMatchObject({ statusCode: 400, code: 'GP_ERR_BAD_REQUEST', error: 'Bad Request' });
    expect(String(result.body.message)).toContain('shoeSize');
    expect(await state()).toEqual(before);
  });

  it.each(routes)('$method $path: a wrong content type is a 415, a huge body a 413, broken JSON a 400', async ({ method, path, body }) => {
    const before = await state();
    const xml = await send(method, path, '<zone/>', 'application/xml');
    expect(xml).toMatchObject({ status: 415, body: { statusCode: 415, error: 'Unsupported Media Type' } });
    const huge = await send(method, path, JSON.stringify({ ...body, name: 'x'.repeat(100_000) }));
    expect(huge).toMatchObject({ status: 413, body: { statusCode: 413 } });
    const broken = await send(method, path, '{"name": ');
    expect(broken).toMatchObject({ status: 400, body: { statusCode: 400, code: 'GP_ERR_BAD_REQUEST' } });
    expect(await state()).toEqual(before);
  });

  it('names the wrong field of a site-data body and keeps the gateway answering', async () => {
    const result = await send('POST', '/api/v1/areas', JSON.stringify({ id: 'bad-area', name: 'Area', passback: 'sometimes' }));
    expect(result.status).toBe(400);
    expect(String(result.body.message)).toContain('body.passback');
    expect((await send('POST', '/api/v1/areas', JSON.stringify({ id: 'Bad Id!', name: 'Area' }))).body).toMatchObject({ message: 'body.id: expected an id of lowercase letters, digits and dashes' });
    expect((await fetch(`${gw.httpUrl}/healthz`)).status).toBe(200);
  });
});
