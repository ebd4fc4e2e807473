import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRdm6300Frame } from '../../src/drivers/rdm6300.js';
import { connectDevice, startTestGateway, tempDir, type TestClient, type TestGateway } from '../support/gateway.js';
import { nextJournalEvent } from '../support/journal.js';
import { DeviceEnd, SocatPair } from '../support/socat.js';

const SITE = `
site: { id: serial-site, name: Serial test floor, timezone: Europe/London }
devices:
  - { id: lobby-reader, kind: reader, driver: rdm6300, bus: lobby-bus, name: Lobby RDM6300 }
  - { id: lobby-strike, kind: strike }
doors:
  - { id: lobby, name: Lobby, reader: lobby-reader, strike: lobby-strike, unlockMs: 4000 }
groups:
  - { id: staff, name: Staff, doors: [lobby] }
cardholders:
  - id: erin-evans
    name: Erin Evans
    groups: [staff]
    credentials: [{ card: "4718931" }]
`;

describe('an RDM6300 reader on a serial port (real pseudo-terminals from socat)', () => {
  let gw: TestGateway;
  let pair: SocatPair;
  let reader: DeviceEnd;
  let strike: TestClient;

  beforeAll(async () => {
    const dir = tempDir('gp-serial-');
    pair = new SocatPair(dir);
    await pair.start();
    gw = await startTestGateway({
      stateDir: dir,
      siteYaml: SITE,
      configYaml: `demo: true\nserial:\n  buses:\n    - { id: lobby-bus, path: ${JSON.stringify(pair.gatewayPath)}, reopenMinMs: 20, reopenMaxMs: 200 }\n`,
    });
    strike = await connectDevice(gw.mqttUrl, 'lobby-strike');
    reader = await DeviceEnd.open(pair.devicePath);
    await nextJournalEvent(gw.gateway.journal, (event) => event.type === 'device.online' && event.device === 'lobby-reader');
  });

  afterAll(async () => {
    await reader?.close();
    await strike?.end();
    await gw?.stop();
    await pair?.stop();
  });

  const journal = () => gw.gateway.journal;

  it('opens the door when a staff card is held to the serial reader', async () => {
    const after = journal().lastSeq();
    const mark = strike.mark();
    await reader.write(encodeRdm6300Frame(0x0a, 4718931));
    const pulse = await strike.next((message) => message.json.type === 'strike', mark);
    expect(pulse.json).toEqual({ type: 'strike', action: 'pulse', durationMs: 4000 });
    const event = await nextJournalEvent(journal(), (e) => e.type.startsWith('access.'), after);
    expect(event).toMatchObject({ type: 'access.granted', door: 'lobby', device: 'lobby-reader', cardholder: 'erin-evans', data: { card: '*****31' } });
  });

  it('refuses an unknown card read on the serial reader, with no strike', async () => {
    const after = journal().lastSeq();
    const mark = strike.mark();
    await reader.write(encodeRdm6300Frame(0x0a, 99_000_001));
    const event = await nextJournalEvent(journal(), (e) => e.type.startsWith('access.'), after);
    expect(event).toMatchObject({ type: 'access.denied', reason: 'unknown_credential', device: 'lobby-reader' });
    expect(strike.received.slice(mark).filter((message) => message.json.type === 'strike')).toEqual([]);
  });

  it('counts and journals a frame with a bad checksum, then still opens for the next good read', async () => {
    const after = journal().lastSeq();
    const frame = encodeRdm6300Frame(0x0a, 4718931);
    frame[11] = frame[11] === 0x30 ? 0x31 : 0x30; // corrupt the checksum digits
    await reader.write(Buffer.concat([Buffer.from('noise'), frame]));
    const bad = await nextJournalEvent(journal(), (e) => e.type === 'device.bad_input' && e.reason === 'bad_checksum', after);
    expect(bad).toMatchObject({ device: 'lobby-reader', data: { message: 'RDM6300 frame: checksum does not match' } });
    expect(gw.gateway.metrics.get('guardpost_bad_input_total', { device: 'lobby-reader', code: 'bad_checksum' })).toBe(1);
    expect(gw.gateway.metrics.get('guardpost_bad_input_total', { device: 'lobby-reader', code: 'bad_frame' })).toBe(1);

    const mark = strike.mark();
    const goodAfter = journal().lastSeq();
    // Another card first: the repeat filter must not hide the good read of the same card.
    await reader.write(encodeRdm6300Frame(0x01, 1234));
    await reader.write(encodeRdm6300Frame(0x0a, 4718931));
    await strike.next((message) => message.json.type === 'strike', mark);
    await nextJournalEvent(journal(), (e) => e.type === 'access.granted', goodAfter);
  });

  it('treats a card held in the field (repeated frames) as one badge', async () => {
    const after = journal().lastSeq();
    const frame = encodeRdm6300Frame(0x0b, 777_777);
    await reader.write(Buffer.concat([frame, frame, frame]));
    // A different card after the repeats: its decision proves the repeats were processed first.
    await reader.write(encodeRdm6300Frame(0x0b, 888_888));
    await nextJournalEvent(journal(), (e) => e.type === 'access.denied' && e.data.card === '****88', after);
    const decisions = journal().query({ afterSeq: after, limit: 100, type: 'access' });
    expect(decisions.map((e) => e.data.card)).toEqual(['****77', '****88']);
  });

  it('reports the reader offline when the port vanishes and online when it returns, without a restart or a strike', async () => {
    const after = journal().lastSeq();
    const mark = strike.mark();
    await reader.close();
    await pair.stop();
    const offline = await nextJournalEvent(journal(), (e) => e.device === 'lobby-reader' && e.type === 'device.offline', after);
    expect(offline.severity).toBe('medium');

    await pair.start();
    reader = await DeviceEnd.open(pair.devicePath);
    await nextJournalEvent(journal(), (e) => e.device === 'lobby-reader' && e.type === 'device.online', offline.seq);
    // [SAFE-LINK] losing and regaining the link released nothing.
    expect(strike.received.slice(mark).filter((message) => message.json.type === 'strike')).toEqual([]);

    await reader.write(encodeRdm6300Frame(0x0c, 4718931));
    await strike.next((message) => message.json.type === 'strike', mark);
  });
});

