import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Command } from '../../src/drivers/osdp/messages.js';
import { connectDevice, startTestGateway, tempDir, type TestClient, type TestGateway } from '../support/gateway.js';
import { nextJournalEvent } from '../support/journal.js';
import { SimulatedPd } from '../support/osdpPd.js';
import { DeviceEnd, SocatPair } from '../support/socat.js';

const SITE = `
site: { id: osdp-site, name: OSDP test floor, timezone: Europe/London }
devices:
  - { id: north-reader, kind: reader, driver: osdp, bus: rs485, address: 0 }
  - { id: south-reader, kind: reader, driver: osdp, bus: rs485, address: 1 }
  - { id: north-strike, kind: strike }
  - { id: south-strike, kind: strike }
doors:
  - { id: north, name: North door, reader: north-reader, strike: north-strike, unlockMs: 3000 }
  - { id: south, name: South door, reader: south-reader, strike: south-strike }
groups:
  - { id: staff, name: Staff, doors: [north, south] }
cardholders:
  - { id: gina-grey, name: Gina Grey, groups: [staff], credentials: [{ card: "5001" }] }
`;

describe('OSDP readers on one RS-485 bus (a simulated PD pair over socat pseudo-terminals)', () => {
  let gw: TestGateway;
  let pair: SocatPair;
  let bus: DeviceEnd;
  let north: SimulatedPd;
  let south: SimulatedPd;
  let northStrike: TestClient;

  async function plugIn(): Promise<void> {
    bus = await DeviceEnd.open(pair.devicePath, 115_200);
    const send = (bytes: Uint8Array): void => void bus.port.write(Buffer.from(bytes));
    north = new SimulatedPd(0, send);
    south = new SimulatedPd(1, send);
    bus.port.on('data', (bytes: Buffer) => {
      north.hear(bytes);
      south.hear(bytes);
    });
  }

  beforeAll(async () => {
    const dir = tempDir('gp-osdp-');
    pair = new SocatPair(dir);
    await pair.start();
    await plugIn();
    gw = await startTestGateway({
      stateDir: dir,
      siteYaml: SITE,
      configYaml: `demo: true\nserial:\n  buses:\n    - { id: rs485, path: ${JSON.stringify(pair.gatewayPath)}, baudRate: 115200, rs485: true, rs485Required: false, reopenMinMs: 20, reopenMaxMs: 200 }\n`,
    });
    northStrike = await connectDevice(gw.mqttUrl, 'north-strike');
    for (const device of ['north-reader', 'south-reader']) {
      await nextJournalEvent(gw.gateway.journal, (event) => event.type === 'device.online' && event.device === device);
    }
  });

  afterAll(async () => {
    await northStrike?.end();
    await gw?.stop();
    await bus?.close();
    await pair?.stop();
  });

  const journal = () => gw.gateway.journal;

  it('brings both readers online with the identity they report', () => {
    const online = journal().query({ limit: 10, type: 'device.online' });
    expect(online.map((event) => event.data.detail)).toEqual(['OSDP vendor 0a0b0c model 1 firmware 1.2.3', 'OSDP vendor 0a0b0c model 1 firmware 1.2.3']);
  });

  it('opens the north door for a staff card and shows green and the grant beep on that reader only', async () => {
    const after = journal().lastSeq();
    const mark = northStrike.mark();
    const led = north.nextCommand((packet) => packet.code === Command.LED);
    const beep = north.nextCommand((packet) => packet.code === Command.BUZ);
    north.presentCardFormatted('5001');
    const pulse = await northStrike.next((message) => message.json.type === 'strike', mark);
    expect(pulse.json).toEqual({ type: 'strike', action: 'pulse', durationMs: 3000 });
    expect((await led).data[5]).toBe(2); // green
    expect((await beep).data).toEqual(Uint8Array.of(0, 2, 2, 0, 1));
    const event = await nextJournalEvent(journal(), (e) => e.type.startsWith('access.'), after);
    expect(event).toMatchObject({ type: 'access.granted', door: 'north', device: 'north-reader', cardholder: 'gina-grey' });
    expect(south.received.some((packet) => packet.code === Command.LED)).toBe(false);
  });

  it('shows red on the south reader for an unknown card', async () => {
    const after = journal().lastSeq();
    const led = south.nextCommand((packet) => packet.code === Command.LED);
    south.presentCardFormatted('424242');
    expect((await led).data[5]).toBe(1); // red
    const event = await nextJournalEvent(journal(), (e) => e.type.startsWith('access.'), after);
    expect(event).toMatchObject({ type: 'access.denied', reason: 'unknown_credential', device: 'south-reader' });
  });

  it('journals a tamper report from a reader', async () => {
    const after = journal().lastSeq();
    south.tamper(true);
    const event = await nextJournalEvent(journal(), (e) => e.type === 'device.tamper', after);
    expect(event.device).toBe('south-reader');
  });

  it('journals a power failure at a reader as trouble once, and its clearing', async () => {
    const after = journal().lastSeq();
    south.power(true);
    south.power(true);
    const trouble = await nextJournalEvent(journal(), (e) => e.type === 'device.trouble', after);
    expect(trouble).toMatchObject({ device: 'south-reader', reason: 'power_failure', severity: 'high' });
    south.power(false);
    const cleared = await nextJournalEvent(journal(), (e) => e.type === 'device.trouble_cleared', trouble.seq);
    expect(cleared).toMatchObject({ device: 'south-reader', reason: 'power_failure', severity: 'medium' });
    expect(journal().query({ afterSeq: after, limit: 100, type: 'device.trouble' })).toHaveLength(1);
  });

  it('survives garbage on the bus and a reply with a bad CRC: both journalled as bad input, polling goes on', async () => {
    const after = journal().lastSeq();
    await bus.write(Buffer.from([0x00, 0xff, 0x13, 0x37, 0x53, 0x02])); // noise, including a stray SOM
    const noise = await nextJournalEvent(journal(), (e) => e.type === 'device.bad_input', after);
    expect(noise.reason).toMatch(/^bad_(frame|checksum)$/);
    north.corruptNextReply = true;
    await nextJournalEvent(journal(), (e) => e.type === 'device.bad_input' && e.reason === 'bad_checksum', after);
    const cardAfter = journal().lastSeq();
    north.presentCardFormatted('777001');
    await nextJournalEvent(journal(), (e) => e.type === 'access.denied' && e.device === 'north-reader', cardAfter);
  });

  it('reports both readers offline when the bus vanishes and online again when it returns, releasing nothing', async () => {
    const after = journal().lastSeq();
    const mark = northStrike.mark();
    await bus.close();
    await pair.stop();
    for (const device of ['north-reader', 'south-reader']) await nextJournalEvent(journal(), (e) => e.type === 'device.offline' && e.device === device, after);
    const back = journal().lastSeq();
    await pair.start();
    await plugIn();
    for (const device of ['north-reader', 'south-reader']) await nextJournalEvent(journal(), (e) => e.type === 'device.online' && e.device === device, back);
    expect(northStrike.received.slice(mark).filter((message) => message.json.type === 'strike')).toEqual([]);
  });
});

