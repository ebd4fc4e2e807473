import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal } from '../../../src/journal/index.js';
import { createLogger } from '../../../src/logger.js';
import { startBackupSchedule } from '../../../src/ops/backup.js';
import { Store } from '../../../src/store/index.js';
import { nextJournalEvent } from '../../support/journal.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function storeIn(): { store: Store; stateDir: string; journal: Journal } {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-schedule-'));
  const store = Store.open(stateDir);
  cleanups.push(() => fs.rmSync(stateDir, { recursive: true, force: true }));
  cleanups.push(() => store.close());
  return { store, stateDir, journal: new Journal(store.db, 'site-a') };
}

describe('scheduled backups', () => {
  it('writes a backup when the interval has passed, then again one interval later', async () => {
    const { store, stateDir, journal } = storeIn();
    const dir = path.join(stateDir, 'backups');
    let nowMs = Date.parse('2026-01-01T00:00:00Z');
    const schedule = startBackupSchedule({ db: store.db, stateDir, dir, site: 'site-a', intervalMs: 20, keep: 5, clock: () => (nowMs += 1_000), logger: createLogger('silent'), journal });
    cleanups.push(() => schedule.stop());
    const first = await nextJournalEvent(journal, (event) => event.type === 'backup.completed');
    const second = await nextJournalEvent(journal, (event) => event.type === 'backup.completed', first.seq);
    expect(first.data.file).not.toBe(second.data.file);
    expect(fs.readdirSync(dir).sort()).toEqual([first.data.file, second.data.file].sort());
  });

  it('journals a failed backup with the reason and keeps the schedule going', async () => {
    const { store, stateDir, journal } = storeIn();
    const blocked = path.join(stateDir, 'not-a-directory');
    fs.writeFileSync(blocked, 'a file where the backup directory should be');
    const schedule = startBackupSchedule({ db: store.db, stateDir, dir: blocked, site: 'site-a', intervalMs: 0, keep: 5, clock: Date.now, logger: createLogger('silent'), journal });
    cleanups.push(() => schedule.stop());
    expect(await schedule.runNow()).toBeNull();
    const failed = journal.query({ limit: 10, type: 'backup.failed' });
    expect(failed).toHaveLength(1);
    expect(String(failed[0]!.data.error)).toMatch(/^backup to .*not-a-directory\/guardpost-site-a-\d{8}T\d{6}Z\.db failed: .*(EEXIST|ENOTDIR)/);
  });
});
