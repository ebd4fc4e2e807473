import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { NEWEST_SCHEMA, PID_FILE } from '../../src/ops/backup.js';
import { BACKUP_INFO_TABLE } from '../../src/store/backupFile.js';
import { OSDP_KEY_FILE } from '../../src/store/osdpKeys.js';
import { PIN_KEY_FILE } from '../../src/store/pinKey.js';
import { cli, finished, spawnGuardpost } from '../support/cli.js';
import { nextJournalEvent } from '../support/journal.js';
import { connect, connectDevice, demoConfigFile, startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function gatewayOn(stateDir: string, configYaml?: string, clock?: () => number): Promise<TestGateway> {
  const gateway = await startTestGateway({ stateDir, ...(configYaml === undefined ? {} : { configYaml }), ...(clock === undefined ? {} : { clock }) });
  let stopped = false;
  cleanups.push(() => (stopped ? undefined : gateway.stop()));
  return { ...gateway, stop: async () => {
    stopped = true;
    await gateway.stop();
  } };
}

interface EventRow {
  seq: number;
  id: string;
  type: string;
}

function events(file: string): EventRow[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare<[], EventRow>('SELECT seq, id, type FROM events ORDER BY seq').all();
  } finally {
    db.close();
  }
}

describe('guardpost backup and restore', () => {
  it('takes a backup during a burst of badge reads that restores to a consistent database, with the PIN and OSDP keys, and the restored site grants as before', async () => {
    const liveDir = tempDir('gp-backup-live-');
    // The key that seals OSDP readers' Secure Channel keys, as a site with OSDP readers has it.
    fs.writeFileSync(path.join(liveDir, OSDP_KEY_FILE), crypto.randomBytes(32), { mode: 0o600 });
    const live = await gatewayOn(liveDir);
    const reader = await connectDevice(live.mqttUrl, 'main-entrance-reader');
    cleanups.push(() => reader.end());

    // A steady stream of journalled decisions while the backup runs.
    let burst = true;
    let sent = 0;
    const writing = (async () => {
      while (burst) {
        await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: String(70_000_000 + sent++) }));
      }
    })();
    await nextJournalEvent(live.gateway.journal, (event) => event.type === 'access.denied' && event.seq > 50);
    // The CLI is another process, as it is on the box: the gateway keeps writing while it copies.
    const file = path.join(tempDir('gp-backup-out-'), 'site.db');
    const backup = await finished(spawnGuardpost(['backup', file, '--config', demoConfigFile, '--state-dir', liveDir]));
    await nextJournalEvent(live.gateway.journal, (event) => event.type === 'access.denied', live.gateway.journal.query({ limit: 1 })[0]!.seq);
    burst = false;
    await writing;
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    const [summary, keyNote] = backup.stdout.trim().split('\n');
    expect(summary).toMatch(/^backed up .* \(site demo, schema \d+, \d+ events\) to .*site\.db: \d+ KiB in \d+ ms$/);
    expect(keyNote).toContain('pin.key');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);

    // Consistent: the backup's journal is an unbroken prefix of the live one, event for event.
    const copied = events(file);
    const current = events(path.join(liveDir, 'guardpost.db'));
    expect(copied.length).toBeGreaterThan(1);
    expect(copied.map((row) => row.seq)).toEqual(copied.map((_, index) => index + 1));
    expect(current.slice(0, copied.length)).toEqual(copied);
    expect(current.length).toBeGreaterThan(copied.length);

    // Restoring into a fresh directory gives a working site with the same PIN key.
    const restoredDir = tempDir('gp-backup-restored-');
    const restored = await cli('restore', file, '--state-dir', restoredDir);
    expect(restored.err).toEqual([]);
    expect(restored.code).toBe(0);
    expect(restored.out[0]).toMatch(/^restored .*site\.db \(site demo, schema \d+, \d+ events, taken \d{4}-.*Z\) into /);
    expect(fs.readFileSync(path.join(restoredDir, PIN_KEY_FILE))).toEqual(fs.readFileSync(path.join(liveDir, PIN_KEY_FILE)));
    expect(fs.statSync(path.join(restoredDir, PIN_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(restoredDir, OSDP_KEY_FILE))).toEqual(fs.readFileSync(path.join(liveDir, OSDP_KEY_FILE)));
    expect(fs.statSync(path.join(restoredDir, OSDP_KEY_FILE)).mode & 0o777).toBe(0o600);
    await live.stop();

    const again = await gatewayOn(restoredDir);
    const journal = again.gateway.journal.query({ afterSeq: 0, limit: 100_000 });
    expect(journal.slice(0, copied.length).map((event) => event.id)).toEqual(copied.map((row) => row.id));
    expect(journal.find((event) => event.type === 'system.restored')?.data).toMatchObject({ file: 'site.db', schemaVersion: NEWEST_SCHEMA });
    expect(again.gateway.store.audit.list({ limit: 10 }).find((entry) => entry.action === 'system.restored')).toMatchObject({ source: 'cli', target: 'demo' });
    const observer = await connect(again.mqttUrl);
    cleanups.push(() => observer.end());
    await observer.subscribe('guardpost/events');
    const badge = await connectDevice(again.mqttUrl, 'main-entrance-reader');
    cleanups.push(() => badge.end());
    await badge.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: '1001' }));
    expect(await observer.nextEvent((event) => event.type.startsWith('access.'))).toMatchObject({ type: 'access.granted', cardholder: 'alice-adams' });
  });

  it('refuses to restore while a gateway runs on the state directory, and restores once it stopped, moving the previous state aside', async () => {
    const stateDir = tempDir('gp-restore-busy-');
    const gateway = await gatewayOn(stateDir);
    const file = path.join(tempDir('gp-restore-file-'), 'before.db');
    expect((await cli('backup', file, '--state-dir', stateDir)).code).toBe(0);
    expect(fs.readFileSync(path.join(stateDir, PID_FILE), 'utf8').trim()).toBe(String(process.pid));

    const refused = await cli('restore', file, '--state-dir', stateDir);
    expect(refused.code).toBe(1);
    expect(refused.err).toEqual([`guardpost: a gateway (pid ${process.pid}) is running on ${stateDir}; stop it first (sudo systemctl stop guardpost), then restore`]);
    expect(gateway.gateway.store.db.open).toBe(true);

    await gateway.stop();
    expect(fs.existsSync(path.join(stateDir, PID_FILE))).toBe(false);
    const result = await cli('restore', file, '--state-dir', stateDir);
    expect(result.code).toBe(0);
    const aside = result.out.find((line) => line.startsWith('what was there before is in '))!.slice('what was there before is in '.length);
    expect(fs.readdirSync(aside).sort()).toEqual(['guardpost.db', 'pin.key']);
    // The aside copy still ends with this run's stop; the restored one does not.
    expect(events(path.join(aside, 'guardpost.db')).at(-1)?.type).toBe('system.stopped');
    expect(events(path.join(stateDir, 'guardpost.db')).map((row) => row.type)).toEqual(['system.started', 'system.restored']);
  });

  it('refuses a file that is not a guardpost backup, a damaged one and one from a newer schema, naming the problem, and changes nothing', async () => {
    const stateDir = tempDir('gp-restore-bad-');
    const gateway = await gatewayOn(stateDir);
    const dir = tempDir('gp-restore-bad-files-');
    const good = path.join(dir, 'good.db');
    expect((await cli('backup', good, '--state-dir', stateDir)).code).toBe(0);
    await gateway.stop();
    const before = fs.readFileSync(path.join(stateDir, 'guardpost.db'));

    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'these are not the bytes you are looking for\n'.repeat(200));
    const plain = path.join(dir, 'plain.db');
    new Database(plain).exec('CREATE TABLE t (x)').close();
    const damaged = path.join(dir, 'damaged.db');
    const bytes = fs.readFileSync(good);
    bytes.fill(0x5a, 4096 * 2, 4096 * 4);
    fs.writeFileSync(damaged, bytes);
    const newer = path.join(dir, 'newer.db');
    fs.copyFileSync(good, newer);
    const db = new Database(newer);
    db.pragma(`user_version = ${NEWEST_SCHEMA + 1}`);
    db.close();

    const expectations: [string, RegExp][] = [
      [path.join(dir, 'missing.db'), /^guardpost: no backup file at .*missing\.db$/],
      [text, /^guardpost: .*notes\.txt is not a guardpost backup: file is not a database$/],
      [plain, new RegExp(`^guardpost: .*plain\\.db is an SQLite database but not a guardpost backup \\(no ${BACKUP_INFO_TABLE} table\\)`)],
      [damaged, /^guardpost: (the backup .*damaged\.db is damaged \(integrity_check: .*\); use another backup|.*damaged\.db is not a guardpost backup: database disk image is malformed)$/],
      [newer, new RegExp(`^guardpost: the backup .*newer\\.db has schema version ${NEWEST_SCHEMA + 1}, newer than this guardpost \\(${NEWEST_SCHEMA}\\)`)],
    ];
    for (const [file, message] of expectations) {
      const result = await cli('restore', file, '--state-dir', stateDir);
      expect(result.code, file).toBe(1);
      expect(result.err[0], file).toMatch(message);
    }
    expect(fs.readFileSync(path.join(stateDir, 'guardpost.db'))).toEqual(before);
    expect(fs.readdirSync(stateDir).filter((name) => name.startsWith('before-restore'))).toEqual([]);
  });

  it('keeps the newest scheduled backups only and journals each one', async () => {
    let nowMs = Date.parse('2026-11-23T10:00:00Z');
    const stateDir = tempDir('gp-backup-schedule-');
    const gateway = await gatewayOn(stateDir, 'demo: true\nbackup:\n  keep: 2', () => nowMs);
    const dir = path.join(stateDir, 'backups');
    for (let i = 0; i < 3; i++) {
      nowMs += 3_600_000;
      expect(await gateway.gateway.backups.runNow()).toMatchObject({ reason: 'scheduled', site: 'demo' });
    }
    expect(fs.readdirSync(dir).sort()).toEqual(['guardpost-demo-20261123T120000Z.db', 'guardpost-demo-20261123T130000Z.db']);
    const completed = gateway.gateway.journal.query({ afterSeq: 0, limit: 100, type: 'backup.completed' });
    expect(completed.map((event) => event.data.file)).toEqual(['guardpost-demo-20261123T110000Z.db', 'guardpost-demo-20261123T120000Z.db', 'guardpost-demo-20261123T130000Z.db']);
    expect(completed.at(-1)?.data.pruned).toBe(1);
  });
});