describe('OSDP Secure Channel over socat (enforceSecure)', () => {
  const KEY = '00112233445566778899aabbccddeeff';
  const FRESH_KEY = 'ffeeddccbbaa99887766554433221100';
  const SECURE_SITE = `
site: { id: osdp-secure, name: OSDP secure floor, timezone: Europe/London }
devices:
  - { id: vault-reader, kind: reader, driver: osdp, bus: rs485, address: 0, secureChannel: enforce, osdpKey: "${KEY}" }
  - { id: old-reader, kind: reader, driver: osdp, bus: rs485, address: 1, secureChannel: enforce }
  - { id: fresh-reader, kind: reader, driver: osdp, bus: rs485, address: 2, secureChannel: enforce, osdpKey: "${FRESH_KEY}", osdpInstall: true }
  - { id: vault-strike, kind: strike }
  - { id: old-strike, kind: strike }
doors:
  - { id: vault, name: Vault, reader: vault-reader, strike: vault-strike }
  - { id: old, name: Old door, reader: old-reader, strike: old-strike }
groups:
  - { id: staff, name: Staff, doors: [vault, old] }
cardholders:
  - { id: ivan-ives, name: Ivan Ives, groups: [staff], credentials: [{ card: "6001" }] }
`;
  let gw: TestGateway;
  let pair: SocatPair;
  let bus: DeviceEnd;
  let vault: SimulatedPd;
  let old: SimulatedPd;
  let fresh: SimulatedPd;
  let vaultStrike: TestClient;

  beforeAll(async () => {
    const dir = tempDir('gp-osdp-sc-');
    pair = new SocatPair(dir);
    await pair.start();
    bus = await DeviceEnd.open(pair.devicePath, 115_200);
    const send = (bytes: Uint8Array): void => void bus.port.write(Buffer.from(bytes));
    vault = new SimulatedPd(0, send);
    vault.scbk = Buffer.from(KEY, 'hex');
    old = new SimulatedPd(1, send); // speaks no Secure Channel
    fresh = new SimulatedPd(2, send);
    fresh.scbk = Buffer.from('303132333435363738393a3b3c3d3e3f', 'hex'); // SCBK-D, straight from the box
    bus.port.on('data', (bytes: Buffer) => {
      vault.hear(bytes);
      old.hear(bytes);
      fresh.hear(bytes);
    });
    gw = await startTestGateway({
      stateDir: dir,
      siteYaml: SECURE_SITE,
      configYaml: `demo: true\nserial:\n  buses:\n    - { id: rs485, path: ${JSON.stringify(pair.gatewayPath)}, baudRate: 115200, rs485: true, rs485Required: false }\n`,
    });
    vaultStrike = await connectDevice(gw.mqttUrl, 'vault-strike');
  });

  afterAll(async () => {
    await vaultStrike?.end();
    await gw?.stop();
    await bus?.close();
    await pair?.stop();
  });

  it('opens the vault for a staff card read over the secure channel, the card never in clear on the wire', async () => {
    await nextJournalEvent(gw.gateway.journal, (e) => e.type === 'device.online' && e.device === 'vault-reader');
    const sniffed: Buffer[] = [];
    bus.port.on('data', (bytes: Buffer) => sniffed.push(bytes));
    const mark = vaultStrike.mark();
    const after = gw.gateway.journal.lastSeq();
    vault.presentCardFormatted('6001');
    await vaultStrike.next((message) => message.json.type === 'strike', mark);
    await nextJournalEvent(gw.gateway.journal, (e) => e.type === 'access.granted' && e.device === 'vault-reader', after);
    expect(Buffer.concat(sniffed).includes(Buffer.from('6001'))).toBe(false);
  });

  it('gives a factory-fresh reader its own key in install mode, brings it online with that key and turns install mode off', async () => {
    await nextJournalEvent(gw.gateway.journal, (e) => e.type === 'device.online' && e.device === 'fresh-reader');
    expect(fresh.scbk?.toString('hex')).toBe(FRESH_KEY);
    const keySet = await nextJournalEvent(gw.gateway.journal, (e) => e.type === 'device.osdp_key_set' && e.device === 'fresh-reader');
    expect(keySet.data).toEqual({ device: 'fresh-reader', installMode: false });
    // Persisted through the site writers: the stored binding, the document an admin sees, an audit row by the gateway.
    expect(gw.gateway.store.devices.get('fresh-reader')?.binding?.osdpInstall).toBe(false);
    const response = await fetch(`${gw.httpUrl}/api/v1/devices/fresh-reader`, { headers: await gw.adminHeaders() });
    expect(await response.json()).toMatchObject({ id: 'fresh-reader', osdpInstall: false, hasOsdpKey: true });
    const audit = gw.gateway.store.audit.list({ limit: 50 }).find((entry) => entry.target === 'fresh-reader' && entry.action === 'device.updated');
    expect(audit).toMatchObject({ actor: 'gateway', source: 'osdp-install', before: { osdpInstall: true, osdpKey: '[set]' }, after: { osdpInstall: false, osdpKey: '[set]' } });
    expect(gw.logs.join('')).toContain('OSDP install mode: the reader now holds its own Secure Channel key; install mode turned off');
    expect(gw.logs.join('')).not.toContain(FRESH_KEY);
    // Only the flag changed: the bus was not rebound, so the reader stayed online.
    expect(gw.gateway.journal.query({ limit: 100, type: 'device.offline', device: 'fresh-reader' })).toEqual([]);
  });

  it('refuses the installed reader as tamper when it later answers to the factory key SCBK-D (reset or swapped) [OSDP-SC]', async () => {
    await nextJournalEvent(gw.gateway.journal, (e) => e.type === 'device.osdp_key_set' && e.device === 'fresh-reader');
    const after = gw.gateway.journal.lastSeq();
    fresh.scbk = Buffer.from('303132333435363738393a3b3c3d3e3f', 'hex');
    fresh.corruptNextMac = true; // the next reply fails its MAC, so the gateway opens a new session
    const tamper = await nextJournalEvent(gw.gateway.journal, (e) => e.type === 'device.tamper' && e.device === 'fresh-reader', after);
    expect(tamper.severity).toBe('high');
    const bad = gw.gateway.journal.query({ afterSeq: after, limit: 100, type: 'device.bad_input', device: 'fresh-reader' });
    expect(bad.map((event) => event.data.message)).toContain('OSDP reader answers only to the factory install key SCBK-D (reset or replaced?); refused');
    expect(fresh.received.filter((packet) => packet.code === Command.KEYSET)).toHaveLength(1);
  });

  it('never shows a reader\'s Secure Channel key in the API or the logs', async () => {
    const response = await fetch(`${gw.httpUrl}/api/v1/devices/vault-reader`, { headers: await gw.adminHeaders() });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ id: 'vault-reader', driver: 'osdp', hasOsdpKey: true });
    expect(JSON.stringify(body)).not.toContain(KEY);
    expect(gw.logs.join('')).not.toContain(KEY);
  });

  it('keeps a reader\'s key when an admin edits the reader through the API, which never shows the key', async () => {
    const headers = { ...(await gw.adminHeaders()), 'content-type': 'application/json' };
    const shown = (await (await fetch(`${gw.httpUrl}/api/v1/devices/vault-reader`, { headers })).json()) as Record<string, unknown>;
    const { hasOsdpKey: _key, hasPassword: _password, availability: _availability, ...editable } = shown;
    const before = gw.gateway.store.devices.get('vault-reader')?.binding?.osdpKey;
    const response = await fetch(`${gw.httpUrl}/api/v1/devices/vault-reader`, { method: 'PUT', headers, body: JSON.stringify({ ...editable, location: 'Vault corridor' }) });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ location: 'Vault corridor', hasOsdpKey: true });
    expect(gw.gateway.store.devices.get('vault-reader')?.binding?.osdpKey).toBe(before);
    expect(gw.gateway.store.osdpKeys?.open('vault-reader', before!).toString('hex')).toBe(KEY);
    // The reader keeps working on its key: its next read still arrives over the secure channel and is decided.
    const after = gw.gateway.journal.lastSeq();
    vault.presentCardFormatted('6002');
    const decided = await nextJournalEvent(gw.gateway.journal, (e) => e.type.startsWith('access.') && e.device === 'vault-reader', after);
    expect(decided).toMatchObject({ type: 'access.denied', reason: 'unknown_credential' });
  });

  it('keeps the reader keys sealed at rest: the database and the site export hold only the gpenc1 form', async () => {
    const exported = await fetch(`${gw.httpUrl}/api/v1/site/export`, { headers: await gw.adminHeaders() });
    const site = (await exported.json()) as { devices: { id: string; osdpKey?: string }[] };
    expect(site.devices.find((device) => device.id === 'vault-reader')?.osdpKey).toMatch(/^gpenc1:[A-Za-z0-9_-]{59}$/);
    expect(JSON.stringify(site)).not.toContain(KEY);
    expect(JSON.stringify(site)).not.toContain(FRESH_KEY);
    gw.gateway.store.db.pragma('wal_checkpoint(TRUNCATE)');
    const files = fs.readdirSync(gw.stateDir).filter((name) => name.startsWith('guardpost.db'));
    const bytes = files.map((name) => fs.readFileSync(path.join(gw.stateDir, name)).toString('latin1')).join('');
    expect(bytes.length).toBeGreaterThan(0);
    expect(bytes).not.toContain(KEY);
    expect(bytes).not.toContain(FRESH_KEY);
  });

  it('keeps a reader that cannot do Secure Channel offline and raises tamper for it', async () => {
    const tamper = await nextJournalEvent(gw.gateway.journal, (e) => e.type === 'device.tamper' && e.device === 'old-reader');
    expect(tamper.severity).toBe('high');
    expect(gw.gateway.journal.query({ limit: 100, type: 'device.online', device: 'old-reader' })).toEqual([]);
    expect(gw.gateway.runtime.deviceAvailability('old-reader')).not.toBe('online');
  });

  it('raises tamper when the secure reader tries to fall back to plain text, and refuses its card', async () => {
    const after = gw.gateway.journal.lastSeq();
    vault.downgrade = true;
    vault.presentCardFormatted('6001');
    const tamper = await nextJournalEvent(gw.gateway.journal, (e) => e.type === 'device.tamper' && e.device === 'vault-reader', after);
    expect(tamper).toBeDefined();
    const bad = gw.gateway.journal.query({ afterSeq: after, limit: 100, type: 'device.bad_input', device: 'vault-reader' });
    expect(bad.map((event) => event.data.message)).toContain('plain-text reply on a Secure Channel (downgrade refused)');
    vault.downgrade = false;
    expect(gw.gateway.journal.query({ afterSeq: after, limit: 100, type: 'access' })).toEqual([]);
  });
});