describe('serial buses that are missing or misnamed', () => {
  it('reports a reader whose port is missing at start as offline, and online once the port appears', async () => {
    const dir = tempDir('gp-serial-');
    const pair = new SocatPair(dir);
    const gw = await startTestGateway({
      stateDir: dir,
      siteYaml: SITE,
      configYaml: `demo: true\nserial:\n  buses:\n    - { id: lobby-bus, path: ${JSON.stringify(pair.gatewayPath)}, reopenMinMs: 20, reopenMaxMs: 100 }\n`,
    });
    try {
      const offline = await nextJournalEvent(gw.gateway.journal, (e) => e.type === 'device.offline' && e.device === 'lobby-reader');
      expect(String(offline.data.detail)).toContain('cannot open');
      await pair.start();
      await nextJournalEvent(gw.gateway.journal, (e) => e.type === 'device.online' && e.device === 'lobby-reader', offline.seq);
    } finally {
      await gw.stop();
      await pair.stop();
    }
  });

  it('refuses to start when a device names a bus the config file does not define', async () => {
    await expect(startTestGateway({ siteYaml: SITE, configYaml: 'demo: true' })).rejects.toThrow(
      'device "lobby-reader" uses serial bus "lobby-bus", which the config file\'s serial.buses does not define (defined: none)',
    );
  });
});

describe('rewiring a reader at run time through the API', () => {
  it('binds a reader to its serial bus as soon as an admin changes its driver, without a restart', async () => {
    const dir = tempDir('gp-serial-');
    const pair = new SocatPair(dir);
    await pair.start();
    const site = SITE.replace('{ id: lobby-reader, kind: reader, driver: rdm6300, bus: lobby-bus, name: Lobby RDM6300 }', '{ id: lobby-reader, kind: reader, name: Lobby reader }');
    const gw = await startTestGateway({
      stateDir: dir,
      siteYaml: site,
      configYaml: `demo: true\nserial:\n  buses:\n    - { id: lobby-bus, path: ${JSON.stringify(pair.gatewayPath)}, reopenMinMs: 20, reopenMaxMs: 200 }\n`,
    });
    const strike = await connectDevice(gw.mqttUrl, 'lobby-strike');
    const reader = await DeviceEnd.open(pair.devicePath);
    try {
      const after = gw.gateway.journal.lastSeq();
      const response = await fetch(`${gw.httpUrl}/api/v1/devices/lobby-reader`, {
        method: 'PUT',
        headers: { ...(await gw.adminHeaders()), 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'lobby-reader', kind: 'reader', name: 'Lobby RDM6300', driver: 'rdm6300', bus: 'lobby-bus' }),
      });
      expect(response.status).toBe(200);
      await nextJournalEvent(gw.gateway.journal, (e) => e.type === 'device.online' && e.device === 'lobby-reader', after);
      const mark = strike.mark();
      await reader.write(encodeRdm6300Frame(0x0a, 4718931));
      await strike.next((message) => message.json.type === 'strike', mark);
    } finally {
      await reader.close();
      await strike.end();
      await gw.stop();
      await pair.stop();
    }
  });
});
