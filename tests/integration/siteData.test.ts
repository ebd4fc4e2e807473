import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { cli } from '../support/cli.js';
import { connect, connectDevice, demoConfigFile, seedUser, startTestGateway, tempDir, type TestClient, type TestGateway } from '../support/gateway.js';

describe('changing site data through the API', () => {
  let gw: TestGateway;
  let admin: string;
  let security: string;
  let observer: TestClient;
  let mainReader: TestClient;
  let serverReader: TestClient;

  beforeAll(async () => {
    const stateDir = tempDir();
    await seedUser(stateDir, 'sam-security', 'security', 'security-password-1');
    gw = await startTestGateway({ stateDir });
    admin = await gw.login();
    security = await gw.login('sam-security', 'security-password-1');
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
    return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) };
  };
  const badge = async (reader: TestClient, readerId: string, card: string) => {
    const after = observer.mark();
    await reader.publish(`guardpost/devices/${readerId}/input`, JSON.stringify({ type: 'card', card }));
    return observer.nextEvent((event) => event.type.startsWith('access.') && event.device === readerId, after);
  };
  const auditCount = async () => ((await api('GET', '/audit?limit=1000')).body as unknown as unknown[]).length;

  it('refuses a door change that breaks a rule, naming the field, and changes nothing', async () => {
    const before = await auditCount();
    const result = await api('PUT', '/doors/server-room', admin, { name: 'Server room', reader: 'server-room-reader', strike: 'server-room-strike', unlockMs: 50 });
    expect(result.status).toBe(400);
    expect(result.body).toMatchObject({ code: 'GP_ERR_BAD_REQUEST', message: 'body.unlockMs: expected integer ≥ 100, got 50' });
    expect((await api('GET', '/doors/server-room')).body).toMatchObject({ unlockMs: 3000 });
    expect(await auditCount()).toBe(before);
  });

  it('refuses to delete a door that a group still opens, saying what would break', async () => {
    const result = await api('DELETE', '/doors/server-room');
    expect(result.status).toBe(400);
    expect(String(result.body?.message)).toMatch(/^would break groups\[\d\]\.doors\[\d\]: unknown door "server-room"/);
  });

  it('grants a staff card at the server room the moment the admin adds the holder to the it group', async () => {
    expect(await badge(serverReader, 'server-room-reader', '1001')).toMatchObject({ reason: 'not_in_group' });
    const holder = (await api('GET', '/cardholders/alice-adams')).body!;
    const result = await api('PUT', '/cardholders/alice-adams', admin, { ...holder, groups: ['staff', 'it'] });
    expect(result.status).toBe(200);
    expect(await badge(serverReader, 'server-room-reader', '1001')).toMatchObject({ type: 'access.granted', door: 'server-room' });
  });

  it('refuses a card the moment its holder is suspended, and audits who did it without the whole card number', async () => {
    const holder = (await api('GET', '/cardholders/bob-brown')).body!;
    const indexBefore = gw.gateway.runtime.site;
    expect((await api('PUT', '/cardholders/bob-brown', admin, { ...holder, status: 'suspended' })).status).toBe(200);
    // One person changed: patched into the live index, not a whole-site rebuild.
    expect(gw.gateway.runtime.site).toBe(indexBefore);
    expect(await badge(mainReader, 'main-entrance-reader', '1002')).toMatchObject({ type: 'access.denied', reason: 'cardholder_suspended' });
    const [entry] = (await api('GET', '/audit?limit=1')).body as unknown as Record<string, unknown>[];
    expect(entry).toMatchObject({ actor: 'admin', action: 'cardholder.updated', target: 'bob-brown', before: { status: 'active' }, after: { status: 'suspended' } });
    expect(JSON.stringify(entry)).not.toContain('"1002"');
  });

  it('creates a cardholder whose new card opens the main entrance at once', async () => {
    const created = await api('POST', '/cardholders', admin, { id: 'erin-evans', name: 'Erin Evans', groups: ['staff'], credentials: [{ card: '20260001' }] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'erin-evans', status: 'active', credentials: [{ id: 'erin-evans-card-1', card: '******01', status: 'active' }] });
    expect(JSON.stringify(created.body)).not.toContain('20260001');
    expect(await badge(mainReader, 'main-entrance-reader', '20260001')).toMatchObject({ type: 'access.granted', cardholder: 'erin-evans' });
    expect((await api('POST', '/cardholders', admin, { id: 'erin-evans', name: 'Again' })).status).toBe(409);
  });

  it('refuses a second holder for a card that is already issued', async () => {
    const result = await api('POST', '/cardholders', admin, { id: 'copy-cat', name: 'Copy Cat', credentials: [{ card: '0001001' }] });
    expect(result.status).toBe(400);
    expect(String(result.body?.message)).toContain('body.credentials[0].card: this card is already held by');
  });

  it('shows everyone masked card numbers, admins too, and keeps a card an admin sends back as shown [SEC-CARD-DIGEST]', async () => {
    const asSecurity = (await api('GET', '/cardholders/alice-adams', security)).body as { credentials: { card: string }[] };
    expect(asSecurity.credentials[0]!.card).toBe('***1');
    const asAdmin = (await api('GET', '/cardholders/alice-adams')).body as { name: string; credentials: { card: string }[] };
    expect(asAdmin.credentials[0]!.card).toBe('***1');
    expect(JSON.stringify(asAdmin)).not.toContain('gpcd1');
    expect((await api('PUT', '/cardholders/alice-adams', security, asAdmin)).status).toBe(403);
    // The console's edit: the whole cardholder back with the mask; the card stays Alice's.
    const renamed = await api('PUT', '/cardholders/alice-adams', admin, { ...asAdmin, name: 'Alice A. Adams' });
    expect(renamed.status).toBe(200);
    expect(await badge(mainReader, 'main-entrance-reader', '1001')).toMatchObject({ type: 'access.granted', cardholder: 'alice-adams' });
    // A mask cannot enrol a card: it only keeps the one the credential holds.
    const guessed = await api('PUT', '/cardholders/alice-adams', admin, { ...asAdmin, credentials: [{ ...asAdmin.credentials[0], card: '***7' }] });
    expect(guessed.status).toBe(400);
    expect(String(guessed.body?.message)).toContain('body.credentials[0].card: "***7" is a masked number');
  });

  it('never shows a device password hash', async () => {
    const hash = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$0123456789abcdef0123456789abcdef0123456789a';
    const device = { id: 'lobby-reader', name: 'Lobby reader', kind: 'reader', passwordHash: hash };
    expect((await api('PUT', '/devices/lobby-reader', admin, device)).status).toBe(201);
    const listed = JSON.stringify((await api('GET', '/devices')).body);
    expect(listed).not.toContain('$argon2');
    expect((await api('GET', '/devices/lobby-reader')).body).toMatchObject({ id: 'lobby-reader', hasPassword: true });
    const [entry] = (await api('GET', '/audit?limit=1')).body as unknown as Record<string, unknown>[];
    expect(JSON.stringify(entry)).not.toContain('$argon2');
  });
});

