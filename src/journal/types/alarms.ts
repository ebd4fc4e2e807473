import type { Severity } from '../severity.js';

/** Panic and other alarms. Each type with its default severity. */
export const alarmsEventTypes = {
  'alarm.raised': 'critical',
} as const satisfies Record<string, Severity>;
