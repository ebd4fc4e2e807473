import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, connectDevice, type TestClient, startTestGateway, type TestGateway } from '../support/gateway.js';

const input = (device: string): string => `guardpost/devices/${device}/input`;
const card = (number: string): string => JSON.stringify({ type: 'card', card: number });

describe('badging at a door through the embedded broker (demo site)', () => {
  let gw: TestGateway;
  let observer: TestClient;
  let mainReader: TestClient;
  let mainStrike: TestClient;
  let serverReader: TestClient;
  let serverStrike: TestClient;

  beforeAll(async () => {
    gw = await startTestGateway();
    observer = await connect(gw.mqttUrl);
    expect(await observer.subscribe('guardpost/events')).toBe(1);
    [mainReader, mainStrike, serverReader, serverStrike] = await Promise.all([
      connectDevice(gw.mqttUrl, 'main-entrance-reader'),
      connectDevice(gw.mqttUrl, 'main-entrance-strike'),
      connectDevice(gw.mqttUrl, 'server-room-reader'),
      connectDevice(gw.mqttUrl, 'server-room-strike'),
    ]);
  });

  afterAll(async () => {
    await Promise.all([observer, mainReader, mainStrike, serverReader, serverStrike].map((client) => client?.end()));
    await gw?.stop();
  });

  /** Badges and resolves with the decision event the gateway journalled for it. */
  async function badge(reader: TestClient, readerId: string, number: string) {
    const after = observer.mark();
    await reader.publish(input(readerId), card(number));
    return observer.nextEvent((event) => event.type.startsWith('access.') && event.device === readerId, after);
  }

  const strikes = (client: TestClient) => client.received.filter((message) => message.json.type === 'strike');

  it('pulses the strike and shows a green LED when a valid staff card badges at the main entrance', async () => {
    const event = await badge(mainReader, 'main-entrance-reader', '1001');
    expect(event).toMatchObject({ type: 'access.granted', reason: 'granted', door: 'main-entrance', cardholder: 'alice-adams' });
    const strike = await mainStrike.next((message) => message.json.type === 'strike');
    expect(strike.topic).toBe('guardpost/devices/main-entrance-strike/output');
    expect(strike.json).toEqual({ type: 'strike', action: 'pulse', durationMs: 5000 });
    const led = await mainReader.next((message) => message.json.type === 'led');
    expect(led.json).toMatchObject({ type: 'led', color: 'green' });
  });

  it.each([
    ['an unknown card', 'main-entrance-reader', '99999', 'unknown_credential'],
    ['an expired card', 'main-entrance-reader', '1003', 'credential_expired'],
    ['a suspended card', 'main-entrance-reader', '1004', 'credential_suspended'],
    ['a staff card at the server room', 'server-room-reader', '1001', 'not_in_group'],
  ])('refuses %s with a red LED, no strike and the reason %s', async (_what, readerId, number, reason) => {
    const reader = readerId === 'main-entrance-reader' ? mainReader : serverReader;
    const strike = readerId === 'main-entrance-reader' ? mainStrike : serverStrike;
    const strikesBefore = strikes(strike).length;
    const strikeMark = strike.mark();
    const readerMark = reader.mark();
    const event = await badge(reader, readerId, number);
    expect(event).toMatchObject({ type: 'access.denied', reason });
    const led = await reader.next((message) => message.json.type === 'led', readerMark);
    expect(led.json).toMatchObject({ color: 'red' });
    // Commands to one device arrive in order: badge a valid card, and its pulse must be the only new one.
    const allowed = readerId === 'main-entrance-reader' ? '1001' : '1002';
    const sentinelMark = reader.mark();
    await badge(reader, readerId, allowed);
    await strike.next((message) => message.json.type === 'strike', strikeMark);
    await reader.next((message) => message.json.type === 'buzzer' && message.json.pattern === 'grant', sentinelMark);
    expect(strikes(strike).length).toBe(strikesBefore + 1);
  });

  it('opens the server room for an IT card with the server room unlock time', async () => {
    const event = await badge(serverReader, 'server-room-reader', '1002');
    expect(event).toMatchObject({ type: 'access.granted', door: 'server-room', cardholder: 'bob-brown' });
    const strike = await serverStrike.next((message) => message.json.type === 'strike');
    expect(strike.json).toEqual({ type: 'strike', action: 'pulse', durationMs: 3000 });
  });

  it('journals each decision with its reason and never the whole card number', async () => {
    await badge(mainReader, 'main-entrance-reader', '555123456');
    const response = await fetch(`${gw.httpUrl}/api/v1/events?limit=50&type=access`);
    expect(response.status).toBe(200);
    const events = (await response.json()) as { type: string; reason: string; data: { card: string } }[];
    const denied = events.find((event) => event.reason === 'unknown_credential' && event.data.card.endsWith('56'));
    expect(denied?.data.card).toBe('*******56');
    expect(JSON.stringify(events)).not.toContain('555123456');
    expect(gw.logs.join('')).not.toContain('555123456');
  });

  it('accepts a leading-zero card number as the same card', async () => {
    const event = await badge(mainReader, 'main-entrance-reader', '0001001');
    expect(event).toMatchObject({ type: 'access.granted', cardholder: 'alice-adams' });
  });
});
