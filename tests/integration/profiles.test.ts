import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';
import { nextJournalEvent } from '../support/journal.js';

const SITE = `
site: { id: products-site, name: Products test floor, timezone: Europe/London }
devices:
  - { id: lobby-reader, kind: reader, driver: esp-rfid, topic: esp-rfid-lobby }
  - { id: lobby-strike, kind: strike, driver: tasmota, topic: lobby-relay }
  - { id: lab-reader, kind: reader }
  - { id: lab-strike, kind: strike, driver: shelly-gen2, topic: shellyplus1-lab }
  - { id: desk-panic, kind: panic-button, driver: zigbee2mqtt, topic: Reception panic, location: Reception }
  - { id: lobby-camera, kind: camera, driver: axis-camera, topic: axis-lobby }
doors:
  - { id: lobby, name: Lobby, reader: lobby-reader, strike: lobby-strike, unlockMs: 4000 }
  - { id: lab, name: Lab, reader: lab-reader, strike: lab-strike, unlockMs: 2500 }
groups:
  - { id: staff, name: Staff, doors: [lobby, lab] }
cardholders:
  - { id: hana-hill, name: Hana Hill, groups: [staff], credentials: [{ card: "1001" }] }
`;

/** Logs in as a product device with the demo password (username = device id), as the product's firmware would be set up. */
const login = (url: string, device: string): Promise<TestClient> => connect(url, { clientId: `${device}-${Math.random().toString(16).slice(2)}`, username: device, password: 'demo' });

describe('MQTT products on their own topics through the embedded broker', () => {
  let gw: TestGateway;
  let espRfid: TestClient;
  let tasmota: TestClient;
  let shelly: TestClient;
  let zigbee: TestClient;
  let axis: TestClient;
  let labReader: TestClient;

  beforeAll(async () => {
    gw = await startTestGateway({ siteYaml: SITE, configYaml: 'demo: true' });
    [espRfid, tasmota, shelly, zigbee, axis, labReader] = await Promise.all([
      login(gw.mqttUrl, 'lobby-reader'),
      login(gw.mqttUrl, 'lobby-strike'),
      login(gw.mqttUrl, 'lab-strike'),
      login(gw.mqttUrl, 'desk-panic'),
      login(gw.mqttUrl, 'lobby-camera'),
      login(gw.mqttUrl, 'lab-reader'),
    ]);
    expect(await tasmota.subscribe('cmnd/lobby-relay/Backlog')).toBe(1);
    expect(await tasmota.subscribe('cmnd/lobby-relay/POWER')).toBe(1);
    expect(await shelly.subscribe('shellyplus1-lab/rpc')).toBe(1);
    expect(await axis.subscribe('axis-lobby/trigger')).toBe(1);
  });

  afterAll(async () => {
    await Promise.all([espRfid, tasmota, shelly, zigbee, axis, labReader].map((client) => client?.end()));
    await gw?.stop();
  });

  const journal = () => gw.gateway.journal;

  it('opens the lobby with a Tasmota relay pulse when a staff card is read by an esp-rfid reader', async () => {
    const after = journal().lastSeq();
    // esp-rfid reports the UID in hex: 0x3e9 is card 1001.
    await espRfid.publish('esp-rfid-lobby/send', JSON.stringify({ type: 'access', isKnown: 'false', access: 'Denied', username: 'Unknown', uid: '3e9' }));
    const pulse = await tasmota.next((message) => message.topic === 'cmnd/lobby-relay/Backlog');
    expect(pulse.json).toEqual({ raw: 'POWER ON; DELAY 40; POWER OFF' });
    const event = await nextJournalEvent(journal(), (e) => e.type.startsWith('access.'), after);
    expect(event).toMatchObject({ type: 'access.granted', door: 'lobby', device: 'lobby-reader', cardholder: 'hana-hill' });
  });

  it('opens the lab with a Shelly Switch.Set that times the pulse on the relay', async () => {
    await labReader.publish('guardpost/devices/lab-reader/input', JSON.stringify({ type: 'card', card: '1001' }));
    const rpc = await shelly.next((message) => message.topic === 'shellyplus1-lab/rpc');
    expect(rpc.json).toEqual({ id: 1, src: 'guardpost', method: 'Switch.Set', params: { id: 0, on: true, toggle_after: 2.5 } });
  });

  it('raises a panic alarm when the zigbee2mqtt button is pressed', async () => {
    const after = journal().lastSeq();
    await zigbee.publish('zigbee2mqtt/Reception panic', JSON.stringify({ action: 'single', battery: 97, linkquality: 120 }));
    const alarm = await nextJournalEvent(journal(), (e) => e.type === 'alarm.raised', after);
    expect(alarm).toMatchObject({ device: 'desk-panic', data: { location: 'Reception' } });
  });

  it('tracks the availability the products announce on their own topics', async () => {
    const after = journal().lastSeq();
    await tasmota.publish('tele/lobby-relay/LWT', 'Offline');
    await nextJournalEvent(journal(), (e) => e.type === 'device.offline' && e.device === 'lobby-strike', after);
    await zigbee.publish('zigbee2mqtt/Reception panic/availability', JSON.stringify({ state: 'online' }));
    await nextJournalEvent(journal(), (e) => e.type === 'device.online' && e.device === 'desk-panic', after);
  });

  it('triggers the Axis camera on its trigger topic', async () => {
    gw.gateway.runtime.command('lobby-camera', { type: 'camera', action: 'trigger', reason: 'panic' });
    const trigger = await axis.next((message) => message.topic === 'axis-lobby/trigger');
    expect(trigger.json).toEqual({ action: 'trigger', reason: 'panic', source: 'guardpost' });
  });

  it('journals a malformed product payload as bad input and keeps going', async () => {
    const after = journal().lastSeq();
    await espRfid.publish('esp-rfid-lobby/send', JSON.stringify({ type: 'access', uid: 'not-hex' }));
    const bad = await nextJournalEvent(journal(), (e) => e.type === 'device.bad_input', after);
    expect(bad).toMatchObject({ device: 'lobby-reader', reason: 'bad_field', data: { message: 'send: uid: expected 2 to 16 hex digits' } });
  });

  it('lets a product device use only its own product topics: another device\'s topic is refused', async () => {
    // [SEC-ACL] the zigbee button may not subscribe to the strike's commands …
    expect(await zigbee.subscribe('cmnd/lobby-relay/Backlog')).toBe(128);
    // … nor publish a card read as the esp-rfid reader (the broker disconnects it).
    const intruder = await login(gw.mqttUrl, 'desk-panic');
    const after = journal().lastSeq();
    const closed = new Promise<void>((resolve) => intruder.client.once('close', () => resolve()));
    intruder.client.publish('esp-rfid-lobby/send', JSON.stringify({ type: 'access', uid: '3e9' }), { qos: 1 });
    await closed;
    const refused = await nextJournalEvent(journal(), (e) => e.type === 'device.unauthorized' && e.reason === 'publish_refused', after);
    expect(refused).toMatchObject({ device: 'desk-panic', data: { topic: 'esp-rfid-lobby/send' } });
    expect(journal().query({ afterSeq: after, limit: 100, type: 'access' })).toEqual([]);
  });
});
