import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskCardNumber } from '../../src/access/credentials.js';
import { connect, connectDevice, startTestGateway, TEST_ADMIN, type TestClient, type TestGateway } from '../support/gateway.js';

/*
 * [SEC-PRIVACY] Run the demo the way a floor does — badge, enter PINs, raise and handle alarms,
 * log in and out, create users and tokens, export the site — then search everything the gateway
 * wrote or said for the secrets it was given. The only places one may appear whole are the one
 * answer that hands it out (the login's session token, the new API token) and the reader's own
 * input. Card numbers are kept as keyed digests [SEC-CARD-DIGEST]: not even the admin who enrols
 * one reads it back, and no file of the state directory holds it.
 */

const CARD = '7305518842';
const SECOND_CARD = '6194407731';
const PIN = '48291375';
const USER_PASSWORD = 'Orchid-Lantern-4471!';
const WRONG_PASSWORD = 'Wrong-Guess-90210?';

interface Answer {
  readonly route: string;
  readonly status: number;
  readonly body: string;
}

/** Every file under the state directory (database, WAL, snapshot, keys, backups), by path. */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? filesUnder(path.join(dir, entry.name)) : [path.join(dir, entry.name)]));
}

describe('secrets and privacy across a whole demo session', () => {
  let gw: TestGateway;
  let observer: TestClient;
  let reader: TestClient;
  let strike: TestClient;
  const answers: Answer[] = [];
  /** Secrets handed out once by the answer that creates them; found nowhere else. */
  let sessionToken = '';
  let apiToken = '';
  let adminToken = '';

  async function call(route: string, init: { method?: string; token?: string; body?: unknown } = {}): Promise<Answer> {
    const response = await fetch(`${gw.httpUrl}${route}`, {
      method: init.method ?? 'GET',
      headers: { ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }), ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const answer = { route: `${init.method ?? 'GET'} ${route}`, status: response.status, body: await response.text() };
    answers.push(answer);
    return answer;
  }

  beforeAll(async () => {
    gw = await startTestGateway();
    observer = await connect(gw.mqttUrl);
    for (const topic of ['guardpost/events', 'guardpost/doors/#', 'guardpost/alarms/#', 'guardpost/bridge/#']) await observer.subscribe(topic);
    reader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
    strike = await connectDevice(gw.mqttUrl, 'main-entrance-strike');

    // An admin enrols a new starter with a card and a PIN, and makes a colleague a user.
    const login = await call('/api/v1/auth/login', { method: 'POST', body: { user: TEST_ADMIN.user, password: TEST_ADMIN.password } });
    adminToken = (JSON.parse(login.body) as { token: string }).token;
    answers.pop();
    expect((await call('/api/v1/cardholders', { method: 'POST', token: adminToken, body: { id: 'erin-evans', name: 'Erin Evans', groups: ['staff'], credentials: [{ card: CARD }], pin: PIN } })).status).toBe(201);
    expect((await call('/api/v1/users', { method: 'POST', token: adminToken, body: { id: 'sam-security', role: 'security', password: USER_PASSWORD } })).status).toBe(201);
    const created = await call('/api/v1/tokens', { method: 'POST', token: adminToken, body: { name: 'incident system', role: 'viewer' } });
    answers.pop();
    apiToken = (JSON.parse(created.body) as { token: string }).token;

    // Staff badge and key PINs at the door.
    const mark = strike.mark();
    await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: CARD }));
    await strike.next((message) => message.json.type === 'strike', mark);
    const pinRead = observer.mark();
    await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'pin', pin: PIN }));
    await observer.nextEvent((event) => event.type.startsWith('access.'), pinRead);

    // Security signs in (after one typo), handles a panic alarm, and looks through history.
    expect((await call('/api/v1/auth/login', { method: 'POST', body: { user: 'sam-security', password: WRONG_PASSWORD } })).status).toBe(401);
    const securityLogin = await call('/api/v1/auth/login', { method: 'POST', body: { user: 'sam-security', password: USER_PASSWORD } });
    answers.pop();
    sessionToken = (JSON.parse(securityLogin.body) as { token: string }).token;
    const raised = await call('/api/v1/alarms', { method: 'POST', token: sessionToken, body: { door: 'main-entrance', location: 'desk 14' } });
    const alarmId = (JSON.parse(raised.body) as { id: string }).id;
    await call(`/api/v1/alarms/${alarmId}/acknowledge`, { method: 'POST', token: sessionToken, body: { note: 'guard on the way' } });
    await call(`/api/v1/alarms/${alarmId}/clear`, { method: 'POST', token: sessionToken, body: { resolution: 'caller calmed down' } });
    for (const route of ['/api/v1/events?limit=200', '/api/v1/events/export?format=csv', '/api/v1/events/export?format=json', '/api/v1/cardholders', '/api/v1/cardholders/erin-evans', `/api/v1/alarms/${alarmId}/report?format=json`, `/api/v1/alarms/${alarmId}/report?format=html`, '/api/v1/auth/me', '/metrics']) {
      expect((await call(route, { token: sessionToken })).status).toBe(200);
    }
    for (const route of ['/api/v1/events?limit=200', '/api/v1/tokens', '/api/v1/users', '/api/v1/audit?limit=500', '/api/v1/cardholders', '/api/v1/cardholders/erin-evans', '/api/v1/cardholders/erin-evans/credentials', `/api/v1/cardholders?card=${CARD}`, '/api/v1/site/export', '/api/v1/site/export?format=yaml']) {
      expect((await call(route, { token: adminToken })).status).toBe(200);
    }
    // A second card by the API and a spreadsheet import that names the first one again.
    expect((await call('/api/v1/cardholders/erin-evans/credentials', { method: 'POST', token: adminToken, body: { card: SECOND_CARD } })).status).toBe(201);
    const csv = await fetch(`${gw.httpUrl}/api/v1/cardholders/import?dryRun=true`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'text/csv' }, body: `id,name,cards\nfrank-fox,Frank Fox,${CARD}\n` });
    answers.push({ route: 'POST /api/v1/cardholders/import?dryRun=true', status: csv.status, body: await csv.text() });
    expect(JSON.parse(answers.at(-1)!.body)).toMatchObject({ errors: [{ row: 2, id: 'frank-fox', message: 'credentials[0].card: this card is already held by credential "erin-evans-card-1" of cardholder "erin-evans"' }] });
    await call('/api/v1/events?limit=200', { token: apiToken });
    await call('/api/v1/auth/logout', { method: 'POST', token: sessionToken });
    // Stopped, so the state directory holds all it will (a snapshot too, had the site 10,000 people).
    await gw.stop();
  });

  afterAll(async () => {
    await Promise.all([observer, reader, strike].map((client) => client.end()));
  });

  const secrets = (): Record<string, string> => ({ card: CARD, 'second card': SECOND_CARD, pin: PIN, 'user password': USER_PASSWORD, 'wrong password': WRONG_PASSWORD, 'admin password': TEST_ADMIN.password, 'session token': sessionToken, 'API token': apiToken, 'API token secret': apiToken.split('.')[1] ?? apiToken });

  function leaks(text: string): string[] {
    return Object.entries(secrets())
      .filter(([, secret]) => secret.length > 0 && text.includes(secret))
      .map(([name]) => name);
  }

  it('writes none of them to the logs', () => {
    expect(gw.logs.length).toBeGreaterThan(0);
    expect(leaks(gw.logs.join('\n'))).toEqual([]);
  });

  it('says none of them in any HTTP answer to any role, cards shown masked to admins too', () => {
    const found = answers.map((answer) => ({ route: answer.route, leaks: leaks(answer.body) })).filter((answer) => answer.leaks.length > 0);
    expect(found).toEqual([]);
    for (const route of ['GET /api/v1/cardholders/erin-evans', `GET /api/v1/cardholders?card=${CARD}`]) {
      const seen = answers.filter((answer) => answer.route === route);
      expect(seen.length).toBeGreaterThan(0);
      for (const answer of seen) expect(answer.body).toContain(maskCardNumber(CARD));
    }
    // The export carries the digest (useless without this gateway's key) and the mask.
    const exported = answers.find((answer) => answer.route === 'GET /api/v1/site/export');
    expect(exported?.body).toMatch(/"cardDigest":"gpcd1:[0-9a-f]{8}:[0-9a-f]{32}","masked":"\*{8}42"/);
  });

  it('publishes none of them on MQTT, but for the reader\'s own input', () => {
    expect(observer.received.length).toBeGreaterThan(5);
    expect(reader.received.length).toBeGreaterThan(0);
    expect(strike.received.length).toBeGreaterThan(0);
    expect(leaks(JSON.stringify([observer.received, reader.received, strike.received]))).toEqual([]);
  });

  it('keeps none of them in any file of the state directory: database, WAL, snapshot, keys or backups', () => {
    const files = filesUnder(gw.stateDir);
    expect(files.some((file) => file.endsWith('guardpost.db'))).toBe(true);
    const found = files.flatMap((file) => {
      const bytes = fs.readFileSync(file).toString('latin1');
      return leaks(bytes).map((name) => `${name} in ${path.relative(gw.stateDir, file)}`);
    });
    expect(found).toEqual([]);
    // And what was searched is what the session did: the badge granted, the changes audited.
    const db = new Database(path.join(gw.stateDir, 'guardpost.db'), { readonly: true });
    try {
      expect(db.prepare("SELECT count(*) AS n FROM events WHERE type = 'access.granted' AND cardholder = 'erin-evans'").get()).toEqual({ n: 1 });
      expect(db.prepare("SELECT count(*) AS n FROM audit WHERE target = 'erin-evans'").get()).toEqual({ n: 2 });
    } finally {
      db.close();
    }
  });
});
