import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { GuardpostError } from '../errors.js';
import type { Db } from './db.js';
import { OSDP_KEY_FILE } from './osdpKeys.js';
import { PIN_KEY_FILE } from './pinKey.js';

/**
 * A guardpost backup is ONE SQLite file: a consistent copy of the state directory's database
 * plus, in two extra tables, what else the state directory needs to be whole — the PIN key
 * (without it every stored PIN and card digest is useless) and the OSDP key (without it no sealed
 * OSDP Secure Channel key opens, and those readers go dark). One file is easy to copy off the box and cannot
 * be restored half. It is written 0600: it holds the PIN key, so keep it as safe as the state
 * directory. `guardpost restore` takes the key back out and drops both tables.
 */
export const BACKUP_INFO_TABLE = 'guardpost_backup_info';
export const BACKUP_FILES_TABLE = 'guardpost_backup_files';

/** Files of the state directory carried inside a backup (beside the database itself). */
export const STATE_KEY_FILES: readonly string[] = [PIN_KEY_FILE, OSDP_KEY_FILE];

export interface BackupInfo {
  readonly takenMs: number;
  readonly schemaVersion: number;
  readonly site: string | null;
  /** Why it was taken: `cli`, `scheduled`, `pre-migration v7→v8`. */
  readonly reason: string;
  /** Key files it carries. */
  readonly files: readonly string[];
  readonly events: number;
}

/**
 * Turns a fresh copy of the database into a backup file: a single file (no WAL), the key files
 * and a description inside, checked with integrity_check, mode 0600.
 */
export function sealBackup(file: string, stateDir: string, details: { readonly reason: string; readonly takenMs: number }): BackupInfo {
  fs.chmodSync(file, 0o600);
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
    const files: string[] = [];
    db.transaction(() => {
      db.exec(`CREATE TABLE ${BACKUP_INFO_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL);
               CREATE TABLE ${BACKUP_FILES_TABLE} (name TEXT PRIMARY KEY, mode INTEGER NOT NULL, content BLOB NOT NULL);`);
      const insertFile = db.prepare(`INSERT INTO ${BACKUP_FILES_TABLE} (name, mode, content) VALUES (?, ?, ?)`);
      for (const name of STATE_KEY_FILES) {
        const source = path.join(stateDir, name);
        if (!fs.existsSync(source)) continue;
        insertFile.run(name, fs.statSync(source).mode & 0o777, fs.readFileSync(source));
        files.push(name);
      }
      const insertInfo = db.prepare(`INSERT INTO ${BACKUP_INFO_TABLE} (key, value) VALUES (?, ?)`);
      insertInfo.run('takenMs', String(details.takenMs));
      insertInfo.run('reason', details.reason);
      insertInfo.run('format', '1');
    })();
    const check = db.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new GuardpostError('GP_ERR_STORE', `the backup ${file} failed its integrity check: ${oneLine(check)}`);
    return describe(db, file);
  } finally {
    db.close();
  }
}

/** Reads and checks a backup file: a guardpost backup, intact, with a schema this guardpost knows. */
export function inspectBackup(file: string, newestSchema: number): BackupInfo {
  if (!fs.existsSync(file)) throw new GuardpostError('GP_ERR_STORE', `no backup file at ${file}`);
  let db: Db;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new GuardpostError('GP_ERR_STORE', `${file} is not a guardpost backup: ${(error as Error).message}`);
  }
  try {
    let check: unknown;
    try {
      check = db.pragma('integrity_check', { simple: true });
    } catch (error) {
      throw new GuardpostError('GP_ERR_STORE', `${file} is not a guardpost backup: ${(error as Error).message}`);
    }
    if (check !== 'ok') throw new GuardpostError('GP_ERR_STORE', `the backup ${file} is damaged (integrity_check: ${oneLine(check)}); use another backup`);
    const hasInfo = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(BACKUP_INFO_TABLE) !== undefined;
    if (!hasInfo) throw new GuardpostError('GP_ERR_STORE', `${file} is an SQLite database but not a guardpost backup (no ${BACKUP_INFO_TABLE} table); make one with "guardpost backup"`);
    const info = describe(db, file);
    if (info.schemaVersion > newestSchema) {
      throw new GuardpostError('GP_ERR_STORE', `the backup ${file} has schema version ${info.schemaVersion}, newer than this guardpost (${newestSchema}); restore it with the guardpost that made it, or upgrade`);
    }
    if (info.schemaVersion < 1 || info.site === null) throw new GuardpostError('GP_ERR_STORE', `the backup ${file} holds no site (schema version ${info.schemaVersion}); it cannot be restored`);
    return info;
  } finally {
    db.close();
  }
}

/**
 * Makes a copied backup file a state directory's database again: writes the key files it
 * carries into `stateDir` (0600) and drops the backup tables. Run on the copy, never the backup.
 */
export function unsealBackup(file: string, stateDir: string): void {
  const db = new Database(file, { fileMustExist: true });
  try {
    const files = db.prepare<[], { name: string; content: Buffer }>(`SELECT name, content FROM ${BACKUP_FILES_TABLE}`).all();
    for (const { name, content } of files) {
      if (!STATE_KEY_FILES.includes(name)) continue; // never write a path a backup names on its own
      const target = path.join(stateDir, name);
      fs.rmSync(target, { force: true });
      fs.writeFileSync(target, content, { mode: 0o600, flag: 'wx' });
    }
    db.exec(`DROP TABLE ${BACKUP_FILES_TABLE}; DROP TABLE ${BACKUP_INFO_TABLE};`);
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
}

/**
 * A synchronous snapshot (VACUUM INTO: one read transaction, so consistent), for the one place
 * nothing else runs yet — before a schema migration, while the store is being opened.
 */
export function snapshotSync(db: Db, stateDir: string, file: string, reason: string, takenMs: number): BackupInfo {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const partial = `${file}.partial`;
  fs.rmSync(partial, { force: true });
  db.prepare('VACUUM INTO ?').run(partial);
  const info = sealBackup(partial, stateDir, { reason, takenMs });
  fs.renameSync(partial, file);
  return info;
}

/** `2026-11-23T20:45:00.123Z` → `20261123T204500Z`: sortable, and safe in a file name. */
export function fileTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

function describe(db: Db, file: string): BackupInfo {
  const info = new Map(db.prepare<[], { key: string; value: string }>(`SELECT key, value FROM ${BACKUP_INFO_TABLE}`).all().map((row) => [row.key, row.value]));
  const files = db.prepare<[], { name: string }>(`SELECT name FROM ${BACKUP_FILES_TABLE} ORDER BY name`).all().map((row) => row.name);
  const hasTable = (name: string): boolean => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
  let site: string | null = null;
  if (hasTable('meta')) {
    const raw = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get('site')?.value;
    try {
      site = raw === undefined ? null : String((JSON.parse(raw) as { id?: unknown }).id ?? null);
    } catch {
      throw new GuardpostError('GP_ERR_STORE', `the backup ${file} has an unreadable site record`);
    }
  }
  const events = hasTable('events') ? (db.prepare<[], { n: number }>('SELECT count(*) AS n FROM events').get()?.n ?? 0) : 0;
  return {
    takenMs: Number(info.get('takenMs') ?? 0),
    schemaVersion: db.pragma('user_version', { simple: true }) as number,
    site,
    reason: info.get('reason') ?? 'unknown',
    files,
    events,
  };
}

function oneLine(check: unknown): string {
  const text = String(check).replace(/\*\*\* in database main \*\*\*\s*/g, '').replace(/\s*\n\s*/g, '; ');
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
