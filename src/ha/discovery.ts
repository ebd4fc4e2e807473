/**
 * Home Assistant MQTT device-based discovery payloads (`<prefix>/device/<object_id>/config`,
 * HA 2024.11+), built from the site: one HA device per door (a `lock` with `open`, and a
 * `binary_sensor` of device_class `door` when the door has a contact), one per panic button
 * (an `event`), and one for the site itself (an `alarm_control_panel` whose states are HA's
 * names). Pure: the caller publishes. Field names are HA's documented long names.
 */

export interface DiscoveryOptions {
  readonly discoveryPrefix: string;
  readonly prefix: string;
  readonly site: { readonly id: string; readonly name: string };
  /** The MQTT operator Home Assistant logs in as; its commands carry this name as `by`. */
  readonly operator: string;
  readonly version: string;
}

export interface DiscoveryDoor {
  readonly id: string;
  readonly name: string;
  readonly contactDeviceId: string | null;
}

export interface DiscoveryPanicButton {
  readonly id: string;
  readonly name: string;
  readonly location: string | null;
}

export interface DiscoveryMessage {
  readonly topic: string;
  readonly payload: DevicePayload;
}

export interface DevicePayload {
  readonly device: Record<string, unknown>;
  readonly origin: { readonly name: string; readonly sw_version: string; readonly support_url: string };
  readonly components: Record<string, Record<string, unknown> & { readonly platform: string }>;
  readonly availability: readonly Record<string, unknown>[];
  readonly availability_mode: 'all';
  readonly qos: 1;
}

/** HA's alarm_control_panel states (alarm_control_panel.mqtt): the only values the site panel publishes. */
export const HA_ALARM_STATES = ['disarmed', 'armed_home', 'armed_away', 'armed_night', 'armed_vacation', 'armed_custom_bypass', 'pending', 'triggered', 'arming', 'disarming'] as const;
export type HaAlarmState = (typeof HA_ALARM_STATES)[number];

/** The topics guardpost publishes for Home Assistant (besides the door states it already has). */
export class HaTopics {
  constructor(private readonly prefix: string) {}

  doorCommand(doorId: string): string {
    return `${this.prefix}/ha/doors/${doorId}/set`;
  }

  get siteState(): string {
    return `${this.prefix}/ha/site/state`;
  }

  get siteCommand(): string {
    return `${this.prefix}/ha/site/panel/set`;
  }

  panic(deviceId: string): string {
    return `${this.prefix}/ha/panic/${deviceId}`;
  }

  availability(deviceId: string): string {
    return `${this.prefix}/ha/devices/${deviceId}/availability`;
  }

  /** Everything Home Assistant sends commands on. */
  get commands(): string {
    return `${this.prefix}/ha/+/+/set`;
  }
}

/** object_id in discovery topics: [a-zA-Z0-9_-]; our ids are [a-z0-9-] already. */
const objectId = (site: string, kind: string, id: string): string => `guardpost_${site}_${kind}_${id}`.replace(/[^a-zA-Z0-9_-]/g, '_');

