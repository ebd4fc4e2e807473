import type { Severity } from '../severity.js';

/** Access decisions at readers. Each type with its default severity. */
export const accessEventTypes = {
  'access.granted': 'info',
  'access.denied': 'low',
  'access.error': 'high',
  /** [ACC-DURESS] granted with the duress PIN: alarms/ raises the silent duress alarm from it. */
  'access.duress': 'critical',
  /** [ACC-WATCHLIST] a watch-listed credential or person tried a door. */
  'access.watchlist': 'high',
  /** [ACC-PASSBACK] soft anti-passback: granted despite a violation. */
  'access.passback': 'medium',
  'access.passback_forgiven': 'info',
  /** [ACC-FIRST-IN] a scheduled-unlock door was released by its first person in. */
  'access.first_person_in': 'info',
} as const satisfies Record<string, Severity>;
