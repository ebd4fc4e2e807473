import type { Severity } from '../severity.js';

/** The embedded broker: clients refused or cut off for breaking a limit (reason = which). */
export const brokerEventTypes = {
  'broker.limit_exceeded': 'medium',
} as const satisfies Record<string, Severity>;
