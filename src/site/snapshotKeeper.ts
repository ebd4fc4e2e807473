import fs from 'node:fs';
import path from 'node:path';
import type { CardIndex } from '../access/cardIndex.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/index.js';
import { writeCardSnapshotInBackground } from './cardSnapshot.js';
import { cardSnapshotFileOf, saveCardSnapshot, SNAPSHOT_MIN_CARDHOLDERS, snapshotStampOf } from './siteIndex.js';

/** A snapshot follows this long after the last people change, so a burst of edits is written once. */
export const SNAPSHOT_QUIET_MS = 2_000;
/** …but no later than this after the first change not yet in a snapshot, however busy the edits. */
export const SNAPSHOT_MAX_DELAY_MS = 60_000;
/** Change log rows pruned per turn of the event loop (a few ms each). */
const PRUNE_STEP_ROWS = 5_000;

export interface SnapshotKeeperDeps {
  readonly store: Store;
  readonly logger: Logger;
  /** The live index (the runtime swaps it on a full reload). */
  readonly cards: () => CardIndex;
  readonly quietMs?: number;
  readonly maxDelayMs?: number;
}

/**
 * Keeps the card index snapshot recent, so a crash costs a start from a recent snapshot plus the
 * change log, never a full read [ACC-INDEX]: after people changes (once they are quiet, or at the
 * latest `maxDelayMs` later) the snapshot is written in the background (cardSnapshot.ts copies the
 * arrays a chunk per turn to a worker thread), then the change log it covers is pruned in steps.
 * At stop, written synchronously if still behind.
 */
export class SnapshotKeeper {
  private timer: NodeJS.Timeout | undefined;
  private firstUnsavedMs: number | null = null;
  private writing: { cancel(): void } | null = null;
  private stopped = false;

  constructor(private readonly deps: SnapshotKeeperDeps) {
    // A write cut short by a crash leaves its temp file: never renamed, so only litter.
    const file = cardSnapshotFileOf(deps.store);
    if (file === null) return;
    const prefix = `${path.basename(file)}.`;
    try {
      for (const name of fs.readdirSync(path.dirname(file))) if (name.startsWith(prefix) && name.endsWith('.tmp')) fs.rmSync(path.join(path.dirname(file), name), { force: true });
    } catch (error) {
      deps.logger.warn({ err: error }, 'cannot remove a card index snapshot left half written');
    }
  }

  /** People in the index changed (or it was loaded behind the database): a snapshot is due. */
  changed(): void {
    if (this.stopped || cardSnapshotFileOf(this.deps.store) === null) return;
    const nowMs = performance.now();
    this.firstUnsavedMs ??= nowMs;
    const delayMs = Math.max(0, Math.min(this.deps.quietMs ?? SNAPSHOT_QUIET_MS, this.firstUnsavedMs + (this.deps.maxDelayMs ?? SNAPSHOT_MAX_DELAY_MS) - nowMs));
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.write(), delayMs);
    this.timer.unref();
  }

  /** Cancels a write in progress and writes synchronously if the index is ahead of the file. */
  stop(): string | null {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.writing?.cancel();
    return saveCardSnapshot(this.deps.store, this.deps.cards());
  }

  private write(): void {
    this.timer = undefined;
    if (this.stopped) return;
    if (this.writing !== null) return this.changed(); // after the one in progress
    const { store, logger } = this.deps;
    const cards = this.deps.cards();
    const file = cardSnapshotFileOf(store);
    if (file === null || !store.db.open || cards.cardholderIdCount < SNAPSHOT_MIN_CARDHOLDERS) return;
    const generation = store.cardholders.generation();
    // Only an index that is the database's current state is stamped as such; a catch-up comes first.
    if (cards.generation !== generation || cards.snapshotGeneration === generation) return;
    this.firstUnsavedMs = null;
    const startedMs = performance.now();
    const writing = writeCardSnapshotInBackground(file, cards, snapshotStampOf(store, generation), () => !this.stopped && store.db.open);
    this.writing = writing;
    void writing.done.then((result) => {
      this.writing = null;
      if (this.stopped) return;
      if (!result.ok) {
        if (result.changed) this.changed();
        else logger.warn({ reason: result.reason }, 'card index snapshot not written');
        return;
      }
      cards.snapshotGeneration = generation;
      logger.info({ generation, bytes: result.bytes, ms: Math.round(performance.now() - startedMs) }, 'card index snapshot written');
      this.prune(generation);
    });
  }

  /** The change log the new snapshot covers, a step per turn: a decision waits for one step at most. */
  private prune(generation: number): void {
    if (this.stopped || !this.deps.store.db.open) return;
    try {
      if (this.deps.store.cardholders.pruneChanges(generation, PRUNE_STEP_ROWS) === PRUNE_STEP_ROWS) setImmediate(() => this.prune(generation));
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'cannot prune the people change log; it is pruned again after the next snapshot');
    }
  }
}
