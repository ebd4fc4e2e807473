import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../src/auth/passwords.js';
import { NEWEST_SCHEMA } from '../../src/ops/backup.js';
import { cli } from '../support/cli.js';
import { connect, connectDevice, demoSiteFile, startTestGateway, tempDir, type TestClient, type TestGateway } from '../support/gateway.js';

const OPERATOR = 'security-desk';
const PASSWORD = 'security-desk-secret';
let gw: TestGateway;
let desk: TestClient;

beforeAll(async () => {
  const hash = await hashSecret(PASSWORD);
  gw = await startTestGateway({ configYaml: `demo: true\nmqtt:\n  operators:\n    - { username: ${OPERATOR}, passwordHash: ${JSON.stringify(hash)} }\n` });
  desk = await connect(gw.mqttUrl, { clientId: 'security-desk', username: OPERATOR, password: PASSWORD });
  expect(await desk.subscribe('guardpost/bridge/#')).toBe(1);
});

afterAll(async () => {
  await desk?.end();
  await gw?.stop();
});

describe('bridge topics in zigbee2mqtt\'s manner', () => {
  it('keeps what runs here on guardpost/bridge/info, retained', async () => {
    const info = await desk.next((message) => message.topic === 'guardpost/bridge/info');
    expect(info.json).toMatchObject({ version: '0.1.0', site: { id: 'demo', name: 'Demo floor' }, schema_version: NEWEST_SCHEMA, demo: true, home_assistant: false, restart_required: false });
    expect((info.json.mqtt as { listeners: Record<string, number> }).listeners.mqtt).toBe(gw.gateway.mqttPort);
  });

  it('lists the site\'s devices on guardpost/bridge/devices, retained, with the doors they serve', async () => {
    const devices = (await desk.next((message) => message.topic === 'guardpost/bridge/devices')).json as unknown as Record<string, unknown>[];
    expect(devices.find((device) => device.id === 'main-entrance-reader')).toEqual({ id: 'main-entrance-reader', friendly_name: 'Main entrance reader', kind: 'reader', driver: 'json', location: null, doors: ['main-entrance'] });
    expect(devices).toHaveLength(9);
  });

  it('announces a device coming online on guardpost/bridge/event', async () => {
    const mark = desk.mark();
    const reader = await connectDevice(gw.mqttUrl, 'server-room-reader');
    try {
      await reader.publish('guardpost/devices/server-room-reader/availability', 'online');
      const event = await desk.next((message) => message.topic === 'guardpost/bridge/event', mark);
      expect(event.json).toEqual({ type: 'device_online', data: { id: 'server-room-reader' } });
    } finally {
      await reader.end();
    }
  });

  it('mirrors warnings to guardpost/bridge/logging, e.g. a device\'s bad input', async () => {
    const mark = desk.mark();
    const reader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
    try {
      await reader.publish('guardpost/devices/main-entrance-reader/input', '{"type":"card"');
      const line = await desk.next((message) => message.topic === 'guardpost/bridge/logging' && String(message.json.message).startsWith('dropped bad input'), mark);
      expect(line.json).toMatchObject({ level: 'warning', module: 'site' });
      expect(Date.parse(String(line.json.time))).not.toBeNaN();
    } finally {
      await reader.end();
    }
  });

  it('says the site changed and republishes the devices when site data is imported on the running gateway', async () => {
    const mark = desk.mark();
    const file = path.join(tempDir('gp-bridge-site-'), 'site.yaml');
    fs.writeFileSync(file, fs.readFileSync(demoSiteFile, 'utf8').replace('name: Main entrance reader', 'name: Front door reader'));
    const imported = await cli('import', file, '--state-dir', gw.stateDir);
    expect(imported.code).toBe(0);
    const changed = await desk.next((message) => message.topic === 'guardpost/bridge/event' && message.json.type === 'site_changed', mark);
    expect(changed.json).toMatchObject({ data: { by: 'another process' } });
    const devices = (await desk.next((message) => message.topic === 'guardpost/bridge/devices', mark)).json as unknown as Record<string, unknown>[];
    expect(devices.find((device) => device.id === 'main-entrance-reader')?.friendly_name).toBe('Front door reader');
  });
});
