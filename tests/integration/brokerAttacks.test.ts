import net from 'node:net';
import fc from 'fast-check';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/index.js';
import { connect, connectDevice, connectRefused, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';

/*
 * Attacks from MQTT brokers' own history, sent over raw TCP sockets to the embedded broker.
 * Pass: the gateway neither crashes nor holds what the attacker claims it will send, and a
 * reader on another connection still opens its door.
 */

const MB = 1024 * 1024;

function remainingLength(length: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    bytes.push(byte);
  } while (length > 0);
  return bytes;
}

function utf8Field(text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(body.length);
  return Buffer.concat([length, body]);
}

/** An MQTT 3.1.1 CONNECT, clean session, 60 s keepalive. */
function connectPacket(clientId: string, username?: string, password?: string): Buffer {
  const flags = 0x02 | (username === undefined ? 0 : 0x80) | (password === undefined ? 0 : 0x40);
  const variable = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, flags, 0x00, 0x3c]);
  const payload = Buffer.concat([utf8Field(clientId), ...(username === undefined ? [] : [utf8Field(username)]), ...(password === undefined ? [] : [utf8Field(password)])]);
  const body = Buffer.concat([variable, payload]);
  return Buffer.concat([Buffer.from([0x10, ...remainingLength(body.length)]), body]);
}

/** A raw TCP connection that records what the broker answers and when it hangs up. */
class RawClient {
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  received = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Writes and waits until the kernel took the bytes; false once the broker has hung up. */
  write(bytes: Uint8Array): Promise<boolean> {
    if (this.socket.destroyed) return Promise.resolve(false);
    return new Promise((resolve) => this.socket.write(bytes, (error) => resolve(error === undefined || error === null)));
  }

  /** Resolves once the broker's answer holds `length` bytes, or it hung up first. */
  async answer(length: number): Promise<Buffer> {
    while (this.received.length < length && !this.socket.destroyed) {
      await Promise.race([new Promise<void>((resolve) => this.waiters.push(resolve)), this.closed]);
    }
    return this.received;
  }

  /** Connects as a demo device and waits for CONNACK accepted. */
  async login(deviceId: string): Promise<void> {
    await this.write(connectPacket(`raw-${deviceId}-${Math.random().toString(16).slice(2)}`, deviceId, 'demo'));
    const connack = await this.answer(4);
    expect([...connack.subarray(0, 4)]).toEqual([0x20, 0x02, 0x00, 0x00]);
    this.received = Buffer.alloc(0);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const limitsYaml = (extra = ''): string =>
  ['demo: true', 'mqtt:', '  limits:', '    connectionsPerAddressPerMinute: 100000', '    failedLoginsPerAddress: 100000', ...(extra === '' ? [] : [extra])].join('\n');

const port = (gw: TestGateway): number => Number(new URL(gw.mqttUrl).port);

/** A card at the main entrance still opens it: decisions for other devices continue. */
async function doorStillOpens(gw: TestGateway, reader: TestClient, strike: TestClient): Promise<void> {
  const mark = strike.mark();
  await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: '1001' }));
  expect((await strike.next((message) => message.json.type === 'strike', mark)).json).toMatchObject({ action: 'pulse' });
}

function limitEvents(gw: TestGateway): JournalEvent[] {
  return gw.gateway.journal.query({ limit: 1_000, type: 'broker.limit_exceeded' });
}

