import type { Severity } from '../severity.js';

/** The site's threat level. */
export const threatEventTypes = {
  'threat.changed': 'high',
} as const satisfies Record<string, Severity>;
