import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { openDatabase, type Db } from '../../src/store/db.js';

export interface TempDatabase {
  dir: string;
  /** Reassign after reopening `dir`; whatever is here after the test is closed. */
  db: Db;
}

/** A fresh, migrated database in its own temp directory for each test of the file; closed and removed after it. */
export function useTempDatabase(): TempDatabase {
  const current = {} as TempDatabase;
  beforeEach(() => {
    current.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-unit-'));
    current.db = openDatabase(current.dir);
  });
  afterEach(() => {
    if (current.db.open) current.db.close();
    fs.rmSync(current.dir, { recursive: true, force: true });
  });
  return current;
}
