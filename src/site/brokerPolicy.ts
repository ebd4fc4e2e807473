import argon2 from 'argon2';
import { productCodecs, productTopic } from '../drivers/index.js';
import type { DeviceRecord } from '../store/index.js';
import { topicMatches, type BrokerPolicy, type BrokerRefusal } from '../transports/mqtt.js';
import type { Topics } from './topics.js';

export type MqttPrincipal = { readonly kind: 'device'; readonly deviceId: string } | { readonly kind: 'observer' };

/** The password every demo device uses; accepted only while the config says `demo: true`. */
export const DEMO_DEVICE_PASSWORD = 'demo';

export interface DeviceBrokerPolicyOptions {
  readonly demo: boolean;
  readonly topics: Topics;
  readonly findDevice: (id: string) => DeviceRecord | undefined;
  readonly onRefused: (refusal: BrokerRefusal<MqttPrincipal>) => void;
}

/**
 * The embedded broker's rules: every device logs in as itself (username = device id) and may
 * publish only its own input and availability and subscribe only to its own output, so a
 * device cannot inject a card read for another reader. Anonymous clients are refused, except
 * read-only observers in demo mode.
 */
export class DeviceBrokerPolicy implements BrokerPolicy<MqttPrincipal> {
  constructor(private readonly options: DeviceBrokerPolicyOptions) {}

  async authenticate(_clientId: string, username: string | undefined, password: Buffer | undefined): Promise<MqttPrincipal | null> {
    if (username === undefined || username === '') {
      return this.options.demo && password === undefined ? { kind: 'observer' } : null;
    }
    const device = this.options.findDevice(username);
    if (device === undefined || password === undefined) return null;
    if (device.passwordHash !== null) {
      return (await argon2.verify(device.passwordHash, password).catch(() => false)) ? { kind: 'device', deviceId: device.id } : null;
    }
    // [SEC-DEMO] a device without its own password exists only for the demo.
    return this.options.demo && password.toString('utf8') === DEMO_DEVICE_PASSWORD ? { kind: 'device', deviceId: device.id } : null;
  }

  mayPublish(principal: MqttPrincipal, topic: string): boolean {
    if (principal.kind === 'observer') return false;
    const { topics } = this.options;
    if (topic === topics.deviceInput(principal.deviceId) || topic === topics.deviceAvailability(principal.deviceId)) return true;
    return this.productTopics(principal.deviceId, 'fromDevice').includes(topic);
  }

  /** A product device (zigbee2mqtt, Tasmota, …) may use exactly its own product topics, and no others. */
  private productTopics(deviceId: string, direction: 'fromDevice' | 'toDevice'): string[] {
    const device = this.options.findDevice(deviceId);
    const codec = device === undefined ? undefined : productCodecs.get(device.driver);
    const deviceTopic = device?.binding?.topic;
    if (codec === undefined || deviceTopic === undefined) return [];
    return codec[direction].map((name) => productTopic(codec, name, deviceTopic));
  }

  maySubscribe(principal: MqttPrincipal, filter: string): boolean {
    const { topics } = this.options;
    if (principal.kind === 'device') return filter === topics.deviceOutput(principal.deviceId) || this.productTopics(principal.deviceId, 'toDevice').includes(filter);
    // Treating the requested filter as a topic, it must fall wholly inside an allowed filter.
    return topics.observerFilters.some((allowed) => topicMatches(allowed, filter));
  }

  refused(refusal: BrokerRefusal<MqttPrincipal>): void {
    this.options.onRefused(refusal);
  }
}
