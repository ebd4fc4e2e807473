import type { Severity } from '../severity.js';

/** Devices: presence, bad input, refusals, tamper. Each type with its default severity. */
export const devicesEventTypes = {
  'device.online': 'info',
  'device.offline': 'medium',
  'device.bad_input': 'low',
  'device.unauthorized': 'high',
  'device.tamper': 'high',
} as const satisfies Record<string, Severity>;