describe('the whole site as code', () => {
  let gw: TestGateway;
  let admin: string;
  let observer: TestClient;
  let reader: TestClient;

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = await gw.login();
    observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    reader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
  });
  afterAll(async () => {
    await Promise.all([observer, reader].map((client) => client?.end()));
    await gw?.stop();
  });

  const badge = async (card: string) => {
    const after = observer.mark();
    await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card }));
    return observer.nextEvent((event) => event.type.startsWith('access.'), after);
  };

  it('reports what an import would change without changing anything, then applies it from YAML', async () => {
    const exported = await (await fetch(`${gw.httpUrl}/api/v1/site/export?format=yaml`, { headers: { authorization: `Bearer ${admin}` } })).text();
    expect(exported).toContain('id: main-entrance');
    // Carol's expired card gets a new validity; Dave leaves.
    const edited = exported
      .replace('validUntil: 2024-12-31T23:59:59.000Z', 'validUntil: 2099-12-31T23:59:59.000Z')
      .replace(/  - id: dave-davis[\s\S]*?(?=\n  - id: |\n[a-z]|$)/, '');
    const post = (dryRun: boolean) =>
      fetch(`${gw.httpUrl}/api/v1/site/import?dryRun=${dryRun}`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/yaml' }, body: edited });

    const dry = await post(true);
    expect(dry.status).toBe(200);
    expect(await dry.json()).toMatchObject({ dryRun: true, updated: { cardholders: ['carol-clark'] }, deleted: { cardholders: ['dave-davis'] }, created: { cardholders: [] } });
    expect(await badge('1003')).toMatchObject({ reason: 'credential_expired' });

    const applied = await post(false);
    expect(await applied.json()).toMatchObject({ dryRun: false, updated: { cardholders: ['carol-clark'] } });
    expect(await badge('1003')).toMatchObject({ type: 'access.granted', cardholder: 'carol-clark' });
    expect(await badge('1004')).toMatchObject({ reason: 'unknown_credential' });
  });

  it('answers a broken site file with every problem, naming each key', async () => {
    const response = await fetch(`${gw.httpUrl}/api/v1/site/import?dryRun=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/yaml' },
      body: 'site: { id: demo, name: Demo, timezone: Mars/Base }\ndoors:\n  - { id: d1, name: D1, reader: nope, strike: nope, unlockMs: 5 }\n',
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { problems: string[] };
    expect(body.problems).toContain('doors[0].unlockMs: expected integer ≥ 100, got 5');
  });

  it('decides on a site imported by the CLI while the gateway runs, and journals the change', async () => {
    const exported = await cli('export', '--config', demoConfigFile, '--state-dir', gw.stateDir);
    expect(exported.code).toBe(0);
    const file = path.join(tempDir(), 'site.yaml');
    const text = exported.out.join('\n');
    // The export holds digests and masks, never a whole number [SEC-CARD-DIGEST]; Alice gets a new card by number.
    expect(text).toContain('cardDigest: gpcd1:');
    expect(text).not.toMatch(/\b1001\b/);
    const site = parse(text) as { cardholders: { id: string; credentials: Record<string, unknown>[] }[] };
    const alice = site.cardholders.find((holder) => holder.id === 'alice-adams')!;
    alice.credentials = [{ id: alice.credentials[0]!.id, card: '7771001' }];
    fs.writeFileSync(file, stringify(site));
    const changed = observer.nextEvent((event) => event.type === 'config.changed' && event.data.by === 'another process', observer.mark(), 10_000);
    const result = await cli('import', file, '--config', demoConfigFile, '--state-dir', gw.stateDir);
    expect(result).toMatchObject({ code: 0, out: ['updated cardholders: alice-adams'] });
    await changed;
    expect(await badge('7771001')).toMatchObject({ type: 'access.granted', cardholder: 'alice-adams' });
    expect(await badge('1001')).toMatchObject({ reason: 'unknown_credential' });
  });
});

describe('bulk cardholders from CSV', () => {
  let gw: TestGateway;
  let admin: string;
  let observer: TestClient;
  let reader: TestClient;

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = await gw.login();
    observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    reader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
  });
  afterAll(async () => {
    await Promise.all([observer, reader].map((client) => client?.end()));
    await gw?.stop();
  });

  const post = (csv: string, dryRun: boolean) =>
    fetch(`${gw.httpUrl}/api/v1/cardholders/import?dryRun=${dryRun}`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'text/csv' }, body: csv });
  const badge = async (card: string) => {
    const after = observer.mark();
    await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card }));
    return observer.nextEvent((event) => event.type.startsWith('access.'), after);
  };

  it('reports every bad row with its line number on a dry run, and refuses to change anything while any row is bad', async () => {
    const csv = ['id,name,groups,cards', 'fay-fox,Fay Fox,staff,30001', ',No Id,staff,30002', 'gus-gray,Gus Gray,no-such-group,30003', 'hal-hill,Hal Hill,staff,1001'].join('\n');
    const dry = await post(csv, true);
    expect(dry.status).toBe(200);
    const report = (await dry.json()) as { rows: number; created: string[]; errors: { row: number; id: string | null; message: string }[] };
    expect(report.rows).toBe(4);
    expect(report.errors).toEqual([
      { row: 3, id: null, message: 'id: required' },
      { row: 4, id: 'gus-gray', message: 'groups[0]: unknown group "no-such-group"' },
      { row: 5, id: 'hal-hill', message: expect.stringMatching(/^credentials\[0\]\.card: this card is already held by/) },
    ]);
    const applied = await post(csv, false);
    expect(applied.status).toBe(400);
    expect(((await applied.json()) as { problems: string[] }).problems).toHaveLength(3);
    expect(await badge('30001')).toMatchObject({ reason: 'unknown_credential' });
  });

  it('creates and updates cardholders from a clean file, whose cards open the door at once', async () => {
    const csv = ['id,name,status,groups,cards', 'fay-fox,Fay Fox,active,staff,30001;30011', 'alice-adams,Alice Adams,active,staff;it,', 'dave-davis,Dave Davis,active,staff,'].join('\n');
    const dry = (await (await post(csv, true)).json()) as Record<string, unknown>;
    expect(dry).toMatchObject({ dryRun: true, created: ['fay-fox'], updated: ['alice-adams'], unchanged: ['dave-davis'], errors: [] });
    const applied = (await (await post(csv, false)).json()) as Record<string, unknown>;
    expect(applied).toMatchObject({ dryRun: false, created: ['fay-fox'], updated: ['alice-adams'] });
    expect(await badge('30011')).toMatchObject({ type: 'access.granted', cardholder: 'fay-fox' });
    // Alice kept her card: the file left the cards column empty.
    expect(await badge('1001')).toMatchObject({ type: 'access.granted', cardholder: 'alice-adams' });
  });

  it('answers a file with an unknown column with a 400 naming it', async () => {
    const response = await post('id,name,shoe\nx-y,X Y,44\n', true);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toBe('unknown column(s) shoe (allowed: id, name, status, groups, cards, validFrom, validUntil)');
  });
});
