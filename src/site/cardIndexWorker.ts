import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { CardIndex } from '../access/cardIndex.js';
import type { IndexImage } from '../access/keyTable.js';
import { CardholderRulesRepository } from '../store/accessRules.js';
import { CardholdersRepository } from '../store/cardholders.js';
import { BATCH_ROWS, CredentialPart, readHolderPart } from './cardIndexParts.js';
import { scanCardIndexFrom, type ScannedImage, type WorkerAnswer, type WorkerPart } from './cardIndexScan.js';

/**
 * Worker thread of `scanCardIndexInWorker` / `scanCardIndexInWorkers`: one full read of the
 * people ('whole'), or one half of it ('holders', 'credentials') on its own read-only connection
 * [ACC-INDEX]. Each half posts the people generation its read transaction sees as soon as it has
 * begun, so the caller can tell that both halves read the same database state.
 *
 * The credential half is the longer one (each credential goes into the key table, one at a time),
 * so the cardholder half first reads the top `share` of the credential rows (the SQL only) and
 * hands those batches over through `port`, then reads the cardholders; the credential half reads
 * the rest, takes in the batches handed over, then the cardholder half's image, and merges.
 */
const { databaseFile, part, port, share } = workerData as { databaseFile: string; part: WorkerPart; port?: MessagePort; share?: number };

const post = (answer: WorkerAnswer, transfer: ArrayBuffer[] = []): void => parentPort?.postMessage(answer, transfer);

/** The image's arrays, each buffer once (several parts may be views of one buffer). */
function imageMessage(cards: CardIndex): { image: ScannedImage; buffers: ArrayBuffer[] } {
  const image = cards.toImage();
  const arrays = [...image.arrays];
  return { image: { arrays, scalars: image.scalars, generation: cards.generation }, buffers: [...new Set(arrays.map(([, array]) => array.buffer as ArrayBuffer))] };
}

const imageOf = (scanned: ScannedImage): IndexImage => ({ arrays: new Map(scanned.arrays), scalars: scanned.scalars });

/** Messages of one port, awaited in order. */
class Inbox {
  private readonly queue: unknown[] = [];
  private waiting: ((message: unknown) => void) | null = null;

  constructor(from: MessagePort | NonNullable<typeof parentPort>) {
    from.on('message', (message: unknown) => {
      const resolve = this.waiting;
      this.waiting = null;
      if (resolve === null) this.queue.push(message);
      else resolve(message);
    });
  }

  next(): Promise<unknown> {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift());
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }
}

/** A batch of credential rows handed from the cardholder half to the credential half. */
type Handover = { readonly rows: number; readonly bytes: Uint8Array } | { readonly done: true };

async function run(): Promise<void> {
  const fromCaller = part === 'credentials' && parentPort !== null ? new Inbox(parentPort) : null;
  const fromHolders = part === 'credentials' && port !== undefined ? new Inbox(port) : null;
  // Begun only after the cardholder half has begun: between the two, nothing is read yet.
  await fromCaller?.next();
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
      const split = share === undefined || port === undefined ? null : cardholders.credentialRowidAt(1 - share);
      if (part === 'holders') {
        if (split !== null && port !== undefined) {
          cardholders.scanCredentialBatches(
            BATCH_ROWS,
            (rows, bytes) => {
              // A buffer of its own moves; one inside a shared pool is copied.
              const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
              const handed = own ? bytes : Uint8Array.from(bytes);
              port.postMessage({ rows, bytes: handed } satisfies Handover, [handed.buffer as ArrayBuffer]);
            },
            { after: split },
          );
          port.postMessage({ done: true } satisfies Handover);
        }
        cards = readHolderPart(cardholders, new CardholderRulesRepository(db));
      } else {
        const credentials = new CredentialPart(cardholders);
        credentials.read(cardholders, split === null ? {} : { upTo: split });
        cards = credentials.cards;
        if (fromHolders !== null) {
          for (let handed = (await fromHolders.next()) as Handover; !('done' in handed); handed = (await fromHolders.next()) as Handover) {
            credentials.add(handed.rows, Buffer.from(handed.bytes.buffer, handed.bytes.byteOffset, handed.bytes.byteLength));
          }
        }
      }
      cards.generation = generation;
    } finally {
      db.exec('COMMIT');
    }
  } finally {
    db.close();
  }
  if (part === 'holders') {
    // Arenas were sized by an estimate: what is handed over (whole buffers) should not carry the slack.
    cards.trim();
    const { image, buffers } = imageMessage(cards);
    port?.close();
    return post({ kind: 'image', image }, buffers);
  }
  const holders = (await fromCaller?.next()) as ScannedImage;
  const whole = CardIndex.merge(CardIndex.fromImage(imageOf(holders)), cards);
  whole.trim();
  whole.generation = cards.generation;
  const { image, buffers } = imageMessage(whole);
  post({ kind: 'image', image }, buffers);
}

run().catch((error: unknown) => post({ kind: 'error', error: (error as Error).message }));
