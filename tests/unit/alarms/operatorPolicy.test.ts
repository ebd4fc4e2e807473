import argon2 from 'argon2';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeviceBrokerPolicy, type MqttOperator, type MqttPrincipal } from '../../../src/site/brokerPolicy.js';
import { Topics } from '../../../src/site/topics.js';

const topics = new Topics('guardpost');
let operators: Map<string, MqttOperator>;

beforeAll(async () => {
  operators = new Map([['security-desk', { username: 'security-desk', passwordHash: await argon2.hash('desk-pass') }]]);
});

function policy(demo = false): DeviceBrokerPolicy {
  return new DeviceBrokerPolicy({ demo, topics, findDevice: () => undefined, findOperator: (username) => operators.get(username), onRefused: () => undefined });
}

const operator: MqttPrincipal = { kind: 'operator', username: 'security-desk' };
const payload = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

describe('operators on the embedded broker', () => {
  it('logs an operator in with its own password only, demo mode or not', async () => {
    expect(await policy().authenticate('c1', 'security-desk', payload('desk-pass'))).toEqual(operator);
    expect(await policy(true).authenticate('c1', 'security-desk', payload('demo'))).toBeNull();
    expect(await policy().authenticate('c1', 'security-desk', undefined)).toBeNull();
  });

  it('lets an operator send bridge requests and read responses and events, but never device topics', () => {
    const p = policy();
    expect(p.mayPublish(operator, 'guardpost/bridge/request/alarm/acknowledge')).toBe(true);
    expect(p.mayPublish(operator, 'guardpost/devices/main-entrance-reader/input')).toBe(false);
    expect(p.mayPublish(operator, 'guardpost/bridge/response/alarm/acknowledge')).toBe(false);
    expect(p.maySubscribe(operator, 'guardpost/bridge/response/#')).toBe(true);
    expect(p.maySubscribe(operator, 'guardpost/events')).toBe(true);
    expect(p.maySubscribe(operator, 'guardpost/devices/+/input')).toBe(false);
  });

  it('[SAFE-AUDIT] takes a request only when it names its sender as "by"', () => {
    const p = policy();
    expect(p.mayPublishPayload(operator, 'guardpost/bridge/request/door/unlock', payload({ by: 'security-desk', door: 'x' }))).toBe(true);
    expect(p.mayPublishPayload(operator, 'guardpost/bridge/request/door/unlock', payload({ by: 'someone-else' }))).toBe(false);
    expect(p.mayPublishPayload(operator, 'guardpost/bridge/request/door/unlock', payload({ door: 'x' }))).toBe(false);
    expect(p.mayPublishPayload(operator, 'guardpost/bridge/request/door/unlock', payload('not json'))).toBe(false);
    // Devices' payloads are the codecs' business, not the broker's.
    expect(p.mayPublishPayload({ kind: 'device', deviceId: 'r' }, 'guardpost/devices/r/input', payload('x'))).toBe(true);
  });
});
