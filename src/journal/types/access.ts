import type { Severity } from '../severity.js';

/** Access decisions at readers. Each type with its default severity. */
export const accessEventTypes = {
  'access.granted': 'info',
  'access.denied': 'low',
  'access.error': 'high',
} as const satisfies Record<string, Severity>;
