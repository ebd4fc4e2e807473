import argon2 from 'argon2';
import { productCodecs, productTopic } from '../drivers/index.js';
import type { DeviceRecord } from '../store/index.js';
import { topicMatches, type BrokerPolicy, type BrokerRefusal } from '../transports/mqtt.js';
import type { Topics } from './topics.js';

export type MqttPrincipal =
  | { readonly kind: 'device'; readonly deviceId: string }
  | { readonly kind: 'observer' }
  /** A person or system sending bridge requests (config `mqtt.operators`). */
  | { readonly kind: 'operator'; readonly username: string };

export interface MqttOperator {
  readonly username: string;
  readonly passwordHash: string;
}

/** The password every demo device uses; accepted only while the config says `demo: true`. */
export const DEMO_DEVICE_PASSWORD = 'demo';

export interface DeviceBrokerPolicyOptions {
  readonly demo: boolean;
  readonly topics: Topics;
  readonly findDevice: (id: string) => DeviceRecord | undefined;
  readonly onRefused: (refusal: BrokerRefusal<MqttPrincipal>) => void;
  readonly findOperator?: (username: string) => MqttOperator | undefined;
  /** Home Assistant's operator may also use discovery and guardpost's HA topics (issue 10). */
  readonly homeAssistant?: { readonly operator: string; readonly discoveryPrefix: string };
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
    const operator = this.options.findOperator?.(username);
    if (operator !== undefined) {
      if (password === undefined) return null;
      return (await argon2.verify(operator.passwordHash, password).catch(() => false)) ? { kind: 'operator', username: operator.username } : null;
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
    if (principal.kind === 'operator') return topic.startsWith(`${topics.prefix}/bridge/request/`) || this.isHomeAssistantTopic(principal.username, topic);
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
    if (principal.kind === 'operator' && topicMatches(`${topics.prefix}/bridge/response/#`, filter)) return true;
    // Operators read the bridge topics (info, devices, event, logging, responses) in zigbee2mqtt's manner.
    if (principal.kind === 'operator' && topicMatches(`${topics.prefix}/bridge/#`, filter)) return true;
    const ha = this.options.homeAssistant;
    if (principal.kind === 'operator' && ha !== undefined && principal.username === ha.operator && (topicMatches(`${ha.discoveryPrefix}/#`, filter) || topicMatches(`${topics.prefix}/ha/#`, filter))) return true;
    // Treating the requested filter as a topic, it must fall wholly inside an allowed filter.
    return topics.observerFilters.some((allowed) => topicMatches(allowed, filter));
  }

  /** [SAFE-AUDIT] a bridge request must name its sender as `by`, so the journal records who asked. */
  mayPublishPayload(principal: MqttPrincipal, topic: string, payload: Buffer): boolean {
    if (principal.kind !== 'operator') return true;
    // Home Assistant's birth message ("online") is not a request: it names nobody.
    const ha = this.options.homeAssistant;
    if (ha !== undefined && principal.username === ha.operator && topic === `${ha.discoveryPrefix}/status`) return true;
    try {
      const request = JSON.parse(payload.toString('utf8')) as unknown;
      return typeof request === 'object' && request !== null && (request as { by?: unknown }).by === principal.username;
    } catch {
      return false;
    }
  }

  /** Home Assistant's birth message, and its commands on guardpost's HA topics (each names it as `by`). */
  private isHomeAssistantTopic(username: string, topic: string): boolean {
    const ha = this.options.homeAssistant;
    if (ha === undefined || username !== ha.operator) return false;
    return topic === `${ha.discoveryPrefix}/status` || topicMatches(`${this.options.topics.prefix}/ha/+/+/set`, topic);
  }

  refused(refusal: BrokerRefusal<MqttPrincipal>): void {
    this.options.onRefused(refusal);
  }
}
