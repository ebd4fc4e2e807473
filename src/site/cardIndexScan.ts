import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { CardIndex, credentialKey } from '../access/cardIndex.js';
import type { IndexArray } from '../access/keyTable.js';
import type { CardholderRulesRepository } from '../store/accessRules.js';
import type { CardholdersRepository } from '../store/cardholders.js';
import type { Db } from '../store/db.js';
import { startModuleWorker } from '../workerThread.js';

/**
 * Reads every cardholder and credential into a compact index, row by row without an object per
 * row, in one read transaction with the generation it reflects [ACC-INDEX].
 */
export function scanCardIndexFrom(db: Db, cardholders: CardholdersRepository, rules: CardholderRulesRepository): CardIndex {
  let cards: CardIndex | undefined;
  db.transaction(() => {
    const generation = cardholders.generation();
    cards = new CardIndex(cardholders.sizesForIndex());
    const index = cards;
    const escorts = new Map(rules.listEscorts().map((escort) => [escort.cardholderId, { groupIds: escort.groupIds, windowMs: escort.windowMs }]));
    const noGroups: readonly string[] = [];
    cardholders.scanForIndex(
      (id, status, groups, pinDigest, duressDigest) => index.putCardholder({ id, status, groupIds: groups === null ? noGroups : groups.split(','), pinDigest, duressPinDigest: duressDigest, escort: escorts.get(id) ?? null }),
      (id, cardholderId, kind, number, status, validFromMs, validUntilMs) => index.putCredentialFields(id, cardholderId, kind, kind === 'card' ? credentialKey({ kind: 'card', digest: number }) : number, status, validFromMs, validUntilMs),
    );
    index.trim();
    index.generation = generation;
  })();
  return cards as CardIndex;
}

/** What a worker posts back: the index as an image (its arrays' buffers transferred, not copied). */
export interface ScannedImage {
  readonly arrays: [string, IndexArray][];
  readonly scalars: Record<string, unknown>;
  readonly generation: number | null;
}

/** What a worker reads: everything on one thread, or one half of a read on two (cardIndexWorker.ts). */
export type WorkerPart = 'whole' | 'holders' | 'credentials';

export type WorkerAnswer =
  /** A half's read transaction has begun at this people generation. */
  | { readonly kind: 'generation'; readonly generation: number }
  | { readonly kind: 'image'; readonly image: ScannedImage }
  | { readonly kind: 'error'; readonly error: string };

/** Starts the worker: compiled from dist/, or the TypeScript entry through tsx under tests. */
function startWorker(databaseFile: string, part: WorkerPart, handover?: { readonly port: MessagePort; readonly share: number }): Worker {
  const data = { databaseFile, part, ...(handover === undefined ? {} : { port: handover.port, share: handover.share }) };
  return startModuleWorker(import.meta.url, 'cardIndexWorker', data, handover === undefined ? [] : [handover.port]);
}

function indexOf(image: ScannedImage): CardIndex {
  const cards = CardIndex.fromImage({ arrays: new Map(image.arrays), scalars: image.scalars });
  cards.generation = image.generation;
  return cards;
}

/** One worker's answers as they come; rejects on an error answer or an exit before `done`. */
function answers(worker: Worker, name: string, onAnswer: (answer: Exclude<WorkerAnswer, { kind: 'error' }>) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    worker.on('message', (answer: WorkerAnswer) => {
      if (done) return;
      if (answer.kind === 'error') {
        done = true;
        return reject(new Error(`the card index worker (${name}) failed: ${answer.error}`));
      }
      try {
        if (onAnswer(answer)) {
          done = true;
          resolve();
        }
      } catch (error) {
        done = true;
        reject(error as Error);
      }
    });
    worker.once('error', (error) => {
      if (!done) reject(error);
      done = true;
    });
    worker.once('exit', (code) => {
      if (!done) reject(new Error(`the card index worker (${name}) exited with ${code} before it answered`));
      done = true;
    });
  });
}

/**
 * The same full read on a worker thread with its own read-only connection, so a full read while
 * the gateway runs never stalls decisions [ACC-INDEX]: the live index keeps deciding until this
 * one is ready.
 */
export async function scanCardIndexInWorker(databaseFile: string, signal?: AbortSignal): Promise<CardIndex> {
  signal?.throwIfAborted();
  const worker = startWorker(databaseFile, 'whole');
  const stop = (): void => void worker.terminate();
  signal?.addEventListener('abort', stop);
  let cards: CardIndex | undefined;
  try {
    await answers(worker, 'whole', (answer) => {
      if (answer.kind !== 'image') return false;
      cards = indexOf(answer.image);
      return true;
    });
  } finally {
    signal?.removeEventListener('abort', stop);
    void worker.terminate();
  }
  return cards as CardIndex;
}

