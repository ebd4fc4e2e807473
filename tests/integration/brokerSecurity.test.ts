import fs from 'node:fs';
import argon2 from 'argon2';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, connectDevice, connectRefused, demoSiteFile, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';

describe('who may talk to the embedded broker', () => {
  let gw: TestGateway | undefined;
  const clients: TestClient[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.end()));
    await gw?.stop();
    gw = undefined;
  });

  it('refuses an anonymous client outside demo mode', async () => {
    gw = await startTestGateway({ configYaml: 'demo: false' });
    const error = await connectRefused(gw.mqttUrl);
    expect(error.message).toMatch(/Not authorized/i);
    expect(gw.gateway.metrics.get('guardpost_mqtt_refused_total', { action: 'connect' })).toBe(1);
  });

  it('refuses the demo device password once demo mode is off', async () => {
    gw = await startTestGateway({ configYaml: 'demo: false' });
    const error = await connectRefused(gw.mqttUrl, { username: 'main-entrance-reader', password: 'demo' });
    expect(error.message).toMatch(/Not authorized/i);
    const [event] = gw.gateway.journal.query({ limit: 1, type: 'device.unauthorized' });
    expect(event).toMatchObject({ reason: 'connect_refused', data: { username: 'main-entrance-reader', action: 'connect' } });
  });

  it('refuses a device with the wrong password and an unknown device name', async () => {
    gw = await startTestGateway();
    await connectRefused(gw.mqttUrl, { username: 'main-entrance-reader', password: 'guess' });
    await connectRefused(gw.mqttUrl, { username: 'no-such-device', password: 'demo' });
    expect(gw.gateway.metrics.get('guardpost_mqtt_refused_total', { action: 'connect' })).toBe(2);
  });

  it('lets an anonymous observer watch events in demo mode but never publish a card read', async () => {
    gw = await startTestGateway();
    const observer = await connect(gw.mqttUrl);
    clients.push(observer);
    expect(await observer.subscribe('guardpost/events')).toBe(1);
    // Raw device input carries card numbers: not for observers.
    expect(await observer.subscribe('guardpost/devices/main-entrance-reader/input')).toBe(128);
    expect(await observer.subscribe('guardpost/#')).toBe(128);
    const closed = new Promise<void>((resolve) => observer.client.once('close', () => resolve()));
    observer.client.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: '1002' }));
    await closed;
    expect(gw.gateway.journal.query({ limit: 10, type: 'access' })).toEqual([]);
    expect(gw.gateway.journal.query({ limit: 1, type: 'device.unauthorized' })[0]).toMatchObject({ reason: 'publish_refused' });
  });

  it('refuses a device that publishes a card read on another reader\'s input, and no door opens', async () => {
    gw = await startTestGateway();
    const observer = await connect(gw.mqttUrl);
    const strike = await connectDevice(gw.mqttUrl, 'server-room-strike');
    const spoofer = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
    clients.push(observer, strike, spoofer);
    await observer.subscribe('guardpost/events');
    const closed = new Promise<void>((resolve) => spoofer.client.once('close', () => resolve()));
    spoofer.client.publish('guardpost/devices/server-room-reader/input', JSON.stringify({ type: 'card', card: '1002' }), { qos: 1 });
    const refusal = await observer.nextEvent((event) => event.type === 'device.unauthorized');
    expect(refusal).toMatchObject({ device: 'main-entrance-reader', reason: 'publish_refused', severity: 'high', data: { topic: 'guardpost/devices/server-room-reader/input' } });
    await closed;
    expect(gw.gateway.journal.query({ limit: 10, type: 'access' })).toEqual([]);
    expect(strike.received.filter((message) => message.json.type === 'strike')).toEqual([]);
  });

  it('refuses a device that subscribes to another device\'s commands', async () => {
    gw = await startTestGateway();
    const reader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
    clients.push(reader);
    expect(await reader.subscribe('guardpost/devices/main-entrance-strike/output')).toBe(128);
    expect(await reader.subscribe('guardpost/devices/+/output')).toBe(128);
    expect(await reader.subscribe('guardpost/devices/main-entrance-reader/output')).toBe(1);
  });
});

describe('devices with passwords of their own (production mode)', () => {
  it('lets a device with an argon2-hashed password log in and open its door while demo mode is off', async () => {
    const hash = await argon2.hash('reader-secret-1');
    const strikeHash = await argon2.hash('strike-secret-1');
    const siteYaml = fs
      .readFileSync(demoSiteFile, 'utf8')
      .replace('    name: Main entrance reader\n', `    name: Main entrance reader\n    passwordHash: "${hash}"\n`)
      .replace('    name: Main entrance strike\n', `    name: Main entrance strike\n    passwordHash: "${strikeHash}"\n`);
    const gw = await startTestGateway({ configYaml: 'demo: false', siteYaml });
    try {
      await connectRefused(gw.mqttUrl, { username: 'main-entrance-reader', password: 'demo' });
      const reader = await connectDevice(gw.mqttUrl, 'main-entrance-reader', 'reader-secret-1');
      const strike = await connectDevice(gw.mqttUrl, 'main-entrance-strike', 'strike-secret-1');
      await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: '1001' }));
      expect((await strike.next((message) => message.json.type === 'strike')).json).toMatchObject({ action: 'pulse', durationMs: 5000 });
      await Promise.all([reader.end(), strike.end()]);
      expect(gw.logs.join('')).not.toContain('reader-secret-1');
    } finally {
      await gw.stop();
    }
  });
});
