import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { CardholderRulesRepository } from '../store/accessRules.js';
import { CardholdersRepository } from '../store/cardholders.js';
import { scanCardIndexFrom, type ScannedImage } from './cardIndexScan.js';

/** Worker thread of `scanCardIndexInWorker`: one full read of the people, answered as an image. */
const { databaseFile } = workerData as { databaseFile: string };
try {
  const db = new Database(databaseFile, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  try {
    const cards = scanCardIndexFrom(db, new CardholdersRepository(db), new CardholderRulesRepository(db));
    const image = cards.toImage();
    const arrays = [...image.arrays];
    // Several parts may be views of one buffer: each buffer is transferred once.
    const buffers = [...new Set(arrays.map(([, array]) => array.buffer as ArrayBuffer))];
    const answer: ScannedImage = { arrays, scalars: image.scalars, generation: cards.generation };
    parentPort?.postMessage(answer, buffers);
  } finally {
    db.close();
  }
} catch (error) {
  parentPort?.postMessage({ error: (error as Error).message });
}
