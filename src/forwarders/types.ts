import type { ForwarderConfig } from '../config/forwardersSchema.js';
import type { JournalEvent } from '../journal/index.js';

export type ForwarderKind = ForwarderConfig['kind'];

/** What a destination said about one delivery. `deliver` never throws: every failure is one of these. */
export type DeliveryOutcome =
  /** Every event of the batch is acknowledged (HTTP 2xx, PUBACK, written to the socket). */
  | { readonly kind: 'delivered' }
  /** Refused for good (e.g. HTTP 400): retrying the same bytes cannot help. */
  | { readonly kind: 'rejected'; readonly reason: string }
  /** Not delivered this time (outage, 5xx, timeout): retry later, not before retryAfterMs. */
  | { readonly kind: 'retry'; readonly reason: string; readonly retryAfterMs?: number };

/** One file per kind implements this; the shared delivery loop (loop.ts) drives it. */
export interface Destination {
  readonly id: string;
  readonly kind: ForwarderKind;
  /** Events per deliver() call; 1 for kinds that send one event per message. */
  readonly batchSize: number;
  start(): Promise<void>;
  deliver(events: readonly JournalEvent[], signal: AbortSignal): Promise<DeliveryOutcome>;
  stop(): Promise<void>;
  /** Kinds with a connection call this when it is back, so the loop retries at once. */
  onReady?(listener: () => void): void;
}

/** Where the events come from, named in CloudEvents `source` and MQTT topics. */
export interface Origin {
  readonly site: string;
  readonly gateway: string;
}
