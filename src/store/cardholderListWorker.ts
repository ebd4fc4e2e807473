import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { isGuardpostError } from '../errors.js';
import { CardholderListRepository, type CardholderListQuery } from './cardholderList.js';
import { DATABASE_FILE, PAGE_CACHE_KIB } from './db.js';
import type { ListAnswer, ListAsk } from './cardholderListThread.js';

/**
 * The cardholder list's queries on a thread of their own and a connection of their own
 * [SITE-LIST]: at panel scale a broad search sorts and counts a million people (over a second),
 * which must not be the gateway's event loop. Questions are answered one at a time, in order.
 */
const { stateDir } = workerData as { readonly stateDir: string };
const db = new Database(path.join(stateDir, DATABASE_FILE));
db.pragma('busy_timeout = 5000');
db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
const list = new CardholderListRepository(db);

parentPort!.on('message', ({ id, query }: ListAsk) => {
  let answer: ListAnswer;
  try {
    answer = { id, ok: true, ...list.page(query as CardholderListQuery) };
  } catch (error) {
    answer = isGuardpostError(error) ? { id, ok: false, code: error.code, message: error.message, details: [...error.details] } : { id, ok: false, code: 'GP_ERR_INTERNAL', message: (error as Error).message, details: [] };
  }
  parentPort!.postMessage(answer);
});
