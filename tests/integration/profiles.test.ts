import argon2 from 'argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, connectRefused, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';
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

const BRIDGE_SITE = (nodeHash: string): string => `
site: { id: bridges-site, name: Bridges test floor, timezone: Europe/London }
devices:
  - { id: stair-panic, kind: panic-button, driver: zigbee2mqtt, topic: Stair panic, location: Stairwell }
  - { id: nvr, kind: camera, driver: frigate, topic: frigate }
  - { id: vault-panic, kind: panic-button, driver: eol-loop, topic: esp-vault/sensor/vault_loop, passwordHash: "${nodeHash}", location: Vault }
  - { id: dock-contact, kind: door-contact, driver: eol-loop, topic: esp-dock/sensor/dock_loop, passwordHash: "${nodeHash}" }
  - { id: dock-reader, kind: reader, passwordHash: "${nodeHash}" }
  - { id: dock-strike, kind: strike, passwordHash: "${nodeHash}" }
doors:
  - { id: dock, name: Loading dock, reader: dock-reader, strike: dock-strike, contact: dock-contact }
`;

describe('product bridges (zigbee2mqtt, Frigate) and supervised loops with demo mode off', () => {
  let gw: TestGateway;
  let z2m: TestClient;
  let frigate: TestClient;
  let vaultNode: TestClient;
  let dockNode: TestClient;

  beforeAll(async () => {
    const [z2mHash, frigateHash, nodeHash] = await Promise.all([argon2.hash('z2m-secret-1'), argon2.hash('frigate-secret-1'), argon2.hash('node-secret-1')]);
    gw = await startTestGateway({
      siteYaml: BRIDGE_SITE(nodeHash),
      configYaml: `demo: false\nmqtt:\n  productBridges:\n    - { username: z2m, passwordHash: "${z2mHash}", product: zigbee2mqtt }\n    - { username: frigate-nvr, passwordHash: "${frigateHash}", product: frigate }\n`,
    });
    [z2m, frigate, vaultNode, dockNode] = await Promise.all([
      connect(gw.mqttUrl, { clientId: 'zigbee2mqtt', username: 'z2m', password: 'z2m-secret-1' }),
      connect(gw.mqttUrl, { clientId: 'frigate', username: 'frigate-nvr', password: 'frigate-secret-1' }),
      connect(gw.mqttUrl, { clientId: 'esp-vault', username: 'vault-panic', password: 'node-secret-1' }),
      connect(gw.mqttUrl, { clientId: 'esp-dock', username: 'dock-contact', password: 'node-secret-1' }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([z2m, frigate, vaultNode, dockNode].map((client) => client?.end()));
    await gw?.stop();
  });

  const journal = () => gw.gateway.journal;

  it('refuses a zigbee2mqtt bridge with a wrong password or none [SEC-ACL]', async () => {
    await connectRefused(gw.mqttUrl, { username: 'z2m', password: 'guess' });
    await connectRefused(gw.mqttUrl, { username: 'z2m' });
    await connectRefused(gw.mqttUrl, {});
  });

  it('lets zigbee2mqtt publish and subscribe under zigbee2mqtt/ only, and raises a panic from a Zigbee button', async () => {
    expect(await z2m.subscribe('zigbee2mqtt/#')).toBe(1);
    expect(await z2m.subscribe('zigbee2mqtt/+/set')).toBe(1);
    expect(await z2m.subscribe('#')).toBe(128);
    expect(await z2m.subscribe('guardpost/#')).toBe(128);
    expect(await z2m.subscribe('frigate/events')).toBe(128);
    await z2m.publish('zigbee2mqtt/bridge/state', JSON.stringify({ state: 'online' }));
    const after = journal().lastSeq();
    await z2m.publish('zigbee2mqtt/Stair panic', JSON.stringify({ action: 'single', battery: 90 }));
    const alarm = await nextJournalEvent(journal(), (e) => e.type === 'alarm.raised', after);
    expect(alarm).toMatchObject({ device: 'stair-panic', data: { location: 'Stairwell' } });
    expect(z2m.client.connected).toBe(true);
  });

  it('disconnects a zigbee2mqtt bridge that publishes outside its prefix, and journals it', async () => {
    const rogue = await connect(gw.mqttUrl, { clientId: 'zigbee2mqtt-rogue', username: 'z2m', password: 'z2m-secret-1' });
    const after = journal().lastSeq();
    const closed = new Promise<void>((resolve) => rogue.client.once('close', () => resolve()));
    rogue.client.publish('guardpost/devices/dock-reader/input', JSON.stringify({ type: 'card', card: '1' }), { qos: 1 });
    await closed;
    const refused = await nextJournalEvent(journal(), (e) => e.type === 'device.unauthorized' && e.reason === 'publish_refused', after);
    expect(refused).toMatchObject({ data: { username: 'z2m', topic: 'guardpost/devices/dock-reader/input' } });
    expect(journal().query({ afterSeq: after, limit: 100, type: 'access' })).toEqual([]);
    await rogue.end();
  });

  it('reports the Frigate NVR online from frigate/available and counts a malformed event', async () => {
    let after = journal().lastSeq();
    await frigate.publish('frigate/stats', JSON.stringify({ service: { uptime: 12 } }));
    await frigate.publish('frigate/available', 'online');
    await nextJournalEvent(journal(), (e) => e.type === 'device.online' && e.device === 'nvr', after);
    after = journal().lastSeq();
    await frigate.publish('frigate/events', JSON.stringify({ type: 'new', after: { id: '1', camera: 'dock', label: 'person' } }));
    await frigate.publish('frigate/events', 'not json');
    const bad = await nextJournalEvent(journal(), (e) => e.type === 'device.bad_input' && e.device === 'nvr', after);
    expect(bad).toMatchObject({ reason: 'not_json', data: { message: 'events: payload is not JSON' } });
    expect(journal().query({ afterSeq: after, limit: 100, type: 'device.bad_input', device: 'nvr' })).toHaveLength(1);
    after = journal().lastSeq();
    await frigate.publish('frigate/available', 'offline');
    await nextJournalEvent(journal(), (e) => e.type === 'device.offline' && e.device === 'nvr', after);
  });

  it('raises a panic from a supervised loop in alarm, and journals a cut or shorted loop as trouble, never as a press [SAFE-EOL]', async () => {
    let after = journal().lastSeq();
    await vaultNode.publish('esp-vault/sensor/vault_loop/state', '2201.7'); // normal
    await vaultNode.publish('esp-vault/sensor/vault_loop/state', '0.4'); // shorted: a wiring fault, not a press
    const short = await nextJournalEvent(journal(), (e) => e.type === 'device.trouble' && e.device === 'vault-panic', after);
    expect(short).toMatchObject({ reason: 'line_short', severity: 'high', data: { device: 'vault-panic', class: 'tamper' } });
    expect(journal().query({ afterSeq: after, limit: 100, type: 'alarm.raised' })).toEqual([]);
    after = journal().lastSeq();
    await vaultNode.publish('esp-vault/sensor/vault_loop/state', '2199'); // repaired
    const cleared = await nextJournalEvent(journal(), (e) => e.type === 'device.trouble_cleared' && e.device === 'vault-panic', after);
    expect(cleared).toMatchObject({ reason: 'line_short' });
    after = journal().lastSeq();
    await vaultNode.publish('esp-vault/sensor/vault_loop/state', '4402'); // in alarm
    const alarm = await nextJournalEvent(journal(), (e) => e.type === 'alarm.raised', after);
    expect(alarm).toMatchObject({ device: 'vault-panic', data: { location: 'Vault' } });
    // The node repeats its reading: one press is one alarm, not a stream of repeats.
    await vaultNode.publish('esp-vault/sensor/vault_loop/state', '4398');
    await vaultNode.publish('esp-vault/sensor/vault_loop/state', 'cut');
    await nextJournalEvent(journal(), (e) => e.type === 'device.trouble' && e.device === 'vault-panic' && e.reason === 'line_cut', after);
    expect(journal().query({ afterSeq: after, limit: 100, type: 'alarm.repeated' })).toEqual([]);
  });

  it('does not take a cut door-contact loop for a forced door', async () => {
    let after = journal().lastSeq();
    await dockNode.publish('esp-dock/sensor/dock_loop/state', '2200'); // door closed
    await dockNode.publish('esp-dock/sensor/dock_loop/state', 'open_circuit');
    await nextJournalEvent(journal(), (e) => e.type === 'device.trouble' && e.device === 'dock-contact' && e.reason === 'line_cut', after);
    after = journal().lastSeq();
    await dockNode.publish('esp-dock/sensor/dock_loop/state', '4400'); // repaired, and the door opens with no grant
    const forced = await nextJournalEvent(journal(), (e) => e.type === 'door.forced', after);
    expect(forced).toMatchObject({ door: 'dock' });
    expect(journal().query({ afterSeq: after, limit: 100, type: 'device.trouble_cleared', device: 'dock-contact' })).toHaveLength(1);
  });
});
