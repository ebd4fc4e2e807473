import argon2 from 'argon2';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { connect, connectDevice, demoSiteFile, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';

/** The demo site with a key switch at reception that raises the floor to `elevated`. */
function threatSite(): string {
  const site = YAML.parse(fs.readFileSync(demoSiteFile, 'utf8')) as Record<string, Record<string, unknown>[]>;
  site.devices!.push({ id: 'reception-threat-key', name: 'Reception threat key', kind: 'threat-button', location: 'Reception desk' }, { id: 'spare-threat-key', kind: 'threat-button' });
  site.threatLevels!.find((level) => level.id === 'elevated')!.buttons = ['reception-threat-key'];
  return YAML.stringify(site);
}

const pressed = JSON.stringify({ type: 'button', state: 'pressed' });

describe('threat-level inputs: a threat button and an external call-monitoring system [SAFE-THREAT]', () => {
  let gw: TestGateway;
  let observer: TestClient;
  let monitor: TestClient;

  beforeAll(async () => {
    const passwordHash = await argon2.hash('call-monitor-secret');
    gw = await startTestGateway({
      siteYaml: threatSite(),
      configYaml: `demo: true\nmqtt:\n  operators:\n    - username: call-monitor\n      passwordHash: ${JSON.stringify(passwordHash)}\n      requests: [threat-level/raise]\n`,
    });
    observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    monitor = await connect(gw.mqttUrl, { username: 'call-monitor', password: 'call-monitor-secret' });
    expect(await monitor.subscribe('guardpost/bridge/response/#')).toBe(1);
  });

  afterAll(async () => {
    await Promise.all([observer, monitor].map((client) => client?.end()));
    await gw?.stop();
  });

  async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(`${gw.httpUrl}${path}`, { method, headers: { ...(await gw.adminHeaders()), ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }

  async function raise(level: string, reason: string): Promise<Record<string, unknown>> {
    const mark = monitor.mark();
    const transaction = `t-${Math.random().toString(16).slice(2)}`;
    await monitor.publish('guardpost/bridge/request/threat-level/raise', JSON.stringify({ by: 'call-monitor', transaction, level, reason }));
    return (await monitor.next((m) => m.topic === 'guardpost/bridge/response/threat-level/raise' && m.json.transaction === transaction, mark)).json;
  }

  it('raises the site to the level its threat button names, with the button as who asked, and locks down that level\'s zones', async () => {
    const key = await connectDevice(gw.mqttUrl, 'reception-threat-key');
    const mark = observer.mark();
    await key.publish('guardpost/devices/reception-threat-key/input', pressed);
    expect(await observer.nextEvent((event) => event.type === 'threat.changed', mark)).toMatchObject({
      severity: 'high',
      reason: 'elevated',
      data: { from: 'normal', to: 'elevated', via: 'button', by: 'reception-threat-key', note: 'button reception-threat-key at Reception desk' },
    });
    expect(await observer.nextEvent((event) => event.type === 'door.lockdown', mark)).toMatchObject({ data: { zone: 'secure-area', source: 'threat-level' } });
    expect((await api('GET', '/api/v1/threat-level')).json).toMatchObject({ level: 'elevated' });
    // A second press changes nothing and journals nothing new.
    await key.publish('guardpost/devices/reception-threat-key/input', pressed);
    // Something after it, to know the second press has been handled.
    await key.publish('guardpost/devices/reception-threat-key/input', JSON.stringify({ type: 'card', card: '1001' }));
    await observer.nextEvent((event) => event.type === 'device.bad_input' && event.device === 'reception-threat-key', mark);
    expect(observer.received.slice(mark).filter((m) => m.json.type === 'threat.changed')).toHaveLength(1);
    expect((await api('PUT', '/api/v1/threat-level', { level: 'normal', reason: 'all clear' })).status).toBe(200);
    await key.end();
  });

  it('journals a press of a threat button that no level names as bad input, and changes nothing', async () => {
    const spare = await connectDevice(gw.mqttUrl, 'spare-threat-key');
    const mark = observer.mark();
    await spare.publish('guardpost/devices/spare-threat-key/input', pressed);
    expect(await observer.nextEvent((event) => event.type === 'device.bad_input', mark)).toMatchObject({ device: 'spare-threat-key', reason: 'unexpected_signal', data: { message: 'a threat button that no threat level names (threatLevels[].buttons)' } });
    expect((await api('GET', '/api/v1/threat-level')).json).toMatchObject({ level: 'normal' });
    await spare.end();
  });

  it('lets the call-monitoring system raise the level with its own login, never lower it, and journals it as the asker', async () => {
    const mark = observer.mark();
    expect(await raise('elevated', 'caller threatened agent at desk 14')).toMatchObject({ status: 'ok', error: null, data: { level: 'elevated', changed: true } });
    expect(await observer.nextEvent((event) => event.type === 'threat.changed', mark)).toMatchObject({ data: { to: 'elevated', via: 'mqtt', by: 'call-monitor', note: 'caller threatened agent at desk 14' } });
    // Security raised it further; the monitor's next flag does not bring it down.
    expect((await api('PUT', '/api/v1/threat-level', { level: 'lockdown', reason: 'armed intruder' })).status).toBe(200);
    expect(await raise('elevated', 'another call')).toMatchObject({ status: 'ok', data: { level: 'lockdown', changed: false } });
    expect(await raise('purple', 'typo')).toMatchObject({ status: 'error', error: { code: 'GP_ERR_BAD_REQUEST', message: 'unknown threat level "purple" (known: normal, elevated, lockdown)' } });
    expect((await api('PUT', '/api/v1/threat-level', { level: 'normal', reason: 'all clear' })).status).toBe(200);
  });

  it('refuses the call-monitoring system any other bridge request (its login may only raise the threat level)', async () => {
    const mark = observer.mark();
    const closed = new Promise<void>((resolve) => monitor.client.once('close', () => resolve()));
    await monitor.client.publishAsync('guardpost/bridge/request/door/unlock', JSON.stringify({ by: 'call-monitor', door: 'main-entrance' }), { qos: 0 });
    expect(await observer.nextEvent((event) => event.type === 'device.unauthorized', mark)).toMatchObject({ data: expect.objectContaining({ topic: 'guardpost/bridge/request/door/unlock' }) });
    await closed;
    expect(observer.received.slice(mark).some((m) => m.json.type === 'door.unlocked')).toBe(false);
  });
});
