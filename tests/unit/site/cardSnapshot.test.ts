import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { decide } from '../../../src/access/decide.js';
import { parseSiteData } from '../../../src/config/load.js';
import { CARD_SNAPSHOT_FILE, readCardSnapshot, writeCardSnapshotInBackground } from '../../../src/site/cardSnapshot.js';
import { buildSiteIndex, openCardIndex, patchCardholder, credentialKeysOf, saveCardSnapshot, snapshotStampOf, writePeople } from '../../../src/site/siteIndex.js';
import { CardIndex } from '../../../src/access/cardIndex.js';
import { Store } from '../../../src/store/index.js';
import { tempDir } from '../../support/gateway.js';
import { cardKey, keyedDir } from '../../support/cardKeys.js';

/** A 20,000-person site (people written in SQL: seconds, not minutes), one of them with a PIN and one a visitor. */
function site(dir = keyedDir()) {
  const parsed = parseSiteData({
    site: { id: 's', name: 'S', timezone: 'UTC' },
    devices: [{ id: 'r', kind: 'reader' }, { id: 'k', kind: 'strike' }],
    doors: [{ id: 'lobby', name: 'Lobby', reader: 'r', strike: 'k', mode: 'card-or-pin' }],
    groups: [{ id: 'staff', name: 'Staff', doors: ['lobby'] }, { id: 'hosts', name: 'Hosts', doors: ['lobby'] }],
    cardholders: [
      { id: 'ann', name: 'Ann', groups: ['staff'], pin: '2468', credentials: [{ card: '42', validUntil: '2030-01-01T00:00:00Z' }] },
      { id: 'vic', name: 'Vic', groups: ['staff'], escort: { groups: ['hosts'], withinSeconds: 30 }, credentials: [{ card: '43' }] },
    ],
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const store = Store.open(dir);
  store.importSiteData(parsed.site);
  store.db.exec(`
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < 20000)
    INSERT INTO cardholders (id, name, status) SELECT 'holder-' || i, 'Holder ' || i, 'active' FROM n;
    INSERT INTO cardholder_groups (cardholder_id, group_id) SELECT id, 'staff' FROM cardholders WHERE id LIKE 'holder-%';
    INSERT INTO credentials (id, cardholder_id, kind, digest, masked, status) SELECT id || '-card', id, 'card', gp_credential_digest('card', CAST(10000000 + substr(id, 8) AS TEXT)), '******' || substr(id, -2), 'active' FROM cardholders WHERE id LIKE 'holder-%';
  `);
  return { dir, store };
}

const NOW = Date.parse('2026-01-05T10:00:00Z');

/** The index as a full read of the database gives it (no snapshot file is looked at). */
function scanned(store: Store): CardIndex {
  fs.rmSync(path.join(path.dirname(store.db.name), CARD_SNAPSHOT_FILE), { force: true });
  return openCardIndex(store).cards;
}
const badge = (index: ReturnType<typeof buildSiteIndex>, card: string) => decide({ doorId: 'lobby', credential: { kind: 'card', digest: cardKey(card) } }, index.access, NOW);

describe('the card index snapshot [ACC-INDEX]', () => {
  it('is written after a database read and read back at the next start, deciding exactly alike', () => {
    const { dir, store } = site();
    const first = openCardIndex(store, { save: 'now' });
    expect(first).toMatchObject({ from: 'database', note: null });
    expect(fs.statSync(path.join(dir, CARD_SNAPSHOT_FILE)).mode & 0o777).toBe(0o600);

    const second = openCardIndex(store);
    expect(second.from).toBe('snapshot');
    const [a, b] = [buildSiteIndex(store, first.cards), buildSiteIndex(store, second.cards)];
    for (const card of ['42', '43', '10000000', '10019999', '10020000', '7']) expect(badge(b, card)).toEqual(badge(a, card));
    expect(second.cards.cardholders.get('ann')).toEqual(first.cards.cardholders.get('ann'));
    expect(second.cards.credentials.get(cardKey('42'))?.validUntilMs).toBe(Date.parse('2030-01-01T00:00:00Z'));
    expect(second.cards.pins.holderOf(store.pins!.digest('2468'))).toBe('ann');
    expect([...second.cards.escortGroupIds]).toEqual(['hosts']);
    expect(badge(b, '10000005')).toMatchObject({ granted: true, cardholderId: 'holder-5' });
    // [SEC-CARD-DIGEST] the file holds digests: no card number, in text or as a number.
    const bytes = fs.readFileSync(path.join(dir, CARD_SNAPSHOT_FILE)).toString('latin1');
    for (const card of ['10000005', '10012345', '10019999']) expect(bytes.includes(card), card).toBe(false);
    expect(bytes.includes(cardKey('10000005'))).toBe(true);
    store.close();
  });

  it('is used with the people changed since re-read, however they were written, and only they', () => {
    const { dir, store } = site();
    openCardIndex(store, { save: 'now' });
    // Another process (the CLI, or plain SQL) suspends someone, gives someone a new card, moves a
    // card between two people, deletes someone and adds someone: the generation moves on.
    const other = Store.open(dir);
    other.db.exec(`
      UPDATE cardholders SET status = 'suspended' WHERE id = 'holder-5';
      UPDATE credentials SET digest = gp_credential_digest('card', '555') WHERE id = 'holder-6-card';
      UPDATE credentials SET cardholder_id = 'holder-2' WHERE id = 'holder-1-card';
      DELETE FROM cardholders WHERE id = 'holder-8';
      INSERT INTO cardholders (id, name, status) VALUES ('newcomer', 'New', 'active');
      INSERT INTO cardholder_groups (cardholder_id, group_id) VALUES ('newcomer', 'staff');
      INSERT INTO credentials (id, cardholder_id, kind, digest, masked, status) VALUES ('newcomer-card', 'newcomer', 'card', gp_credential_digest('card', '777'), '****', 'active');
    `);
    other.close();
    const reads = vi.spyOn(store.cardholders, 'readForIndex');
    const scans = vi.spyOn(store.cardholders, 'scanForIndex');
    const load = openCardIndex(store);
    expect(load).toMatchObject({ from: 'snapshot', note: null, changedSince: 6 });
    expect(scans).not.toHaveBeenCalled();
    expect(new Set(reads.mock.calls.map(([id]) => id))).toEqual(new Set(['holder-5', 'holder-6', 'holder-1', 'holder-2', 'holder-8', 'newcomer']));
    expect(load.cards.generation).toBe(store.cardholders.generation());
    const index = buildSiteIndex(store, load.cards);
    expect(badge(index, '10000005').reason).toBe('cardholder_suspended');
    expect(badge(index, '10000006').reason).toBe('unknown_credential');
    expect(badge(index, '555')).toMatchObject({ granted: true, cardholderId: 'holder-6' });
    expect(badge(index, '10000001')).toMatchObject({ granted: true, cardholderId: 'holder-2' });
    expect(badge(index, '10000008').reason).toBe('unknown_credential');
    expect(load.cards.cardholders.has('holder-8')).toBe(false);
    expect(badge(index, '777')).toMatchObject({ granted: true, cardholderId: 'newcomer' });
    // Exactly what a full read of the database gives.
    const full = buildSiteIndex(store, scanned(store));
    for (const card of ['10000005', '10000006', '555', '10000001', '10000008', '777', '10000002', '42']) expect(badge(index, card)).toEqual(badge(full, card));
    store.close();
  });

  it('re-reads a person whose cards kept their numbers without searching the credential array', () => {
    const { dir, store } = site();
    openCardIndex(store, { save: 'now' });
    const other = Store.open(dir);
    other.db.exec(`
      UPDATE cardholders SET status = 'suspended' WHERE id = 'holder-5';
      UPDATE credentials SET valid_until_ms = 0 WHERE id = 'holder-6-card';
    `);
    other.close();
    const searches = vi.spyOn(CardIndex.prototype, 'removeCredentialsOf');
    const load = openCardIndex(store);
    expect(load).toMatchObject({ from: 'snapshot', changedSince: 2 });
    expect(searches).not.toHaveBeenCalled();
    const index = buildSiteIndex(store, load.cards);
    expect(badge(index, '10000005').reason).toBe('cardholder_suspended');
    expect(badge(index, '10000006').reason).toBe('credential_expired');
    expect(load.cards.credentialCountOf('holder-6')).toBe(1);
    searches.mockRestore();
    store.close();
  });

  it('falls back to a full read, saying why, when the change log does not reach back to the snapshot', () => {
    const { dir, store } = site();
    openCardIndex(store, { save: 'now' });
    const other = Store.open(dir);
    other.db.prepare("UPDATE cardholders SET status = 'suspended' WHERE id = 'holder-5'").run();
    other.db.prepare("UPDATE cardholders SET status = 'suspended' WHERE id = 'holder-6'").run();
    // Pruned past the snapshot (as a newer snapshot would, had this one been replaced since).
    other.cardholders.pruneChanges(other.cardholders.generation() - 1, 10);
    other.close();
    const scans = vi.spyOn(store.cardholders, 'scanForIndex');
    const load = openCardIndex(store, { save: 'now' });
    expect(load.from).toBe('database');
    expect(load.note).toMatch(/^the people change log no longer holds every change since generation \d+/);
    expect(scans).toHaveBeenCalledTimes(1);
    const index = buildSiteIndex(store, load.cards);
    expect(badge(index, '10000005').reason).toBe('cardholder_suspended');
    expect(badge(index, '10000006').reason).toBe('cardholder_suspended');
    expect(openCardIndex(store)).toMatchObject({ from: 'snapshot', changedSince: 0 });
    store.close();
  });

  it('falls back to a full read when a row of the change log was deleted by hand, and when the snapshot is newer than the database', () => {
    const { dir, store } = site();
    openCardIndex(store, { save: 'now' });
    const other = Store.open(dir);
    other.db.prepare("UPDATE cardholders SET status = 'suspended' WHERE id = 'holder-5'").run();
    other.db.prepare("UPDATE cardholders SET status = 'suspended' WHERE id = 'holder-6'").run();
    other.db.prepare('DELETE FROM people_changes WHERE generation = (SELECT max(generation) FROM people_changes)').run();
    other.close();
    expect(openCardIndex(store)).toMatchObject({ from: 'database', note: expect.stringMatching(/^the people change log no longer holds every change/) as unknown });

    // A database restored from a backup taken before the snapshot: its generation is behind it.
    openCardIndex(store, { save: 'now' });
    store.db.prepare('UPDATE people_generation SET value = value - 5 WHERE id = 1').run();
    expect(openCardIndex(store).note).toMatch(/^snapshot at people generation \d+, newer than the database's \d+/);
    store.close();
  });

  it('is refused when damaged, and the index read from the database instead', () => {
    const { dir, store } = site();
    openCardIndex(store, { save: 'now' });
    const file = path.join(dir, CARD_SNAPSHOT_FILE);
    const bytes = fs.readFileSync(file);
    bytes[100] = (bytes[100] ?? 0) ^ 0xff;
    fs.writeFileSync(file, bytes);
    expect(openCardIndex(store)).toMatchObject({ from: 'database', note: 'snapshot checksum mismatch' });
    fs.writeFileSync(file, bytes.subarray(0, 1000));
    expect(openCardIndex(store).from).toBe('database');
    store.close();
  });

  it('is saved on stop after the gateway\'s own edits, and not after an edit it has not seen', () => {
    const { store } = site();
    const index = buildSiteIndex(store, openCardIndex(store, { save: 'now' }).cards);
    const keys = credentialKeysOf(store, 'holder-9');
    writePeople(store, index.cards, () => store.cardholders.upsertCredential({ id: 'holder-9-card', cardholderId: 'holder-9', kind: 'card', digest: store.cardDigests!.ofCard('555'), status: 'active', validFromMs: null, validUntilMs: null }, '****'));
    patchCardholder(index, store, 'holder-9', keys);
    expect(saveCardSnapshot(store, index.cards)).toBeNull();
    const reopened = openCardIndex(store);
    expect(reopened.from).toBe('snapshot');
    expect(badge(buildSiteIndex(store, reopened.cards), '555')).toMatchObject({ granted: true, cardholderId: 'holder-9' });

    // A write the index never saw: the next save must not stamp the stale index as current.
    const seen = reopened.cards.generation;
    store.db.prepare("DELETE FROM cardholders WHERE id = 'holder-8'").run();
    writePeople(store, reopened.cards, () => store.cardholders.upsertCredential({ id: 'holder-7-card', cardholderId: 'holder-7', kind: 'card', digest: store.cardDigests!.ofCard('777'), status: 'active', validFromMs: null, validUntilMs: null }, '****'));
    expect(reopened.cards.generation).toBe(seen);
    saveCardSnapshot(store, reopened.cards);
    const fresh = openCardIndex(store);
    expect(fresh).toMatchObject({ from: 'snapshot', changedSince: 2 });
    expect(badge(buildSiteIndex(store, fresh.cards), '10000008').reason).toBe('unknown_credential');
    expect(badge(buildSiteIndex(store, fresh.cards), '777')).toMatchObject({ granted: true, cardholderId: 'holder-7' });
    store.close();
  });

  it('is written in the background to the same format, and abandoned if the index changes while it is copied', async () => {
    const { dir, store } = site();
    const cards = openCardIndex(store).cards;
    const file = path.join(dir, CARD_SNAPSHOT_FILE);
    expect(fs.existsSync(file)).toBe(false);
    const stamp = snapshotStampOf(store, cards.generation ?? -1);
    const written = await writeCardSnapshotInBackground(file, cards, stamp, () => true).done;
    expect(written).toMatchObject({ ok: true });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const read = readCardSnapshot(file, () => null);
    if (!read.ok) throw new Error(read.reason);
    expect(read.stamp).toEqual(stamp);
    const back = buildSiteIndex(store, CardIndex.fromImage(read.image));
    const live = buildSiteIndex(store, cards);
    for (const card of ['42', '43', '10000000', '10019999', '7']) expect(badge(back, card)).toEqual(badge(live, card));

    // A change while the copy is under way (it takes several turns): nothing is renamed into place.
    fs.rmSync(file);
    const writing = writeCardSnapshotInBackground(file, cards, stamp, () => true);
    cards.removeCardholder('holder-3');
    expect(await writing.done).toEqual({ ok: false, reason: 'the card index changed while it was copied', changed: true });
    expect(fs.readdirSync(dir).filter((name) => name.startsWith(CARD_SNAPSHOT_FILE))).toEqual([]);

    // Stopped before the rename: the temp file goes, the old snapshot (none here) stays.
    const refused = await writeCardSnapshotInBackground(file, cards, stamp, () => false).done;
    expect(refused).toMatchObject({ ok: false, changed: false });
    expect(fs.readdirSync(dir).filter((name) => name.startsWith(CARD_SNAPSHOT_FILE))).toEqual([]);
    store.close();
  });

  it('is not kept for a small site', () => {
    const dir = tempDir();
    const store = Store.open(dir);
    const parsed = parseSiteData({ site: { id: 's', name: 'S', timezone: 'UTC' }, cardholders: [{ id: 'ann', name: 'Ann', credentials: [{ card: '1' }] }] });
    if (!parsed.ok) throw new Error(parsed.problems.join());
    store.importSiteData(parsed.site);
    expect(openCardIndex(store).from).toBe('database');
    expect(fs.existsSync(path.join(dir, CARD_SNAPSHOT_FILE))).toBe(false);
    store.close();
  });
});
