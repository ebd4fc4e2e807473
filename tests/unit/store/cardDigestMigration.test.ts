import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/access/decide.js';
import { buildSiteIndex } from '../../../src/site/siteIndex.js';
import { DATABASE_FILE, migrate } from '../../../src/store/db.js';
import { Store } from '../../../src/store/index.js';
import { migrations } from '../../../src/store/migrations/index.js';
import { cardKey, keyedDir, testCardDigests } from '../../support/cardKeys.js';

const CARD = '7305518842';
const OTHER = '6194407731';

/** A state directory at the schema before card digests, holding whole card numbers as it did then. */
function oldSite(): string {
  const dir = keyedDir();
  const db = new Database(path.join(dir, DATABASE_FILE));
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  migrate(db, migrations.filter((migration) => migration.version < 12));
  db.exec(`
    INSERT INTO meta (key, value) VALUES ('site', '{"id":"old","name":"Old","timezone":"UTC"}');
    INSERT INTO devices (id, name, kind, driver) VALUES ('r', 'Reader', 'reader', 'json'), ('k', 'Strike', 'strike', 'json');
    INSERT INTO doors (id, name, reader_device, strike_device, unlock_ms, mode) VALUES ('lobby', 'Lobby', 'r', 'k', 5000, 'card');
    INSERT INTO groups (id, name) VALUES ('staff', 'Staff');
    INSERT INTO group_doors (group_id, door_id) VALUES ('staff', 'lobby');
    INSERT INTO cardholders (id, name, status) VALUES ('ann', 'Ann', 'active'), ('ben', 'Ben', 'active');
    INSERT INTO cardholder_groups (cardholder_id, group_id) VALUES ('ann', 'staff'), ('ben', 'staff');
    INSERT INTO credentials (id, cardholder_id, kind, number, status) VALUES
      ('ann-card', 'ann', 'card', '${CARD}', 'active'),
      ('ben-fob', 'ben', 'wiegand', 'h10301:12:34567', 'active'),
      ('ben-card', 'ben', 'card', '${OTHER}', 'lost');
    INSERT INTO watch_list (credential_id, reason) VALUES ('ben-card', 'reported stolen');
    INSERT INTO site_documents (collection, id, position, json) VALUES
      ('cardholders', 'ann', 0, '{"id":"ann","name":"Ann","status":"active","groups":["staff"],"credentials":[{"card":"00${CARD}","id":"ann-card","status":"active"}]}'),
      ('cardholders', 'ben', 1, '{"id":"ben","name":"Ben","status":"active","groups":["staff"],"credentials":[{"wiegand":{"format":"h10301","facility":12,"number":34567},"id":"ben-fob","status":"active"},{"card":"${OTHER}","id":"ben-card","status":"lost"}]}');
  `);
  db.close();
  return dir;
}

describe('migration 12: card numbers become keyed digests [SEC-CARD-DIGEST]', () => {
  it('replaces every whole number by its digest and mask, in the rows and the documents, and the cards still open', () => {
    const dir = oldSite();
    const store = Store.open(dir);
    try {
      const rows = store.db.prepare('SELECT id, kind, digest, masked FROM credentials ORDER BY id').all();
      expect(rows).toEqual([
        { id: 'ann-card', kind: 'card', digest: Buffer.from(cardKey(CARD), 'latin1'), masked: '********42' },
        { id: 'ben-card', kind: 'card', digest: Buffer.from(cardKey(OTHER), 'latin1'), masked: '********31' },
        { id: 'ben-fob', kind: 'wiegand', digest: Buffer.from(testCardDigests.ofWiegand('h10301', 12, 34567), 'latin1'), masked: 'h10301:12:****7' },
      ]);
      expect(store.documents.get('cardholders', 'ann')).toEqual({ id: 'ann', name: 'Ann', status: 'active', groups: ['staff'], credentials: [{ id: 'ann-card', status: 'active', cardDigest: testCardDigests.seal(cardKey(CARD)), masked: '********42' }] });
      expect((store.documents.get('cardholders', 'ben') as { credentials: unknown[] }).credentials).toEqual([
        { id: 'ben-fob', status: 'active', wiegandDigest: testCardDigests.seal(testCardDigests.ofWiegand('h10301', 12, 34567)), masked: 'h10301:12:****7' },
        { id: 'ben-card', status: 'lost', cardDigest: testCardDigests.seal(cardKey(OTHER)), masked: '********31' },
      ]);
      // Renamed in place, not rebuilt: the watch list's reference to a credential survives.
      expect(store.siteRules.listWatchList()).toEqual([{ cardholderId: null, credentialId: 'ben-card', reason: 'reported stolen' }]);
      const index = buildSiteIndex(store);
      expect(decide({ doorId: 'lobby', credential: { kind: 'card', digest: cardKey(CARD) } }, index.access, Date.now())).toMatchObject({ granted: true, cardholderId: 'ann' });
      expect(decide({ doorId: 'lobby', credential: { kind: 'card', digest: cardKey(OTHER) } }, index.access, Date.now())).toMatchObject({ granted: false, reason: 'watchlist', cardholderId: 'ben' });
    } finally {
      store.close();
    }
    // Nothing of the old numbers is left in the database or its WAL (the pre-migration backup keeps them, by design).
    for (const file of fs.readdirSync(dir).filter((name) => name.startsWith(DATABASE_FILE))) {
      const bytes = fs.readFileSync(path.join(dir, file)).toString('latin1');
      expect(bytes.includes(CARD), file).toBe(false);
      expect(bytes.includes(OTHER), file).toBe(false);
      expect(bytes.includes('34567'), file).toBe(false);
    }
    expect(fs.readdirSync(path.join(dir, 'backups'))).toHaveLength(1);
  });
});
