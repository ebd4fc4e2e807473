import type { ForwarderConfig } from '../config/forwardersSchema.js';
import type { JournalEvent, Severity } from '../journal/index.js';
import { HttpPoster, deliveryOutcome } from './httpPost.js';
import type { DeliveryOutcome, Destination, Origin } from './types.js';

/** PagerDuty Events API v2 actions, from the alarm lifecycle. */
export type PagerDutyAction = 'trigger' | 'acknowledge' | 'resolve';

export interface PagerDutyEvent {
  readonly routing_key: string;
  readonly event_action: PagerDutyAction;
  readonly dedup_key: string;
  readonly client: 'guardpost';
  readonly payload?: {
    readonly summary: string;
    readonly source: string;
    readonly severity: 'critical' | 'error' | 'warning' | 'info';
    readonly timestamp: string;
    readonly component?: string;
    readonly group: string;
    readonly class: string;
    readonly custom_details: JournalEvent;
  };
}

const SEVERITY: Record<Severity, 'critical' | 'error' | 'warning' | 'info'> = {
  critical: 'critical',
  high: 'error',
  medium: 'warning',
  low: 'info',
  info: 'info',
};

/** Raise → trigger, acknowledge → acknowledge, clear → resolve; escalate re-triggers the same incident. */
export function pagerDutyAction(type: string): PagerDutyAction {
  if (type === 'alarm.acknowledged') return 'acknowledge';
  if (type === 'alarm.cleared') return 'resolve';
  return 'trigger';
}

/** The PagerDuty event for a journal event, or why there can be none. */
export function toPagerDuty(event: JournalEvent, routingKey: string, origin: Origin): PagerDutyEvent | { readonly error: string } {
  const alarm = typeof event.data.alarm === 'string' && event.data.alarm !== '' ? event.data.alarm : undefined;
  const action = pagerDutyAction(event.type);
  // An acknowledge or resolve must name the incident it closes: the alarm id is the dedup key.
  if (action !== 'trigger' && alarm === undefined) return { error: `${event.type} without data.alarm cannot be matched to an incident` };
  const dedupKey = alarm ?? event.id;
  if (action !== 'trigger') return { routing_key: routingKey, event_action: action, dedup_key: dedupKey, client: 'guardpost' };
  const where = event.door ?? event.device ?? origin.gateway;
  const location = typeof event.data.location === 'string' ? ` (${event.data.location})` : '';
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: dedupKey,
    client: 'guardpost',
    payload: {
      summary: `${event.type} at ${where}${location}${event.reason === null ? '' : `: ${event.reason}`}`.slice(0, 1024),
      source: `${origin.site}/${origin.gateway}`,
      severity: SEVERITY[event.severity],
      timestamp: event.time,
      ...(event.door === null && event.device === null ? {} : { component: event.door ?? event.device ?? undefined }),
      group: origin.site,
      class: event.type,
      custom_details: event,
    },
  };
}

/**
 * PagerDuty Events API v2: POST `<url>/v2/enqueue`, one event per request, the alarm id as
 * dedup_key so an alarm's acknowledge and clear land on the incident its raise opened.
 * 2xx acknowledges; 429 and 5xx retry; 400 (invalid event) rejects.
 */
export class PagerDutyDestination implements Destination {
  readonly kind = 'pagerduty';
  readonly id: string;
  readonly batchSize = 1;
  private readonly poster: HttpPoster;
  private readonly routingKey: string;

  constructor(
    private readonly config: ForwarderConfig,
    private readonly origin: Origin,
    private readonly clock: () => number = Date.now,
  ) {
    this.id = config.id;
    if (config.routingKey === undefined) throw new Error(`forwarder ${config.id}: pagerduty needs a routingKey`);
    this.routingKey = config.routingKey;
    this.poster = new HttpPoster(new URL(`${config.url.replace(/\/+$/, '')}/v2/enqueue`), config.timeoutMs);
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    this.poster.close();
  }

  async deliver(events: readonly JournalEvent[], signal: AbortSignal): Promise<DeliveryOutcome> {
    const event = events[0];
    if (event === undefined) return { kind: 'delivered' };
    const body = toPagerDuty(event, this.routingKey, this.origin);
    if ('error' in body) return { kind: 'rejected', reason: body.error };
    const answer = await this.poster.post(JSON.stringify(body), { 'content-type': 'application/json', 'user-agent': 'guardpost' }, signal);
    // PagerDuty echoes nothing secret, but keep messages free of the routing key anyway.
    return deliveryOutcome(answer, this.clock(), (text) => text.replaceAll(this.routingKey, '[routing key]'));
  }
}
