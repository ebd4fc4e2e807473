import type { Severity } from '../severity.js';

/** Doors: position alarms, releases, operator commands, lockdowns. Each type with its default severity. */
export const doorsEventTypes = {
  'door.forced': 'high',
  'door.held': 'medium',
  'door.closed': 'info',
  'door.unlocked': 'low',
  'door.released': 'high',
  'door.secured': 'medium',
  'door.lockdown': 'high',
  'door.lockdown_released': 'medium',
  'door.command_failed': 'high',
} as const satisfies Record<string, Severity>;
