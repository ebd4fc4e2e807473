import { describe, expect, it } from 'vitest';
import { parseSiteData } from '../../../src/config/load.js';
import { GuardpostError } from '../../../src/errors.js';
import { SiteService } from '../../../src/site/siteService.js';
import { Store } from '../../../src/store/index.js';
import { tempDir } from '../../support/gateway.js';

const SITE = {
  site: { id: 's', name: 'S', timezone: 'UTC' },
  devices: [{ id: 'r', kind: 'reader' }, { id: 'k', kind: 'strike' }],
  doors: [{ id: 'lobby', name: 'Lobby', reader: 'r', strike: 'k' }],
  groups: [{ id: 'staff', name: 'Staff', doors: ['lobby'] }],
  cardholders: [
    { id: 'ann', name: 'Ann', groups: ['staff'], credentials: [{ id: 'ann-card', card: '0042' }] },
    { id: 'ben', name: 'Ben', groups: ['staff'], credentials: [{ id: 'ben-card', card: '43' }, { id: 'ben-fob', wiegand: { format: 'h10301', facility: 1, number: 2 } }] },
  ],
  watchList: [{ cardholder: 'mal', reason: 'banned' }, { credential: 'ben-fob', reason: 'reported stolen' }],
};

const BY = { actor: 'admin', source: 'test' };

/** A site of the file above plus `extra` people written straight in SQL (no documents: as many as wanted, fast). */
function open(extra = 0) {
  const parsed = parseSiteData({ ...structuredClone(SITE), cardholders: [...structuredClone(SITE.cardholders), { id: 'mal', name: 'Mal', credentials: [{ card: '666' }] }] });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const store = Store.open(tempDir());
  store.importSiteData(parsed.site);
  if (extra > 0) {
    store.db.exec(`
      WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ${extra})
      INSERT INTO cardholders (id, name, status) SELECT 'holder-' || i, 'Holder ' || i, 'active' FROM n;
      INSERT INTO credentials (id, cardholder_id, kind, digest, masked, status) SELECT id || '-card', id, 'card', gp_credential_digest('card', CAST(10000000 + substr(id, 8) AS TEXT)), '******' || substr(CAST(10000000 + substr(id, 8) AS TEXT), -2), 'active' FROM cardholders WHERE id LIKE 'holder-%';
    `);
  }
  const patched: string[][] = [];
  const service = new SiteService({
    store,
    clock: () => 0,
    onChanged: () => undefined,
    changeCardholders: (ids, _change, write) => {
      store.db.transaction(write)();
      patched.push([...ids]);
    },
  });
  return { store, service, patched };
}

