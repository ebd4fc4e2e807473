import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { inspectBackup } from '../../../src/store/backupFile.js';
import { BACKUPS_DIR, DATABASE_FILE, migrate, openDatabase, type Db } from '../../../src/store/db.js';
import { migrations } from '../../../src/store/migrations/index.js';
import { Store } from '../../../src/store/index.js';
import { PIN_KEY_FILE } from '../../../src/store/pinKey.js';
import { restoreBackup } from '../../../src/ops/backup.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-migrate-'));
  dirs.push(dir);
  return dir;
}

const newest = migrations.at(-1)!.version;

interface Column {
  name: string;
  type: string;
  notnull: number;
  pk: number;
}

interface ForeignKey {
  table: string;
  from: string;
}

/** Values a CHECK constraint or a later migration's index (json_extract over events.data) expects. */
const KNOWN: Record<string, (row: number) => unknown> = {
  'doors.unlock_ms': () => 5000,
  'door_hardware.fail_mode': (row) => (row % 2 === 0 ? 'fail-safe' : 'fail-secure'),
  'alarms.state': (row) => ['raised', 'acknowledged', 'cleared'][row % 3],
  'users.role': (row) => ['admin', 'security', 'viewer'][row % 3],
  'api_tokens.role': (row) => ['admin', 'security', 'viewer'][row % 3],
  'events.data': (row) => JSON.stringify({ alarm: row === 0 ? `alarm-${row}` : undefined, note: `row ${row}` }),
  'meta.value': (row) => JSON.stringify({ id: 'upgrade-site', name: 'Upgrade site', timezone: 'Europe/London', row }),
  'meta.key': (row) => (row === 0 ? 'site' : `key-${row}`),
  'watch_list.credential_id': () => null,
  'devices.card_format': (row) => (row % 2 === 0 ? 'decimal' : 'hex'),
};

/**
 * Tables the migrations' triggers alone write (a counter, and the log of changes under it, whose
 * keys must stay at or below the counter): nothing to seed.
 */
const TRIGGER_WRITTEN_TABLES = new Set(['people_generation', 'people_changes', 'cardholder_search_pending']);

/** Full-text indexes (virtual tables) and their shadow tables: kept by triggers from the tables they index. */
function isSearchIndex(db: Db, table: string): boolean {
  const virtual = db.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'").pluck().all();
  return virtual.some((name) => table === name || table.startsWith(`${name}_`));
}

function tableNames(db: Db): string[] {
  return db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all()
    .map((row) => row.name);
}

/** Tables in an order where every table comes after those its foreign keys point at. */
function parentsFirst(db: Db): string[] {
  const names = tableNames(db);
  const ordered: string[] = [];
  const visit = (name: string, stack: Set<string>): void => {
    if (ordered.includes(name) || stack.has(name)) return;
    stack.add(name);
    for (const fk of db.pragma(`foreign_key_list(${name})`) as ForeignKey[]) if (fk.table !== name) visit(fk.table, stack);
    ordered.push(name);
  };
  for (const name of names) visit(name, new Set());
  return ordered;
}

/**
 * Fills every table of the schema as it is at this version with `rows` rows, each column a value
 * of its declared type (a foreign key names the parent's row of the same number), and returns
 * what it wrote, table by table, for comparing after the upgrade.
 */
function seed(db: Db, version: number, rows: number): Map<string, Record<string, unknown>[]> {
  const written = new Map<string, Record<string, unknown>[]>();
  for (const table of parentsFirst(db)) {
    // One-row counters the migrations create and triggers keep: there is nothing to seed.
    if (TRIGGER_WRITTEN_TABLES.has(table) || isSearchIndex(db, table)) continue;
    const columns = db.pragma(`table_info(${table})`) as Column[];
    const fks = new Map((db.pragma(`foreign_key_list(${table})`) as ForeignKey[]).map((fk) => [fk.from, fk.table]));
    const list: Record<string, unknown>[] = [];
    for (let row = 0; row < rows; row++) {
      const record: Record<string, unknown> = {};
      for (const column of columns) {
        const known = KNOWN[`${table}.${column.name}`];
        const parent = fks.get(column.name);
        if (column.pk === 1 && column.type === 'INTEGER') continue; // rowid: assigned
        if (known !== undefined) record[column.name] = known(row);
        else if (parent !== undefined) record[column.name] = idOf(parent, row);
        else if (column.type === 'INTEGER') record[column.name] = 1_000 * version + row;
        else if (column.type === 'BLOB') record[column.name] = Buffer.from(`${table}.${column.name}.${row}`);
        else record[column.name] = column.pk > 0 ? idOf(table, row) : JSON.stringify({ v: `${table}.${column.name}.${row}@v${version}` });
      }
      const names = Object.keys(record);
      db.prepare(`INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`).run(...names.map((name) => record[name] as never));
      list.push(record);
    }
    written.set(table, list);
  }
  return written;
}

