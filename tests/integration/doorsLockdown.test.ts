import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { connect, connectDevice, demoSiteFile, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';

const input = (device: string): string => `guardpost/devices/${device}/input`;
const card = (number: string): string => JSON.stringify({ type: 'card', card: number });

/** The demo site, with the reception panic button locking its zone down. */
function lockdownSite(): string {
  const site = YAML.parse(fs.readFileSync(demoSiteFile, 'utf8')) as { panicButtons: Record<string, unknown>[] };
  site.panicButtons = [{ device: 'reception-panic', zone: 'secure-area', lockdown: true }];
  return YAML.stringify(site);
}

describe('lockdowns, momentary unlocks, fire alarms and the threat level', () => {
  let gw: TestGateway;
  let observer: TestClient;
  let mainReader: TestClient;
  let mainStrike: TestClient;
  let serverReader: TestClient;
  let exit: TestClient;
  let fire: TestClient;
  let panic: TestClient;

  beforeAll(async () => {
    gw = await startTestGateway({ configYaml: 'demo: true', siteYaml: lockdownSite() });
    observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    await observer.subscribe('guardpost/doors/+/state');
    [mainReader, mainStrike, serverReader, exit, fire, panic] = await Promise.all([
      connectDevice(gw.mqttUrl, 'main-entrance-reader'),
      connectDevice(gw.mqttUrl, 'main-entrance-strike'),
      connectDevice(gw.mqttUrl, 'server-room-reader'),
      connectDevice(gw.mqttUrl, 'main-entrance-exit'),
      connectDevice(gw.mqttUrl, 'fire-panel'),
      connectDevice(gw.mqttUrl, 'reception-panic'),
    ]);
  });

  afterAll(async () => {
    await Promise.all([observer, mainReader, mainStrike, serverReader, exit, fire, panic].map((client) => client?.end()));
    await gw?.stop();
  });

  async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(`${gw.httpUrl}${path}`, { method, headers: { ...(await gw.adminHeaders()), ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }

  async function badge(reader: TestClient, readerId: string, number: string) {
    const mark = observer.mark();
    await reader.publish(input(readerId), card(number));
    return observer.nextEvent((event) => event.type.startsWith('access.') && event.device === readerId, mark);
  }

  it('[SAFE-LOCKDOWN] stops entry site-wide from the API, keeps exit working, lets a fire alarm release the fail-safe door, and journals who asked', async () => {
    const mark = observer.mark();
    const locked = await api('POST', '/api/v1/lockdown', { reason: 'armed intruder reported' });
    expect(locked).toMatchObject({ status: 201, json: { lockedDownDoors: ['main-entrance', 'server-room'] } });
    expect(await observer.nextEvent((event) => event.type === 'door.lockdown', mark)).toMatchObject({
      severity: 'high',
      data: { scope: 'site', doors: ['main-entrance', 'server-room'], via: 'api', address: '127.0.0.1', note: 'armed intruder reported' },
    });
    await observer.next((m) => m.topic === 'guardpost/doors/main-entrance/state' && m.json.lockdown === true, mark);

    const strikeMark = mainStrike.mark();
    expect(await badge(mainReader, 'main-entrance-reader', '1001')).toMatchObject({ type: 'access.denied', reason: 'door_lockdown' });

    // [SAFE-EGRESS] REX still opens.
    await exit.publish(input('main-entrance-exit'), JSON.stringify({ type: 'button', state: 'pressed' }));
    expect((await mainStrike.next((m) => m.json.type === 'strike', strikeMark)).json).toEqual({ type: 'strike', action: 'pulse', durationMs: 5000 });

    // [SAFE-FIRE] a fire alarm overrides the lockdown for the fail-safe door.
    const fireMark = mainStrike.mark();
    await fire.publish(input('fire-panel'), JSON.stringify({ type: 'contact', state: 'open' }));
    expect((await mainStrike.next((m) => m.json.type === 'strike' && m.json.action !== 'pulse', fireMark)).json).toEqual({ type: 'strike', action: 'unlock' });
    expect(await observer.nextEvent((event) => event.type === 'door.released', mark)).toMatchObject({ door: 'main-entrance', data: { reason: 'fire-alarm', lockdown: true } });
    await fire.publish(input('fire-panel'), JSON.stringify({ type: 'contact', state: 'closed' }));
    await observer.nextEvent((event) => event.type === 'door.secured', mark);

    const released = await api('DELETE', '/api/v1/lockdown');
    expect(released).toMatchObject({ status: 200, json: { lockedDownDoors: [] } });
    expect(await observer.nextEvent((event) => event.type === 'door.lockdown_released', mark)).toMatchObject({ data: { scope: 'site', via: 'api' } });
    expect(await badge(mainReader, 'main-entrance-reader', '1001')).toMatchObject({ type: 'access.granted' });
    expect(await api('DELETE', '/api/v1/lockdown')).toMatchObject({ status: 409, json: { code: 'GP_ERR_CONFLICT', message: 'the site is not locked down' } });
  });

  it('locks one door or one zone down without touching the others', async () => {
    expect((await api('POST', '/api/v1/doors/server-room/lockdown')).status).toBe(201);
    expect(await badge(serverReader, 'server-room-reader', '1002')).toMatchObject({ type: 'access.denied', reason: 'door_lockdown' });
    expect(await badge(mainReader, 'main-entrance-reader', '1002')).toMatchObject({ type: 'access.granted' });
    expect((await api('DELETE', '/api/v1/doors/server-room/lockdown')).status).toBe(200);
    expect(await badge(serverReader, 'server-room-reader', '1002')).toMatchObject({ type: 'access.granted' });
    expect(await api('POST', '/api/v1/zones/nowhere/lockdown')).toMatchObject({ status: 404, json: { message: 'no zone "nowhere"' } });
  });

  it('pulses the strike for a momentary unlock from the API and journals who asked', async () => {
    const mark = observer.mark();
    const strikeMark = mainStrike.mark();
    const { status, json } = await api('POST', '/api/v1/doors/main-entrance/unlock', { reason: 'courier' });
    expect(status).toBe(200);
    expect(json).toMatchObject({ door: 'main-entrance', lock: 'unlocked' });
    expect((await mainStrike.next((m) => m.json.type === 'strike', strikeMark)).json).toEqual({ type: 'strike', action: 'pulse', durationMs: 5000 });
    expect(await observer.nextEvent((event) => event.type === 'door.unlocked', mark)).toMatchObject({ door: 'main-entrance', data: { via: 'api', by: 'admin', address: '127.0.0.1', durationMs: 5000, note: 'courier' } });
    expect(await api('POST', '/api/v1/doors/nope/unlock')).toMatchObject({ status: 404, json: { message: 'no door "nope"' } });
  });

  it('raises the threat level from the API: an event, and the level locks its zones down until it is lowered', async () => {
    const mark = observer.mark();
    const raised = await api('PUT', '/api/v1/threat-level', { level: 'elevated', reason: 'threatening caller flagged' });
    expect(raised).toMatchObject({ status: 200, json: { level: 'elevated', name: 'Elevated', actor: { via: 'api' }, reason: 'threatening caller flagged' } });
    expect(await observer.nextEvent((event) => event.type === 'threat.changed', mark)).toMatchObject({ reason: 'elevated', data: { from: 'normal', to: 'elevated', via: 'api', note: 'threatening caller flagged' } });
    expect(await badge(serverReader, 'server-room-reader', '1002')).toMatchObject({ type: 'access.denied', reason: 'door_lockdown' });
    expect(await badge(mainReader, 'main-entrance-reader', '1002')).toMatchObject({ type: 'access.granted' });
    expect(await api('DELETE', '/api/v1/zones/secure-area/lockdown')).toMatchObject({ status: 409, json: { message: 'the zone "secure-area" is locked down by the threat level: lower the threat level to release it' } });
    expect(gw.gateway.runtime.safety.threat.current().level).toBe('elevated');

    expect(await api('PUT', '/api/v1/threat-level', { level: 'purple' })).toMatchObject({ status: 400, json: { message: 'unknown threat level "purple" (known: normal, elevated, lockdown)' } });
    await api('PUT', '/api/v1/threat-level', { level: 'normal' });
    expect(await badge(serverReader, 'server-room-reader', '1002')).toMatchObject({ type: 'access.granted' });
  });

  it('locks the panic button\'s zone down when the button is configured to', async () => {
    const mark = observer.mark();
    await panic.publish(input('reception-panic'), JSON.stringify({ type: 'button', state: 'pressed' }));
    const raised = await observer.nextEvent((event) => event.type === 'alarm.raised', mark);
    expect(await observer.nextEvent((event) => event.type === 'door.lockdown', mark)).toMatchObject({ reason: 'panic', data: { scope: 'zone', zone: 'secure-area', doors: ['server-room'], via: 'button', by: 'reception-panic' } });
    expect(await badge(serverReader, 'server-room-reader', '1002')).toMatchObject({ type: 'access.denied', reason: 'door_lockdown' });
    expect((await api('DELETE', '/api/v1/zones/secure-area/lockdown')).status).toBe(200);
    const id = String(raised.data.alarm);
    await api('POST', `/api/v1/alarms/${id}/acknowledge`, {});
    await api('POST', `/api/v1/alarms/${id}/clear`, { resolution: 'test' });
  });
});
