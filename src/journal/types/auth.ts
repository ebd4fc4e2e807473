import type { Severity } from '../severity.js';

/** Logins to the API and console. Each type with its default severity. */
export const authEventTypes = {
  'auth.login': 'info',
  'auth.login_failed': 'low',
  'auth.locked_out': 'medium',
} as const satisfies Record<string, Severity>;
