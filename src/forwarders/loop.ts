import type { ForwarderConfig } from '../config/forwardersSchema.js';
import { isPriorityType, type Cursor, type EventInput, type JournalEvent, type Outbox } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { retryDelayMs } from './backoff.js';
import { wants, type EventFilter } from './filter.js';
import type { Destination, ForwarderKind } from './types.js';

/** Rows read per look at the journal: enough to fill a batch past filtered-out events. */
const READ_AHEAD_ROWS = 500;
/** How long stop() lets a delivery in flight finish before aborting it. */
const STOP_GRACE_MS = 2_000;

export type LoopState = 'starting' | 'idle' | 'delivering' | 'retrying' | 'stopped';

export interface ForwarderStatus {
  readonly id: string;
  readonly kind: ForwarderKind;
  readonly enabled: boolean;
  readonly state: LoopState | 'disabled';
  /** Every event up to this seq is delivered, rejected for good, or filtered out. */
  readonly cursorSeq: number;
  readonly lagEvents: number;
  /** Age of the oldest event not yet delivered; 0 when caught up. */
  readonly lagSeconds: number;
  readonly lastSuccess: string | null;
  readonly lastError: { readonly message: string; readonly at: string } | null;
  readonly failingSince: string | null;
  readonly delivered: number;
  readonly rejected: number;
}

export interface LoopDeps {
  readonly outbox: Outbox;
  /** Only for this loop's own events (forwarder.rejected, failing, restored). */
  readonly append: (input: EventInput) => JournalEvent;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: () => number;
  readonly random?: () => number;
}

/** A batch to send and where each cursor goes once it is acknowledged. */
interface Batch {
  readonly lane: 'priority' | 'main';
  readonly events: JournalEvent[];
  /** The cursor after this batch: covers filtered-out rows read along with the events. */
  readonly throughSeq: number;
}

/**
 * The one delivery loop every destination kind shares: reads forward from the destination's
 * durable cursor, sends, and moves the cursor only once the destination acknowledged.
 * Alarm-class events go first through a priority lane with its own cursor, in seq order, so a
 * panic press overtakes a backlog without breaking the order of one alarm's lifecycle.
 */
export class DeliveryLoop {
  private cursor: Cursor;
  private state: LoopState = 'starting';
  private stopped = false;
  private readonly abort = new AbortController();
  private wake: (() => void) | undefined;
  /** Cuts a backoff short: the destination said its connection is back. */
  private retryNow: (() => void) | undefined;
  /** Set by appends of alarm-class events so the priority lane is not queried for nothing. */
  private priorityMaybePending = true;
  /** After a batch was rejected, its range is retried one event at a time to find the bad one. */
  private singleUntilSeq = 0;
  private attempt = 0;
  private lastSuccessMs: number | null = null;
  private lastError: { message: string; atMs: number } | null = null;
  private failingSinceMs: number | null = null;
  private failingReported = false;
  private delivered = 0;
  private rejected = 0;
  private running: Promise<void> | undefined;
  private caughtUpWaiters: (() => void)[] = [];
  /** Bumped by rewind(): an acknowledgement of a batch read before it must not move the cursor. */
  private epoch = 0;

  constructor(
    private readonly destination: Destination,
    private readonly config: ForwarderConfig,
    private readonly deps: LoopDeps,
  ) {
    this.cursor = deps.outbox.cursor(destination.id);
    destination.onReady?.(() => this.retryNow?.());
  }

  get id(): string {
    return this.destination.id;
  }

  get cursorSeq(): number {
    return this.cursor.lastSeq;
  }

  start(): void {
    this.running = this.run().catch((error: unknown) => {
      // Unexpected (a bug or the database gone): say so loudly; the cursor is safe on disk.
      this.state = 'stopped';
      this.deps.logger.error({ err: error, destination: this.id }, 'forwarder loop stopped by an unexpected error');
    });
  }

  /** The journal calls this for every append: wake the loop, and note alarms for the priority lane. */
  notify(event: JournalEvent): void {
    if (isPriorityType(event.type)) this.priorityMaybePending = true;
    this.wake?.();
  }

