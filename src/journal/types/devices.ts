import type { Severity } from '../severity.js';

/** Devices: presence, bad input, refusals, tamper. Each type with its default severity. */
export const devicesEventTypes = {
  'device.online': 'info',
  'device.offline': 'medium',
  'device.bad_input': 'low',
  'device.unauthorized': 'high',
  'device.tamper': 'high',
  /** An OSDP reader took its own Secure Channel key in install mode; install mode is now off. */
  'device.osdp_key_set': 'info',
  /** A device needs a technician (power failure at a reader); `reason` names the condition. */
} as const satisfies Record<string, Severity>;
