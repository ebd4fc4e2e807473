import type { Severity } from '../severity.js';

/**
 * The site's threat level, and threat management (issue 12): suspicious patterns, visitors,
 * occupancy and mustering. Pattern events take the severity their rule sets in site data.
 */
export const threatEventTypes = {
  'threat.changed': 'high',
  /** [THR-DENIED-READS] [THR-WRONG-PINS] repeated refusals: also raised as an alarm (kind `suspicious`). */
  'access.suspicious': 'high',
  /** [THR-FORCED-AFTER-DENIED] a door forced shortly after a refused read at it. */
  'threat.forced_after_denied': 'critical',
  /** [THR-WATCHLIST] a watch-listed credential or person presented at a reader. */
  'threat.watchlist_presented': 'high',
  /** [THR-TRAVEL] one card at two doors faster than a person can walk between them. */
  'threat.impossible_travel': 'high',
  /** [THR-NOT-OPENED] granted, but the door never opened: a card passed back, or a test of the reader. */
  'threat.granted_not_opened': 'medium',
  'visitor.registered': 'info',
  /** [THR-VISITOR-SCREEN] a visitor matched the watch list: credential blocked, alarm raised. */
  'visitor.watchlist_match': 'critical',
  'visitor.checked_out': 'info',
  'visitor.expired': 'low',
  /** A visitor still inside an area at closing time. */
  'visitor.still_inside': 'medium',
  'watchlist.added': 'medium',
  'watchlist.removed': 'medium',
  /** [THR-CAPACITY] entry refused: the area is at its maximum occupancy. */
  'occupancy.exceeded': 'medium',
  'muster.started': 'critical',
  /** One person accounted for, by a marshal (API) or at a muster-point reader. */
  'muster.marked_safe': 'info',
  'muster.ended': 'high',
} as const satisfies Record<string, Severity>;
