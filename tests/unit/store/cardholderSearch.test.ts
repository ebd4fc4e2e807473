import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { SiteCardholder } from '../../../src/config/siteSchema.js';
import { GuardpostError } from '../../../src/errors.js';
import { decodeCursor, encodeCursor } from '../../../src/store/cardholderList.js';
import { DATABASE_FILE, migrate } from '../../../src/store/db.js';
import { Store } from '../../../src/store/index.js';
import { migrations } from '../../../src/store/migrations/index.js';
import { writeCardholder } from '../../../src/store/siteWrites.js';
import { keyedDir } from '../../support/cardKeys.js';

const stores: Store[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});
const open = (dir: string): Store => {
  const store = Store.open(dir);
  stores.push(store);
  return store;
};

const SEARCH_VERSION = migrations.find((migration) => migration.name === 'cardholder text search index')!.version;

/** Ids of the people a text finds, sorted by id. */
const found = (store: Store, q: string): string[] =>
  store.cardholderList.page({ limit: 1000, offset: 0, sort: { field: 'id', descending: false }, q }).json.map((json) => (JSON.parse(json) as { id: string }).id);

describe('the cardholder search index (migration 14) [SITE-LIST]', () => {
  it('is filled by the migration for the people a database already holds', () => {
    const dir = keyedDir();
    const db = new Database(path.join(dir, DATABASE_FILE));
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    migrate(db, migrations.filter((migration) => migration.version < SEARCH_VERSION));
    db.exec(`
      INSERT INTO cardholders (id, name, status) VALUES ('ann', 'Ann Ångström', 'active'), ('ben', 'Benedikt Öz', 'active'), ('cy', 'Cy', 'suspended');
      INSERT INTO credentials (id, cardholder_id, kind, digest, masked, status) VALUES
        ('ann-lobby-card', 'ann', 'card', x'00112233445566778899aabbccddeeff', '********42', 'active'),
        ('ben-fob', 'ben', 'wiegand', x'ffeeddccbbaa99887766554433221100', 'h10301:12:****7', 'active');
      INSERT INTO site_documents (collection, id, position, json) VALUES
        ('cardholders', 'ann', 0, '{"id":"ann","name":"Ann Ångström","status":"active","groups":[],"credentials":[]}'),
        ('cardholders', 'ben', 1, '{"id":"ben","name":"Benedikt Öz","status":"active","groups":[],"credentials":[]}'),
        ('cardholders', 'cy', 2, '{"id":"cy","name":"Cy","status":"suspended","groups":[],"credentials":[]}');
    `);
    db.close();

    const store = open(dir);
    expect(store.db.prepare<[], number>('SELECT count(*) FROM cardholders_search').pluck().get()).toBe(3);
    expect(found(store, 'ÅNGSTRÖM')).toEqual(['ann']);
    expect(found(store, 'ann-LOBBY')).toEqual(['ann']);
    expect(found(store, 'dikt ö')).toEqual(['ben']);
    expect(found(store, 'fob')).toEqual(['ben']);
    expect(found(store, 'nobody')).toEqual([]);
    expect(() => store.db.exec(`INSERT INTO cardholders_search (cardholders_search, rank) VALUES ('integrity-check', 1)`)).not.toThrow();
  });

  it('answers a text of three characters or more from the index, and a shorter one by scanning', () => {
    const store = open(keyedDir());
    writeCardholder(store, { id: 'quinn', name: 'Quinn Quist', status: 'active', groups: [], credentials: [] } as unknown as SiteCardholder);
    expect(found(store, 'quis')).toEqual(['quinn']);
    // Taken out of the index only (not out of the table): the index is what answers, the scan is not.
    store.db.prepare(`INSERT INTO cardholders_search (cardholders_search, rowid, id, name) SELECT 'delete', rowid, id, name FROM cardholders WHERE id = 'quinn'`).run();
    expect(found(store, 'quis')).toEqual([]);
    expect(found(store, 'qu')).toEqual(['quinn']);
    store.db.exec(`INSERT INTO cardholders_search (cardholders_search) VALUES ('rebuild')`);
    expect(found(store, 'quis')).toEqual(['quinn']);
  });

  it('stays equal to the tables whatever is written to them, and finds what a substring search of them finds', () => {
    const names = ['Ann', 'ÅSA Öberg', 'Ben Ólafsson', 'Ünal', 'Zoë', 'ann-marie', 'Bob'];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('put' as const), who: fc.nat(9), name: fc.constantFrom(...names), suffix: fc.string({ maxLength: 4 }), cards: fc.uniqueArray(fc.nat(5), { maxLength: 3 }) }),
      fc.record({ kind: fc.constant('delete' as const), who: fc.nat(9) }),
      // The index brought up to date part of the way (as a search does), between writes.
      fc.record({ kind: fc.constant('catchUp' as const), rows: fc.integer({ min: 1, max: 6 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 30 }), fc.constantFrom('ann', 'ÅSA', 'öBE', 'n-m', 'olaf', 'card-3', 'p-1', 'ünal', 'zoë', '42'), (ops, q) => {
        const store = Store.open(keyedDir());
        try {
          for (const step of ops) {
            if (step.kind === 'catchUp') {
              store.cardholderList.catchUpSearchIndex(step.rows);
              continue;
            }
            const id = `p-${step.who}`;
            if (step.kind === 'delete') {
              store.cardholders.delete(id);
              continue;
            }
            // A card id moves between people when two hold the same number: the store frees it first.
            for (const card of step.cards) store.db.prepare('DELETE FROM credentials WHERE id = ? AND cardholder_id <> ?').run(`card-${card}`, id);
            writeCardholder(store, {
              id,
              name: `${step.name}${step.suffix}`,
              status: 'active',
              groups: [],
              credentials: step.cards.map((card) => ({ id: `card-${card}`, card: String(1_000_000 + card * 1000 + step.who + 42 * (card % 2)), status: 'active' })),
            } as unknown as SiteCardholder);
          }
          const people = store.db.prepare<[], { id: string; name: string }>('SELECT id, name FROM cardholders').all();
          const cards = store.db.prepare<[], { id: string; cardholder_id: string; masked: string }>('SELECT id, cardholder_id, masked FROM credentials').all();
          const needle = q.toLowerCase();
          const expected = new Set([
            ...people.filter((person) => person.id.toLowerCase().includes(needle) || person.name.toLowerCase().includes(needle)).map((person) => person.id),
            ...cards.filter((card) => card.id.toLowerCase().includes(needle) || (/^\d+$/.test(q) && card.masked.endsWith(q))).map((card) => card.cardholder_id),
          ]);
          expect(found(store, q)).toEqual([...expected].sort());
          // A search of 3 characters or more brought the index up to date (a shorter one scans: caught up here).
          if ([...q].length < 3) store.cardholderList.catchUpSearchIndex();
          expect(store.db.prepare('SELECT count(*) FROM cardholder_search_pending').pluck().get()).toBe(0);
          for (const index of ['cardholders_search', 'credentials_search']) store.db.exec(`INSERT INTO ${index} (${index}, rank) VALUES ('integrity-check', 1)`);
        } finally {
          store.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('finds people written since the index was brought up to date, before and after it catches up in steps', () => {
    const store = open(keyedDir());
    store.db.transaction(() => {
      for (let i = 0; i < 50; i++) writeCardholder(store, { id: `walk-${i}`, name: `Walker ${i}`, status: 'active', groups: [], credentials: [{ id: `walk-card-${i}`, card: String(4_000_000 + i), status: 'active' }] } as unknown as SiteCardholder);
    })();
    const pending = () => store.db.prepare<[], number>('SELECT count(*) FROM cardholder_search_pending').pluck().get();
    // Written, not yet indexed: logged (each person and card once), and found all the same.
    expect(pending()).toBe(100);
    expect(store.db.prepare<[], number>(`SELECT count(*) FROM cardholders_search WHERE cardholders_search MATCH '"alk"'`).pluck().get()).toBe(0);
    store.cardholderList.catchUpSearchIndex(30);
    expect(pending()).toBe(40);
    expect(found(store, 'WALKER 4')).toEqual(['walk-4', 'walk-40', 'walk-41', 'walk-42', 'walk-43', 'walk-44', 'walk-45', 'walk-46', 'walk-47', 'walk-48', 'walk-49']);
    expect(pending()).toBe(0);
    // Renamed and deleted people leave the index as the search catches up; their old texts find nobody.
    store.db.prepare(`UPDATE cardholders SET name = 'Runner 7' WHERE id = 'walk-7'`).run();
    store.cardholders.delete('walk-8');
    expect(pending()).toBe(3);
    expect(found(store, 'walker 7')).toEqual([]);
    expect(found(store, 'runner')).toEqual(['walk-7']);
    expect(found(store, 'walk-card-8')).toEqual([]);
    for (const index of ['cardholders_search', 'credentials_search']) store.db.exec(`INSERT INTO ${index} (${index}, rank) VALUES ('integrity-check', 1)`);
  });

  it('searches exactly without waiting while another writer holds the database, and catches up after', () => {
    const dir = keyedDir();
    const store = open(dir);
    writeCardholder(store, { id: 'held', name: 'Held Person', status: 'active', groups: [], credentials: [] } as unknown as SiteCardholder);
    const other = new Database(path.join(dir, DATABASE_FILE));
    try {
      // Another writer (a CLI import) holds the write lock: the search neither waits for it (busy timeout 5 s) nor fails.
      other.exec('BEGIN IMMEDIATE');
      const started = performance.now();
      expect(found(store, 'held pers')).toEqual(['held']);
      expect(performance.now() - started).toBeLessThan(4000);
      expect(store.db.prepare('SELECT count(*) FROM cardholder_search_pending').pluck().get()).toBe(1);
      other.exec('ROLLBACK');
    } finally {
      other.close();
    }
    expect(found(store, 'held pers')).toEqual(['held']);
    expect(store.db.prepare('SELECT count(*) FROM cardholder_search_pending').pluck().get()).toBe(0);
    expect(store.db.pragma('busy_timeout', { simple: true })).toBe(5000);
  });

  it('reads back the cursors it writes, and refuses one of another sort or changed by hand', () => {
    const byName = encodeCursor('name', ['Ann Ångström', 'ann']);
    expect(decodeCursor(byName, { field: 'name', descending: false })).toEqual(['Ann Ångström', 'ann']);
    expect(decodeCursor(encodeCursor('file', [12, 345]), undefined)).toEqual([12, 345]);
    const refused = (cursor: string, sort?: { field: 'id' | 'name' | 'status'; descending: boolean }) => {
      try {
        decodeCursor(cursor, sort);
      } catch (error) {
        expect(error).toBeInstanceOf(GuardpostError);
        expect((error as GuardpostError).code).toBe('GP_ERR_BAD_REQUEST');
        return (error as GuardpostError).message;
      }
      throw new Error(`accepted ${cursor}`);
    };
    expect(refused(byName, { field: 'name', descending: true })).toMatch(/^querystring\.after: the cursor continues a list sorted by sort=name/);
    expect(refused(byName, undefined)).toMatch(/this request asks for one in the site file's order/);
    expect(refused(`x${byName}`, { field: 'name', descending: false })).toMatch(/changed or cut short/);
    expect(refused('', { field: 'id', descending: false })).toMatch(/not a list cursor/);
    expect(refused('a.b.c', { field: 'id', descending: false })).toMatch(/not a list cursor/);
    // A well-formed cursor of a shape its sort never writes (made with the checksum, as a bug would).
    expect(refused(encodeCursor('id', ['a', 'b'] as never), { field: 'id', descending: false })).toMatch(/key does not fit its sort/);
    expect(refused(encodeCursor('file', ['a', 1] as never), undefined)).toMatch(/key does not fit its sort/);
  });
});