  /** Resolves once every event journalled so far is delivered (or rejected, or filtered out). */
  caughtUp(): Promise<void> {
    const targetSeq = this.deps.outbox.lastSeq();
    if (this.state === 'idle' && this.cursor.lastSeq >= targetSeq) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.cursor.lastSeq >= targetSeq) resolve();
        else this.caughtUpWaiters.push(check);
      };
      this.caughtUpWaiters.push(check);
    });
  }

  /**
   * Resend: moves both cursors back so every event after `toSeq` goes to the destination again
   * (an incident system that lost data asks for a range). A batch in flight when this is called
   * still completes, but its acknowledgement no longer moves the cursor.
   */
  rewind(toSeq: number): void {
    this.epoch += 1;
    this.cursor = { ...this.cursor, lastSeq: toSeq, prioritySeq: toSeq, updatedMs: this.deps.clock() };
    this.deps.outbox.saveCursor(this.cursor);
    this.singleUntilSeq = 0;
    this.priorityMaybePending = true;
    this.wake?.();
    this.retryNow?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    // Let a delivery in flight finish and move the cursor (no needless duplicate after a
    // restart), but never hold a shutdown up for long.
    const grace = setTimeout(() => this.abort.abort(), STOP_GRACE_MS);
    await this.running;
    clearTimeout(grace);
    this.state = 'stopped';
  }

  status(): ForwarderStatus {
    const lag = this.deps.outbox.lag(this.cursor.lastSeq);
    const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
    return {
      id: this.id,
      kind: this.destination.kind,
      enabled: true,
      state: this.state,
      cursorSeq: this.cursor.lastSeq,
      lagEvents: lag.events,
      lagSeconds: lag.oldestMs === null ? 0 : Math.max(0, Math.round((this.deps.clock() - lag.oldestMs) / 1000)),
      lastSuccess: iso(this.lastSuccessMs),
      lastError: this.lastError === null ? null : { message: this.lastError.message, at: new Date(this.lastError.atMs).toISOString() },
      failingSince: iso(this.failingSinceMs),
      delivered: this.delivered,
      rejected: this.rejected,
    };
  }

  private async run(): Promise<void> {
    await this.destination.start();
    while (!this.stopped) {
      const batch = this.nextBatch();
      if (batch === undefined) {
        this.state = 'idle';
        for (const resolve of this.caughtUpWaiters.splice(0)) resolve();
        await this.sleep(undefined);
        continue;
      }
      if (batch.events.length === 0) {
        this.advance(batch);
        continue;
      }
      this.state = this.attempt === 0 ? 'delivering' : 'retrying';
      const epoch = this.epoch;
      const outcome = await this.destination.deliver(batch.events, this.abort.signal);
      if (this.abort.signal.aborted) break;
      // Rewound while this batch was out: the range is sent again from the new cursor.
      if (epoch !== this.epoch) continue;
      switch (outcome.kind) {
        case 'delivered':
          this.onDelivered(batch);
          break;
        case 'rejected':
          this.onRejected(batch, outcome.reason);
          break;
        case 'retry':
          await this.onRetry(outcome.reason, outcome.retryAfterMs);
          break;
        default: {
          const never: never = outcome;
          throw new Error(`unknown delivery outcome ${JSON.stringify(never)}`);
        }
      }
    }
    await this.destination.stop();
  }

  private get filter(): EventFilter {
    return this.config.filter;
  }

  private batchLimit(): number {
    return this.cursor.lastSeq < this.singleUntilSeq ? 1 : this.destination.batchSize;
  }

  private nextBatch(): Batch | undefined {
    const limit = this.batchLimit();
    if (this.priorityMaybePending) {
      const after = Math.max(this.cursor.lastSeq, this.cursor.prioritySeq);
      const rows = this.deps.outbox.readPriorityAfter(after, READ_AHEAD_ROWS);
      const batch = this.take(rows, limit, 'priority');
      if (batch !== undefined) return batch;
      this.priorityMaybePending = false;
    }
    // A destination that wants everything needs no read-ahead past its batch.
    const wantsAll = this.filter.types.length === 0 && this.filter.minSeverity === 'info';
    const rows = this.deps.outbox.readAfter(this.cursor.lastSeq, wantsAll ? limit : READ_AHEAD_ROWS);
    // Alarm-class events the priority lane already delivered are not sent twice.
    const fresh = rows.filter((event) => !(event.seq <= this.cursor.prioritySeq && isPriorityType(event.type)));
    const batch = this.take(fresh, limit, 'main');
    if (batch !== undefined) return batch;
    const last = rows.at(-1);
    return last === undefined ? undefined : { lane: 'main', events: [], throughSeq: last.seq };
  }

  /** Up to `limit` wanted events from `rows`; the cursor may skip the unwanted rows between them. */
  private take(rows: readonly JournalEvent[], limit: number, lane: Batch['lane']): Batch | undefined {
    const events: JournalEvent[] = [];
    let throughSeq: number | undefined;
    for (const event of rows) {
      if (wants(this.filter, event)) {
        if (events.length === limit) break;
        events.push(event);
      }
      throughSeq = event.seq;
    }
    if (throughSeq === undefined) return undefined;
    return { lane, events, throughSeq };
  }

  private advance(batch: Batch): void {
    const nowMs = this.deps.clock();
    this.cursor =
      batch.lane === 'priority'
        ? { ...this.cursor, prioritySeq: batch.throughSeq, updatedMs: nowMs }
        : { ...this.cursor, lastSeq: batch.throughSeq, updatedMs: nowMs };
    this.deps.outbox.saveCursor(this.cursor);
  }

  private onDelivered(batch: Batch): void {
    this.advance(batch);
    this.delivered += batch.events.length;
    this.deps.metrics.increment('guardpost_forwarder_delivered_total', { destination: this.id }, batch.events.length);
    this.lastSuccessMs = this.deps.clock();
    this.attempt = 0;
    if (this.failingReported) {
      this.deps.logger.info({ destination: this.id }, 'forwarder delivers again');
      this.deps.append({ type: 'forwarder.restored', data: { destination: this.id, failingSince: new Date(this.failingSinceMs ?? 0).toISOString() } });
    }
    this.failingSinceMs = null;
    this.failingReported = false;
  }

  private onRejected(batch: Batch, reason: string): void {
    this.attempt = 0;
    if (batch.events.length > 1) {
      // Which event is bad is unknown: resend this range one by one, so only that one is dropped.
      this.singleUntilSeq = batch.throughSeq;
      if (batch.lane === 'priority') this.priorityMaybePending = true;
      this.deps.logger.warn({ destination: this.id, reason, events: batch.events.length }, 'forwarder batch rejected; retrying its events one by one');
      return;
    }
    const event = batch.events[0];
    this.advance(batch);
    if (event === undefined) return;
    this.rejected += 1;
    this.lastError = { message: reason, atMs: this.deps.clock() };
    this.deps.metrics.increment('guardpost_forwarder_rejected_total', { destination: this.id });
    this.deps.logger.warn({ destination: this.id, event: event.id, seq: event.seq, type: event.type, reason }, 'forwarder destination rejected an event; moving on');
    // A destination that rejects its own rejection notices would feed itself forever: log only.
    if (event.type === 'forwarder.rejected' && event.data.destination === this.id) return;
    this.deps.append({
      type: 'forwarder.rejected',
      reason: 'rejected_by_destination',
      data: { destination: this.id, event: event.id, seq: event.seq, eventType: event.type, error: reason },
    });
  }

  private async onRetry(reason: string, retryAfterMs: number | undefined): Promise<void> {
    const nowMs = this.deps.clock();
    this.lastError = { message: reason, atMs: nowMs };
    this.failingSinceMs ??= nowMs;
    this.deps.metrics.increment('guardpost_forwarder_failures_total', { destination: this.id });
    const delayMs = retryDelayMs(this.attempt, this.config.initialBackoffMs, this.config.maxBackoffMs, retryAfterMs, this.deps.random);
    this.attempt += 1;
    this.deps.logger.warn({ destination: this.id, reason, attempt: this.attempt, retryInMs: delayMs }, 'forwarder delivery failed; will retry');
    if (!this.failingReported && nowMs - this.failingSinceMs >= this.config.failingAfterMs) {
      this.failingReported = true;
      const lag = this.deps.outbox.lag(this.cursor.lastSeq);
      this.deps.append({
        type: 'forwarder.failing',
        reason: 'delivery_failing',
        data: { destination: this.id, error: reason, failingSince: new Date(this.failingSinceMs).toISOString(), lagEvents: lag.events },
      });
    }
    this.state = 'retrying';
    await this.sleep(delayMs);
  }

  /** Waits for an append (delayMs undefined), or for delayMs; stop() always cuts it short. */
  private sleep(delayMs: number | undefined): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        this.wake = undefined;
        this.retryNow = undefined;
        resolve();
      };
      if (delayMs === undefined) this.wake = done;
      else {
        timer = setTimeout(done, delayMs);
        this.retryNow = done;
        // While backing off, new events do not cut the wait short; only stop() does.
        this.wake = () => {
          if (this.stopped) done();
        };
      }
    });
  }
}
