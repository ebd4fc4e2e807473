import type { Timers } from '../doors/timers.js';
import type { Logger } from '../logger.js';
import { isLockedError } from './backlog.js';
import type { Journal } from './journal.js';

/** How often a write another process's lock kept from disk is tried again. */
export const UNLOCKED_RETRY_MS = 250;

/**
 * [SAFE-LOCKED] Safety state (alarms, lockdowns, the threat level) that must take effect even
 * while another process holds the database's write lock: `save()` writes it with its event
 * durably, waiting only the journal's short wait; when the lock refuses it, the caller goes on in
 * memory, the event waits in the journal's own queue (in order), and the latest save per key is
 * retried from a timer until it lands.
 */
export class WhenUnlocked {
  private readonly pending = new Map<string, () => void>();
  private timer: unknown = null;

  constructor(
    private readonly deps: {
      readonly journal: Journal;
      readonly timers: Timers;
      readonly logger?: Pick<Logger, 'info' | 'error'>;
      /** What is kept, for logs ("alarm", "lockdown", "threat level"). */
      readonly what: string;
      readonly retryMs?: number;
    },
  ) {}

  /**
   * Saves state and journals its event in one durable transaction; when another process's lock
   * refuses it, the event goes to the journal's queue and the save to `later()` under `key`
   * (replacing an older save of the same state). False when it was kept for later.
   */
  save(key: string, save: () => void, journal: () => void): boolean {
    const written = this.now(() => {
      save();
      journal();
    });
    if (written) this.pending.delete(key);
    else {
      // Outside a transaction now: the journal keeps the event in memory while the lock lasts.
      journal();
      this.later(key, save);
    }
    return written;
  }

  /** Writes now, in one durable transaction; false when another process's lock refused it (nothing written). */
  private now(write: () => void): boolean {
    const { journal } = this.deps;
    try {
      journal.waitingBriefly(() => journal.durableTransaction(write));
      return true;
    } catch (error) {
      // Inside a caller's transaction (an API command with its audit row) the caller fails whole.
      if (!isLockedError(error) || journal.db.inTransaction) throw error;
      return false;
    }
  }

  /** Keeps `write` (replacing an earlier one under the same key) and tries it until it lands. */
  private later(key: string, write: () => void): void {
    this.pending.delete(key);
    this.pending.set(key, write);
    this.deps.logger?.error({ key }, `${this.deps.what}: another process holds the database's write lock; in force now, saved when the lock goes`);
    this.schedule();
  }

  get size(): number {
    return this.pending.size;
  }

  /** Ends the retries; what is still unsaved is said. */
  stop(): void {
    if (this.timer !== null) this.deps.timers.clear(this.timer);
    this.timer = null;
    if (this.pending.size > 0) this.deps.logger?.error({ keys: [...this.pending.keys()] }, `${this.deps.what}: ${this.pending.size} change(s) could not be saved before stopping (the database stayed locked by another process)`);
  }

  private schedule(): void {
    if (this.timer !== null || this.pending.size === 0) return;
    this.timer = this.deps.timers.set(() => {
      this.timer = null;
      for (const [key, write] of this.pending) {
        let written: boolean;
        try {
          written = this.now(write);
        } catch (error) {
          this.deps.logger?.error({ err: error, key }, `${this.deps.what}: saving failed; trying again`);
          break;
        }
        if (!written) break;
        this.pending.delete(key);
        this.deps.logger?.info({ key }, `${this.deps.what}: saved now that the database is free`);
      }
      this.schedule();
    }, this.deps.retryMs ?? UNLOCKED_RETRY_MS);
  }
}
