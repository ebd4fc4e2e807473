import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { GuardpostError } from '../errors.js';
import { Journal } from '../journal/index.js';
import type { Logger } from '../logger.js';
import { AuditRepository } from '../store/audit.js';
import { fileTimestamp, inspectBackup, sealBackup, unsealBackup, type BackupInfo } from '../store/backupFile.js';
import { DATABASE_FILE, type Db } from '../store/db.js';
import { migrations } from '../store/migrations/index.js';
import { STATE_KEY_FILES } from '../store/backupFile.js';

export const NEWEST_SCHEMA = migrations.at(-1)?.version ?? 0;

/** The running gateway's pid, so `guardpost restore` can refuse to pull the floor from under it. */
export const PID_FILE = 'guardpost.pid';

export interface BackupResult extends BackupInfo {
  readonly file: string;
  readonly bytes: number;
  readonly elapsedMs: number;
}

/**
 * SQLite's online backup (better-sqlite3 `db.backup()`), consistent while the gateway runs. The
 * gateway copies `pagesPerStep` pages at a time so a large database never holds the event loop
 * long; another process (the CLI) copies everything in one step, which a write from the
 * gateway between steps cannot restart (in WAL mode the gateway's writes do not wait for it).
 */
export async function backupDatabase(db: Db, stateDir: string, file: string, options: { readonly reason: string; readonly clock?: () => number; readonly pagesPerStep?: number }): Promise<BackupResult> {
  const clock = options.clock ?? Date.now;
  const startedMs = clock();
  const target = path.resolve(file);
  const partial = `${target}.partial-${process.pid}`;
  try {
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    fs.rmSync(partial, { force: true });
    const pages = options.pagesPerStep ?? 0x7fffffff;
    await db.backup(partial, { progress: () => pages });
    const info = sealBackup(partial, stateDir, { reason: options.reason, takenMs: startedMs });
    fs.renameSync(partial, target);
    return { ...info, file: target, bytes: fs.statSync(target).size, elapsedMs: clock() - startedMs };
  } catch (error) {
    try {
      fs.rmSync(partial, { force: true });
    } catch {
      // the directory itself is the problem; reported below
    }
    if (error instanceof GuardpostError) throw error;
    throw new GuardpostError('GP_ERR_STORE', `backup to ${target} failed: ${(error as Error).message}`);
  }
}

/** Opens a state directory's database for a backup from another process, without migrating it. */
export function openForBackup(stateDir: string): Db {
  const file = path.join(stateDir, DATABASE_FILE);
  if (!fs.existsSync(file)) throw new GuardpostError('GP_ERR_STORE', `no database at ${file}: is --state-dir (or the config's stateDir) right?`);
  const db = new Database(file, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > NEWEST_SCHEMA) {
    db.close();
    throw new GuardpostError('GP_ERR_STORE', `the database is at schema version ${version}, newer than this guardpost (${NEWEST_SCHEMA}); back it up with the guardpost that runs it`);
  }
  return db;
}

/** Written at start and removed at stop; a stale file (after a crash or power cut) names a dead pid. */
export function claimStateDir(stateDir: string, pid: number = process.pid): () => void {
  const file = path.join(stateDir, PID_FILE);
  fs.writeFileSync(file, `${pid}\n`, { mode: 0o644 });
  return () => {
    try {
      if (fs.readFileSync(file, 'utf8').trim() === String(pid)) fs.rmSync(file, { force: true });
    } catch {
      // already gone
    }
  };
}

/** The pid of a gateway running on this state directory, or null. */
export function runningGateway(stateDir: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(stateDir, PID_FILE), 'utf8').trim();
  } catch {
    return null;
  }
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    // EPERM: it exists but belongs to another user (the service account): still running.
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}

export interface RestoreResult {
  readonly info: BackupInfo;
  /** Where the database and key files that were there before were moved. */
  readonly previous: string | null;
}

/**
 * Puts a backup in place of the state directory's database and key files. Refused while a
 * gateway runs on the directory; the backup is checked first (intact, a guardpost backup, a
 * schema this guardpost can open — an older one is migrated on the next start, after its own
 * pre-migration backup). What was there is moved aside, never deleted.
 */