describe('the embedded broker under attack over raw TCP', () => {
  let gw: TestGateway;
  let reader: TestClient;
  let strike: TestClient;

  beforeAll(async () => {
    gw = await startTestGateway({ configYaml: limitsYaml() });
    reader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
    strike = await connectDevice(gw.mqttUrl, 'main-entrance-strike');
  });
  afterAll(async () => {
    await reader.end();
    await strike.end();
    await gw.stop();
  });

  it('cuts off every packet type sent before CONNECT that claims 100 MB, without holding what follows', async () => {
    const before = process.memoryUsage();
    for (let type = 1; type <= 15; type++) {
      const raw = await RawClient.open(port(gw));
      // SUBSCRIBE, UNSUBSCRIBE and PUBREL carry flags 0b0010; the rest 0.
      const flags = type === 6 || type === 8 || type === 10 ? 0x02 : 0x00;
      await raw.write(Buffer.from([(type << 4) | flags, ...remainingLength(100 * MB)]));
      const megabyte = Buffer.alloc(MB, 0x61);
      let sent = 0;
      while (sent < 30 && (await raw.write(megabyte))) sent += 1;
      await raw.closed;
      // The broker hung up long before the 30 MB the attacker tried to send.
      expect(sent).toBeLessThan(30);
    }
    const after = process.memoryUsage();
    const grownBytes = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
    expect(grownBytes).toBeLessThan(20 * MB);
    const reasons = new Set(limitEvents(gw).map((event) => event.reason));
    expect(reasons).toContain('first_packet_not_connect');
    expect(reasons).toContain('packet_too_large');
    await doorStillOpens(gw, reader, strike);
  });

  it('drops a client that publishes with a zero-length topic', async () => {
    const raw = await RawClient.open(port(gw));
    await raw.login('reception-panic');
    // PUBLISH QoS 0, topic length 0, payload "x".
    await raw.write(Buffer.from([0x30, 0x03, 0x00, 0x00, 0x78]));
    await raw.closed;
    await doorStillOpens(gw, reader, strike);
  });

  it('refuses a SUBSCRIBE with 65,000 topic levels and keeps working', async () => {
    const raw = await RawClient.open(port(gw));
    await raw.login('reception-panic');
    const filter = utf8Field('/'.repeat(64_999));
    const body = Buffer.concat([Buffer.from([0x00, 0x01]), filter, Buffer.from([0x00])]);
    await raw.write(Buffer.concat([Buffer.from([0x82, ...remainingLength(body.length)]), body]));
    const answer = await raw.answer(5);
    // Either a SUBACK refusing it (0x80) or the connection dropped; never a grant.
    if (answer.length >= 5) expect([...answer.subarray(0, 5)]).toEqual([0x90, 0x03, 0x00, 0x01, 0x80]);
    raw.destroy();
    await doorStillOpens(gw, reader, strike);
  });

  it('survives the 26-byte packet that once crashed aedes (moscajs/aedes#612)', async () => {
    const raw = await RawClient.open(port(gw));
    await raw.write(Buffer.from('101000044d5154540502003c0321001400006202d301e0020020', 'hex'));
    await raw.closed;
    await doorStillOpens(gw, reader, strike);
  });

  it('drops a client that sends a malformed SUBSCRIBE', async () => {
    const raw = await RawClient.open(port(gw));
    await raw.login('reception-panic');
    // Requested QoS 3 does not exist; the packet is malformed.
    await raw.write(Buffer.from([0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x03]));
    await raw.closed;
    await doorStillOpens(gw, reader, strike);
  });

  it('keeps deciding for other devices whatever bytes follow a valid CONNECT', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2_048 }), async (bytes) => {
        const raw = await RawClient.open(port(gw));
        await raw.login('reception-panic');
        await raw.write(bytes);
        raw.destroy();
        await doorStillOpens(gw, reader, strike);
      }),
      { numRuns: 40 },
    );
  });
});

