import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { GuardpostError } from '../../../src/errors.js';
import { DATABASE_FILE, PAGE_CACHE_KIB, migrate, openDatabase, type Db } from '../../../src/store/db.js';
import { migrations, type Migration } from '../../../src/store/migrations/index.js';

/** Versions reserved for work in progress on branches (issue 12 holds 15). */
const RESERVED_FROM = 10;

const dirs: string[] = [];
const opened: Db[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-unit-'));
  dirs.push(dir);
  return dir;
}

function open(dir: string, list?: readonly Migration[]): Db {
  const db = list === undefined ? openDatabase(dir) : openDatabase(dir, list);
  opened.push(db);
  return db;
}

afterEach(() => {
  for (const db of opened.splice(0)) if (db.open) db.close();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const userVersion = (db: Db): number => db.pragma('user_version', { simple: true }) as number;
const tables = (db: Db): string[] =>
  db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all()
    .map((row) => row.name);

function thrown(fn: () => unknown): GuardpostError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GuardpostError) return error;
    throw error;
  }
  throw new Error('expected a GuardpostError');
}

describe('openDatabase', () => {
  it('creates the state directory and the database file when neither exists', () => {
    const dir = path.join(tempDir(), 'nested', 'state');
    open(dir);
    expect(fs.existsSync(path.join(dir, DATABASE_FILE))).toBe(true);
  });

  it('opens the database in WAL mode with foreign keys enforced', () => {
    const db = open(tempDir());
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
  });

  it('bounds its page cache to 4 MiB, so a journal that grows all day does not grow the gateway with it', () => {
    const db = open(tempDir());
    expect(db.pragma('cache_size', { simple: true })).toBe(-PAGE_CACHE_KIB);
  });

  it('brings a new database to the newest schema version, with the site and journal tables', () => {
    const db = open(tempDir());
    expect(userVersion(db)).toBe(migrations.at(-1)!.version);
    expect(tables(db)).toEqual(
      expect.arrayContaining(['meta', 'devices', 'doors', 'groups', 'group_doors', 'cardholders', 'cardholder_groups', 'credentials', 'events']),
    );
  });

  it('numbers released migrations 1, 2, 3… with no gaps or repeats', () => {
    const versions = migrations.map((migration) => migration.version);
    // A branch may hold a reserved version above the next free one; the merge renumbers it.
    const released = versions.filter((version) => version < RESERVED_FROM);
    expect(released).toEqual(released.map((_, index) => index + 1));
    expect(versions).toEqual([...versions].sort((a, b) => a - b).filter((version, index, all) => all.indexOf(version) === index));
  });

  it('keeps data and does nothing more when an up-to-date database is opened again', () => {
    const dir = tempDir();
    const first = open(dir);
    first.prepare("INSERT INTO meta (key, value) VALUES ('site', 'hq')").run();
    const schemaBefore = first.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all();
    first.close();

    const second = open(dir);
    expect(userVersion(second)).toBe(migrations.at(-1)!.version);
    expect(second.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all()).toEqual(schemaBefore);
    expect(second.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'site'").get()?.value).toBe('hq');
  });

  it('applies only the migrations a database has not had yet', () => {
    const dir = tempDir();
    const v1: Migration = { version: 1, name: 'one', sql: 'CREATE TABLE one (x INTEGER)' };
    const v2: Migration = { version: 2, name: 'two', sql: 'CREATE TABLE two (x INTEGER)' };
    const older = open(dir, [v1]);
    older.prepare('INSERT INTO one (x) VALUES (1)').run();
    expect(userVersion(older)).toBe(1);
    older.close();

    // Re-running v1 would fail ("table one already exists"), so success means it was skipped.
    const newer = open(dir, [v1, v2]);
    expect(userVersion(newer)).toBe(2);
    expect(tables(newer)).toEqual(['one', 'two']);
    expect(newer.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM one').get()?.n).toBe(1);
  });

  it('leaves the database at the last good version when a migration fails part-way', () => {
    const dir = tempDir();
    const v1: Migration = { version: 1, name: 'one', sql: 'CREATE TABLE one (x INTEGER)' };
    const broken: Migration = { version: 2, name: 'broken', sql: 'CREATE TABLE half (x INTEGER); CREATE TABLE one (x INTEGER);' };
    expect(() => open(dir, [v1, broken])).toThrow();
    for (const db of opened.splice(0)) if (db.open) db.close();

    const raw = new Database(path.join(dir, DATABASE_FILE));
    try {
      expect(userVersion(raw)).toBe(1);
      expect(tables(raw)).toEqual(['one']);
    } finally {
      raw.close();
    }
  });

  it('refuses with GP_ERR_STORE a database written by a newer guardpost, naming both versions', () => {
    const dir = tempDir();
    open(dir).close();
    const raw = new Database(path.join(dir, DATABASE_FILE));
    const future = migrations.at(-1)!.version + 5;
    raw.pragma(`user_version = ${future}`);
    raw.close();

    const error = thrown(() => open(dir));
    expect(error.code).toBe('GP_ERR_STORE');
    expect(error.message).toContain(String(future));
    expect(error.message).toContain(String(migrations.at(-1)!.version));
    expect(error.message).toMatch(/upgrade guardpost/);
  });

  it('does not touch the schema of a database it refuses', () => {
    const dir = tempDir();
    open(dir).close();
    const raw = new Database(path.join(dir, DATABASE_FILE));
    raw.pragma('user_version = 999');
    const schemaBefore = raw.prepare('SELECT name, sql FROM sqlite_master ORDER BY name').all();
    raw.close();

    thrown(() => open(dir));
    const after = new Database(path.join(dir, DATABASE_FILE));
    try {
      expect(after.pragma('user_version', { simple: true })).toBe(999);
      expect(after.prepare('SELECT name, sql FROM sqlite_master ORDER BY name').all()).toEqual(schemaBefore);
    } finally {
      after.close();
    }
  });

  it('refuses with GP_ERR_STORE a state directory it cannot create', () => {
    const dir = tempDir();
    const file = path.join(dir, 'not-a-directory');
    fs.writeFileSync(file, 'x');
    const error = thrown(() => open(path.join(file, 'state')));
    expect(error.code).toBe('GP_ERR_STORE');
    expect(error.message).toContain('cannot open the database');
  });
});

describe('migrate', () => {
  it('does nothing to an in-memory database already at the newest version', () => {
    const db = new Database(':memory:');
    try {
      migrate(db, migrations);
      const version = userVersion(db);
      expect(() => migrate(db, migrations)).not.toThrow();
      expect(userVersion(db)).toBe(version);
    } finally {
      db.close();
    }
  });
});
