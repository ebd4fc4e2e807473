import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/access/decide.js';
import { parseSiteData } from '../../../src/config/load.js';
import { buildSiteIndex, credentialKeysOf, loadCardIndex, patchCardholder } from '../../../src/site/siteIndex.js';
import { Store } from '../../../src/store/index.js';
import { tempDir } from '../../support/gateway.js';
import { cardKey, keyedDir } from '../../support/cardKeys.js';

const SITE = {
  site: { id: 's', name: 'S', timezone: 'UTC' },
  devices: [{ id: 'r', kind: 'reader' }, { id: 'k', kind: 'strike' }],
  doors: [{ id: 'lobby', name: 'Lobby', reader: 'r', strike: 'k', mode: 'card-or-pin' }],
  groups: [{ id: 'staff', name: 'Staff', doors: ['lobby'] }],
  cardholders: [
    { id: 'ann', name: 'Ann', groups: ['staff'], pin: '1111', credentials: [{ card: '0042' }] },
    { id: 'ben', name: 'Ben', groups: ['staff'], pin: '2222', credentials: [{ card: '43' }] },
  ],
};

function open() {
  const parsed = parseSiteData(structuredClone(SITE));
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const store = Store.open(keyedDir());
  store.importSiteData(parsed.site);
  return { store, index: buildSiteIndex(store) };
}

const pinOf = (store: Store, pin: string) => ({ digest: store.pins?.digest(pin) ?? Buffer.alloc(0), undoOffsetDigest: null });

describe('patching one cardholder into the live index [ACC-INDEX]', () => {
  it('replaces a changed card number: the old one stops opening, the new one opens', () => {
    const { store, index } = open();
    const before = credentialKeysOf(store, 'ann');
    expect(before).toEqual([cardKey('42')]);
    store.cardholders.upsertCredential({ id: 'ann-card-1', cardholderId: 'ann', kind: 'card', digest: store.cardDigests!.ofCard('77'), status: 'active', validFromMs: null, validUntilMs: null }, '****');
    patchCardholder(index, store, 'ann', before);
    expect(decide({ doorId: 'lobby', credential: { kind: 'card', digest: cardKey('42') } }, index.access, 0).reason).toBe('unknown_credential');
    expect(decide({ doorId: 'lobby', credential: { kind: 'card', digest: cardKey('77') } }, index.access, 0)).toMatchObject({ granted: true, cardholderId: 'ann' });
    store.close();
  });

  it('follows a changed PIN, and a PIN two people come to share identifies neither', () => {
    const { store, index } = open();
    const pinOnly = (pin: string) => decide({ doorId: 'lobby', credential: { kind: 'pin' }, pin: pinOf(store, pin) }, index.access, 0);
    expect(pinOnly('2222')).toMatchObject({ granted: true, cardholderId: 'ben' });
    store.cardholderRules.setPin('ann', store.pins?.digest('3333') ?? Buffer.alloc(0), null);
    patchCardholder(index, store, 'ann', credentialKeysOf(store, 'ann'));
    expect(pinOnly('1111').reason).toBe('pin_invalid');
    expect(pinOnly('3333')).toMatchObject({ granted: true, cardholderId: 'ann' });
    store.cardholderRules.setPin('ann', store.pins?.digest('2222') ?? Buffer.alloc(0), null);
    patchCardholder(index, store, 'ann', credentialKeysOf(store, 'ann'));
    expect(pinOnly('2222').reason).toBe('pin_invalid');
    store.close();
  });

  it('forgets a deleted cardholder', () => {
    const { store, index } = open();
    const before = credentialKeysOf(store, 'ben');
    store.db.prepare('DELETE FROM cardholders WHERE id = ?').run('ben');
    patchCardholder(index, store, 'ben', before);
    expect(decide({ doorId: 'lobby', credential: { kind: 'card', digest: cardKey('43') } }, index.access, 0).reason).toBe('unknown_credential');
    expect(index.access.cardholders.has('ben')).toBe(false);
    store.close();
  });
});

