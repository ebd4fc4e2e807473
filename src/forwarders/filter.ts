import type { ForwarderConfig } from '../config/forwardersSchema.js';
import { Severities, type JournalEvent } from '../journal/index.js';

export type EventFilter = ForwarderConfig['filter'];

/** Does a destination want this event? Types match exactly, or by domain (`alarm`, `alarm.*`). */
export function wants(filter: EventFilter, event: JournalEvent): boolean {
  if (Severities.indexOf(event.severity) < Severities.indexOf(filter.minSeverity)) return false;
  if (filter.types.length === 0) return true;
  return filter.types.some((pattern) => {
    const domain = pattern.endsWith('.*') ? pattern.slice(0, -2) : pattern.includes('.') ? undefined : pattern;
    return domain === undefined ? event.type === pattern : event.type.startsWith(`${domain}.`);
  });
}
