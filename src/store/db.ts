import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { GuardpostError } from '../errors.js';
import { migrations as allMigrations, type Migration } from './migrations/index.js';
import { fileTimestamp, snapshotSync } from './backupFile.js';
import { maskedCard, maskedWiegand, type CardDigester } from '../access/cardDigest.js';
import { maskCardNumber } from '../access/credentials.js';
import { sealCardholderDocument } from './cardCredentials.js';
import { PinHasher } from './pinKey.js';

export type Db = Database.Database;

export const DATABASE_FILE = 'guardpost.db';

/** Where backups go by default, and always the ones taken before a migration (under the state directory). */
export const BACKUPS_DIR = 'backups';

/**
 * SQLite's page cache for the gateway's connection, in KiB. better-sqlite3's default is 16 MiB,
 * and the journal grows all day: on a floor's load (the soak) that cache filled with journal
 * pages over the first ~17 minutes, +20 MB of RSS before it levelled off. Appends touch the
 * tail of the tables and their indexes; history reads are served by the API's answer cache
 * and the OS page cache; so 4 MiB costs no decision anything and bounds the process sooner.
 */
export const PAGE_CACHE_KIB = 4_096;

/** Opens (creating if needed) the state directory's database in WAL mode and migrates it. */
export function openDatabase(stateDir: string, migrations: readonly Migration[] = allMigrations): Db {
  const file = path.join(stateDir, DATABASE_FILE);
  let db: Db | undefined;
  try {
    fs.mkdirSync(stateDir, { recursive: true });
    db = new Database(file);
    // Refuse a newer schema before changing anything in the file.
    checkVersion(db, migrations);
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode is durable across process crashes; only a power cut can lose the last
    // transactions, and the journal's readers tolerate that by sequence.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    backupBeforeMigrating(db, stateDir, migrations);
    if (migrate(db, migrations, stateDir) > 0) {
      // What the migrations replaced (whole card numbers, migration 12) must not linger in the WAL.
      db.pragma('wal_checkpoint(TRUNCATE)');
    }
    return db;
  } catch (error) {
    db?.close();
    if (error instanceof GuardpostError) throw error;
    throw new GuardpostError('GP_ERR_STORE', `cannot open the database ${file}: ${(error as Error).message}`);
  }
}

function checkVersion(db: Db, migrations: readonly Migration[]): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const newest = migrations.at(-1)?.version ?? 0;
  if (current > newest) {
    throw new GuardpostError('GP_ERR_STORE', `the database is at schema version ${current}, newer than this guardpost (${newest}); upgrade guardpost`);
  }
}

/**
 * An upgrade that finds an older schema keeps a copy of the database (and its PIN key) as it
 * was before migrating: a failed or regretted upgrade is undone with `guardpost restore`.
 */
function backupBeforeMigrating(db: Db, stateDir: string, migrations: readonly Migration[]): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const newest = migrations.at(-1)?.version ?? 0;
  if (current === 0 || current >= newest) return;
  const nowMs = Date.now();
  const file = path.join(stateDir, BACKUPS_DIR, `pre-migration-v${current}-to-v${newest}-${fileTimestamp(nowMs)}.db`);
  try {
    snapshotSync(db, stateDir, file, `pre-migration v${current} to v${newest}`, nowMs);
  } catch (error) {
    throw new GuardpostError('GP_ERR_STORE', `not migrating ${stateDir} from schema ${current} to ${newest}: the backup before it failed (${(error as Error).message}); free disk space or fix permissions, then start again`);
  }
}

/**
 * SQL functions migrations call where SQL alone cannot do the work: card digests need the
 * state directory's key [SEC-CARD-DIGEST]. The key is read only when a row needs it; without a
 * state directory (an in-memory database) a migration that meets a card fails.
 */
function registerMigrationFunctions(db: Db, stateDir: string | undefined): void {
  let digester: CardDigester | undefined;
  const cards = (): CardDigester => {
    if (stateDir === undefined) throw new Error('card digests need the state directory\'s key');
    return (digester ??= PinHasher.forStateDir(stateDir).cardDigester());
  };
  const text = (value: unknown): string => (typeof value === 'string' ? value : String(value));
  // A 16-byte BLOB (the column keeps its TEXT declaration from the rename; BLOBs are stored as given).
  db.function('gp_credential_digest', { deterministic: true }, (kind: unknown, number: unknown) => Buffer.from(kind === 'card' ? cards().ofCard(text(number)) : cards().ofKey(text(number)), 'latin1'));
  db.function('gp_credential_mask', { deterministic: true }, (kind: unknown, number: unknown) => {
    const wiegand = /^([a-z0-9-]+):(\d+):(\d+)$/.exec(text(number));
    return kind === 'card' ? maskedCard(text(number)) : wiegand !== null ? maskedWiegand(wiegand[1]!, Number(wiegand[2]), Number(wiegand[3])) : maskCardNumber(text(number));
  });
  db.function('gp_cardholder_document', { deterministic: true }, (json: unknown) => sealCardholderDocument(cards(), text(json)));
}

/** Applies the migrations the database lacks; returns how many. */
export function migrate(db: Db, migrations: readonly Migration[], stateDir?: string): number {
  checkVersion(db, migrations);
  registerMigrationFunctions(db, stateDir);
  const current = db.pragma('user_version', { simple: true }) as number;
  const pending = migrations.filter((migration) => migration.version > current);
  if (pending.length === 0) return 0;
  // Rows a migration rewrites leave nothing of their old content in freed space [SEC-CARD-DIGEST].
  const secureDelete = db.pragma('secure_delete', { simple: true }) as number;
  db.pragma('secure_delete = ON');
  try {
    for (const migration of pending) {
      db.transaction(() => {
        db.exec(migration.sql);
        db.pragma(`user_version = ${migration.version}`);
      })();
    }
  } finally {
    db.pragma(`secure_delete = ${secureDelete}`);
  }
  return pending.length;
}

/**
 * A statement per SQL text, prepared on first use and kept: for queries built from a few known
 * shapes (filters, tables), so none is prepared twice.
 */
export function statementCache(db: Db): (sql: string) => Database.Statement<unknown[]> {
  const statements = new Map<string, Database.Statement<unknown[]>>();
  return (sql) => {
    let prepared = statements.get(sql);
    if (prepared === undefined) {
      prepared = db.prepare<unknown[]>(sql);
      statements.set(sql, prepared);
    }
    return prepared;
  };
}