describe('an OSDP key that this gateway cannot open', () => {
  it('keeps the reader offline as trouble when osdp.key was replaced, and the rest of the gateway runs', async () => {
    const KEY = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
    const dir = tempDir('gp-osdp-key-');
    const pair = new SocatPair(dir);
    await pair.start();
    const site = `
site: { id: osdp-key, name: OSDP key floor, timezone: Europe/London }
devices:
  - { id: safe-reader, kind: reader, driver: osdp, bus: rs485, address: 0, secureChannel: enforce, osdpKey: "${KEY}" }
  - { id: lobby-reader, kind: reader }
`;
    const configYaml = `demo: true\nserial:\n  buses:\n    - { id: rs485, path: ${JSON.stringify(pair.gatewayPath)}, baudRate: 115200, rs485: true, rs485Required: false }\n`;
    const first = await startTestGateway({ stateDir: dir, siteYaml: site, configYaml });
    await first.stop();
    // A restored backup of the database without its osdp.key: the sealed key cannot be opened.
    fs.writeFileSync(path.join(dir, 'osdp.key'), crypto.randomBytes(32), { mode: 0o600 });
    const gw = await startTestGateway({ stateDir: dir, siteYaml: site, configYaml });
    try {
      const trouble = await nextJournalEvent(gw.gateway.journal, (e) => e.type === 'device.trouble' && e.device === 'safe-reader');
      expect(trouble).toMatchObject({ reason: 'osdp_key_unreadable', severity: 'high' });
      expect(gw.logs.join('')).toContain('device \\"safe-reader\\": its sealed osdpKey does not open with this gateway\'s osdp.key');
      expect(gw.logs.join('')).not.toContain(KEY);
      expect(gw.gateway.runtime.deviceAvailability('safe-reader')).not.toBe('online');
      const health = await fetch(`${gw.httpUrl}/readyz`);
      expect(health.status).toBe(200);
    } finally {
      await gw.stop();
      await pair.stop();
    }
  });
});
