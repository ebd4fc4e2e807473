import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskCardNumber } from '../../src/access/credentials.js';
import { connect, connectDevice, startTestGateway, TEST_ADMIN, type TestClient, type TestGateway } from '../support/gateway.js';

/*
 * [SEC-PRIVACY] Run the demo the way a floor does — badge, enter PINs, raise and handle alarms,
 * log in and out, create users and tokens — then search everything the gateway wrote or said
 * for the secrets it was given. The only places one may appear whole are the one answer that
 * hands it out (the login's session token, the new API token) and an admin's own reading of
 * the card numbers they enrol.
 */

const CARD = '7305518842';
const PIN = '48291375';
const USER_PASSWORD = 'Orchid-Lantern-4471!';
const WRONG_PASSWORD = 'Wrong-Guess-90210?';

interface Answer {
  readonly route: string;
  /** Answered to the admin, who may read the card numbers they enrol. */
  readonly admin: boolean;
  readonly status: number;
  readonly body: string;
}

describe('secrets and privacy across a whole demo session', () => {
  let gw: TestGateway;
  let observer: TestClient;
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
    const answer = { route: `${init.method ?? 'GET'} ${route}`, admin: init.token !== undefined && init.token === adminToken, status: response.status, body: await response.text() };
    answers.push(answer);
    return answer;
  }

  beforeAll(async () => {
    gw = await startTestGateway();
    observer = await connect(gw.mqttUrl);
    for (const topic of ['guardpost/events', 'guardpost/doors/#', 'guardpost/alarms/#', 'guardpost/bridge/#']) await observer.subscribe(topic);
    const reader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
    const strike = await connectDevice(gw.mqttUrl, 'main-entrance-strike');

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
    for (const route of ['/api/v1/events?limit=200', '/api/v1/tokens', '/api/v1/users', '/api/v1/audit?limit=500']) await call(route, { token: adminToken });
    await call('/api/v1/events?limit=200', { token: apiToken });
    await call('/api/v1/auth/logout', { method: 'POST', token: sessionToken });
    await reader.end();
    await strike.end();
  });

  afterAll(async () => {
    await observer.end();
    await gw.stop();
  });

  const secrets = (): Record<string, string> => ({ card: CARD, pin: PIN, 'user password': USER_PASSWORD, 'wrong password': WRONG_PASSWORD, 'admin password': TEST_ADMIN.password, 'session token': sessionToken, 'API token': apiToken, 'API token secret': apiToken.split('.')[1] ?? apiToken });

  function leaks(text: string): string[] {
    return Object.entries(secrets())
      .filter(([, secret]) => secret.length > 0 && text.includes(secret))
      .map(([name]) => name);
  }

  it('writes none of them to the logs', () => {
    expect(gw.logs.length).toBeGreaterThan(0);
    expect(leaks(gw.logs.join('\n'))).toEqual([]);
  });

  it('says none of them in any HTTP answer, the card number masked for security staff', () => {
    const found = answers
      .map((answer) => ({ route: answer.route, leaks: leaks(answer.body).filter((name) => !(answer.admin && name === 'card')) }))
      .filter((answer) => answer.leaks.length > 0);
    expect(found).toEqual([]);
    const erin = answers.find((answer) => answer.route === 'GET /api/v1/cardholders/erin-evans');
    expect(erin?.body).toContain(maskCardNumber(CARD));
  });

  it('publishes none of them on MQTT', () => {
    expect(observer.received.length).toBeGreaterThan(5);
    expect(leaks(JSON.stringify(observer.received))).toEqual([]);
  });

  it('keeps no PIN, password or token in the SQLite files, and no card number in the journal or audit log', () => {
    const files = fs.readdirSync(gw.stateDir).filter((file) => /\.(db|sqlite)(-wal)?$/.test(file) || file.endsWith('-wal'));
    expect(files.length).toBeGreaterThan(0);
    const bytes = files.map((file) => fs.readFileSync(path.join(gw.stateDir, file)).toString('latin1')).join('\n');
    const { card: _card, ...notCards } = secrets();
    expect(Object.entries(notCards).filter(([, secret]) => bytes.includes(secret)).map(([name]) => name)).toEqual([]);
    // Card numbers are kept for lookup (see SECURITY.md); the history never holds one whole.
    const journal = gw.gateway.journal.query({ afterSeq: 0, limit: 1_000_000 });
    expect(leaks(JSON.stringify(journal))).toEqual([]);
    const audit = gw.gateway.store.db.prepare('SELECT * FROM audit').all();
    expect(audit.length).toBeGreaterThan(0);
    expect(leaks(JSON.stringify(audit))).toEqual([]);
  });
});
