import type { Db } from '../store/db.js';

export interface RetentionPolicy {
  /** Events older than this may go; 0 keeps them forever. */
  readonly maxAgeMs: number;
  /** At most this many events are kept; 0 for no limit. */
  readonly maxEvents: number;
}

export interface PruneResult {
  readonly deleted: number;
  /** Events old or many enough to go that an undelivered forwarder still holds back. */
  readonly heldBack: number;
}

/** Rows deleted per statement, so one prune never blocks the event loop for long. */
const DELETE_CHUNK = 5_000;

/**
 * Deletes what the policy lets go, but never an event above `deliveredSeq`: the lowest cursor
 * of every enabled forwarder. The journal is the outbox; an undelivered event is still queued.
 * Pure apart from the database: time is a parameter.
 */
export function pruneJournal(db: Db, policy: RetentionPolicy, nowMs: number, deliveredSeq: number): PruneResult {
  if (policy.maxAgeMs <= 0 && policy.maxEvents <= 0) return { deleted: 0, heldBack: 0 };
  const newest = db.prepare<[], { seq: number | null }>('SELECT MAX(seq) AS seq FROM events').get()?.seq ?? 0;
  // The newest seq that policy would let go, by age and by count.
  let expiredSeq = 0;
  if (policy.maxAgeMs > 0) {
    const row = db.prepare<[number], { seq: number | null }>('SELECT MAX(seq) AS seq FROM events WHERE time_ms < ?').get(nowMs - policy.maxAgeMs);
    expiredSeq = Math.max(expiredSeq, row?.seq ?? 0);
  }
  if (policy.maxEvents > 0) {
    // The (maxEvents+1)-th newest event and everything before it go.
    const row = db.prepare<[number], { seq: number | null }>('SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET ?').get(policy.maxEvents);
    expiredSeq = Math.max(expiredSeq, row?.seq ?? 0);
  }
  const limitSeq = Math.min(expiredSeq, deliveredSeq, newest);
  const heldBack = expiredSeq > limitSeq ? (db.prepare<[number, number], { n: number }>('SELECT COUNT(*) AS n FROM events WHERE seq > ? AND seq <= ?').get(limitSeq, expiredSeq)?.n ?? 0) : 0;
  const remove = db.prepare<[number, number], never>('DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq <= ? ORDER BY seq LIMIT ?)');
  let deleted = 0;
  for (;;) {
    const changes = remove.run(limitSeq, DELETE_CHUNK).changes;
    deleted += changes;
    if (changes < DELETE_CHUNK) break;
  }
  return { deleted, heldBack };
}

export interface Retention {
  /** Runs one prune now (also what the timer does). */
  pruneNow(): PruneResult;
  stop(): void;
}

export interface RetentionDeps {
  readonly db: Db;
  readonly policy: RetentionPolicy;
  readonly intervalMs: number;
  readonly clock: () => number;
  /** The lowest cursor of every enabled forwarder (Infinity when there is none). */
  readonly deliveredSeq: () => number;
  readonly onPruned: (result: PruneResult) => void;
  readonly onError: (error: unknown) => void;
}

/** Prunes at start and then every intervalMs. */
export function startRetention(deps: RetentionDeps): Retention {
  const pruneNow = (): PruneResult => {
    const result = pruneJournal(deps.db, deps.policy, deps.clock(), deps.deliveredSeq());
    deps.onPruned(result);
    return result;
  };
  const tick = (): void => {
    try {
      pruneNow();
    } catch (error) {
      deps.onError(error);
    }
  };
  tick();
  const timer = setInterval(tick, deps.intervalMs);
  timer.unref();
  return { pruneNow, stop: () => clearInterval(timer) };
}
