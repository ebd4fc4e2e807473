import argon2 from 'argon2';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DEVICE_PASSWORD, DeviceBrokerPolicy, type MqttPrincipal } from '../../../src/site/brokerPolicy.js';
import { Topics } from '../../../src/site/topics.js';
import type { DeviceRecord } from '../../../src/store/index.js';
import { topicMatches, type BrokerRefusal } from '../../../src/transports/mqtt.js';

const topics = new Topics('guardpost');

let devices: Map<string, DeviceRecord>;

beforeAll(async () => {
  const hash = await argon2.hash('s3cret');
  const list: DeviceRecord[] = [
    { id: 'reader-front', name: 'Front reader', kind: 'reader', driver: 'json', location: 'lobby', passwordHash: null },
    { id: 'reader-lab', name: 'Lab reader', kind: 'reader', driver: 'json', location: 'lab', passwordHash: null },
    { id: 'reader-vault', name: 'Vault reader', kind: 'reader', driver: 'json', location: 'vault', passwordHash: hash },
  ];
  devices = new Map(list.map((device) => [device.id, device]));
});

function policy(demo: boolean, refusals: BrokerRefusal<MqttPrincipal>[] = []): DeviceBrokerPolicy {
  return new DeviceBrokerPolicy({ demo, topics, findDevice: (id) => devices.get(id), onRefused: (refusal) => refusals.push(refusal) });
}

const pw = (text: string): Buffer => Buffer.from(text, 'utf8');
const device = (deviceId: string): MqttPrincipal => ({ kind: 'device', deviceId });
const observer: MqttPrincipal = { kind: 'observer' };

describe('DeviceBrokerPolicy: logging in', () => {
  it('lets a demo device in with the demo password while the gateway runs in demo mode', async () => {
    expect(await policy(true).authenticate('c1', 'reader-front', pw(DEMO_DEVICE_PASSWORD))).toEqual(device('reader-front'));
  });

  it('refuses the demo password outside demo mode', async () => {
    expect(await policy(false).authenticate('c1', 'reader-front', pw(DEMO_DEVICE_PASSWORD))).toBeNull();
  });

  it('refuses a device without its own password outside demo mode, whatever it sends', async () => {
    for (const password of ['', 'reader-front', 's3cret', DEMO_DEVICE_PASSWORD]) {
      expect(await policy(false).authenticate('c1', 'reader-front', pw(password))).toBeNull();
    }
  });

  it('refuses a demo device with a wrong password or none', async () => {
    expect(await policy(true).authenticate('c1', 'reader-front', pw('Demo'))).toBeNull();
    expect(await policy(true).authenticate('c1', 'reader-front', pw(''))).toBeNull();
    expect(await policy(true).authenticate('c1', 'reader-front', undefined)).toBeNull();
  });

  it('lets a device with its own argon2 password in with that password, in demo mode or not', async () => {
    expect(await policy(false).authenticate('c1', 'reader-vault', pw('s3cret'))).toEqual(device('reader-vault'));
    expect(await policy(true).authenticate('c1', 'reader-vault', pw('s3cret'))).toEqual(device('reader-vault'));
  });

  it('refuses the demo password for a device that has its own password, even in demo mode', async () => {
    expect(await policy(true).authenticate('c1', 'reader-vault', pw(DEMO_DEVICE_PASSWORD))).toBeNull();
  });

  it('refuses a device with its own password when the password is wrong or missing', async () => {
    expect(await policy(false).authenticate('c1', 'reader-vault', pw('s3cret '))).toBeNull();
    expect(await policy(false).authenticate('c1', 'reader-vault', pw('S3CRET'))).toBeNull();
    expect(await policy(false).authenticate('c1', 'reader-vault', undefined)).toBeNull();
  });

  it('refuses a username that is not a device of this site', async () => {
    expect(await policy(true).authenticate('c1', 'reader-roof', pw(DEMO_DEVICE_PASSWORD))).toBeNull();
    expect(await policy(false).authenticate('c1', 'admin', pw('s3cret'))).toBeNull();
  });

  it('logs a device in as the device its username names, never as another', async () => {
    const principal = await policy(true).authenticate('reader-lab', 'reader-front', pw(DEMO_DEVICE_PASSWORD));
    expect(principal).toEqual(device('reader-front'));
  });

  it('lets an anonymous client in only as a read-only observer, and only in demo mode', async () => {
    expect(await policy(true).authenticate('viewer', undefined, undefined)).toEqual(observer);
    expect(await policy(true).authenticate('viewer', '', undefined)).toEqual(observer);
    expect(await policy(false).authenticate('viewer', undefined, undefined)).toBeNull();
    expect(await policy(false).authenticate('viewer', '', undefined)).toBeNull();
  });

  it('refuses an anonymous client that sends a password, even in demo mode', async () => {
    expect(await policy(true).authenticate('viewer', undefined, pw(DEMO_DEVICE_PASSWORD))).toBeNull();
    expect(await policy(true).authenticate('viewer', '', pw(''))).toBeNull();
  });
});

