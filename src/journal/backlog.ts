import type { JournalEvent } from './events.js';
import { isPriorityType } from './priority.js';
import { realTimers, type Timers } from '../doors/timers.js';

/** The event the journal hands back and fans out; its `seq` is filled in once it is written. */
export type WritableEvent = { -readonly [K in keyof JournalEvent]: JournalEvent[K] };

/** An event numbered and timed by the journal, with its data already serialised, waiting for the database. */
export interface PendingEvent {
  readonly event: WritableEvent;
  readonly timeMs: number;
  readonly dataText: string;
}

export interface BacklogLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface BacklogStatus {
  /** Events waiting in memory for the database. */
  readonly pending: number;
  /** When the oldest of them was observed (null when none waits). */
  readonly oldestMs: number | null;
  /** Times an append or a retry met the database locked by another process, since start. */
  readonly busyTotal: number;
  /** Ordinary events not kept because the backlog was full, since start (each one logged and summarised in `journal.overflowed`). */
  readonly droppedTotal: number;
}

/** What the backlog summarises in `journal.overflowed` once the database takes events again. */
export interface LostSummary {
  readonly dropped: number;
  readonly firstDroppedAt: string;
  readonly lastDroppedAt: string;
  readonly types: Readonly<Record<string, number>>;
}

export interface BacklogDeps {
  readonly clock: () => number;
  readonly timers?: Timers;
  readonly logger?: BacklogLogger;
  readonly maxPending?: number;
  /** Waits at stop (a timer that holds the process open, unlike the retry timer). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Writes a batch in one transaction, oldest first; returns their seqs, or throws (locked or otherwise). */
  writeBatch(batch: readonly PendingEvent[]): number[];
  /** Tells the journal's listeners about one event, now written. */
  written(event: JournalEvent): void;
  /** False while a transaction is open on the connection (or it is closed): retry later. */
  canWrite(): boolean;
  closed(): boolean;
  inTransaction(): boolean;
  isWritten(id: string): boolean;
  /** Journals the summary of events dropped past the cap, once the backlog has drained. */
  lost(summary: LostSummary): void;
}

/** Ordinary events kept in memory while the database is locked; ~1 KB each, so ~100 MB at most. */
export const MAX_PENDING_EVENTS = 100_000;
/** Events written per retry transaction: a backlog of thousands drains without one long stall. */
export const BACKLOG_BATCH = 500;
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 500;
const DRAIN_STEP_MS = 50;
/** Past the cap, a drop is logged the first time and then once per this many. */
const DROP_LOG_EVERY = 1_000;

