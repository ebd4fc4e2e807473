import type { Severity } from '../severity.js';

/** Operations on the box itself (issue 10): backups, restores, schema and config migrations. */
export const opsEventTypes = {
  'backup.completed': 'info',
  /** A scheduled backup that failed: the site runs on with no fresh copy, someone must look. */
  'backup.failed': 'medium',
  'system.restored': 'low',
} as const satisfies Record<string, Severity>;
