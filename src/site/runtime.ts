import { NORMAL_CONDITIONS, type SiteConditions } from '../access/types.js';
import { codecs } from '../drivers/index.js';
import type { DeviceCommand, DeviceSignal } from '../drivers/types.js';
import type { Clock, Journal } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { DeviceRecord, Store } from '../store/index.js';
import type { MqttTransport } from '../transports/mqtt.js';
import { AccessPath } from './accessPath.js';
import { buildSiteIndex, credentialKeysOf, patchCardholder, type SiteIndex } from './siteIndex.js';
import type { Topics } from './topics.js';

export interface SiteRuntimeDeps {
  readonly store: Store;
  readonly journal: Journal;
  readonly transport: MqttTransport;
  readonly topics: Topics;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
}

/**
 * The controller of the site: binds devices to doors and runs the critical path
 * read → decide → actuate → journal as direct calls, failing closed on any exception.
 */
export class SiteRuntime {
  private index: SiteIndex;
  private readonly availability = new Map<string, 'online' | 'offline'>();
  private readonly accessPath: AccessPath;
  private conditions: SiteConditions = NORMAL_CONDITIONS;

  constructor(private readonly deps: SiteRuntimeDeps) {
    this.index = buildSiteIndex(deps.store);
    this.accessPath = new AccessPath({ ...deps, site: () => this.index, conditions: () => this.conditions, command: (deviceId, command, onSent) => this.command(deviceId, command, onSent) });
    deps.metrics.define('guardpost_bad_input_total', 'Device payloads dropped as malformed, by device and code');
  }

  async start(): Promise<void> {
    const { transport, topics, journal } = this.deps;
    journal.onAppend((event) => transport.publish(topics.events, JSON.stringify(event), { qos: 1 }));
    await transport.subscribe(topics.allDeviceInputs, (topic, payload) => this.onInput(topic, payload));
    await transport.subscribe(topics.allDeviceAvailability, (topic, payload) => this.onAvailability(topic, payload));
    const announce = (): void => transport.publish(topics.bridgeState, JSON.stringify({ state: 'online' }), { qos: 1, retain: true });
    announce();
    // An external broker may have lost our retained state (or published our will) while we were away.
    transport.onConnected(announce);
  }

  stop(): void {
    this.deps.transport.publish(this.deps.topics.bridgeState, JSON.stringify({ state: 'offline' }), { qos: 1, retain: true });
  }

  /** Re-reads site data after a change; the next read decides on the new data. */
  reload(): void {
    this.index = buildSiteIndex(this.deps.store);
  }

  /**
   * Changes cardholders (and their credentials, PINs, escorts) in the store and patches the live
   * index in place: at panel scale a full reload takes seconds, this takes microseconds per person.
   */
  changeCardholders(cardholderIds: readonly string[], write: () => void): void {
    const before = new Map(cardholderIds.map((id) => [id, credentialKeysOf(this.deps.store, id)]));
    this.deps.store.db.transaction(write)();
    for (const [id, keys] of before) patchCardholder(this.index, this.deps.store, id, keys);
  }

  /** Replaces the live conditions (threat level, lockdowns); the next read decides on them. */
  setConditions(conditions: SiteConditions): void {
    this.conditions = conditions;
  }

  /** Admin "forgive" for anti-passback [ACC-PASSBACK]: one cardholder or (null) everyone. */
  forgivePassback(cardholderId: string | null, by: string): number {
    return this.accessPath.forgivePassback(cardholderId, by);
  }

  get site(): SiteIndex {
    return this.index;
  }

  deviceAvailability(deviceId: string): 'online' | 'offline' | 'unknown' {
    return this.availability.get(deviceId) ?? 'unknown';
  }

  private onInput(topic: string, payload: Buffer): void {
    const deviceId = this.deps.topics.deviceIdOf(topic, 'input');
    const device = deviceId === undefined ? undefined : this.index.devices.get(deviceId);
    if (deviceId === undefined || device === undefined) {
      // Only reachable with an external broker, whose ACLs are not ours.
      this.badInput(deviceId ?? null, 'unknown_device', `input on ${topic.slice(0, 200)} from a device this site does not know`, payload.byteLength);
      return;
    }
    const codec = codecs.get(device.driver);
    if (codec === undefined) {
      this.badInput(device.id, 'unknown_driver', `no codec named "${device.driver}"`, payload.byteLength);
      return;
    }
    const decoded = codec.decode(payload);
    if (!decoded.ok) {
      this.badInput(device.id, decoded.error.code, decoded.error.message, payload.byteLength);
      return;
    }
    this.onSignal(device, decoded.signal);
  }

  private onSignal(device: DeviceRecord, signal: DeviceSignal): void {
    switch (signal.type) {
      case 'card':
        if (device.kind !== 'reader') return this.badInput(device.id, 'unexpected_signal', `a ${device.kind} cannot send card reads`, 0);
        return this.accessPath.onCard(device, signal.card);
      case 'wiegand':
        if (device.kind !== 'reader') return this.badInput(device.id, 'unexpected_signal', `a ${device.kind} cannot send Wiegand frames`, 0);
        return this.accessPath.onWiegand(device, signal.bits);
      case 'pin':
        if (device.kind !== 'reader') return this.badInput(device.id, 'unexpected_signal', `a ${device.kind} cannot send PINs`, 0);
        return this.accessPath.onPin(device, signal.pin, this.deps.store.pins);
      case 'button':
        if (device.kind === 'panic-button' && signal.state === 'pressed') {
          this.deps.journal.append({ type: 'alarm.raised', device: device.id, data: { source: 'panic-button', location: device.location } });
        }
        return;
      case 'tamper':
        if (signal.state === 'tampered') this.deps.journal.append({ type: 'device.tamper', device: device.id, data: { location: device.location } });
        return;
      case 'contact':
      case 'heartbeat':
        return;
      default: {
        const unreachable: never = signal;
        return unreachable;
      }
    }
  }

  /**
   * Momentary commands go at QoS 0 on purpose: a strike pulse that a broker delivered late,
   * after a device reconnects, would open the door for nobody.
   */
  command(deviceId: string, command: DeviceCommand, onSent?: (error?: Error) => void): void {
    const codec = codecs.get(this.index.devices.get(deviceId)?.driver ?? 'json');
    if (codec === undefined) throw new Error(`device ${deviceId} has no known codec`);
    this.deps.transport.publish(this.deps.topics.deviceOutput(deviceId), codec.encode(command), { qos: 0 }, onSent);
  }

  private onAvailability(topic: string, payload: Buffer): void {
    const deviceId = this.deps.topics.deviceIdOf(topic, 'availability');
    if (deviceId === undefined || !this.index.devices.has(deviceId)) return;
    const state = payload.toString('utf8').trim();
    if (state !== 'online' && state !== 'offline') {
      this.badInput(deviceId, 'bad_field', 'availability: expected online or offline', payload.byteLength);
      return;
    }
    if (this.availability.get(deviceId) === state) return;
    this.availability.set(deviceId, state);
    this.deps.journal.append({ type: state === 'online' ? 'device.online' : 'device.offline', device: deviceId });
  }

  private badInput(deviceId: string | null, code: string, message: string, bytes: number): void {
    const { metrics, logger, journal } = this.deps;
    metrics.increment('guardpost_bad_input_total', { device: deviceId ?? 'unknown', code });
    logger.warn({ device: deviceId, code, bytes }, `dropped bad input: ${message}`);
    journal.append({ type: 'device.bad_input', device: deviceId, reason: code, data: { message, bytes } });
  }
}