/** A site with `people` cardholders written straight in SQL (seconds instead of minutes through the writers). */
function bigSite(people: number) {
  const parsed = parseSiteData({
    site: { id: 's', name: 'S', timezone: 'UTC' },
    devices: [{ id: 'r', kind: 'reader' }, { id: 'k', kind: 'strike' }],
    doors: [{ id: 'lobby', name: 'Lobby', reader: 'r', strike: 'k' }],
    groups: [{ id: 'staff', name: 'Staff', accessLevels: ['office-hours'] }, { id: 'temps', name: 'Temps', doors: ['lobby'] }],
    schedules: [{ id: 'office', name: 'Office', intervals: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '18:00' }] }],
    accessLevels: [{ id: 'office-hours', name: 'Office hours', doors: ['lobby'], schedule: 'office' }],
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const store = Store.open(keyedDir());
  store.importSiteData(parsed.site);
  store.db.exec(`
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ${people})
    INSERT INTO cardholders (id, name, status) SELECT 'holder-' || i, 'Holder ' || i, 'active' FROM n;
    INSERT INTO cardholder_groups (cardholder_id, group_id) SELECT id, 'staff' FROM cardholders;
    INSERT INTO credentials (id, cardholder_id, kind, digest, masked, status) SELECT id || '-card', id, 'card', gp_credential_digest('card', CAST(10000000 + substr(id, 8) AS TEXT)), '******' || substr(id, -2), 'active' FROM cardholders;
  `);
  return store;
}

describe('rebuilding the rules around the live card index [ACC-INDEX]', () => {
  const SATURDAY_NOON = Date.parse('2025-06-07T12:00:00Z');
  const badge = (index: ReturnType<typeof buildSiteIndex>, card: string) => decide({ doorId: 'lobby', credential: { kind: 'card', digest: cardKey(card) } }, index.access, SATURDAY_NOON);

  it('takes a schedule edit on a 100,000-person site on the next read without re-reading a single cardholder', () => {
    const store = bigSite(100_000);
    const index = buildSiteIndex(store);
    expect(badge(index, '10099999')).toMatchObject({ granted: false, reason: 'outside_schedule', cardholderId: 'holder-99999' });

    let scans = 0;
    let singleReads = 0;
    const scan = store.cardholders.scanForIndex.bind(store.cardholders);
    const get = store.cardholders.get.bind(store.cardholders);
    store.cardholders.scanForIndex = (...args) => {
      scans++;
      scan(...args);
    };
    store.cardholders.get = (id) => {
      singleReads++;
      return get(id);
    };
    store.schedules.upsert({ id: 'office', name: 'Office', intervals: [{ days: [1, 2, 3, 4, 5, 6], startMinute: 8 * 60, endMinute: 18 * 60 }], holidayCalendarIds: [], holidayIntervals: [] });
    const next = buildSiteIndex(store, index.cards);

    expect(badge(next, '10099999')).toMatchObject({ granted: true, cardholderId: 'holder-99999' });
    expect(next.cards).toBe(index.cards);
    expect({ scans, singleReads }).toEqual({ scans: 0, singleReads: 0 });
    store.close();
  });

  it('drops a deleted group from its members, so re-creating it under that id grants nobody', () => {
    const store = bigSite(10);
    const index = buildSiteIndex(store);
    store.db.prepare("INSERT INTO cardholder_groups (cardholder_id, group_id) VALUES ('holder-3', 'temps')").run();
    patchCardholder(index, store, 'holder-3', credentialKeysOf(store, 'holder-3'));
    expect(badge(index, '10000003')).toMatchObject({ granted: true });

    store.db.prepare("DELETE FROM groups WHERE id = 'temps'").run();
    const without = buildSiteIndex(store, index.cards);
    expect(badge(without, '10000003').reason).toBe('outside_schedule');
    store.groups.upsert({ id: 'temps', name: 'Temps again', doorIds: ['lobby'] });
    const recreated = buildSiteIndex(store, without.cards);
    expect(badge(recreated, '10000003').reason).toBe('outside_schedule');
    // The same as a fresh load from the store.
    expect(loadCardIndex(store).cardholders.get('holder-3')).toEqual(recreated.cards.cardholders.get('holder-3'));
    store.close();
  });
});
