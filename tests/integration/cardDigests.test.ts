import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_WIEGAND_FORMATS, encodeWiegand } from '../../src/access/wiegand.js';
import { connect, connectDevice, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';

/*
 * [SEC-CARD-DIGEST] Card numbers are kept as keyed digests: a site exported and imported again
 * keeps every card working, an export taken to a gateway with another key is refused by name
 * (its digests would match nothing there), and Wiegand cards go the same way.
 */

type Json = Record<string, unknown>;

describe('card digests through export, import and the API', () => {
  let gw: TestGateway;
  let other: TestGateway;
  let admin: string;
  let observer: TestClient;
  let mainReader: TestClient;
  let serverReader: TestClient;

  beforeAll(async () => {
    [gw, other] = await Promise.all([startTestGateway(), startTestGateway()]);
    admin = await gw.login();
    observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    mainReader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
    serverReader = await connectDevice(gw.mqttUrl, 'server-room-reader');
  });
  afterAll(async () => {
    await Promise.all([observer, mainReader, serverReader].map((client) => client?.end()));
    await Promise.all([gw?.stop(), other?.stop()]);
  });

  const api = async (target: TestGateway, token: string, method: string, url: string, body?: unknown): Promise<{ status: number; body: Json }> => {
    const response = await fetch(`${target.httpUrl}/api/v1${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (response.status === 204 ? {} : await response.json()) as Json };
  };

  const present = async (reader: TestClient, readerId: string, input: Json): Promise<Json> => {
    const mark = observer.mark();
    await reader.publish(`guardpost/devices/${readerId}/input`, JSON.stringify(input));
    return (await observer.nextEvent((event) => event.type.startsWith('access.') && event.device === readerId, mark)) as unknown as Json;
  };
  const badge = (card: string, reader = mainReader, readerId = 'main-entrance-reader') => present(reader, readerId, { type: 'card', card });

  it('keeps every card working when its own export is imported again, changing no one', async () => {
    const exported = await api(gw, admin, 'GET', '/site/export');
    expect(exported.status).toBe(200);
    const text = JSON.stringify(exported.body);
    for (const card of ['1001', '1002', '1003', '1004']) expect(text).not.toContain(`"${card}"`);
    const dryRun = await api(gw, admin, 'POST', '/site/import?dryRun=true', exported.body);
    expect(dryRun.status).toBe(200);
    expect(dryRun.body).toMatchObject({ created: { cardholders: [] }, updated: { cardholders: [] }, deleted: { cardholders: [] } });
    // With one change, so the import does write and reload the people.
    const site = structuredClone(exported.body) as { cardholders: Json[] };
    site.cardholders.push({ id: 'ivy-iles', name: 'Ivy Iles', groups: ['staff'], credentials: [{ card: '0004242' }] });
    const imported = await api(gw, admin, 'POST', '/site/import', site);
    expect(imported.status).toBe(200);
    expect(imported.body).toMatchObject({ created: { cardholders: ['ivy-iles'] }, updated: { cardholders: [] } });
    expect(await badge('1001')).toMatchObject({ type: 'access.granted', cardholder: 'alice-adams' });
    expect(await badge('1002', serverReader, 'server-room-reader')).toMatchObject({ type: 'access.granted', cardholder: 'bob-brown' });
    expect(await badge('1003')).toMatchObject({ type: 'access.denied', reason: 'credential_expired' });
    expect(await badge('1004')).toMatchObject({ type: 'access.denied', cardholder: 'dave-davis' });
    expect(await badge('4242')).toMatchObject({ type: 'access.granted', cardholder: 'ivy-iles' });
    // And the export taken afterwards is the same digests: nothing was re-keyed on the way.
    const again = (await api(gw, admin, 'GET', '/site/export')).body as { cardholders: { id: string; credentials: Json[] }[] };
    const before = (exported.body as typeof again).cardholders.find((holder) => holder.id === 'alice-adams');
    expect(again.cardholders.find((holder) => holder.id === 'alice-adams')?.credentials).toEqual(before?.credentials);
  });

  it('refuses an export from a gateway with another key, naming the credential and what to do', async () => {
    const exported = (await api(gw, admin, 'GET', '/site/export')).body;
    const otherAdmin = await other.login();
    const refused = await api(other, otherAdmin, 'POST', '/site/import?dryRun=true', exported);
    expect(refused.status).toBe(400);
    expect(String(refused.body.message)).toMatch(/cardholders\[0\]\.credentials\[0\]\.cardDigest: was made with another site's card key \([0-9a-f]{8}, this gateway's is [0-9a-f]{8}\): restore that gateway's pin\.key/);
    // One person brought over by number is fine: numbers are digested with the importing gateway's key.
    const alice = await api(other, otherAdmin, 'PUT', '/cardholders/alice-adams', { name: 'Alice Adams', groups: ['staff'], credentials: [{ card: '1001' }] });
    expect(alice.status).toBe(200);
  });

  it('enrols a Wiegand card by format, facility and number, shows it masked, and grants it at the reader', async () => {
    const created = await api(gw, admin, 'POST', '/cardholders/alice-adams/credentials', { id: 'alice-fob', wiegand: { format: 'h10301', facility: 12, number: 34567 } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: 'alice-fob', wiegand: 'h10301:12:****7', status: 'active' });
    const h10301 = BUILT_IN_WIEGAND_FORMATS.find((format) => format.id === 'h10301')!;
    expect(await present(mainReader, 'main-entrance-reader', { type: 'wiegand', bits: encodeWiegand(h10301, 12, 34567) })).toMatchObject({ type: 'access.granted', cardholder: 'alice-adams', data: { credential: 'alice-fob' } });
    expect(await present(mainReader, 'main-entrance-reader', { type: 'wiegand', bits: encodeWiegand(h10301, 13, 34567) })).toMatchObject({ type: 'access.denied', reason: 'unknown_credential' });
    // Security reports it lost through the masked form, which keeps the card.
    const lost = await api(gw, admin, 'PATCH', '/cardholders/alice-adams/credentials/alice-fob', { status: 'lost' });
    expect(lost.body).toEqual({ id: 'alice-fob', wiegand: 'h10301:12:****7', status: 'lost' });
    expect(await present(mainReader, 'main-entrance-reader', { type: 'wiegand', bits: encodeWiegand(h10301, 12, 34567) })).toMatchObject({ type: 'access.denied', reason: 'credential_lost' });
    expect(JSON.stringify((await api(gw, admin, 'GET', '/cardholders/alice-adams')).body)).not.toContain('34567');
  });
});
