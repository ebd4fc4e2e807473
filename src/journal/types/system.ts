import type { Severity } from '../severity.js';

/** The gateway itself. Each type with its default severity. */
export const systemEventTypes = {
  'system.started': 'info',
  'system.stopped': 'info',
  'config.changed': 'low',
} as const satisfies Record<string, Severity>;
