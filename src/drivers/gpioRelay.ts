import type { DeviceCommand } from './types.js';

/** How long a camera trigger line is held active. */
export const CAMERA_TRIGGER_PULSE_MS = 500;

/**
 * What a relay on a GPIO output does for a command: energise (for a time, or until told),
 * release, or refuse a command it has no output for. A strike relay is fail-secure: active
 * means unlocked. Pure; src/site/deviceBindings.ts drives the pin and the timer.
 */
export type RelayAction =
  | { readonly set: 'active'; readonly forMs?: number }
  | { readonly set: 'inactive' }
  | { readonly set: 'none'; readonly reason: string };

export function relayAction(deviceKind: string, command: DeviceCommand): RelayAction {
  switch (command.type) {
    case 'strike':
      if (deviceKind !== 'strike') return { set: 'none', reason: `a ${deviceKind} relay has no strike output` };
      if (command.action === 'pulse') return { set: 'active', forMs: command.durationMs };
      return command.action === 'unlock' ? { set: 'active' } : { set: 'inactive' };
    case 'camera':
      if (deviceKind !== 'camera') return { set: 'none', reason: `a ${deviceKind} relay has no camera trigger` };
      return { set: 'active', forMs: CAMERA_TRIGGER_PULSE_MS };
    case 'led':
    case 'buzzer':
      return { set: 'none', reason: `a relay has no ${command.type}` };
    default: {
      const unreachable: never = command;
      return unreachable;
    }
  }
}
