import argon2 from 'argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, connectDevice, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';

describe('door, alarm and threat-level commands over the MQTT bridge', () => {
  let gw: TestGateway;
  let observer: TestClient;
  let operator: TestClient;
  let strike: TestClient;

  beforeAll(async () => {
    const passwordHash = await argon2.hash('desk-secret');
    gw = await startTestGateway({ configYaml: `demo: true\nmqtt:\n  operators:\n    - username: sam-security\n      passwordHash: ${JSON.stringify(passwordHash)}\n` });
    observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    operator = await connect(gw.mqttUrl, { username: 'sam-security', password: 'desk-secret' });
    expect(await operator.subscribe('guardpost/bridge/response/#')).toBe(1);
    strike = await connectDevice(gw.mqttUrl, 'main-entrance-strike');
  });

  afterAll(async () => {
    await Promise.all([observer, operator, strike].map((client) => client?.end()));
    await gw?.stop();
  });

  async function request(verb: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const mark = operator.mark();
    const transaction = `t-${Math.random().toString(16).slice(2)}`;
    await operator.publish(`guardpost/bridge/request/${verb}`, JSON.stringify({ by: 'sam-security', transaction, ...body }));
    return (await operator.next((m) => m.topic.startsWith('guardpost/bridge/response/') && m.json.transaction === transaction, mark)).json;
  }

  it('raises, acknowledges and clears an alarm with the operator named in every event', async () => {
    const mark = observer.mark();
    const raised = await request('alarm/raise', { location: 'Desk 7', zone: 'ground-floor' });
    expect(raised).toMatchObject({ status: 'ok', error: null, data: { state: 'raised', kind: 'panic', source: { zone: 'ground-floor', location: 'Desk 7' } } });
    const id = (raised.data as { id: string }).id;
    expect(await observer.nextEvent((event) => event.type === 'alarm.raised', mark)).toMatchObject({ data: { alarm: id, via: 'mqtt', by: 'sam-security' } });
    expect(await request('alarm/acknowledge', { alarm: id, note: 'seen on camera' })).toMatchObject({ status: 'ok', data: { state: 'acknowledged', acknowledged: { by: 'sam-security', via: 'mqtt' } } });
    expect(await request('alarm/clear', { alarm: id, resolution: 'false alarm' })).toMatchObject({ status: 'ok', data: { state: 'cleared' } });
    expect(await observer.nextEvent((event) => event.type === 'alarm.cleared', mark)).toMatchObject({ data: { alarm: id, by: 'sam-security', resolution: 'false alarm' } });
  });

  it('unlocks a door momentarily and journals who asked', async () => {
    const mark = observer.mark();
    const strikeMark = strike.mark();
    expect(await request('door/unlock', { door: 'main-entrance', reason: 'visitor' })).toMatchObject({ status: 'ok', data: { door: 'main-entrance', lock: 'unlocked' } });
    expect((await strike.next((m) => m.json.type === 'strike', strikeMark)).json).toEqual({ type: 'strike', action: 'pulse', durationMs: 5000 });
    expect(await observer.nextEvent((event) => event.type === 'door.unlocked', mark)).toMatchObject({ data: { via: 'mqtt', by: 'sam-security', note: 'visitor' } });
  });

  it('locks a zone down and sets the threat level', async () => {
    expect(await request('door/lockdown', { zone: 'secure-area' })).toMatchObject({ status: 'ok', data: { lockedDownDoors: ['server-room'] } });
    expect(await request('door/release', { zone: 'secure-area' })).toMatchObject({ status: 'ok', data: { lockedDownDoors: [] } });
    const mark = observer.mark();
    expect(await request('threat-level/set', { level: 'elevated', reason: 'call-monitoring flagged a caller' })).toMatchObject({ status: 'ok', data: { level: 'elevated' } });
    expect(await observer.nextEvent((event) => event.type === 'threat.changed', mark)).toMatchObject({ data: { to: 'elevated', via: 'mqtt', by: 'sam-security' } });
    await request('threat-level/set', { level: 'normal' });
  });

  it('answers bad requests with an error naming what was wrong, and keeps going', async () => {
    expect(await request('alarm/clear', { alarm: 'nope', resolution: 'x' })).toMatchObject({ status: 'error', data: null, error: { code: 'GP_ERR_NOT_FOUND', message: 'no alarm "nope"' } });
    expect(await request('door/lockdown', {})).toMatchObject({ status: 'error', error: { code: 'GP_ERR_BAD_REQUEST', message: 'expected one of door, zone or site: true' } });
    expect(await request('door/open-sesame', {})).toMatchObject({ status: 'error', error: { code: 'GP_ERR_NOT_FOUND' } });
    expect(await request('door/unlock', { door: 'main-entrance' })).toMatchObject({ status: 'ok' });
  });

  it('[SAFE-AUDIT] refuses a request that names someone else as the sender, and a device that sends one', async () => {
    const mark = observer.mark();
    const impostor = await connect(gw.mqttUrl, { username: 'sam-security', password: 'desk-secret' });
    const closed = new Promise<void>((resolve) => impostor.client.once('close', () => resolve()));
    impostor.client.publish('guardpost/bridge/request/door/unlock', JSON.stringify({ by: 'chief-of-security', door: 'main-entrance' }), { qos: 1 });
    await closed;
    expect(await observer.nextEvent((event) => event.type === 'device.unauthorized', mark)).toMatchObject({ reason: 'publish_refused', data: { topic: 'guardpost/bridge/request/door/unlock' } });
    await impostor.end();

    const reader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
    const readerClosed = new Promise<void>((resolve) => reader.client.once('close', () => resolve()));
    reader.client.publish('guardpost/bridge/request/door/unlock', JSON.stringify({ by: 'main-entrance-reader', door: 'main-entrance' }), { qos: 1 });
    await readerClosed;
    await observer.nextEvent((event) => event.type === 'device.unauthorized' && event.device === 'main-entrance-reader', mark);
    await reader.end();
    expect(observer.received.slice(mark).some((m) => m.json.type === 'door.unlocked')).toBe(false);
  });
});
