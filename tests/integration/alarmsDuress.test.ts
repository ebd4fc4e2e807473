import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNvr } from '../support/nvr.js';
import { connect, connectDevice, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';

function site(nvrUrl: string): string {
  return `
site: { id: duress, name: Duress floor, timezone: Europe/London, duressPinOffset: 1 }
devices:
  - { id: vault-reader, kind: reader }
  - { id: vault-strike, kind: strike }
  - { id: front-reader, kind: reader }
  - { id: front-strike, kind: strike }
doors:
  - { id: vault, name: Vault, reader: vault-reader, strike: vault-strike, mode: card-and-pin }
  - { id: front, name: Front, reader: front-reader, strike: front-strike }
groups:
  - { id: vault-staff, name: Vault staff, doors: [vault, front] }
cardholders:
  - { id: vic, name: Vic, groups: [vault-staff], pin: "4321", credentials: [{ card: "4001" }] }
  - { id: mallory, name: Mallory, groups: [vault-staff], credentials: [{ card: "6001" }] }
watchList:
  - { cardholder: mallory, reason: "banned former employee" }
zones:
  - { id: secure, name: Secure, doors: [vault] }
cameras:
  - { id: vault-cam, kind: http, url: "${nvrUrl}/vault-cam", doors: [vault], on: [duress] }
  - { id: front-cam, kind: frigate, url: "${nvrUrl}", camera: front, label: watchlist, doors: [front], on: [watchlist] }
`;
}

describe('duress PINs and watch-list matches from the access rules', () => {
  let nvr: Awaited<ReturnType<typeof startNvr>>;
  let gw: TestGateway;
  let observer: TestClient;
  let vaultReader: TestClient;
  let frontReader: TestClient;

  beforeAll(async () => {
    nvr = await startNvr();
    gw = await startTestGateway({ configYaml: 'demo: true', siteYaml: site(nvr.url) });
    observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    vaultReader = await connectDevice(gw.mqttUrl, 'vault-reader');
    frontReader = await connectDevice(gw.mqttUrl, 'front-reader');
  });

  afterAll(async () => {
    await Promise.all([observer, vaultReader, frontReader].map((client) => client?.end()));
    await gw?.stop();
    await nvr?.close();
  });

  it('[SAFE-DURESS] turns a duress PIN into a silent duress alarm at once, fires the door camera and sounds nothing', async () => {
    const mark = observer.mark();
    const readerMark = vaultReader.mark();
    const request = nvr.next();
    await vaultReader.publish('guardpost/devices/vault-reader/input', JSON.stringify({ type: 'card', card: '4001' }));
    await vaultReader.next((message) => message.json.type === 'led' && message.json.color === 'amber', readerMark);
    await vaultReader.publish('guardpost/devices/vault-reader/input', JSON.stringify({ type: 'pin', pin: '4322' }));
    expect(await observer.nextEvent((event) => event.type === 'access.granted', mark)).toMatchObject({ door: 'vault', cardholder: 'vic' });
    const raised = await observer.nextEvent((event) => event.type === 'alarm.raised', mark);
    expect(raised).toMatchObject({ severity: 'critical', door: 'vault', device: 'vault-reader', reason: 'duress', data: { kind: 'duress', silent: true, zone: 'secure', by: 'vic' } });
    const received = await request;
    expect(received).toMatchObject({ method: 'POST', url: '/vault-cam', body: { reason: 'duress', door: 'vault', alarm: raised.data.alarm } });
    await observer.nextEvent((event) => event.type === 'camera.triggered' && event.data.camera === 'vault-cam', mark);
    // The reader shows an ordinary grant, never an alarm.
    await vaultReader.next((message) => message.json.type === 'buzzer' && message.json.pattern === 'grant', readerMark);
    expect(vaultReader.received.slice(readerMark).filter((message) => message.json.type === 'buzzer').map((message) => message.json.pattern)).toEqual(['grant']);
  });

  it('fires the cameras bound to the door when a watch-listed person badges', async () => {
    const mark = observer.mark();
    const request = nvr.next();
    await frontReader.publish('guardpost/devices/front-reader/input', JSON.stringify({ type: 'card', card: '6001' }));
    expect(await observer.nextEvent((event) => event.type === 'access.watchlist', mark)).toMatchObject({ door: 'front', cardholder: 'mallory' });
    expect(await request).toEqual({ method: 'POST', url: '/api/events/front/watchlist/create', body: { sub_label: 'front', duration: 30, include_recording: true, draw: {} } });
    expect(await observer.nextEvent((event) => event.type === 'camera.triggered', mark)).toMatchObject({ reason: 'watchlist', door: 'front', data: { camera: 'front-cam' } });
  });
});