describe('DeviceBrokerPolicy: publishing', () => {
  const p = policy(true);

  it('lets a device publish its own input and availability', () => {
    expect(p.mayPublish(device('reader-front'), 'guardpost/devices/reader-front/input')).toBe(true);
    expect(p.mayPublish(device('reader-front'), 'guardpost/devices/reader-front/availability')).toBe(true);
  });

  it('refuses a device publishing a card read as another reader', () => {
    expect(p.mayPublish(device('reader-front'), 'guardpost/devices/reader-lab/input')).toBe(false);
    expect(p.mayPublish(device('reader-front'), 'guardpost/devices/reader-lab/availability')).toBe(false);
  });

  it('refuses a device publishing commands, events, door state or bridge state', () => {
    for (const topic of [
      'guardpost/devices/reader-front/output',
      'guardpost/devices/reader-lab/output',
      'guardpost/events',
      'guardpost/doors/front/state',
      'guardpost/alarms/a1',
      'guardpost/bridge/state',
      'guardpost/bridge/request/unlock',
    ]) {
      expect(p.mayPublish(device('reader-front'), topic)).toBe(false);
    }
  });

  it('refuses look-alike topics: wildcards, extra levels, other prefixes', () => {
    for (const topic of [
      'guardpost/devices/+/input',
      'guardpost/devices/#',
      'guardpost/devices/reader-front/input/extra',
      'guardpost/devices/reader-front',
      'other/devices/reader-front/input',
      'guardpost/devices/reader-front-2/input',
    ]) {
      expect(p.mayPublish(device('reader-front'), topic)).toBe(false);
    }
  });

  it('refuses an observer publishing anything, even where it may read', () => {
    for (const topic of ['guardpost/events', 'guardpost/devices/reader-front/input', 'guardpost/devices/reader-front/availability', 'guardpost/doors/front/state']) {
      expect(p.mayPublish(observer, topic)).toBe(false);
    }
  });
});

