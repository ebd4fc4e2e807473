import type { DeviceSignal } from './types.js';

/**
 * What a switch on a GPIO input means. "Active" is the circuit made (after activeLow is
 * applied): a button held down, a door contact's reed held closed by the door's magnet.
 */
export function switchSignal(deviceKind: string, active: boolean): DeviceSignal {
  // A tamper switch is held closed by the enclosure's lid: the circuit breaking is the tamper.
  if (deviceKind === 'tamper-switch') return { type: 'tamper', state: active ? 'normal' : 'tampered' };
  // A fire-alarm panel's output is a contact too: it opens (breaks) in alarm.
  return deviceKind === 'door-contact' || deviceKind === 'fire-alarm' ? { type: 'contact', state: active ? 'closed' : 'open' } : { type: 'button', state: active ? 'pressed' : 'released' };
}

/**
 * What a sensor in alarm (or back to normal) means for its kind: a button pressed, a door contact
 * or a fire panel's relay open. For inputs that report alarm/normal rather than a circuit (EOL loops).
 */
export function alarmSignal(deviceKind: string, inAlarm: boolean): DeviceSignal {
  return deviceKind === 'door-contact' || deviceKind === 'fire-alarm' ? { type: 'contact', state: inAlarm ? 'open' : 'closed' } : { type: 'button', state: inAlarm ? 'pressed' : 'released' };
}