const idOf = (table: string, row: number): string => `${table.replace(/_/g, '-')}-${row}`;

/**
 * Columns a migration changes on purpose [SEC-CARD-DIGEST]: migration 12 replaces each whole card
 * number by its keyed digest (renamed `digest`) and a mask; compared apart, below.
 */
const REWRITTEN = new Set(['credentials.number']);

describe('upgrading from every earlier schema version', () => {
  // Reserved version numbers may leave gaps while parallel work lands.
  for (const version of migrations.map((migration) => migration.version).filter((version) => version < newest)) {
    it(`migrates a database at schema version ${version} to ${newest} keeping every row, after a backup of it as it was`, () => {
      const stateDir = tempDir();
      fs.writeFileSync(path.join(stateDir, PIN_KEY_FILE), Buffer.alloc(32, 7), { mode: 0o600 });
      const old = new Database(path.join(stateDir, DATABASE_FILE));
      old.pragma('journal_mode = WAL');
      old.pragma('foreign_keys = ON');
      migrate(old, migrations.filter((migration) => migration.version <= version));
      expect(old.pragma('user_version', { simple: true })).toBe(version);
      const written = seed(old, version, 3);
      old.close();

      const db = openDatabase(stateDir);
      try {
        expect(db.pragma('user_version', { simple: true })).toBe(newest);
        for (const [table, rows] of written) {
          for (const whole of rows) {
            const record = Object.fromEntries(Object.entries(whole).filter(([name]) => !REWRITTEN.has(`${table}.${name}`)));
            const names = Object.keys(record);
            const found = db.prepare(`SELECT ${names.join(', ')} FROM ${table} WHERE ${names.map((name) => `${name} IS ?`).join(' AND ')}`).all(...names.map((name) => record[name] as never));
            expect(found, `${table} row ${JSON.stringify(record)}`).toHaveLength(1);
          }
        }
        // No whole number survives: each credential is its digest (16 bytes) and a mask (a database
        // seeded at version 12 or later already had digests: seeded as placeholders, kept as they were).
        for (const record of version < 12 ? (written.get('credentials') ?? []) : []) {
          const row = db.prepare<[string], { digest: Buffer; masked: string }>('SELECT digest, masked FROM credentials WHERE id = ?').get(String(record.id));
          expect(row?.digest).toBeInstanceOf(Buffer);
          expect(row?.digest.byteLength).toBe(16);
          expect(row?.masked).not.toContain(String(record.number));
        }
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(db.pragma('foreign_key_check')).toEqual([]);
      } finally {
        db.close();
      }

      // The copy taken first is the database as it was, restorable with its PIN key.
      const backups = fs.readdirSync(path.join(stateDir, BACKUPS_DIR));
      expect(backups).toHaveLength(1);
      expect(backups[0]).toMatch(new RegExp(`^pre-migration-v${version}-to-v${newest}-\\d{8}T\\d{6}Z\\.db$`));
      const info = inspectBackup(path.join(stateDir, BACKUPS_DIR, backups[0]!), newest);
      expect(info).toMatchObject({ schemaVersion: version, site: 'upgrade-site', files: [PIN_KEY_FILE], events: 3 });

      // And the store reads the upgraded data.
      const store = Store.open(stateDir);
      try {
        expect(store.site()?.id).toBe('upgrade-site');
      } finally {
        store.close();
      }

      // The regretted upgrade is undone with a restore: the old schema comes back, with its key.
      const undoDir = tempDir();
      const restored = restoreBackup(undoDir, path.join(stateDir, BACKUPS_DIR, backups[0]!), { by: 'test' });
      expect(restored.info.schemaVersion).toBe(version);
      expect(fs.readFileSync(path.join(undoDir, PIN_KEY_FILE))).toEqual(Buffer.alloc(32, 7));
      const undone = new Database(path.join(undoDir, DATABASE_FILE), { readonly: true });
      try {
        expect(undone.pragma('user_version', { simple: true })).toBe(version);
        expect(undone.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 4 }); // the 3 seeded and system.restored
      } finally {
        undone.close();
      }
    });
  }

  it('takes no backup when the database is new or already at the newest schema', () => {
    const stateDir = tempDir();
    openDatabase(stateDir).close();
    openDatabase(stateDir).close();
    expect(fs.existsSync(path.join(stateDir, BACKUPS_DIR))).toBe(false);
  });
});
