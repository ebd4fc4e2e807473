import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../src/auth/passwords.js';
import { connect, connectDevice, repoRoot, startTestGateway, type Received, type TestClient, type TestGateway } from '../support/gateway.js';
import { nextJournalEvent } from '../support/journal.js';

type Fixture = Record<string, unknown> & { keys: Record<string, string | string[]>; required: string[] };
const fixture = <T = Fixture>(name: string): T => JSON.parse(fs.readFileSync(path.join(repoRoot, 'tests/fixtures/ha', `${name}.json`), 'utf8')) as T;
const deviceSpec = fixture<{ topicPattern: string; required: string[]; shared: string[]; device: { oneOfRequired: string[]; keys: Record<string, string | string[]> }; origin: { required: string[]; keys: Record<string, string> }; availability: { required: string[]; keys: Record<string, string> }; availability_mode: string[]; platforms: string[] }>('device');

const OPERATOR = 'home-assistant';
const OPERATOR_PASSWORD = 'home-assistant-secret';

/** Does a value have the type HA's docs give for an option? */
function hasDocumentedType(value: unknown, type: string | string[]): boolean {
  const types = Array.isArray(type) ? type : [type];
  return types.some((one) => {
    switch (one) {
      case 'string':
      case 'template':
      case 'icon':
      case 'device_class':
        return typeof value === 'string' || value === null;
      case 'boolean':
        return typeof value === 'boolean';
      case 'integer':
        return Number.isInteger(value);
      case 'list':
        return Array.isArray(value);
      case 'map':
        return typeof value === 'object' && value !== null && !Array.isArray(value);
      default:
        throw new Error(`fixture type ${one} unknown to the test`);
    }
  });
}

/** Every problem of one device discovery payload against the fixtures, as sentences. */
function problemsOf(topic: string, payload: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (!new RegExp(deviceSpec.topicPattern).test(topic)) problems.push(`${topic}: not a device discovery topic`);
  for (const key of deviceSpec.required) if (!(key in payload)) problems.push(`${topic}: ${key} missing`);
  const device = payload.device as Record<string, unknown>;
  if (!deviceSpec.device.oneOfRequired.some((key) => key in device)) problems.push(`${topic}: device has neither identifiers nor connections`);
  for (const [key, value] of Object.entries(device)) {
    const type = deviceSpec.device.keys[key];
    if (type === undefined) problems.push(`${topic}: device.${key} is not a documented device key`);
    else if (!hasDocumentedType(value, type)) problems.push(`${topic}: device.${key} is not a ${String(type)}`);
  }
  const origin = payload.origin as Record<string, unknown>;
  for (const key of deviceSpec.origin.required) if (!(key in origin)) problems.push(`${topic}: origin.${key} missing`);
  for (const key of Object.keys(origin)) if (!(key in deviceSpec.origin.keys)) problems.push(`${topic}: origin.${key} is not documented`);
  for (const entry of (payload.availability as Record<string, unknown>[] | undefined) ?? []) {
    for (const key of deviceSpec.availability.required) if (!(key in entry)) problems.push(`${topic}: availability entry without ${key}`);
    for (const key of Object.keys(entry)) if (!(key in deviceSpec.availability.keys)) problems.push(`${topic}: availability.${key} is not documented`);
  }
  if (payload.availability_mode !== undefined && !deviceSpec.availability_mode.includes(String(payload.availability_mode))) problems.push(`${topic}: availability_mode ${String(payload.availability_mode)}`);
  for (const key of Object.keys(payload)) if (!deviceSpec.required.includes(key) && !deviceSpec.shared.includes(key)) problems.push(`${topic}: ${key} is neither required nor a shared option`);
  for (const [id, component] of Object.entries(payload.components as Record<string, Record<string, unknown>>)) {
    const platform = String(component.platform);
    if (!deviceSpec.platforms.includes(platform)) {
      problems.push(`${topic}: ${id} has platform ${platform}, not one HA supports`);
      continue;
    }
    const spec = fixture(platform);
    for (const key of spec.required) if (!(key in component) && !(key in payload)) problems.push(`${topic}: ${id} (${platform}) lacks required ${key}`);
    for (const [key, value] of Object.entries(component)) {
      const type = spec.keys[key];
      if (type === undefined) problems.push(`${topic}: ${id} (${platform}) has undocumented option ${key}`);
      else if (!hasDocumentedType(value, type)) problems.push(`${topic}: ${id} (${platform}).${key} is not a ${String(type)}`);
    }
    const classes = spec.device_classes as string[] | undefined;
    if (classes !== undefined && component.device_class !== undefined && !classes.includes(String(component.device_class))) problems.push(`${topic}: ${id} device_class ${String(component.device_class)} is not documented`);
    const features = spec.supported_features as string[] | undefined;
    if (features !== undefined) for (const feature of (component.supported_features as string[] | undefined) ?? []) if (!features.includes(feature)) problems.push(`${topic}: ${id} feature ${feature} is not documented`);
  }
  return problems;
}