describe('the embedded broker\'s limits on one client', () => {
  it('refuses connections from an address that opens too many within a minute, and journals why', async () => {
    const gw = await startTestGateway({ configYaml: ['demo: true', 'mqtt:', '  limits:', '    connectionsPerAddressPerMinute: 3'].join('\n') });
    try {
      for (let i = 0; i < 3; i++) await (await connect(gw.mqttUrl)).end();
      // The fourth is hung up on before it can send CONNECT: no parsing, no password work.
      const raw = await RawClient.open(port(gw));
      await raw.closed;
      expect(raw.received.length).toBe(0);
      const [event] = limitEvents(gw);
      expect(event).toMatchObject({ type: 'broker.limit_exceeded', reason: 'connection_rate', data: { address: expect.stringContaining('127.0.0.1') } });
      expect(gw.gateway.metrics.get('guardpost_mqtt_limited_total', { reason: 'connection_rate' })).toBeGreaterThanOrEqual(1);
    } finally {
      await gw.stop();
    }
  });

  it('stops checking passwords for an address after too many failed logins', async () => {
    const gw = await startTestGateway({ configYaml: ['demo: true', 'mqtt:', '  limits:', '    failedLoginsPerAddress: 3'].join('\n') });
    try {
      for (let i = 0; i < 3; i++) await connectRefused(gw.mqttUrl, { username: 'main-entrance-reader', password: `guess-${i}` });
      // Even the right password is not heard now: no password work for a throttled address.
      const error = await connectRefused(gw.mqttUrl, { username: 'main-entrance-reader', password: 'demo' });
      expect(error.message).toMatch(/Not authorized/i);
      expect(gw.gateway.journal.query({ limit: 10, type: 'device.unauthorized' })).toHaveLength(3);
      expect(limitEvents(gw)[0]).toMatchObject({ reason: 'login_throttled' });
    } finally {
      await gw.stop();
    }
  });

  it('does not let one login take over another device\'s client id', async () => {
    const gw = await startTestGateway({ configYaml: limitsYaml() });
    const clients: TestClient[] = [];
    try {
      const owner = await connect(gw.mqttUrl, { clientId: 'door-7-reader', username: 'main-entrance-reader', password: 'demo' });
      clients.push(owner);
      let ownerClosed = false;
      owner.client.on('close', () => (ownerClosed = true));
      const error = await connectRefused(gw.mqttUrl, { clientId: 'door-7-reader', username: 'reception-panic', password: 'demo' });
      expect(error.message).toMatch(/Identifier rejected/i);
      expect(limitEvents(gw)[0]).toMatchObject({ reason: 'client_id_taken', data: { clientId: 'door-7-reader' } });
      // The real reader is still connected and still opens its door.
      const strike = await connectDevice(gw.mqttUrl, 'main-entrance-strike');
      clients.push(strike);
      await doorStillOpens(gw, owner, strike);
      expect(ownerClosed).toBe(false);
      // The same login may come back under its own id (a reconnecting reader).
      const again = await connect(gw.mqttUrl, { clientId: 'door-7-reader', username: 'main-entrance-reader', password: 'demo' });
      clients.push(again);
    } finally {
      await Promise.all(clients.map((client) => client.end()));
      await gw.stop();
    }
  });

  it('refuses subscriptions past the per-client limit with SUBACK 0x80', async () => {
    const gw = await startTestGateway({ configYaml: limitsYaml('    maxSubscriptionsPerClient: 2') });
    const observer = await connect(gw.mqttUrl);
    try {
      expect(await observer.subscribe('guardpost/events')).toBe(1);
      expect(await observer.subscribe('guardpost/doors/#')).toBe(1);
      expect(await observer.subscribe('guardpost/alarms/#')).toBe(128);
      expect(limitEvents(gw)[0]).toMatchObject({ reason: 'too_many_subscriptions' });
    } finally {
      await observer.end();
      await gw.stop();
    }
  });

  it('stops delivering to a device the moment an admin removes it from the site, without waiting for it to reconnect', async () => {
    const gw = await startTestGateway({ configYaml: limitsYaml() });
    const headers = { ...(await gw.adminHeaders()), 'content-type': 'application/json' };
    const created = await fetch(`${gw.httpUrl}/api/v1/devices`, { method: 'POST', headers, body: JSON.stringify({ id: 'spare-strike', name: 'Spare strike', kind: 'strike' }) });
    expect(created.status).toBe(201);
    const spare = await connectDevice(gw.mqttUrl, 'spare-strike');
    const strike = await connectDevice(gw.mqttUrl, 'main-entrance-strike');
    try {
      gw.gateway.runtime.command('spare-strike', { type: 'strike', action: 'lock' });
      await spare.next((message) => message.json.type === 'strike');
      expect((await fetch(`${gw.httpUrl}/api/v1/devices/spare-strike`, { method: 'DELETE', headers: await gw.adminHeaders() })).status).toBe(204);
      const before = spare.mark();
      gw.gateway.runtime.command('spare-strike', { type: 'strike', action: 'unlock' });
      // A command to a door that still exists, sent after it, arrives: the first was not delayed, it was refused.
      gw.gateway.runtime.command('main-entrance-strike', { type: 'strike', action: 'lock' });
      await strike.next((message) => message.json.type === 'strike');
      expect(spare.received.slice(before)).toEqual([]);
    } finally {
      await spare.end();
      await strike.end();
      await gw.stop();
    }
  });

  it('passes a device\'s will through the same ACL as its publishes', async () => {
    const gw = await startTestGateway({ configYaml: limitsYaml() });
    const strike = await connectDevice(gw.mqttUrl, 'main-entrance-strike');
    try {
      // A panic button that leaves a will forging a card read at the main entrance.
      const rogue = await mqtt.connectAsync(gw.mqttUrl, {
        reconnectPeriod: 0,
        username: 'reception-panic',
        password: 'demo',
        will: { topic: 'guardpost/devices/main-entrance-reader/input', payload: Buffer.from(JSON.stringify({ type: 'card', card: '1001' })), qos: 0, retain: false },
      });
      const refused = new Promise<JournalEvent>((resolve) => {
        const off = gw.gateway.journal.onAppend((event) => {
          if (event.type !== 'device.unauthorized') return;
          off();
          resolve(event);
        });
      });
      // Dropped without DISCONNECT: the broker publishes the will, if the ACL lets it.
      rogue.stream.destroy();
      expect(await refused).toMatchObject({ device: 'reception-panic', reason: 'publish_refused', data: { topic: 'guardpost/devices/main-entrance-reader/input' } });
      expect(gw.gateway.journal.query({ limit: 10, type: 'access' })).toEqual([]);
      expect(strike.received.filter((message) => message.json.type === 'strike')).toEqual([]);
    } finally {
      await strike.end();
      await gw.stop();
    }
  });
});
