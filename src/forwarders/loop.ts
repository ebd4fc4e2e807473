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
  readonly lane: LaneName;
  readonly events: JournalEvent[];
  /** The cursor after this batch: covers filtered-out rows read along with the events. */
  readonly throughSeq: number;
}

type LaneName = 'priority' | 'main';

/** One of the two delivery loops of a destination, each with its own backoff and wake-up. */
interface Lane {
  readonly name: LaneName;
  state: LoopState;
  attempt: number;
  /** After a batch was rejected, its range is retried one event at a time to find the bad one. */
  singleUntilSeq: number;
  wake: (() => void) | undefined;
  /** Cuts a backoff short: the destination said its connection is back. */
  retryNow: (() => void) | undefined;
}

const newLane = (name: LaneName): Lane => ({ name, state: 'starting', attempt: 0, singleUntilSeq: 0, wake: undefined, retryNow: undefined });

/**
 * The one delivery loop every destination kind shares: reads forward from the destination's
 * durable cursor, sends, and moves the cursor only once the destination acknowledged.
 *
 * Two lanes run at once. The priority lane sends alarm-class events in seq order from its own
 * cursor (`prioritySeq`), so a panic press goes out at once instead of waiting for a batch of the
 * backlog in flight. The main lane sends everything else; it never sends an alarm-class event and
 * never moves `lastSeq` past one the priority lane has not delivered, so "everything up to
 * lastSeq is delivered" stays true for retention and restarts.
 */
