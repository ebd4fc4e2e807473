import type { Actor } from '../doors/actor.js';
import { GuardpostError, isGuardpostError } from '../errors.js';
import type { Journal, JournalEvent } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { SiteRuntime } from '../site/runtime.js';
import type { MqttTransport } from '../transports/mqtt.js';
import { buildDiscovery, HaTopics, siteAlarmState, type DiscoveryOptions } from './discovery.js';

export interface HomeAssistantDeps {
  readonly transport: MqttTransport;
  readonly journal: Journal;
  readonly runtime: SiteRuntime;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly prefix: string;
  readonly site: { readonly id: string; readonly name: string };
  readonly discoveryPrefix: string;
  readonly operator: string;
  readonly armAwayLevel: string;
  readonly version: string;
  /** Which door has a contact (door hardware from the store). */
  readonly doorContacts: () => ReadonlyMap<string, string | null>;
}

/**
 * Home Assistant integration (off by default): publishes the discovery messages (retained) at
 * start, when site data changes and whenever Home Assistant announces itself on
 * `<discoveryPrefix>/status` = `online`; keeps the site panel's state, panic presses and device
 * availability on guardpost's HA topics; carries out the lock and panel commands in the name
 * of Home Assistant's operator, through the same services as every other command.
 */
export class HomeAssistant {
  private readonly topics: HaTopics;
  private published = new Set<string>();
  private unsubscribe: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly deps: HomeAssistantDeps) {
    this.topics = new HaTopics(deps.prefix);
    deps.metrics.define('guardpost_ha_commands_total', 'Home Assistant commands by kind and result');
  }

  async start(): Promise<void> {
    const { transport, discoveryPrefix } = this.deps;
    await transport.subscribe(`${discoveryPrefix}/status`, (_topic, payload) => {
      // HA's birth message: it (re)started and forgot non-retained state; tell it everything again.
      if (payload.toString('utf8').trim() === 'online') this.publishAll();
    });
    await transport.subscribe(this.topics.commands, (topic, payload) => this.onCommand(topic, payload));
    this.unsubscribe = this.deps.journal.onAppend((event) => this.onEvent(event));
    this.publishAll();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
  }

  /** Discovery, the site panel's state and every panic button's availability. */
  publishAll(): void {
    if (this.stopped) return;
    this.publishDiscovery();
    this.publishSiteState();
    for (const button of this.panicButtons()) this.publishAvailability(button.id);
  }

  private options(): DiscoveryOptions {
    const { discoveryPrefix, prefix, site, operator, version } = this.deps;
    return { discoveryPrefix, prefix, site, operator, version };
  }

  private panicButtons(): { id: string; name: string; location: string | null }[] {
    return [...this.deps.runtime.site.devices.values()].filter((device) => device.kind === 'panic-button').map((device) => ({ id: device.id, name: device.name ?? device.id, location: device.location ?? null }));
  }

  private publishDiscovery(): void {
    const contacts = this.deps.doorContacts();
    const doors = [...this.deps.runtime.site.doors.values()].map((door) => ({ id: door.id, name: door.name, contactDeviceId: contacts.get(door.id) ?? null }));
    const messages = buildDiscovery(this.options(), doors, this.panicButtons());
    const now = new Set(messages.map((message) => message.topic));
    for (const message of messages) this.deps.transport.publish(message.topic, JSON.stringify(message.payload), { qos: 1, retain: true });
    // A door or button removed from the site: an empty retained config removes it from HA.
    for (const topic of this.published) if (!now.has(topic)) this.deps.transport.publish(topic, '', { qos: 1, retain: true });
    this.published = now;
  }

  private publishSiteState(): void {
    const { safety } = this.deps.runtime;
    const state = siteAlarmState(safety.alarms.list().length, safety.threat.current().level);
    this.deps.transport.publish(this.topics.siteState, state, { qos: 1, retain: true });
  }

  private siteStatePending = false;

  private scheduleSiteState(): void {
    if (this.siteStatePending) return;
    this.siteStatePending = true;
    setImmediate(() => {
      this.siteStatePending = false;
      if (!this.stopped) this.publishSiteState();
    });
  }

  private publishAvailability(deviceId: string): void {
    // Unknown means never heard of a loss (a GPIO button reports no link): shown as available.
    const state = this.deps.runtime.deviceAvailability(deviceId) === 'offline' ? 'offline' : 'online';
    this.deps.transport.publish(this.topics.availability(deviceId), state, { qos: 1, retain: true });
  }

  private onEvent(event: JournalEvent): void {
    if (this.stopped) return;
    // After the change that journalled it is complete (an alarm is journalled before it is listed open).
    if (event.type.startsWith('alarm.') || event.type.startsWith('threat.')) this.scheduleSiteState();
    if ((event.type === 'alarm.raised' || event.type === 'alarm.repeated') && event.device !== null && this.deps.runtime.site.devices.get(event.device)?.kind === 'panic-button') {
      this.deps.transport.publish(this.topics.panic(event.device), JSON.stringify({ event_type: 'press', alarm: event.data.alarm ?? null, time: event.time }), { qos: 1 });
    }
    if ((event.type === 'device.online' || event.type === 'device.offline') && event.device !== null) this.publishAvailability(event.device);
    if (event.type === 'config.changed') this.publishDiscovery();
  }

  private onCommand(topic: string, payload: Buffer): void {
    const rest = topic.slice(`${this.deps.prefix}/ha/`.length).split('/');
    const [kind, id] = rest;
    try {
      let request: { by?: unknown; action?: unknown };
      try {
        request = JSON.parse(payload.toString('utf8')) as typeof request;
      } catch {
        throw new GuardpostError('GP_ERR_BAD_REQUEST', 'expected JSON {"by": …, "action": …} (the discovery command_template)');
      }
      // With an external broker anyone could publish here: only Home Assistant's operator may ask [SAFE-AUDIT].
      if (request.by !== this.deps.operator) throw new GuardpostError('GP_ERR_FORBIDDEN', `by: expected "${this.deps.operator}", Home Assistant's operator`);
      const actor: Actor = { via: 'mqtt', by: this.deps.operator };
      const action = String(request.action ?? '');
      if (kind === 'doors' && id !== undefined) this.doorCommand(id, action, actor);
      else if (kind === 'site' && id === 'panel') this.panelCommand(action, actor);
      else throw new GuardpostError('GP_ERR_NOT_FOUND', `no Home Assistant command topic ${topic.slice(0, 200)}`);
      this.deps.metrics.increment('guardpost_ha_commands_total', { kind: kind ?? 'unknown', result: 'ok' });
    } catch (error) {
      this.deps.metrics.increment('guardpost_ha_commands_total', { kind: kind ?? 'unknown', result: 'refused' });
      if (!isGuardpostError(error)) throw error;
      this.deps.logger.warn({ topic: topic.slice(0, 200), code: error.code }, `Home Assistant command refused: ${error.message}`);
    }
  }

  private doorCommand(doorId: string, action: string, actor: Actor): void {
    const { doors } = this.deps.runtime;
    if (!doors.has(doorId)) throw new GuardpostError('GP_ERR_NOT_FOUND', `no door "${doorId.slice(0, 64)}"`);
    switch (action) {
      case 'OPEN':
      case 'UNLOCK':
        // Momentary, as from the console: the door relocks after its unlockMs [SAFE-AUDIT: journalled with by].
        doors.unlock(doorId, actor, 'Home Assistant');
        return;
      case 'LOCK':
        // Doors relock by themselves; holding one locked is lockdown, which Home Assistant does through the panel.
        return;
      default:
        throw new GuardpostError('GP_ERR_BAD_REQUEST', `action: expected LOCK, UNLOCK or OPEN, got ${JSON.stringify(action).slice(0, 40)}`);
    }
  }

  private panelCommand(action: string, actor: Actor): void {
    const { threat } = this.deps.runtime.safety;
    switch (action) {
      case 'ARM_AWAY':
        threat.set(this.deps.armAwayLevel, actor, 'Home Assistant: arm away');
        return;
      case 'DISARM':
        threat.set('normal', actor, 'Home Assistant: disarm');
        return;
      default:
        throw new GuardpostError('GP_ERR_BAD_REQUEST', `action: expected ARM_AWAY or DISARM, got ${JSON.stringify(action).slice(0, 40)}`);
    }
  }
}