describe('DeviceBrokerPolicy: subscribing', () => {
  const p = policy(true);

  it('lets a device subscribe to its own commands only', () => {
    expect(p.maySubscribe(device('reader-front'), 'guardpost/devices/reader-front/output')).toBe(true);
    for (const filter of [
      'guardpost/devices/reader-lab/output',
      'guardpost/devices/+/output',
      'guardpost/devices/reader-front/#',
      'guardpost/devices/reader-front/input',
      'guardpost/events',
      'guardpost/#',
      '#',
    ]) {
      expect(p.maySubscribe(device('reader-front'), filter)).toBe(false);
    }
  });

  it('lets an observer watch events, doors, alarms, bridge state and device availability', () => {
    for (const filter of [
      'guardpost/events',
      'guardpost/doors/#',
      'guardpost/doors/front/state',
      'guardpost/doors/+/state',
      'guardpost/alarms/#',
      'guardpost/alarms/a1',
      'guardpost/bridge/state',
      'guardpost/devices/+/availability',
      'guardpost/devices/reader-front/availability',
    ]) {
      expect(p.maySubscribe(observer, filter), filter).toBe(true);
    }
  });

  it('refuses an observer a filter that reaches beyond what it may watch', () => {
    for (const filter of [
      'guardpost/#',
      '#',
      '+/events',
      'guardpost/+',
      'guardpost/+/state',
      'guardpost/devices/#',
      'guardpost/devices/+/+',
      'guardpost/devices/+/#',
      'guardpost/bridge/#',
      'guardpost/bridge/request/unlock',
      'guardpost/bridge/response/+',
      'guardpost/events/#',
    ]) {
      expect(p.maySubscribe(observer, filter), filter).toBe(false);
    }
  });

  it('refuses an observer any device input, where raw card numbers travel', () => {
    for (const filter of ['guardpost/devices/+/input', 'guardpost/devices/reader-front/input', 'guardpost/devices/reader-front/output']) {
      expect(p.maySubscribe(observer, filter), filter).toBe(false);
    }
  });

  it('follows the configured prefix', () => {
    const custom = new DeviceBrokerPolicy({ demo: true, topics: new Topics('site-a/gp'), findDevice: (id) => devices.get(id), onRefused: () => {} });
    expect(custom.mayPublish(device('reader-front'), 'site-a/gp/devices/reader-front/input')).toBe(true);
    expect(custom.mayPublish(device('reader-front'), 'guardpost/devices/reader-front/input')).toBe(false);
    expect(custom.maySubscribe(observer, 'site-a/gp/events')).toBe(true);
    expect(custom.maySubscribe(observer, 'guardpost/events')).toBe(false);
  });
});

describe('DeviceBrokerPolicy: refusals', () => {
  it('passes every refusal on to whoever journals and counts them', () => {
    const refusals: BrokerRefusal<MqttPrincipal>[] = [];
    const refusal: BrokerRefusal<MqttPrincipal> = {
      action: 'publish',
      clientId: 'c1',
      username: 'reader-front',
      principal: device('reader-front'),
      topic: 'guardpost/devices/reader-lab/input',
    };
    policy(true, refusals).refused(refusal);
    expect(refusals).toEqual([refusal]);
  });
});

describe('topicMatches', () => {
  it('matches a topic exactly equal to the filter', () => {
    expect(topicMatches('guardpost/events', 'guardpost/events')).toBe(true);
    expect(topicMatches('guardpost/events', 'guardpost/event')).toBe(false);
    expect(topicMatches('guardpost/events', 'guardpost/events/x')).toBe(false);
    expect(topicMatches('guardpost/events/x', 'guardpost/events')).toBe(false);
  });

  it('lets + stand for exactly one level', () => {
    expect(topicMatches('guardpost/devices/+/input', 'guardpost/devices/reader-1/input')).toBe(true);
    expect(topicMatches('guardpost/devices/+/input', 'guardpost/devices//input')).toBe(true);
    expect(topicMatches('guardpost/devices/+/input', 'guardpost/devices/a/b/input')).toBe(false);
    expect(topicMatches('guardpost/devices/+/input', 'guardpost/devices/input')).toBe(false);
    expect(topicMatches('+', 'guardpost')).toBe(true);
    expect(topicMatches('+', 'guardpost/events')).toBe(false);
  });

  it('lets # stand for the rest of the topic, including its parent level', () => {
    expect(topicMatches('guardpost/#', 'guardpost/doors/front/state')).toBe(true);
    expect(topicMatches('guardpost/#', 'guardpost/events')).toBe(true);
    expect(topicMatches('guardpost/#', 'guardpost')).toBe(true);
    expect(topicMatches('guardpost/#', 'other/events')).toBe(false);
    expect(topicMatches('#', 'anything/at/all')).toBe(true);
  });

  it('combines + and #', () => {
    expect(topicMatches('guardpost/+/front/#', 'guardpost/doors/front/state')).toBe(true);
    expect(topicMatches('guardpost/+/front/#', 'guardpost/doors/back/state')).toBe(false);
  });

  it('is case-sensitive, as MQTT topics are', () => {
    expect(topicMatches('guardpost/events', 'Guardpost/events')).toBe(false);
  });
});