function refusal(action: () => unknown): string[] {
  try {
    action();
  } catch (error) {
    if (error instanceof GuardpostError) return (error.details as string[] | undefined) ?? [error.message];
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('changing one cardholder is checked without reading every cardholder [ACC-INDEX]', () => {
  it('creates a person on a 100,000-person site without listing the cardholders, and patches just them', () => {
    const { store, service, patched } = open(100_000);
    const collections: string[] = [];
    const list = store.documents.list.bind(store.documents);
    store.documents.list = (collection) => {
      collections.push(collection);
      return list(collection);
    };
    const { item, created } = service.put('cardholders', 'cat', { name: 'Cat', groups: ['staff'], credentials: [{ card: '20000001' }] }, BY);
    expect(created).toBe(true);
    expect(item.credentials).toEqual([{ id: 'cat-card-1', cardDigest: store.cardDigests!.seal(store.cardDigests!.ofCard('20000001')), masked: '******01', status: 'active' }]);
    expect(collections).not.toContain('cardholders');
    expect(patched).toEqual([['cat']]);
    expect(store.cardholders.holderOfDigest('card', store.cardDigests!.ofCard('20000001'))).toEqual({ credentialId: 'cat-card-1', cardholderId: 'cat' });
    expect(service.get('cardholders', 'cat')).toMatchObject({ name: 'Cat' });
    store.close();
  });

  it('refuses a card someone else holds, however it is written, naming the field and the holder', () => {
    const { store, service } = open(1_000);
    expect(refusal(() => service.put('cardholders', 'cat', { name: 'Cat', credentials: [{ card: '7' }, { card: '00042' }] }, BY))).toEqual([
      'body.credentials[1].card: this card is already held by credential "ann-card" of cardholder "ann"',
    ]);
    expect(refusal(() => service.put('cardholders', 'cat', { name: 'Cat', credentials: [{ card: '10000999' }] }, BY))).toEqual([
      'body.credentials[0].card: this card is already held by credential "holder-999-card" of cardholder "holder-999"',
    ]);
    expect(refusal(() => service.put('cardholders', 'cat', { name: 'Cat', credentials: [{ wiegand: { format: 'h10301', facility: 1, number: 2 } }] }, BY))).toEqual([
      'body.credentials[0].wiegand: this card is already held by credential "ben-fob" of cardholder "ben"',
    ]);
    expect(store.cardholders.get('cat')).toBeUndefined();
    store.close();
  });

  it('lets a person keep their own cards when their record is replaced', () => {
    const { service } = open();
    expect(service.put('cardholders', 'ann', { name: 'Ann Again', groups: ['staff'], credentials: [{ id: 'ann-card', card: '42', status: 'lost' }] }, BY).created).toBe(false);
  });

  it('refuses a credential id another person holds, an unknown group, and a duplicate card inside the body', () => {
    const { service } = open();
    expect(refusal(() => service.put('cardholders', 'cat', { name: 'Cat', credentials: [{ id: 'ben-card', card: '9' }] }, BY))).toEqual(['body.credentials[0].id: duplicate id "ben-card" (a credential of cardholder "ben")']);
    expect(refusal(() => service.put('cardholders', 'cat', { name: 'Cat', groups: ['ghosts'] }, BY))).toEqual(['body.groups[0]: unknown group "ghosts"']);
    expect(refusal(() => service.put('cardholders', 'cat', { name: 'Cat', credentials: [{ card: '9' }, { card: '09' }] }, BY))).toEqual(['body.credentials[1].card: this card is already held by cardholders[0].credentials[0]']);
  });

  it('refuses to delete a group people hold, naming them, and edits rules against only the people concerned [SITE-LIST]', () => {
    const { service, store } = open(1_000);
    // The people written in SQL above have no documents; Ann and Ben (members) are read, nobody else.
    expect(refusal(() => service.delete('groups', 'staff', BY)).sort()).toEqual(['would break cardholder "ann".groups[0]: unknown group "staff"', 'would break cardholder "ben".groups[0]: unknown group "staff"']);
    const renamed = service.put('groups', 'staff', { name: 'All staff', doors: ['lobby'] }, BY);
    expect(renamed.item).toMatchObject({ name: 'All staff' });
    expect(service.put('doors', 'lobby', { name: 'Front lobby', reader: 'r', strike: 'k' }, BY).created).toBe(false);
    expect(store.documents.get('groups', 'staff')).toMatchObject({ name: 'All staff' });
  });

  it('refuses to delete a watch-listed person or drop a watch-listed card, saying what would break', () => {
    const { store, service } = open();
    expect(refusal(() => service.delete('cardholders', 'mal', BY))).toEqual(['would break watchList[0].cardholder: unknown cardholder "mal"']);
    expect(refusal(() => service.delete('cardholders', 'ben', BY))).toEqual(['would break watchList[1].credential: unknown credential "ben-fob"']);
    expect(refusal(() => service.put('cardholders', 'ben', { name: 'Ben', credentials: [{ id: 'ben-card', card: '43' }] }, BY))).toEqual(['would break watchList[1].credential: unknown credential "ben-fob"']);
    service.delete('cardholders', 'ann', BY);
    expect(store.cardholders.get('ann')).toBeUndefined();
    expect(() => service.get('cardholders', 'ann')).toThrow('no cardholder "ann"');
    expect(() => service.delete('cardholders', 'ann', BY)).toThrow('no cardholder "ann"');
  });
});

describe('a CSV import is checked without reading every cardholder [ACC-INDEX]', () => {
  it('creates and updates people on a 100,000-person site without listing the cardholders', () => {
    const { store, service, patched } = open(100_000);
    const collections: string[] = [];
    const list = store.documents.list.bind(store.documents);
    store.documents.list = (collection) => {
      collections.push(collection);
      return list(collection);
    };
    const report = service.importCardholdersCsv('id,name,groups,cards\ncat,Cat,staff,20000001\nann,Ann Adams,staff,0042\n', BY, false);
    expect(report).toMatchObject({ created: ['cat'], updated: ['ann'], errors: [] });
    expect(collections).not.toContain('cardholders');
    expect(patched).toEqual([['cat', 'ann']]);
    expect(store.cardholders.holderOfDigest('card', store.cardDigests!.ofCard('20000001'))?.cardholderId).toBe('cat');
    store.close();
  });

  it('names the row of a card someone outside the file holds, and of a card two rows claim', () => {
    const { service } = open(1_000);
    const report = service.importCardholdersCsv('id,name,cards\ncat,Cat,10000007\ndan,Dan,9\neve,Eve,09\n', BY, true);
    expect(report.errors).toEqual([
      { row: 2, id: 'cat', message: 'credentials[0].card: this card is already held by credential "holder-7-card" of cardholder "holder-7"' },
      { row: 4, id: 'eve', message: 'credentials[0].card: this card is already held by row 3, credentials[0]' },
    ]);
  });

  it('lets a card move from one person to another in the same file', () => {
    const { store, service } = open();
    // The taker's row comes first: the card is freed before anyone is written.
    const report = service.importCardholdersCsv('id,name,cards\ncat,Cat,42\nann,Ann,7\n', BY, false);
    expect(report.errors).toEqual([]);
    expect(store.cardholders.holderOfDigest('card', store.cardDigests!.ofCard('42'))?.cardholderId).toBe('cat');
    expect(store.cardholders.holderOfDigest('card', store.cardDigests!.ofCard('7'))?.cardholderId).toBe('ann');
  });

  it('refuses to drop a watch-listed card, naming the row', () => {
    const { service } = open();
    expect(service.importCardholdersCsv('id,name,cards\nben,Ben,43\n', BY, true).errors).toEqual([{ row: 2, id: 'ben', message: 'would break watchList[1].credential: unknown credential "ben-fob"' }]);
  });
});
