import type { EventRow } from './journal.js';
import type { JournalEvent } from './events.js';

/** The `data` column of each event read through here, exactly as stored (JSON text). */
const storedData = new WeakMap<JournalEvent, string>();

/**
 * A journal row as an event whose `data` is parsed only when something reads it. Forwarders
 * send most events on without looking inside: a catch-up after an outage then serialises the
 * stored text once instead of parsing and re-serialising every event (eventJson below).
 * Same keys, same order and same values as `fromRow`.
 */
export function lazyEventFromRow(row: EventRow): JournalEvent {
  const event = {
    id: row.id,
    seq: row.seq,
    time: new Date(row.time_ms).toISOString(),
    type: row.type,
    severity: row.severity,
    site: row.site,
    door: row.door,
    device: row.device,
    cardholder: row.cardholder,
    reason: row.reason,
  } as Omit<JournalEvent, 'data'> & { data?: Record<string, unknown> };
  let parsed: Record<string, unknown> | undefined;
  Object.defineProperty(event, 'data', {
    enumerable: true,
    configurable: true,
    get: () => (parsed ??= JSON.parse(row.data) as Record<string, unknown>),
  });
  storedData.set(event as JournalEvent, row.data);
  return event as JournalEvent;
}

const text = (value: string | null): string => (value === null ? 'null' : JSON.stringify(value));

/** `JSON.stringify(event)`, without parsing the stored data of an event read by lazyEventFromRow. */
export function eventJson(event: JournalEvent): string {
  const data = storedData.get(event);
  if (data === undefined) return JSON.stringify(event);
  return (
    `{"id":${text(event.id)},"seq":${event.seq},"time":${text(event.time)},"type":${text(event.type)},"severity":${text(event.severity)},` +
    `"site":${text(event.site)},"door":${text(event.door)},"device":${text(event.device)},"cardholder":${text(event.cardholder)},"reason":${text(event.reason)},"data":${data}}`
  );
}