export class DeliveryLoop {
  private cursor: Cursor;
  private stopped = false;
  private readonly abort = new AbortController();
  private readonly priority = newLane('priority');
  private readonly main = newLane('main');
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
    destination.onReady?.(() => {
      this.priority.retryNow?.();
      this.main.retryNow?.();
    });
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
      this.priority.state = 'stopped';
      this.main.state = 'stopped';
      this.deps.logger.error({ err: error, destination: this.id }, 'forwarder loop stopped by an unexpected error');
    });
  }

  /** The journal calls this for every append: wake the lane the event belongs to. */
  notify(event: JournalEvent): void {
    if (isPriorityType(event.type)) this.priority.wake?.();
    else this.main.wake?.();
  }

  /** Resolves once every event journalled so far is delivered (or rejected, or filtered out). */
  caughtUp(): Promise<void> {
    const targetSeq = this.deps.outbox.lastSeq();
    if (this.cursor.lastSeq >= targetSeq) return Promise.resolve();
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
    for (const lane of [this.priority, this.main]) {
      lane.singleUntilSeq = 0;
      lane.wake?.();
      lane.retryNow?.();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.priority.wake?.();
    this.main.wake?.();
    // Let a delivery in flight finish and move the cursor (no needless duplicate after a
    // restart), but never hold a shutdown up for long.
    const grace = setTimeout(() => this.abort.abort(), STOP_GRACE_MS);
    await this.running;
    clearTimeout(grace);
    this.priority.state = 'stopped';
    this.main.state = 'stopped';
  }

  /** One state for the destination: the busier lane's. */
  private get state(): LoopState {
    const states = [this.priority.state, this.main.state];
    for (const state of ['stopped', 'retrying', 'delivering', 'starting'] as const) if (states.includes(state)) return state;
    return 'idle';
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
    await Promise.all([this.runLane(this.priority), this.runLane(this.main)]);
    await this.destination.stop();
  }

  private async runLane(lane: Lane): Promise<void> {
    while (!this.stopped) {
      if (lane.name === 'main' && this.priority.attempt > 0) {
        // The destination is failing alarms: when it comes back, they go first. The priority
        // lane wakes this one as soon as it delivers.
        lane.state = 'retrying';
        await this.sleep(lane, undefined);
        continue;
      }
      const batch = lane.name === 'priority' ? this.nextPriorityBatch() : this.nextMainBatch();
      if (batch === undefined) {
        lane.state = 'idle';
        if (lane.name === 'main') for (const resolve of this.caughtUpWaiters.splice(0)) resolve();
        await this.sleep(lane, undefined);
        continue;
      }
      if (batch.events.length === 0) {
        this.advance(batch);
        continue;
      }
      lane.state = lane.attempt === 0 ? 'delivering' : 'retrying';
      const epoch = this.epoch;
      const outcome = await this.destination.deliver(batch.events, this.abort.signal);
      if (this.abort.signal.aborted) break;
      // Rewound while this batch was out: the range is sent again from the new cursor.
      if (epoch !== this.epoch) continue;
      switch (outcome.kind) {
        case 'delivered':
          this.onDelivered(lane, batch);
          break;
        case 'rejected':
          this.onRejected(lane, batch, outcome.reason);
          break;
        case 'retry':
          await this.onRetry(lane, outcome.reason, outcome.retryAfterMs);
          break;
        default: {
          const never: never = outcome;
          throw new Error(`unknown delivery outcome ${JSON.stringify(never)}`);
        }
      }
    }
    lane.state = 'stopped';
  }

  private get filter(): EventFilter {
    return this.config.filter;
  }

  private batchLimit(lane: Lane, fromSeq: number): number {
    return fromSeq < lane.singleUntilSeq ? 1 : this.destination.batchSize;
  }

  /** Where the priority lane reads from: alarm-class events up to lastSeq are delivered too. */
  private get priorityFromSeq(): number {
    return Math.max(this.cursor.lastSeq, this.cursor.prioritySeq);
  }

  private nextPriorityBatch(): Batch | undefined {
    const after = this.priorityFromSeq;
    const rows = this.deps.outbox.readPriorityAfter(after, READ_AHEAD_ROWS);
    return this.take(rows, this.batchLimit(this.priority, after), 'priority');
  }

  private nextMainBatch(): Batch | undefined {
    const limit = this.batchLimit(this.main, this.cursor.lastSeq);
    // A destination that wants everything needs no read-ahead past its batch.
    const wantsAll = this.filter.types.length === 0 && this.filter.minSeverity === 'info';
    const rows = this.deps.outbox.readAfter(this.cursor.lastSeq, wantsAll ? limit : READ_AHEAD_ROWS);
    // Stop before the first alarm-class event the priority lane has not delivered yet: the main
    // lane may not move lastSeq past it. The priority lane wakes this one when it has.
    const ordinary: JournalEvent[] = [];
    for (const event of rows) {
      if (isPriorityType(event.type)) {
        if (event.seq > this.priorityFromSeq) break;
        continue;
      }
      ordinary.push(event);
    }
    const passed = ordinary.length === 0 ? undefined : ordinary[ordinary.length - 1];
    const firstBlocked = rows.find((event) => isPriorityType(event.type) && event.seq > this.priorityFromSeq);
    const throughLimit = firstBlocked === undefined ? Infinity : firstBlocked.seq - 1;
    const batch = this.take(ordinary, limit, 'main');
    if (batch !== undefined && batch.events.length > 0) return batch;
    // Nothing to send: move over the rows that need nothing (filtered out, or alarms already sent).
    const lastRow = rows.filter((event) => event.seq <= throughLimit).at(-1);
    const throughSeq = Math.max(batch?.throughSeq ?? 0, passed?.seq ?? 0, lastRow?.seq ?? 0);
    return throughSeq > this.cursor.lastSeq ? { lane: 'main', events: [], throughSeq } : undefined;
  }

  /** Up to `limit` wanted events from `rows`; the cursor may skip the unwanted rows between them. */
  private take(rows: readonly JournalEvent[], limit: number, lane: LaneName): Batch | undefined {
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
    // The main lane may be waiting for these alarms to go first (it resumes after this turn).
    if (batch.lane === 'priority') this.main.wake?.();
  }

  private onDelivered(lane: Lane, batch: Batch): void {
    this.advance(batch);
    this.delivered += batch.events.length;
    this.deps.metrics.increment('guardpost_forwarder_delivered_total', { destination: this.id }, batch.events.length);
    this.lastSuccessMs = this.deps.clock();
    lane.attempt = 0;
    if (this.failingReported) {
      this.deps.logger.info({ destination: this.id }, 'forwarder delivers again');
      this.deps.append({ type: 'forwarder.restored', data: { destination: this.id, failingSince: new Date(this.failingSinceMs ?? 0).toISOString() } });
    }
    this.failingSinceMs = null;
    this.failingReported = false;
  }

  private onRejected(lane: Lane, batch: Batch, reason: string): void {
    lane.attempt = 0;
    if (batch.events.length > 1) {
      // Which event is bad is unknown: resend this range one by one, so only that one is dropped.
      lane.singleUntilSeq = batch.throughSeq;
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

  private async onRetry(lane: Lane, reason: string, retryAfterMs: number | undefined): Promise<void> {
    const nowMs = this.deps.clock();
    this.lastError = { message: reason, atMs: nowMs };
    this.failingSinceMs ??= nowMs;
    this.deps.metrics.increment('guardpost_forwarder_failures_total', { destination: this.id });
    const delayMs = retryDelayMs(lane.attempt, this.config.initialBackoffMs, this.config.maxBackoffMs, retryAfterMs, this.deps.random);
    lane.attempt += 1;
    this.deps.logger.warn({ destination: this.id, lane: lane.name, reason, attempt: lane.attempt, retryInMs: delayMs }, 'forwarder delivery failed; will retry');
    if (!this.failingReported && nowMs - this.failingSinceMs >= this.config.failingAfterMs) {
      this.failingReported = true;
      const lag = this.deps.outbox.lag(this.cursor.lastSeq);
      this.deps.append({
        type: 'forwarder.failing',
        reason: 'delivery_failing',
        data: { destination: this.id, error: reason, failingSince: new Date(this.failingSinceMs).toISOString(), lagEvents: lag.events },
      });
    }
    lane.state = 'retrying';
    await this.sleep(lane, delayMs);
  }

  /** Waits for an append (delayMs undefined), or for delayMs; stop() always cuts it short. */
  private sleep(lane: Lane, delayMs: number | undefined): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        lane.wake = undefined;
        lane.retryNow = undefined;
        resolve();
      };
      if (delayMs === undefined) lane.wake = done;
      else {
        timer = setTimeout(done, delayMs);
        lane.retryNow = done;
        // While backing off, new events do not cut the wait short; only stop() does.
        lane.wake = () => {
          if (this.stopped) done();
        };
      }
    });
  }
}