/** Renders the part of a command_template HA fills in (`{{ value }}`, `{{ action }}`) as HA would. */
const render = (template: string, variables: Record<string, string>): string => template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => variables[name] ?? '');

let gw: TestGateway;
let ha: TestClient;
const discoveries = (after = 0): Received[] => ha.received.slice(after).filter((message) => /^homeassistant\/device\/[^/]+\/config$/.test(message.topic));
const component = (platform: string, id: string): Record<string, unknown> => {
  for (const message of discoveries()) {
    const found = Object.entries(message.json.components as Record<string, Record<string, unknown>>).find(([key, value]) => value.platform === platform && key.startsWith(id));
    if (found !== undefined) return found[1];
  }
  throw new Error(`no ${platform} for ${id}`);
};

beforeAll(async () => {
  const hash = await hashSecret(OPERATOR_PASSWORD);
  gw = await startTestGateway({
    configYaml: `demo: true\nmqtt:\n  operators:\n    - { username: ${OPERATOR}, passwordHash: ${JSON.stringify(hash)} }\nhomeAssistant:\n  enabled: true\n  operator: ${OPERATOR}\n`,
  });
  ha = await connect(gw.mqttUrl, { clientId: 'home-assistant-test', username: OPERATOR, password: OPERATOR_PASSWORD });
  for (const filter of ['homeassistant/#', 'guardpost/ha/#', 'guardpost/bridge/#']) expect(await ha.subscribe(filter)).toBe(1);
  await ha.next((message) => message.topic.includes('/device/guardpost_demo_panic_'));
});

afterAll(async () => {
  await ha?.end();
  await gw?.stop();
});

