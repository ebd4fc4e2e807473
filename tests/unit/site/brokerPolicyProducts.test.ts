import { describe, expect, it } from 'vitest';
import { DeviceBrokerPolicy, type MqttPrincipal } from '../../../src/site/brokerPolicy.js';
import { Topics } from '../../../src/site/topics.js';
import type { DeviceRecord } from '../../../src/store/index.js';

const devices = new Map<string, DeviceRecord>(
  [
    { id: 'desk-panic', name: null, kind: 'panic-button', driver: 'zigbee2mqtt', location: null, passwordHash: null, binding: { topic: 'Reception panic' } },
    { id: 'lobby-strike', name: null, kind: 'strike', driver: 'tasmota', location: null, passwordHash: null, binding: { topic: 'lobby-relay' } },
  ].map((device) => [device.id, device as DeviceRecord]),
);
const policy = new DeviceBrokerPolicy({ demo: false, topics: new Topics('guardpost'), findDevice: (id) => devices.get(id), onRefused: () => undefined });
const as = (deviceId: string): MqttPrincipal => ({ kind: 'device', deviceId });

describe('DeviceBrokerPolicy: products on their own topics', () => {
  it('lets a zigbee2mqtt button publish exactly its state and availability topics', () => {
    expect(policy.mayPublish(as('desk-panic'), 'zigbee2mqtt/Reception panic')).toBe(true);
    expect(policy.mayPublish(as('desk-panic'), 'zigbee2mqtt/Reception panic/availability')).toBe(true);
    expect(policy.mayPublish(as('desk-panic'), 'zigbee2mqtt/Other button')).toBe(false);
    expect(policy.mayPublish(as('desk-panic'), 'zigbee2mqtt/Reception panic/set')).toBe(false);
  });

  it('lets a Tasmota strike subscribe to its own command topics only, with no wildcards', () => {
    expect(policy.maySubscribe(as('lobby-strike'), 'cmnd/lobby-relay/Backlog')).toBe(true);
    expect(policy.maySubscribe(as('lobby-strike'), 'cmnd/lobby-relay/POWER')).toBe(true);
    expect(policy.maySubscribe(as('lobby-strike'), 'cmnd/lobby-relay/#')).toBe(false);
    expect(policy.maySubscribe(as('lobby-strike'), 'cmnd/+/POWER')).toBe(false);
    expect(policy.maySubscribe(as('desk-panic'), 'cmnd/lobby-relay/Backlog')).toBe(false);
  });

  it('keeps a product device on its guardpost topics too, and off everyone else\'s', () => {
    expect(policy.mayPublish(as('lobby-strike'), 'tele/lobby-relay/LWT')).toBe(true);
    expect(policy.mayPublish(as('lobby-strike'), 'guardpost/devices/desk-panic/input')).toBe(false);
    expect(policy.mayPublish(as('lobby-strike'), 'cmnd/lobby-relay/POWER')).toBe(false); // commands come from the gateway only
  });
});
