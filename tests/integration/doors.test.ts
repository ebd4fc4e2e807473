import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, connectDevice, demoSiteFile, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';

const input = (device: string): string => `guardpost/devices/${device}/input`;
const contact = (state: 'open' | 'closed'): string => JSON.stringify({ type: 'contact', state });
const pressed = JSON.stringify({ type: 'button', state: 'pressed' });

/** The demo site with held-open times short enough to wait for. */
export function fastDoorsSite(): string {
  const site = fs.readFileSync(demoSiteFile, 'utf8').replace('heldOpenMs: 30000\n    preAlarmMs: 10000', 'heldOpenMs: 1500\n    preAlarmMs: 700');
  if (!site.includes('heldOpenMs: 1500')) throw new Error('demo site no longer has the main entrance held-open settings this test shortens');
  return site;
}

describe('doors driven by their devices through the broker', () => {
  let gw: TestGateway;
  let observer: TestClient;
  let reader: TestClient;
  let strike: TestClient;
  let dps: TestClient;
  let rex: TestClient;
  let fire: TestClient;

  beforeAll(async () => {
    gw = await startTestGateway({ configYaml: 'demo: true', siteYaml: fastDoorsSite() });
    observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    await observer.subscribe('guardpost/doors/+/state');
    [reader, strike, dps, rex, fire] = await Promise.all([
      connectDevice(gw.mqttUrl, 'main-entrance-reader'),
      connectDevice(gw.mqttUrl, 'main-entrance-strike'),
      connectDevice(gw.mqttUrl, 'main-entrance-contact'),
      connectDevice(gw.mqttUrl, 'main-entrance-exit'),
      connectDevice(gw.mqttUrl, 'fire-panel'),
    ]);
    await dps.publish(input('main-entrance-contact'), contact('closed'));
    await observer.next((m) => m.topic === 'guardpost/doors/main-entrance/state' && m.json.position === 'closed');
  });

  afterAll(async () => {
    await Promise.all([observer, reader, strike, dps, rex, fire].map((client) => client?.end()));
    await gw?.stop();
  });

  const doorState = (match: (state: Record<string, unknown>) => boolean, after: number) =>
    observer.next((m) => m.topic === 'guardpost/doors/main-entrance/state' && match(m.json), after);

  async function shut(): Promise<void> {
    const mark = observer.mark();
    await dps.publish(input('main-entrance-contact'), contact('closed'));
    await doorState((state) => state.position === 'closed', mark);
  }

  it('publishes every door state retained, so a newcomer sees it at once', async () => {
    const late = await connect(gw.mqttUrl);
    await late.subscribe('guardpost/doors/+/state');
    const server = await late.next((m) => m.topic === 'guardpost/doors/server-room/state');
    expect(server.json).toMatchObject({ door: 'server-room', lock: 'locked', alarm: 'none', lockdown: false, failMode: 'fail-secure' });
    await late.end();
  });

  it('[DOOR-FORCED] journals door.forced (high) and sounds the reader when the door opens with no grant or REX', async () => {
    const mark = observer.mark();
    const readerMark = reader.mark();
    await dps.publish(input('main-entrance-contact'), contact('open'));
    const forced = await observer.nextEvent((event) => event.type === 'door.forced', mark);
    expect(forced).toMatchObject({ door: 'main-entrance', severity: 'high' });
    expect((await reader.next((m) => m.json.type === 'buzzer', readerMark)).json).toEqual({ type: 'buzzer', pattern: 'alarm' });
    expect((await doorState((state) => state.alarm === 'forced', mark)).json).toMatchObject({ position: 'open', lock: 'locked' });
    await dps.publish(input('main-entrance-contact'), contact('closed'));
    expect(await observer.nextEvent((event) => event.type === 'door.closed', mark)).toMatchObject({ door: 'main-entrance', data: { after: 'forced' } });
  });

  it('[SAFE-EGRESS] lets someone out through REX with a strike pulse and no alarm', async () => {
    const mark = observer.mark();
    const strikeMark = strike.mark();
    await rex.publish(input('main-entrance-exit'), pressed);
    expect((await strike.next((m) => m.json.type === 'strike', strikeMark)).json).toEqual({ type: 'strike', action: 'pulse', durationMs: 5000 });
    await doorState((state) => state.lock === 'unlocked', mark);
    await dps.publish(input('main-entrance-contact'), contact('open'));
    await doorState((state) => state.position === 'open', mark);
    await shut();
    expect(observer.received.slice(mark).filter((m) => m.topic === 'guardpost/events' && String(m.json.type).startsWith('door.'))).toEqual([]);
  });

  it('[DOOR-HELD] after a grant, sounds the pre-alarm, then journals door.held, then door.closed when it shuts', async () => {
    const mark = observer.mark();
    const readerMark = reader.mark();
    await reader.publish(input('main-entrance-reader'), JSON.stringify({ type: 'card', card: '1001' }));
    await observer.nextEvent((event) => event.type === 'access.granted', mark);
    await dps.publish(input('main-entrance-contact'), contact('open'));
    const pre = await doorState((state) => state.alarm === 'prealarm', mark);
    expect(pre.json).toMatchObject({ position: 'open' });
    expect((await reader.next((m) => m.json.type === 'buzzer' && m.json.pattern === 'alarm', readerMark)).json).toEqual({ type: 'buzzer', pattern: 'alarm' });
    // The pre-alarm came first: no held event yet when it sounded.
    const held = await observer.nextEvent((event) => event.type === 'door.held', mark);
    expect(held).toMatchObject({ door: 'main-entrance', severity: 'medium', data: { heldOpenMs: 1500, openedBy: 'grant' } });
    expect(observer.received.indexOf(pre)).toBeLessThan(observer.received.findIndex((m) => m.json.id === held.id));
    await dps.publish(input('main-entrance-contact'), contact('closed'));
    expect(await observer.nextEvent((event) => event.type === 'door.closed', mark)).toMatchObject({ data: { after: 'held' } });
    expect((await reader.next((m) => m.json.type === 'buzzer' && m.json.pattern === 'off', readerMark)).json).toEqual({ type: 'buzzer', pattern: 'off' });
    expect(observer.received.slice(mark).some((m) => m.json.type === 'door.forced')).toBe(false);
  });

  it('[SAFE-FIRE] releases the fail-safe main entrance on a fire alarm and locks it again when it clears', async () => {
    const mark = observer.mark();
    const strikeMark = strike.mark();
    await fire.publish(input('fire-panel'), contact('open'));
    expect((await strike.next((m) => m.json.type === 'strike', strikeMark)).json).toEqual({ type: 'strike', action: 'unlock' });
    expect(await observer.nextEvent((event) => event.type === 'door.released', mark)).toMatchObject({ door: 'main-entrance', severity: 'high', data: { reason: 'fire-alarm' } });
    await doorState((state) => state.lock === 'released', mark);
    // The fail-secure server room stays locked.
    expect(observer.received.slice(mark).some((m) => m.json.type === 'door.released' && m.json.door === 'server-room')).toBe(false);
    await dps.publish(input('main-entrance-contact'), contact('open'));
    await doorState((state) => state.position === 'open' && state.lock === 'released', mark);
    await shut();
    const clearMark = strike.mark();
    await fire.publish(input('fire-panel'), contact('closed'));
    expect((await strike.next((m) => m.json.type === 'strike', clearMark)).json).toEqual({ type: 'strike', action: 'lock' });
    expect(await observer.nextEvent((event) => event.type === 'door.secured', mark)).toMatchObject({ door: 'main-entrance' });
    expect(observer.received.slice(mark).some((m) => m.json.type === 'door.forced')).toBe(false);
  });
});
