import type { Severity } from '../severity.js';

/** Devices: presence, bad input, refusals, tamper. Each type with its default severity. */
export const devicesEventTypes = {
  'device.online': 'info',
  'device.offline': 'medium',
  'device.bad_input': 'low',
  'device.unauthorized': 'high',
  'device.tamper': 'high',
  /** A device needs a technician (power failure at a reader); `reason` names the condition. */
} as const satisfies Record<string, Severity>;