/**
 * The share of the credential rows the cardholder half reads (SQL only) and hands to the
 * credential half, so both take about as long (2,000,000 people here: cardholders ~4.8 s;
 * credentials ~2.7 s of SQL and ~3.7 s into the key table).
 */
const HANDED_OVER_SHARE = 0.3;

/** Tries of a two-thread read whose halves saw different people generations (someone wrote between their BEGINs). */
const PARALLEL_READ_TRIES = 3;

/**
 * The full read split over two worker threads, each with its own read-only connection [ACC-INDEX]:
 * one reads the cardholders, the other the credentials, then merges the cardholder half into its
 * own and answers the whole index. Both read transactions must see one database state: each half
 * reports the people generation it began at, and halves that differ (a writer committed between
 * the two BEGINs) are abandoned and the read started again; after `PARALLEL_READ_TRIES` such
 * races, or when a half fails, one worker reads everything in one transaction, row by row.
 */
export async function scanCardIndexInWorkers(databaseFile: string, options: ParallelReadOptions = {}): Promise<CardIndex> {
  for (let attempt = 1; attempt <= PARALLEL_READ_TRIES; attempt++) {
    let cards: CardIndex | null;
    try {
      cards = await parallelRead(databaseFile, options);
    } catch (error) {
      // A half that failed (a batch that did not parse): the row-by-row read, still off the event loop.
      if (options.signal?.aborted === true) throw error;
      options.onNote?.(`reading row by row on one worker thread: ${(error as Error).message}`);
      return scanCardIndexInWorker(databaseFile, options.signal).catch((again: unknown) => {
        throw new Error(`${(error as Error).message}; then on one worker thread: ${(again as Error).message}`);
      });
    }
    if (cards !== null) return cards;
  }
  return scanCardIndexInWorker(databaseFile, options.signal);
}

export interface ParallelReadOptions {
  /** Ends the workers (the gateway stops); the read then rejects. */
  readonly signal?: AbortSignal;
  /**
   * Told when each half's read transaction has begun, at which people generation. The credential
   * half begins only after the cardholder half has, and after this returns (tests write here to
   * race the two halves).
   */
  readonly onBegun?: (part: 'holders' | 'credentials', generation: number) => void;
  /** Told why the read went another way than planned (for the log). */
  readonly onNote?: (note: string) => void;
}

/** One two-thread read; null when its halves read different generations. Rejects when `signal` aborts (the workers end). */
async function parallelRead(databaseFile: string, { signal, onBegun }: ParallelReadOptions): Promise<CardIndex | null> {
  signal?.throwIfAborted();
  // The cardholder half reads this share of the credential rows for the credential half (see cardIndexWorker.ts).
  const { port1, port2 } = new MessageChannel();
  const holders = startWorker(databaseFile, 'holders', { port: port1, share: HANDED_OVER_SHARE });
  const credentials = startWorker(databaseFile, 'credentials', { port: port2, share: HANDED_OVER_SHARE });
  const stop = (): void => {
    void holders.terminate();
    void credentials.terminate();
  };
  signal?.addEventListener('abort', stop);
  const generations: { holders?: number; credentials?: number } = {};
  let mixed = false;
  let cards: CardIndex | undefined;
  const sameState = (): void => {
    if (generations.holders === undefined || generations.credentials === undefined || generations.holders === generations.credentials) return;
    mixed = true;
    void holders.terminate();
    void credentials.terminate();
  };
  try {
    await Promise.all([
      answers(holders, 'cardholders', (answer) => {
        if (answer.kind === 'generation') {
          generations.holders = answer.generation;
          onBegun?.('holders', answer.generation);
          credentials.postMessage({ kind: 'begin' });
          return false;
        }
        // Handed on to the credential half, which merges: the buffers move, nothing is copied.
        credentials.postMessage(answer.image, [...new Set(answer.image.arrays.map(([, array]) => array.buffer as ArrayBuffer))]);
        return true;
      }),
      answers(credentials, 'credentials', (answer) => {
        if (answer.kind === 'generation') {
          generations.credentials = answer.generation;
          onBegun?.('credentials', answer.generation);
          sameState();
          return false;
        }
        cards = indexOf(answer.image);
        return true;
      }),
    ]);
  } catch (error) {
    if (mixed && signal?.aborted !== true) return null;
    throw error;
  } finally {
    signal?.removeEventListener('abort', stop);
    stop();
  }
  return mixed ? null : (cards as CardIndex);
}
