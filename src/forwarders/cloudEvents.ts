import type { JournalEvent } from '../journal/index.js';
import type { Origin } from './types.js';

/** A journal event as a CloudEvent 1.0 (structured JSON mode), with the sequence extension. */
export interface CloudEvent {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly time: string;
  readonly subject?: string;
  readonly datacontenttype: 'application/json';
  /** CloudEvents sequence extension: a string, ordered per source. */
  readonly sequence: string;
  readonly severity: string;
  readonly data: JournalEvent;
}

export const CLOUDEVENT_CONTENT_TYPE = 'application/cloudevents+json';
export const CLOUDEVENT_BATCH_CONTENT_TYPE = 'application/cloudevents-batch+json';

export function toCloudEvent(event: JournalEvent, origin: Origin): CloudEvent {
  const subject = event.door ?? event.device ?? undefined;
  return {
    specversion: '1.0',
    // The journal id is stable across retries and restarts: receivers deduplicate on it.
    id: event.id,
    source: `/guardpost/${origin.site}/${origin.gateway}`,
    type: `guardpost.${event.type}`,
    time: event.time,
    ...(subject === undefined ? {} : { subject }),
    datacontenttype: 'application/json',
    sequence: String(event.seq),
    severity: event.severity,
    data: event,
  };
}