export function buildDiscovery(options: DiscoveryOptions, doors: readonly DiscoveryDoor[], panicButtons: readonly DiscoveryPanicButton[]): DiscoveryMessage[] {
  const { discoveryPrefix, prefix, site, operator, version } = options;
  const topics = new HaTopics(prefix);
  const origin = { name: 'guardpost', sw_version: version, support_url: 'https://github.com/guardpost/guardpost' };
  const gatewayIdentifier = `guardpost_${site.id}`;
  // Every entity is unavailable while the gateway is (its retained will says offline).
  const gatewayAvailability = { topic: `${prefix}/bridge/state`, value_template: '{{ value_json.state }}', payload_available: 'online', payload_not_available: 'offline' };
  const message = (kind: string, id: string, device: Record<string, unknown>, components: DevicePayload['components'], extraAvailability: Record<string, unknown>[] = []): DiscoveryMessage => ({
    topic: `${discoveryPrefix}/device/${objectId(site.id, kind, id)}/config`,
    payload: { device, origin, components, availability: [gatewayAvailability, ...extraAvailability], availability_mode: 'all', qos: 1 },
  });
  const command = (fields: string): string => `{"by": "${operator}", ${fields}}`;

  const messages: DiscoveryMessage[] = [
    message(
      'site',
      site.id,
      { identifiers: [gatewayIdentifier], name: `${site.name} (guardpost)`, manufacturer: 'guardpost', model: 'Access-control gateway', sw_version: version },
      {
        [`${site.id}_alarm`]: {
          platform: 'alarm_control_panel',
          name: 'Alarm',
          unique_id: `${gatewayIdentifier}_alarm`,
          state_topic: topics.siteState,
          command_topic: topics.siteCommand,
          command_template: command('"action": "{{ action }}"'),
          // ARM_AWAY sets the lockdown threat level, DISARM goes back to normal; HA's own users and code guard it.
          supported_features: ['arm_away'],
          code_arm_required: false,
          code_disarm_required: false,
          payload_arm_away: 'ARM_AWAY',
          payload_disarm: 'DISARM',
        },
      },
    ),
  ];
  for (const door of doors) {
    const components: DevicePayload['components'] = {
      [`${door.id}_lock`]: {
        platform: 'lock',
        name: 'Lock',
        unique_id: `${gatewayIdentifier}_${door.id}_lock`,
        command_topic: topics.doorCommand(door.id),
        command_template: command('"action": "{{ value }}"'),
        payload_lock: 'LOCK',
        payload_unlock: 'UNLOCK',
        payload_open: 'OPEN',
        state_topic: `${prefix}/doors/${door.id}/state`,
        value_template: "{% if value_json.position == 'open' %}OPEN{% elif value_json.lock == 'locked' %}LOCKED{% else %}UNLOCKED{% endif %}",
        state_locked: 'LOCKED',
        state_unlocked: 'UNLOCKED',
        state_open: 'OPEN',
        optimistic: false,
      },
    };
    if (door.contactDeviceId !== null) {
      components[`${door.id}_contact`] = {
        platform: 'binary_sensor',
        name: 'Door',
        device_class: 'door',
        unique_id: `${gatewayIdentifier}_${door.id}_contact`,
        state_topic: `${prefix}/doors/${door.id}/state`,
        value_template: "{{ 'ON' if value_json.position == 'open' else 'OFF' }}",
        payload_on: 'ON',
        payload_off: 'OFF',
      };
    }
    messages.push(message('door', door.id, { identifiers: [`${gatewayIdentifier}_door_${door.id}`], name: door.name, manufacturer: 'guardpost', model: 'Door', via_device: gatewayIdentifier }, components));
  }
  for (const button of panicButtons) {
    messages.push(
      message(
        'panic',
        button.id,
        { identifiers: [`${gatewayIdentifier}_device_${button.id}`], name: button.name, manufacturer: 'guardpost', model: 'Panic button', via_device: gatewayIdentifier, ...(button.location === null ? {} : { suggested_area: button.location }) },
        {
          [`${button.id}_press`]: {
            platform: 'event',
            name: 'Press',
            unique_id: `${gatewayIdentifier}_${button.id}_press`,
            device_class: 'button',
            event_types: ['press'],
            state_topic: topics.panic(button.id),
          },
        },
        [{ topic: topics.availability(button.id), payload_available: 'online', payload_not_available: 'offline' }],
      ),
    );
  }
  return messages;
}

/** The site panel's state in HA's words: an open alarm is `triggered`; a raised threat level is `armed_away`. */
export function siteAlarmState(openAlarms: number, threatLevel: string): HaAlarmState {
  if (openAlarms > 0) return 'triggered';
  return threatLevel === 'normal' ? 'disarmed' : 'armed_away';
}
