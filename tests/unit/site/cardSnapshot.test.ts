import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/access/decide.js';
import { parseSiteData } from '../../../src/config/load.js';
import { CARD_SNAPSHOT_FILE } from '../../../src/site/cardSnapshot.js';
import { buildSiteIndex, openCardIndex, patchCardholder, credentialKeysOf, saveCardSnapshot, writePeople } from '../../../src/site/siteIndex.js';
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
const badge = (index: ReturnType<typeof buildSiteIndex>, card: string) => decide({ doorId: 'lobby', credential: { kind: 'card', number: cardKey(card) } }, index.access, NOW);

describe('the card index snapshot [ACC-INDEX]', () => {
  it('is written after a database read and read back at the next start, deciding exactly alike', () => {
    const { dir, store } = site();
    const first = openCardIndex(store);
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

  it('is not used once anyone has written people since, however they wrote them', () => {
    const { dir, store } = site();
    openCardIndex(store);
    // Another process (the CLI, or plain SQL) suspends someone: the generation moves on.
    const other = Store.open(dir);
    other.db.prepare("UPDATE cardholders SET status = 'suspended' WHERE id = 'holder-5'").run();
    other.close();
    const load = openCardIndex(store);
    expect(load.from).toBe('database');
    expect(load.note).toMatch(/^snapshot at people generation \d+, the database is at \d+$/);
    expect(badge(buildSiteIndex(store, load.cards), '10000005').reason).toBe('cardholder_suspended');
    expect(openCardIndex(store).from).toBe('snapshot');
    store.close();
  });

  it('is refused when damaged, and the index read from the database instead', () => {
    const { dir, store } = site();
    openCardIndex(store);
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
    const index = buildSiteIndex(store, openCardIndex(store).cards);
    const keys = credentialKeysOf(store, 'holder-9');
    writePeople(store, index.cards, () => store.cardholders.upsertCredential({ id: 'holder-9-card', cardholderId: 'holder-9', kind: 'card', number: store.cardDigests!.ofCard('555'), status: 'active', validFromMs: null, validUntilMs: null }, '****'));
    patchCardholder(index, store, 'holder-9', keys);
    expect(saveCardSnapshot(store, index.cards)).toBeNull();
    const reopened = openCardIndex(store);
    expect(reopened.from).toBe('snapshot');
    expect(badge(buildSiteIndex(store, reopened.cards), '555')).toMatchObject({ granted: true, cardholderId: 'holder-9' });

    // A write the index never saw: the next save must not stamp the stale index as current.
    store.db.prepare("DELETE FROM cardholders WHERE id = 'holder-8'").run();
    writePeople(store, reopened.cards, () => store.cardholders.upsertCredential({ id: 'holder-7-card', cardholderId: 'holder-7', kind: 'card', number: store.cardDigests!.ofCard('777'), status: 'active', validFromMs: null, validUntilMs: null }, '****'));
    expect(reopened.cards.generation).toBeNull();
    saveCardSnapshot(store, reopened.cards);
    const fresh = openCardIndex(store);
    expect(fresh.from).toBe('database');
    expect(badge(buildSiteIndex(store, fresh.cards), '10000008').reason).toBe('unknown_credential');
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
