import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type { Db } from './db.js';

/**
 * Runs SQLite's WAL checkpoints on a worker thread with its own connection, so the fsync they
 * need never stalls the event loop that badges run on. The main connection stops checkpointing
 * on commit (wal_autocheckpoint = 0); if the worker dies, it takes the job back.
 */
export interface Checkpointer {
  stop(): Promise<void>;
}

// Plain JavaScript evaluated in the worker, so it runs the same from dist/ and under tests.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.betterSqlite3);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
// A checkpoint copies WAL frames to the database file; it needs no page cache of its own.
db.pragma('cache_size = -256');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (error) { parentPort.postMessage({ error: String(error) }); }
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
  db.close();
  parentPort.close();
});
`;

export function startCheckpointer(db: Db, intervalMs: number, onError: (message: string) => void): Checkpointer {
  const require = createRequire(import.meta.url);
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { file: db.name, intervalMs, betterSqlite3: require.resolve('better-sqlite3') },
  });
  db.pragma('wal_autocheckpoint = 0');
  let stopping = false;
  worker.on('message', (message: { error?: string }) => {
    if (message.error !== undefined) onError(`WAL checkpoint failed: ${message.error}`);
  });
  worker.on('error', (error) => onError(`WAL checkpoint worker failed: ${error.message}`));
  worker.on('exit', () => {
    if (stopping || !db.open) return;
    db.pragma('wal_autocheckpoint = 1000');
    onError('WAL checkpoint worker exited; checkpointing on commit again');
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        stopping = true;
        worker.once('exit', () => resolve());
        worker.postMessage('stop');
      }),
  };
}
