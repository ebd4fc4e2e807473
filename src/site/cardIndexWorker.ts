import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { CardIndex } from '../access/cardIndex.js';
import type { IndexImage } from '../access/keyTable.js';
import { CardholderRulesRepository } from '../store/accessRules.js';
import { CardholdersRepository } from '../store/cardholders.js';
import { readCredentialPart, readHolderPart } from './cardIndexParts.js';
import { scanCardIndexFrom, type ScannedImage, type WorkerAnswer, type WorkerPart } from './cardIndexScan.js';

/**
 * Worker thread of `scanCardIndexInWorker` / `scanCardIndexInWorkers`: one full read of the
 * people ('whole'), or one half of it ('holders', 'credentials') on its own read-only connection.
 * Each half posts the people generation its read transaction sees as soon as it has begun, so the
 * caller can tell that both halves read the same database state. The credential half then waits
 * for the cardholder half's image, merges the two and answers the whole index [ACC-INDEX].
 */
const { databaseFile, part } = workerData as { databaseFile: string; part: WorkerPart };

const post = (answer: WorkerAnswer, transfer: ArrayBuffer[] = []): void => parentPort?.postMessage(answer, transfer);

/** The image's arrays, each buffer once (several parts may be views of one buffer). */
function imageMessage(cards: CardIndex): { image: ScannedImage; buffers: ArrayBuffer[] } {
  const image = cards.toImage();
  const arrays = [...image.arrays];
  return { image: { arrays, scalars: image.scalars, generation: cards.generation }, buffers: [...new Set(arrays.map(([, array]) => array.buffer as ArrayBuffer))] };
}

const imageOf = (scanned: ScannedImage): IndexImage => ({ arrays: new Map(scanned.arrays), scalars: scanned.scalars });

/** Messages from the caller, in order: the credential half's "begin", then the cardholder half's image. */
const inbox: unknown[] = [];
let waiting: ((message: unknown) => void) | null = null;
const next = (): Promise<unknown> =>
  inbox.length > 0
    ? Promise.resolve(inbox.shift())
    : new Promise((resolve) => {
        waiting = resolve;
      });

async function run(): Promise<void> {
  if (part === 'credentials') {
    parentPort?.on('message', (message: unknown) => {
      const resolve = waiting;
      waiting = null;
      if (resolve === null) inbox.push(message);
      else resolve(message);
    });
    // Begun only after the cardholder half has begun: between the two, nothing is read yet.
    await next();
  }
  const db = new Database(databaseFile, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  const cardholders = new CardholdersRepository(db);
  let cards: CardIndex;
  try {
    if (part === 'whole') {
      const { image, buffers } = imageMessage(scanCardIndexFrom(db, cardholders, new CardholderRulesRepository(db)));
      return post({ kind: 'image', image }, buffers);
    }
    // The read transaction begins with the generation read: everything after sees that state.
    db.exec('BEGIN');
    try {
      const generation = cardholders.generation();
      post({ kind: 'generation', generation });
      cards = part === 'holders' ? readHolderPart(cardholders, new CardholderRulesRepository(db)) : readCredentialPart(cardholders);
      cards.generation = generation;
    } finally {
      db.exec('COMMIT');
    }
  } finally {
    db.close();
  }
  if (part === 'holders') {
    const { image, buffers } = imageMessage(cards);
    return post({ kind: 'image', image }, buffers);
  }
  const holders = (await next()) as ScannedImage;
  const whole = CardIndex.merge(CardIndex.fromImage(imageOf(holders)), cards);
  whole.trim();
  whole.generation = cards.generation;
  const { image, buffers } = imageMessage(whole);
  post({ kind: 'image', image }, buffers);
}

run().catch((error: unknown) => post({ kind: 'error', error: (error as Error).message }));
