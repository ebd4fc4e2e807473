import argon2 from 'argon2';
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
    return topic === topics.deviceInput(principal.deviceId) || topic === topics.deviceAvailability(principal.deviceId);
  }

  maySubscribe(principal: MqttPrincipal, filter: string): boolean {
    const { topics } = this.options;
    if (principal.kind === 'device') return filter === topics.deviceOutput(principal.deviceId);
    // Treating the requested filter as a topic, it must fall wholly inside an allowed filter.
    return topics.observerFilters.some((allowed) => topicMatches(allowed, filter));
  }

  refused(refusal: BrokerRefusal<MqttPrincipal>): void {
    this.options.onRefused(refusal);
  }
}
