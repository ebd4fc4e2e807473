import type { Severity } from '../severity.js';

/** Delivery to the incident system and journal upkeep. Each type with its default severity. */
export const forwardersEventTypes = {
  /** A destination refused an event for good (e.g. HTTP 400): the cursor moved on, data.event = its id. */
  'forwarder.rejected': 'medium',
  /** A destination has failed for a while; data.lagEvents tells how far behind it is. */
  'forwarder.failing': 'high',
  /** A failing destination accepts events again. */
  'forwarder.restored': 'info',
  /** An admin asked for a destination to get events again from data.fromSeq (its cursor moved back). */
  'forwarder.resend': 'low',
  /** Retention deleted old events; data.deleted, data.heldBack (kept for an undelivered forwarder). */
  'journal.pruned': 'info',
  /**
   * The database stayed locked by another process until the journal's in-memory backlog was full:
   * data.dropped ordinary events (data.types by type, data.firstDroppedAt..lastDroppedAt) were not kept.
   */
  'journal.overflowed': 'high',
} as const satisfies Record<string, Severity>;