export function isLockedError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** An event the table will never take (a constraint, a wrong type): retrying cannot help. */
function isRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof TypeError || error instanceof RangeError || (typeof code === 'string' && (code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG'));
}

function notify(listeners: ReadonlySet<() => void>): void {
  for (const listener of listeners) {
    try {
      listener();
    } catch {
      // metrics listeners own their errors
    }
  }
}

const silentLogger: BacklogLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
const refSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The journal's FIFO for events that met a write lock held by another process [JRN-LOCKED]:
 * ordered, bounded, retried from an unref'd timer with backoff, written in batches in order, and
 * only then fanned out. Every later append queues behind it, so `seq` follows append order.
 */
export class Backlog {
  private queue: PendingEvent[] = [];
  /** Index of the oldest event still waiting (the queue is shifted lazily, in batches). */
  private head = 0;
  private timer: unknown;
  private retries = 0;
  /** Writing one event at a time, to find the one the table refuses. */
  private isolating = false;
  private stopped = false;
  private busyTotal = 0;
  private droppedTotal = 0;
  private readonly busyListeners = new Set<() => void>();
  private readonly dropListeners = new Set<() => void>();
  /** The current stretch of time with events waiting: for the log lines at its start and end. */
  private episode: { startedMs: number; written: number; dropped: number; firstDroppedMs: number; lastDroppedMs: number; droppedTypes: Record<string, number>; lastError: string } | null = null;
  private readonly timers: Timers;
  private readonly logger: BacklogLogger;
  private readonly maxPending: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly deps: BacklogDeps) {
    this.timers = deps.timers ?? realTimers;
    this.logger = deps.logger ?? silentLogger;
    this.maxPending = deps.maxPending ?? MAX_PENDING_EVENTS;
    this.sleep = deps.sleep ?? refSleep;
  }

  get size(): number {
    return this.queue.length - this.head;
  }

  status(): BacklogStatus {
    return { pending: this.size, oldestMs: this.size > 0 ? this.queue[this.head]!.timeMs : null, busyTotal: this.busyTotal, droppedTotal: this.droppedTotal };
  }

  onBusy(listener: () => void): () => void {
    this.busyListeners.add(listener);
    return () => this.busyListeners.delete(listener);
  }

  onDropped(listener: () => void): () => void {
    this.dropListeners.add(listener);
    return () => this.dropListeners.delete(listener);
  }

  /** Queues an event behind those waiting; `lockedBy` is the error that sent the first one here. */
  add(pending: PendingEvent, lockedBy?: unknown): void {
    if (lockedBy !== undefined) this.busy(lockedBy);
    const episode = this.episode ?? this.startEpisode(pending, lockedBy);
    // [JRN-LOCKED] past the cap only ordinary events give way; alarm-class events are always kept.
    if (this.size >= this.maxPending && !isPriorityType(pending.event.type)) {
      this.droppedTotal += 1;
      notify(this.dropListeners);
      episode.dropped += 1;
      if (episode.dropped === 1) episode.firstDroppedMs = pending.timeMs;
      episode.lastDroppedMs = pending.timeMs;
      episode.droppedTypes[pending.event.type] = (episode.droppedTypes[pending.event.type] ?? 0) + 1;
      if (episode.dropped % DROP_LOG_EVERY === 1) {
        this.logger.error(
          { pending: this.size, dropped: episode.dropped, event: { id: pending.event.id, type: pending.event.type, time: pending.event.time } },
          `journal backlog full (${this.maxPending} events waiting for a database locked by another process): ordinary events are being DROPPED (${episode.dropped} so far); alarm-class events are still kept. Find what holds the database's write lock.`,
        );
      }
      return;
    }
    this.queue.push(pending);
    if (this.size === this.maxPending) {
      this.logger.error({ pending: this.size, waitingMs: this.deps.clock() - episode.startedMs }, `journal backlog reached its cap of ${this.maxPending} events: the database has been locked by another process for too long; further ordinary events will be dropped (counted, logged)`);
    }
    this.schedule(RETRY_FIRST_MS);
  }

  /**
   * Inside a transaction of the caller's: writes everything waiting first, through `insert`
   * (the connection's own wait), so it precedes the transaction's event. Should that
   * transaction roll back, they are queued again once it has (checked a microtask later).
   */
  flushInto(insert: (batch: readonly PendingEvent[]) => number[]): void {
    const batch = this.queue.slice(this.head);
    const seqs = insert(batch);
    this.queue = [];
    this.head = 0;
    this.committed(batch, seqs);
    const last = batch.at(-1)!;
    const check = (): void => {
      if (this.deps.inTransaction()) {
        this.timers.set(check, 0);
        return;
      }
      let written: boolean;
      try {
        written = this.deps.isWritten(last.event.id);
      } catch {
        written = false;
      }
      if (written) return;
      // Rolled back with the transaction: back to the front of the queue, in order.
      for (const pending of batch) pending.event.seq = 0;
      this.queue = [...batch, ...this.queue.slice(this.head)];
      this.head = 0;
      this.logger.warn({ events: batch.length }, 'events written inside a transaction that rolled back wait again for the database');
      this.episode ??= this.newEpisode();
      this.schedule(0);
    };
    queueMicrotask(check);
  }

  /**
   * Writes what waits, retrying until `maxWaitMs` has passed; stops the retry timer. Resolves to
   * how many events were not written, after saying so loudly.
   */
  async drain(maxWaitMs: number): Promise<number> {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    let waitedMs = 0;
    while (this.size > 0) {
      const outcome = this.deps.canWrite() ? this.writeOnce() : 'locked';
      if (outcome === 'written') continue;
      if (outcome === 'failed' || waitedMs >= maxWaitMs) break;
      await this.sleep(DRAIN_STEP_MS);
      waitedMs += DRAIN_STEP_MS;
    }
    const unwritten = this.size;
    if (unwritten > 0) this.reportUnwritten(`the database stayed locked by another process for the ${maxWaitMs} ms the stop allows`);
    return unwritten;
  }

  private reportUnwritten(why: string): void {
    const waiting = this.queue.slice(this.head);
    const types: Record<string, number> = {};
    for (const pending of waiting) types[pending.event.type] = (types[pending.event.type] ?? 0) + 1;
    this.logger.error(
      { unwritten: waiting.length, firstAt: waiting[0]!.event.time, lastAt: waiting.at(-1)!.event.time, firstId: waiting[0]!.event.id, types, lastError: this.episode?.lastError },
      `${waiting.length} journal events were NOT written at stop: ${why}; they are lost (never forwarded). Find what holds the database's write lock.`,
    );
  }

  private startEpisode(first: PendingEvent, lockedBy: unknown): NonNullable<Backlog['episode']> {
    const episode = this.newEpisode();
    episode.lastError = String((lockedBy as { code?: unknown } | undefined)?.code ?? lockedBy ?? 'unknown');
    this.episode = episode;
    this.logger.warn(
      { event: { id: first.event.id, type: first.event.type }, error: episode.lastError },
      'the database is locked by another process: events now wait in memory, in order, and are written and forwarded as soon as it is free',
    );
    return episode;
  }

  private newEpisode(): NonNullable<Backlog['episode']> {
    return { startedMs: this.deps.clock(), written: 0, dropped: 0, firstDroppedMs: 0, lastDroppedMs: 0, droppedTypes: {}, lastError: '' };
  }

  private busy(error: unknown): void {
    this.busyTotal += 1;
    if (this.episode !== null) this.episode.lastError = String((error as { code?: unknown } | null)?.code ?? error);
    notify(this.busyListeners);
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.timer !== undefined) return;
    this.timer = this.timers.set(() => {
      this.timer = undefined;
      this.retry();
    }, delayMs);
  }

  private retry(): void {
    if (this.size === 0) return;
    if (this.deps.closed()) {
      // The store closed without a drain (a stop that skipped it): nothing can write these any more.
      this.stopped = true;
      this.reportUnwritten('the database was closed before they could be written');
      return;
    }
    const outcome = this.deps.canWrite() ? this.writeOnce() : 'locked';
    if (outcome === 'written') {
      this.retries = 0;
      if (this.size > 0) this.schedule(0);
      return;
    }
    this.retries += 1;
    this.schedule(Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.min(this.retries, 10)));
  }

  /** One batch, oldest first (one event alone after a batch met an event the table refuses). */
  private writeOnce(): 'written' | 'locked' | 'failed' {
    const batch = this.queue.slice(this.head, this.head + (this.isolating ? 1 : BACKLOG_BATCH));
    let seqs: number[];
    try {
      seqs = this.deps.writeBatch(batch);
    } catch (error) {
      if (isLockedError(error)) {
        this.busy(error);
        return 'locked';
      }
      if (isRefusal(error)) {
        if (batch.length > 1) {
          // Find the one event the table refuses, so the others are not held back by it.
          this.isolating = true;
          return 'written';
        }
        // Appended directly it would have thrown to its caller; here nobody is left to tell.
        const refused = batch[0]!;
        this.droppedTotal += 1;
        notify(this.dropListeners);
        this.logger.error({ err: error, event: { id: refused.event.id, type: refused.event.type, time: refused.event.time } }, 'the database refused a journal event that waited in the backlog; it is DROPPED');
        this.head += 1;
        this.compact();
        if (this.size === 0) this.committed([], []);
        return 'written';
      }
      const message = (error as Error).message;
      if (this.episode !== null && this.episode.lastError !== message) {
        this.logger.error({ err: error, pending: this.size }, 'writing the journal backlog failed; retrying');
        this.episode.lastError = message;
      }
      return 'failed';
    }
    this.isolating = false;
    this.head += batch.length;
    this.compact();
    this.committed(batch, seqs);
    return 'written';
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 4 * BACKLOG_BATCH && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Written: numbered, heard by the listeners in order, and the episode closed if nothing waits. */
  private committed(batch: readonly PendingEvent[], seqs: readonly number[]): void {
    batch.forEach((pending, index) => {
      pending.event.seq = seqs[index]!;
    });
    for (const pending of batch) this.deps.written(pending.event);
    const episode = this.episode;
    if (episode === null) return;
    episode.written += batch.length;
    if (this.size > 0) return;
    this.episode = null;
    const waitedMs = this.deps.clock() - episode.startedMs;
    this.logger.info({ written: episode.written, waitedMs, dropped: episode.dropped }, `the database is free again: ${episode.written} events that waited ${waitedMs} ms are written, in order`);
    if (episode.dropped > 0) {
      this.deps.lost({
        dropped: episode.dropped,
        firstDroppedAt: new Date(episode.firstDroppedMs).toISOString(),
        lastDroppedAt: new Date(episode.lastDroppedMs).toISOString(),
        types: episode.droppedTypes,
      });
    }
  }
}