describe('Home Assistant MQTT discovery', () => {
  it('announces the site, each door and each panic button as devices that match Home Assistant\'s documented schema', () => {
    const topics = discoveries().map((message) => message.topic).sort();
    expect(topics).toEqual([
      'homeassistant/device/guardpost_demo_door_main-entrance/config',
      'homeassistant/device/guardpost_demo_door_server-room/config',
      'homeassistant/device/guardpost_demo_panic_reception-panic/config',
      'homeassistant/device/guardpost_demo_site_demo/config',
    ]);
    for (const message of discoveries()) expect(problemsOf(message.topic, message.json)).toEqual([]);
    expect(discoveries()[0]!.json.origin).toMatchObject({ name: 'guardpost', sw_version: '0.1.0' });
  });

  it('makes doors locks that can open, contacts door sensors, panic buttons events and the site an alarm panel', () => {
    expect(component('lock', 'main-entrance')).toMatchObject({ payload_open: 'OPEN', state_topic: 'guardpost/doors/main-entrance/state' });
    expect(component('binary_sensor', 'main-entrance')).toMatchObject({ device_class: 'door' });
    expect(() => component('binary_sensor', 'server-room')).toThrow('no binary_sensor'); // no contact wired there
    expect(component('event', 'reception-panic')).toMatchObject({ event_types: ['press'], device_class: 'button' });
    expect(component('alarm_control_panel', 'demo')).toMatchObject({ supported_features: ['arm_away'] });
  });

  it('publishes the site panel state with Home Assistant\'s state names, starting disarmed', async () => {
    const states = fixture('alarm_control_panel').states as string[];
    const state = await ha.next((message) => message.topic === 'guardpost/ha/site/state');
    expect(state.json).toEqual({ raw: 'disarmed' });
    expect(states).toContain('disarmed');
    expect(await ha.next((message) => message.topic === 'guardpost/ha/devices/reception-panic/availability')).toMatchObject({ json: { raw: 'online' } });
  });

  it('publishes every discovery message again when Home Assistant announces itself online', async () => {
    const mark = ha.mark();
    await ha.publish('homeassistant/status', 'online');
    await ha.next((message) => message.topic.endsWith('guardpost_demo_site_demo/config'), mark);
    await ha.next((message) => message.topic.endsWith('guardpost_demo_panic_reception-panic/config'), mark);
    expect(discoveries(mark).map((message) => message.topic)).toHaveLength(4);
  });

  it('opens a door when Home Assistant sends OPEN through the lock\'s command template, journalled in its operator\'s name', async () => {
    const strike = await connectDevice(gw.mqttUrl, 'main-entrance-strike');
    try {
      const lock = component('lock', 'main-entrance');
      const after = gw.gateway.journal.query({ limit: 1 })[0]!.seq;
      await ha.publish(String(lock.command_topic), render(String(lock.command_template), { value: String(lock.payload_open) }));
      const pulse = await strike.next((message) => message.json.type === 'strike');
      expect(pulse.json).toMatchObject({ action: 'pulse' });
      const unlocked = await nextJournalEvent(gw.gateway.journal, (event) => event.type === 'door.unlocked', after);
      expect(unlocked).toMatchObject({ door: 'main-entrance' });
      expect(JSON.stringify(unlocked.data)).toContain(OPERATOR);
    } finally {
      await strike.end();
    }
  });

  it('turns a panic press into an event and the panel to triggered; arm away sets the lockdown threat level', async () => {
    const events = fixture('event');
    const panic = await connectDevice(gw.mqttUrl, 'reception-panic');
    try {
      const mark = ha.mark();
      await panic.publish('guardpost/devices/reception-panic/input', JSON.stringify({ type: 'button', state: 'pressed' }));
      const pressed = await ha.next((message) => message.topic === 'guardpost/ha/panic/reception-panic', mark);
      expect((events.keys as Record<string, string>).event_types).toBe('list');
      expect(component('event', 'reception-panic').event_types).toContain(pressed.json.event_type);
      expect(await ha.next((message) => message.topic === 'guardpost/ha/site/state' && message.json.raw === 'triggered', mark)).toBeDefined();

      const panel = component('alarm_control_panel', 'demo');
      const armed = gw.gateway.journal.query({ limit: 1 })[0]!.seq;
      await ha.publish(String(panel.command_topic), render(String(panel.command_template), { action: String(panel.payload_arm_away), code: '' }));
      const changed = await nextJournalEvent(gw.gateway.journal, (event) => event.type === 'threat.changed', armed);
      expect(JSON.stringify(changed.data)).toContain('lockdown');
      const disarm = gw.gateway.journal.query({ limit: 1 })[0]!.seq;
      await ha.publish(String(panel.command_topic), render(String(panel.command_template), { action: String(panel.payload_disarm), code: '' }));
      expect(JSON.stringify((await nextJournalEvent(gw.gateway.journal, (event) => event.type === 'threat.changed', disarm)).data)).toContain('normal');
    } finally {
      await panic.end();
    }
  });

  it('refuses a command that does not come from Home Assistant\'s operator, or names no known action, and nothing opens', async () => {
    const lock = component('lock', 'main-entrance');
    const before = gw.gateway.journal.query({ limit: 1 })[0]!.seq;
    await ha.publish(String(lock.command_topic), JSON.stringify({ by: OPERATOR, action: 'WIGGLE' }));
    const impostor = await connect(gw.mqttUrl, { clientId: 'impostor', username: 'main-entrance-reader', password: 'demo', reconnectPeriod: 0 });
    impostor.client.publish(String(lock.command_topic), JSON.stringify({ by: OPERATOR, action: 'OPEN' }), { qos: 0 });
    // The refusal of the impostor's publish is journalled; no door was unlocked.
    const refused = await nextJournalEvent(gw.gateway.journal, (event) => event.type === 'device.unauthorized', before);
    expect(refused).toMatchObject({ device: 'main-entrance-reader', reason: 'publish_refused' });
    await impostor.end().catch(() => undefined);
    expect(gw.gateway.journal.query({ afterSeq: before, limit: 100 }).filter((event) => event.type === 'door.unlocked')).toEqual([]);
    expect(gw.logs.some((line) => line.includes('Home Assistant command refused') && line.includes('expected LOCK, UNLOCK or OPEN'))).toBe(true);
  });
});
