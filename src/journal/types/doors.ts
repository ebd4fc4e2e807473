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
  /** [SAFE-SCHEDULE] free access hours began (data.schedule; data.firstPersonIn when a badge released it). */
  'door.unlocked_on_schedule': 'low',
  /** Free access hours ended (data.why: closed, threat-level, waiting-first-person, no-schedule); the strike is locked again. */
  'door.relocked_on_schedule': 'low',
  /** [SAFE-CLOCK] the clock is behind the newest journalled event: scheduled doors stay locked until it catches up. */
  'door.schedules_suspended': 'high',
  'door.schedules_resumed': 'medium',
} as const satisfies Record<string, Severity>;
