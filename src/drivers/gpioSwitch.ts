import type { DeviceSignal } from './types.js';

/**
 * What a switch on a GPIO input means. "Active" is the circuit made (after activeLow is
 * applied): a button held down, a door contact's reed held closed by the door's magnet.
 */
export function switchSignal(deviceKind: string, active: boolean): DeviceSignal {
  return deviceKind === 'door-contact' ? { type: 'contact', state: active ? 'closed' : 'open' } : { type: 'button', state: active ? 'pressed' : 'released' };
}
