import net from 'node:net';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it, vi } from 'vitest';
import { ConnectionGate, DEFAULT_MQTT_LIMITS, GuardedConnection, PacketScanner, topicProblem } from '../../../src/transports/mqttGuard.js';

const connect = [0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00];
const pingreq = [0xc0, 0x00];

describe('PacketScanner', () => {
  it('lets a CONNECT and the packets after it through', () => {
    expect(new PacketScanner(1024).scan(Uint8Array.from([...connect, ...pingreq, ...pingreq]))).toBeNull();
  });

  it('refuses a first packet that is not CONNECT', () => {
    expect(new PacketScanner(1024).scan(Uint8Array.from(pingreq))).toMatchObject({ reason: 'first_packet_not_connect' });
  });

  it('refuses a packet over the size limit as soon as its length is read', () => {
    // PUBLISH claiming 2,000 bytes, none of them sent yet.
    expect(new PacketScanner(1024).scan(Uint8Array.from([...connect, 0x30, 0xd0, 0x0f]))).toEqual({ reason: 'packet_too_large', detail: 'packet of 2000 bytes over the limit of 1024' });
  });

  it('refuses a remaining length longer than four bytes', () => {
    expect(new PacketScanner(1024).scan(Uint8Array.from([0x10, 0x80, 0x80, 0x80, 0x80, 0x01]))).toMatchObject({ reason: 'malformed_packet' });
  });

  it('gives the same verdict however the stream is cut into chunks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 10 }), (bytes, cuts) => {
        const stream = Uint8Array.from([...connect, ...bytes]);
        const whole = new PacketScanner(64).scan(stream)?.reason ?? null;
        const scanner = new PacketScanner(64);
        const points = [...new Set(cuts.map((cut) => cut % (stream.length + 1)))].sort((a, b) => a - b);
        let verdict: string | null = null;
        let from = 0;
        for (const point of [...points, stream.length]) {
          verdict ??= scanner.scan(stream.subarray(from, point))?.reason ?? null;
          from = point;
        }
        expect(verdict).toBe(whole);
      }),
    );
  });
});

describe('ConnectionGate', () => {
  it('counts connections per address within a minute of the clock', () => {
    let nowMs = 0;
    const gate = new ConnectionGate({ ...DEFAULT_MQTT_LIMITS, connectionsPerAddressPerMinute: 2 }, () => nowMs);
    expect(gate.admit('10.0.0.5')).toBeNull();
    expect(gate.admit('10.0.0.5')).toBeNull();
    expect(gate.admit('10.0.0.5')).toMatchObject({ reason: 'connection_rate' });
    expect(gate.admit('10.0.0.6')).toBeNull();
    nowMs = 60_001;
    expect(gate.admit('10.0.0.5')).toBeNull();
  });

  it('refuses connections over the client limit until one closes', () => {
    const gate = new ConnectionGate({ ...DEFAULT_MQTT_LIMITS, maxClients: 1 });
    expect(gate.admit('a')).toBeNull();
    expect(gate.admit('b')).toMatchObject({ reason: 'too_many_clients' });
    gate.closed();
    expect(gate.admit('b')).toBeNull();
  });

  it('throttles an address after its failed logins, for five minutes', () => {
    let nowMs = 0;
    const gate = new ConnectionGate({ ...DEFAULT_MQTT_LIMITS, failedLoginsPerAddress: 2 }, () => nowMs);
    gate.loginFailed('a');
    expect(gate.loginThrottled('a')).toBe(false);
    gate.loginFailed('a');
    expect(gate.loginThrottled('a')).toBe(true);
    expect(gate.loginThrottled('b')).toBe(false);
    nowMs = 5 * 60_000 + 1;
    expect(gate.loginThrottled('a')).toBe(false);
  });

  it('binds a client id to its login while connected, and for as long as a persistent session lives', () => {
    const gate = new ConnectionGate(DEFAULT_MQTT_LIMITS);
    expect(gate.claim('cid', 'device:a', false)).toBe(true);
    expect(gate.claim('cid', 'device:b', false)).toBe(false);
    gate.release('cid', 'device:a');
    expect(gate.claim('cid', 'device:b', true)).toBe(true);
    gate.release('cid', 'device:b');
    expect(gate.claim('cid', 'device:a', false)).toBe(false);
  });
});

describe('topicProblem', () => {
  it('names what is wrong with a topic', () => {
    expect(topicProblem('', DEFAULT_MQTT_LIMITS)).toBe('empty topic');
    expect(topicProblem('a/'.repeat(20), DEFAULT_MQTT_LIMITS)).toBe('topic of 21 levels over the limit of 16');
    expect(topicProblem('x'.repeat(600), DEFAULT_MQTT_LIMITS)).toBe('topic of 600 bytes over the limit of 512');
    expect(topicProblem('guardpost/devices/door-1/input', DEFAULT_MQTT_LIMITS)).toBeNull();
  });
});

describe('GuardedConnection', () => {
  it('hands each packet the broker writes in pieces to the socket as one write, and the device reads it whole', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const device = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    const [socket] = (await new Promise((resolve) => server.once('connection', (accepted: net.Socket) => resolve([accepted])))) as [net.Socket];
    try {
      const writes = vi.spyOn(socket, 'write');
      const connection = new GuardedConnection(socket, '127.0.0.1', DEFAULT_MQTT_LIMITS.maxPacketBytes, () => undefined);
      const command = { cmd: 'publish', topic: 'guardpost/devices/main-entrance-strike/output', payload: Buffer.from(JSON.stringify({ type: 'strike', action: 'pulse', durationMs: 5000 })), qos: 0, retain: false, dup: false } as const;
      const expected = mqttPacket.generate(command);
      const received: Buffer[] = [];
      const whole = new Promise<void>((resolve) =>
        device.on('data', (chunk: Buffer) => {
          received.push(chunk);
          if (Buffer.concat(received).length >= expected.length) resolve();
        }),
      );
      // As aedes writes: mqtt-packet's writeToStream corks, writes the pieces, uncorks on the next tick.
      mqttPacket.writeToStream(command, connection);
      await whole;
      expect(Buffer.concat(received).equals(expected)).toBe(true);
      expect(writes).toHaveBeenCalledTimes(1);
    } finally {
      device.destroy();
      socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