export function restoreBackup(stateDir: string, file: string, options: { readonly by: string; readonly clock?: () => number }): RestoreResult {
  const clock = options.clock ?? Date.now;
  const pid = runningGateway(stateDir);
  if (pid !== null) {
    throw new GuardpostError('GP_ERR_CONFLICT', `a gateway (pid ${pid}) is running on ${stateDir}; stop it first (sudo systemctl stop guardpost), then restore`);
  }
  const source = path.resolve(file);
  const info = inspectBackup(source, NEWEST_SCHEMA);
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });

  const nowMs = clock();
  const database = path.join(stateDir, DATABASE_FILE);
  const moving = [DATABASE_FILE, `${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`, ...STATE_KEY_FILES].filter((name) => fs.existsSync(path.join(stateDir, name)));
  let previous: string | null = null;
  const staging = path.join(stateDir, `${DATABASE_FILE}.restoring`);
  fs.rmSync(staging, { force: true });
  fs.copyFileSync(source, staging);
  fs.chmodSync(staging, 0o600);
  try {
    if (moving.length > 0) {
      previous = path.join(stateDir, `before-restore-${fileTimestamp(nowMs)}`);
      fs.mkdirSync(previous, { mode: 0o700 });
      for (const name of moving) fs.renameSync(path.join(stateDir, name), path.join(previous, name));
    }
    unsealBackup(staging, stateDir);
    fs.renameSync(staging, database);
  } catch (error) {
    fs.rmSync(staging, { force: true });
    throw new GuardpostError('GP_ERR_STORE', `restore of ${source} failed: ${(error as Error).message}${previous === null ? '' : `; the previous state is in ${previous}`}`);
  }

  // Recorded in the restored database itself: the audit log and the journal say who and from what.
  const db = new Database(database, { fileMustExist: true });
  try {
    const site = info.site ?? 'unknown';
    const journal = new Journal(db, site, clock);
    db.transaction(() => {
      new AuditRepository(db).record(
        { actor: options.by, source: 'cli', action: 'system.restored', target: site, after: { file: source, takenAt: new Date(info.takenMs).toISOString(), schemaVersion: info.schemaVersion, previous } },
        nowMs,
      );
      journal.append({ type: 'system.restored', data: { file: path.basename(source), takenAt: new Date(info.takenMs).toISOString(), schemaVersion: info.schemaVersion, by: options.by } });
    })();
  } finally {
    db.close();
  }
  return { info, previous };
}

/** Scheduled backups (config `backup:`): `guardpost-<site>-<UTC time>.db` in one directory, the newest `keep` kept. */
export interface BackupSchedule {
  stop(): Promise<void>;
  /** Takes one now (also what the timer does); resolves once it is written and old ones pruned. */
  runNow(): Promise<BackupResult | null>;
}

export interface BackupScheduleOptions {
  readonly db: Db;
  readonly stateDir: string;
  readonly dir: string;
  readonly site: string;
  readonly intervalMs: number;
  readonly keep: number;
  readonly clock: () => number;
  readonly logger: Logger;
  readonly journal: Journal;
}

const SCHEDULED = /^guardpost-[a-z0-9-]+-\d{8}T\d{6}Z\.db$/;

export function scheduledBackups(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((name) => SCHEDULED.test(name)).sort();
  } catch {
    return [];
  }
}

/** Deletes all but the newest `keep` scheduled backups; pre-migration ones are never touched. */
export function pruneBackups(dir: string, keep: number): string[] {
  const all = scheduledBackups(dir);
  const doomed = all.slice(0, Math.max(0, all.length - keep));
  for (const name of doomed) fs.rmSync(path.join(dir, name), { force: true });
  return doomed;
}

export function startBackupSchedule(options: BackupScheduleOptions): BackupSchedule {
  const { dir, intervalMs, clock, logger, journal } = options;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<BackupResult | null> | undefined;
  let stopped = false;

  const runNow = (): Promise<BackupResult | null> => {
    running ??= (async () => {
      const file = path.join(dir, `guardpost-${options.site}-${fileTimestamp(clock())}.db`);
      try {
        // Small steps: the gateway's own connection, so decisions run between them.
        const result = await backupDatabase(options.db, options.stateDir, file, { reason: 'scheduled', clock, pagesPerStep: 256 });
        const pruned = pruneBackups(dir, options.keep);
        journal.append({ type: 'backup.completed', data: { file: path.basename(file), bytes: result.bytes, elapsedMs: result.elapsedMs, pruned: pruned.length } });
        logger.info({ file, bytes: result.bytes, elapsedMs: result.elapsedMs, pruned }, 'scheduled backup written');
        return result;
      } catch (error) {
        const message = (error as Error).message;
        logger.error({ err: message, file }, 'scheduled backup failed');
        journal.append({ type: 'backup.failed', data: { file: path.basename(file), error: message.slice(0, 300) } });
        return null;
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const schedule = (delayMs: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      void runNow().then(() => schedule(intervalMs));
    }, delayMs);
    timer.unref();
  };

  if (intervalMs > 0) {
    // Due one interval after the newest backup there is (a Pi that reboots daily still gets one a day).
    const newest = scheduledBackups(dir).at(-1);
    const newestMs = newest === undefined ? null : fs.statSync(path.join(dir, newest)).mtimeMs;
    const dueInMs = newestMs === null ? intervalMs : Math.max(FIRST_BACKUP_MIN_DELAY_MS, newestMs + intervalMs - clock());
    schedule(dueInMs);
  }
  return {
    runNow,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/** An overdue backup waits this long after start, so it never competes with loading the site. */
const FIRST_BACKUP_MIN_DELAY_MS = 60_000;
