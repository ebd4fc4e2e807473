import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal } from '../../../src/journal/journal.js';
import { startCheckpointer } from '../../../src/store/checkpointer.js';
import { DATABASE_FILE, openDatabase, type Db } from '../../../src/store/db.js';

let db: Db | undefined;
afterEach(() => {
  if (db?.open) db.close();
});

describe('WAL checkpoints on a worker thread', () => {
  it('stops the badge thread from checkpointing on commit, and folds the WAL into the database from the worker', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-checkpoint-'));
    db = openDatabase(dir);
    const errors: string[] = [];
    // An interval that never fires during the test: only the final checkpoint on stop() runs.
    const checkpointer = startCheckpointer(db, 3_600_000, (message) => errors.push(message));
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);

    const journal = new Journal(db, 'hq', () => Date.parse('2025-06-02T09:00:00Z'));
    const sizeBefore = fs.statSync(path.join(dir, DATABASE_FILE)).size;
    for (let index = 0; index < 2_000; index++) journal.append({ type: 'access.granted', door: 'main-entrance', data: { card: '****01', index } });
    // Nothing has reached the database file yet: it all sits in the WAL.
    expect(fs.statSync(path.join(dir, DATABASE_FILE)).size).toBe(sizeBefore);

    await checkpointer.stop();
    expect(fs.statSync(path.join(dir, DATABASE_FILE)).size).toBeGreaterThan(sizeBefore);
    expect(errors).toEqual([]);
    expect(journal.lastSeq()).toBe(2_000);
  });
});
