import argon2 from 'argon2';
import { productCodecs, productTopic } from '../drivers/index.js';
import type { DeviceRecord } from '../store/index.js';
import { topicMatches, type BrokerPolicy, type BrokerRefusal } from '../transports/mqtt.js';
import type { Topics } from './topics.js';

export type MqttPrincipal =
  | { readonly kind: 'device'; readonly deviceId: string }
  | { readonly kind: 'observer' }
  /** A person or system sending bridge requests (config `mqtt.operators`). */
  | { readonly kind: 'operator'; readonly username: string }
  /** A product's own MQTT client speaking for many devices (a zigbee2mqtt instance, a Frigate NVR), confined to its prefix. */
  | { readonly kind: 'product-bridge'; readonly username: string; readonly prefix: string };

/** Config `mqtt.productBridges`: a product instance's login and the topic prefix it owns. */
export interface MqttProductBridge {
  readonly username: string;
  readonly passwordHash: string;
  readonly product: 'zigbee2mqtt' | 'frigate';
  /** Its base topic (zigbee2mqtt `base_topic`, Frigate `topic_prefix`); default the product's own. */
  readonly prefix?: string;
}

/** Each product's default base topic. */
export const PRODUCT_BRIDGE_PREFIXES: Readonly<Record<MqttProductBridge['product'], string>> = { zigbee2mqtt: 'zigbee2mqtt', frigate: 'frigate' };

export interface MqttOperator {
  readonly username: string;
  readonly passwordHash: string;
  /** Bridge verbs this login may send (an external system limited to `threat-level/raise`); undefined = all. */
  readonly requests?: readonly string[];
}

/** The password every demo device uses; accepted only while the config says `demo: true`. */
export const DEMO_DEVICE_PASSWORD = 'demo';

export interface DeviceBrokerPolicyOptions {
  readonly demo: boolean;
  readonly topics: Topics;
  readonly findDevice: (id: string) => DeviceRecord | undefined;
  readonly onRefused: (refusal: BrokerRefusal<MqttPrincipal>) => void;
  readonly findOperator?: (username: string) => MqttOperator | undefined;
  readonly findProductBridge?: (username: string) => MqttProductBridge | undefined;
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
    const bridge = this.options.findProductBridge?.(username);
    if (bridge !== undefined) {
      if (password === undefined) return null;
      const prefix = bridge.prefix ?? PRODUCT_BRIDGE_PREFIXES[bridge.product];
      return (await argon2.verify(bridge.passwordHash, password).catch(() => false)) ? { kind: 'product-bridge', username: bridge.username, prefix } : null;
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
    if (principal.kind === 'operator') {
      const prefix = `${topics.prefix}/bridge/request/`;
      if (!topic.startsWith(prefix)) return this.isHomeAssistantTopic(principal.username, topic);
      const allowed = this.options.findOperator?.(principal.username)?.requests;
      return allowed === undefined || allowed.includes(topic.slice(prefix.length));
    }
    if (principal.kind === 'product-bridge') return this.insideBridgePrefix(principal, topic);
    if (this.options.findDevice(principal.deviceId) === undefined) return false;
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
    if (principal.kind === 'device') {
      // A device removed from the site keeps no rights, even on a connection it opened before.
      if (this.options.findDevice(principal.deviceId) === undefined) return false;
      return filter === topics.deviceOutput(principal.deviceId) || this.productTopics(principal.deviceId, 'toDevice').includes(filter);
    }
    if (principal.kind === 'operator' && topicMatches(`${topics.prefix}/bridge/response/#`, filter)) return true;
    if (principal.kind === 'product-bridge') return this.insideBridgePrefix(principal, filter);
    // Operators read the bridge topics (info, devices, event, logging, responses) in zigbee2mqtt's manner.
    if (principal.kind === 'operator' && topicMatches(`${topics.prefix}/bridge/#`, filter)) return true;
    const ha = this.options.homeAssistant;
    if (principal.kind === 'operator' && ha !== undefined && principal.username === ha.operator && (topicMatches(`${ha.discoveryPrefix}/#`, filter) || topicMatches(`${topics.prefix}/ha/#`, filter))) return true;
    // Treating the requested filter as a topic, it must fall wholly inside an allowed filter.
    return topics.observerFilters.some((allowed) => topicMatches(allowed, filter));
  }

  /**
   * A product bridge owns `<prefix>/#` (its devices' states, its own bridge topics, the `set`
   * topics it listens on) and nothing else: never guardpost's own topics, never another prefix.
   * A filter must fall wholly inside it, so `#` or `+/…` is refused.
   */
  private insideBridgePrefix(principal: { readonly prefix: string }, topicOrFilter: string): boolean {
    const ownPrefix = this.options.topics.prefix;
    if (topicOrFilter === ownPrefix || topicOrFilter.startsWith(`${ownPrefix}/`)) return false;
    return topicMatches(`${principal.prefix}/#`, topicOrFilter);
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

  identify(principal: MqttPrincipal): string {
    switch (principal.kind) {
      case 'device':
        return `device:${principal.deviceId}`;
      case 'operator':
        return `operator:${principal.username}`;
      case 'product-bridge':
        return `product-bridge:${principal.username}`;
      case 'observer':
        return 'observer';
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
