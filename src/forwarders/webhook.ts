import type { ForwarderConfig } from '../config/forwardersSchema.js';
import type { JournalEvent } from '../journal/index.js';
import { CLOUDEVENT_BATCH_CONTENT_TYPE, CLOUDEVENT_CONTENT_TYPE, toCloudEvent } from './cloudEvents.js';
import { HttpPoster, deliveryOutcome } from './httpPost.js';
import { sign } from './signature.js';
import type { DeliveryOutcome, Destination, Origin } from './types.js';

/**
 * HTTP(S) POST of CloudEvents signed the Standard Webhooks way. One event per request, or a
 * JSON array (`application/cloudevents-batch+json`) when batchSize > 1.
 * 2xx acknowledges; 408, 429 and 5xx retry (honouring Retry-After); any other 4xx rejects.
 */
export class WebhookDestination implements Destination {
  readonly kind = 'webhook';
  readonly id: string;
  readonly batchSize: number;
  private readonly secret: string;
  private readonly authorization: string | undefined;
  /** Posts to the URL without its user info, which becomes Basic authorization here. */
  private readonly poster: HttpPoster;

  constructor(
    private readonly config: ForwarderConfig,
    private readonly origin: Origin,
    private readonly clock: () => number = Date.now,
  ) {
    this.id = config.id;
    this.batchSize = config.batchSize;
    if (config.secret === undefined) throw new Error(`forwarder ${config.id}: a webhook needs a secret`);
    this.secret = config.secret;
    const url = new URL(config.url);
    this.authorization =
      url.username === '' && url.password === '' ? undefined : `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    url.username = '';
    url.password = '';
    this.poster = new HttpPoster(url, config.timeoutMs);
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    this.poster.close();
  }

  async deliver(events: readonly JournalEvent[], signal: AbortSignal): Promise<DeliveryOutcome> {
    const first = events[0];
    const last = events.at(-1);
    if (first === undefined || last === undefined) return { kind: 'delivered' };
    const batched = this.batchSize > 1;
    const body = batched ? JSON.stringify(events.map((event) => toCloudEvent(event, this.origin))) : JSON.stringify(toCloudEvent(first, this.origin));
    // One event: its journal id, stable across retries. A batch: its first and last ids.
    const messageId = batched ? `${first.id}_${last.id}` : first.id;
    const timestampSeconds = Math.floor(this.clock() / 1000);
    const answer = await this.poster.post(
      body,
      {
        'content-type': batched ? CLOUDEVENT_BATCH_CONTENT_TYPE : CLOUDEVENT_CONTENT_TYPE,
        'webhook-id': messageId,
        'webhook-timestamp': String(timestampSeconds),
        'webhook-signature': sign(this.secret, messageId, timestampSeconds, body),
        'user-agent': 'guardpost',
        ...(this.authorization === undefined ? {} : { authorization: this.authorization }),
      },
      signal,
    );
    return deliveryOutcome(answer, this.clock());
  }
}
