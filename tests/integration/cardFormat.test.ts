import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/index.js';
import { connect, connectDevice, startTestGateway, tempDir, type TestClient, type TestGateway } from '../support/gateway.js';

/**
 * [ACC-CARD-FORMAT] Readers send card numbers as decimal digits or as hex UIDs; the site says which
 * per reader (or for the whole site), and one card read both ways is one credential.
 */

// 0x04A1B2C3 = 77705923: the same 13.56 MHz card as a hex UID and as the decimal printed on its sleeve.
const SITE_YAML = `
site: { id: formats, name: Mixed readers, timezone: UTC }
devices:
  - { id: lobby-reader, kind: reader }
  - { id: lobby-strike, kind: strike }
  - { id: lab-reader, kind: reader, cardFormat: hex }
  - { id: lab-strike, kind: strike }
doors:
  - { id: lobby, name: Lobby, reader: lobby-reader, strike: lobby-strike }
  - { id: lab, name: Lab, reader: lab-reader, strike: lab-strike }
groups:
  - { id: staff, name: Staff, doors: [lobby, lab] }
cardholders:
  - { id: ann, name: Ann, groups: [staff], credentials: [{ id: ann-card, card: "77705923" }] }
`;

describe('card numbers from decimal and hex readers', () => {
  let gw: TestGateway;
  let observer: TestClient;
  const clients = new Map<string, TestClient>();

  beforeAll(async () => {
    gw = await startTestGateway({ stateDir: tempDir(), configYaml: 'demo: true', siteYaml: SITE_YAML });
    observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    for (const id of ['lobby-reader', 'lobby-strike', 'lab-reader', 'lab-strike']) clients.set(id, await connectDevice(gw.mqttUrl, id));
  });
  afterAll(async () => {
    await Promise.all([observer, ...clients.values()].map((client) => client.end()));
    await gw.stop();
  });

  const client = (id: string): TestClient => clients.get(id) as TestClient;

  async function badge(door: 'lobby' | 'lab', card: string): Promise<JournalEvent> {
    const after = observer.mark();
    await client(`${door}-reader`).publish(`guardpost/devices/${door}-reader/input`, JSON.stringify({ type: 'card', card }));
    return observer.nextEvent((event) => event.type.startsWith('access.') && event.device === `${door}-reader`, after);
  }

  it('opens for the same card read as a hex UID at one reader and as decimal at another', async () => {
    const labStrike = client('lab-strike').mark();
    expect(await badge('lab', '04A1B2C3')).toMatchObject({ type: 'access.granted', cardholder: 'ann', data: { credential: 'ann-card', format: 'hex' } });
    expect((await client('lab-strike').next((message) => message.json.type === 'strike', labStrike)).json).toMatchObject({ action: 'pulse' });

    const lobbyStrike = client('lobby-strike').mark();
    expect(await badge('lobby', '77705923')).toMatchObject({ type: 'access.granted', cardholder: 'ann', data: { credential: 'ann-card' } });
    expect((await client('lobby-strike').next((message) => message.json.type === 'strike', lobbyStrike)).json).toMatchObject({ action: 'pulse' });
  });

  it('reads hex in either case and with leading zero bytes', async () => {
    expect(await badge('lab', '0004a1b2c3')).toMatchObject({ type: 'access.granted', cardholder: 'ann' });
  });

  it('refuses hex from a decimal reader at the door, red LED and an event saying what was wrong, and keeps deciding', async () => {
    const led = client('lobby-reader').mark();
    const event = await badge('lobby', '04A1B2C3');
    expect(event).toMatchObject({ type: 'access.denied', reason: 'unreadable_credential', data: { code: 'bad_card_number' } });
    expect(String(event.data.message)).toContain('expected 1 to 20 decimal digits');
    // The number is never whole in the journal.
    expect(JSON.stringify(event)).not.toContain('04A1B2C3');
    expect((await client('lobby-reader').next((message) => message.json.type === 'led', led)).json).toMatchObject({ color: 'red' });
    expect(await badge('lobby', '77705923')).toMatchObject({ type: 'access.granted' });
  });

  it('does not mistake a hex UID for the decimal number with the same digits', async () => {
    // "77705923" read as hex is 0x77705923, another card entirely.
    expect(await badge('lab', '77705923')).toMatchObject({ type: 'access.denied', reason: 'unknown_credential' });
  });
});
