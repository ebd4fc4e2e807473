import { describe, expect, it } from 'vitest';
import { GuardpostError } from '../../../src/errors.js';
import { SiteService } from '../../../src/site/siteService.js';
import { REPORT_IDS } from '../../../src/site/siteImport.js';
import { Store } from '../../../src/store/index.js';
import { tempDir } from '../../support/gateway.js';

const RULES = {
  site: { id: 's', name: 'S', timezone: 'UTC' },
  devices: [{ id: 'r', kind: 'reader' }, { id: 'k', kind: 'strike' }],
  doors: [{ id: 'lobby', name: 'Lobby', reader: 'r', strike: 'k' }],
  groups: [{ id: 'staff', name: 'Staff', doors: ['lobby'] }],
};
const BY = { actor: 'admin', source: 'test' };
/** More people than one validation batch (1,000), so people meet across batches. */
const PEOPLE = 2_500;

const person = (i: number, card = String(40_000_000 + i)) => ({ id: `p-${String(i).padStart(5, '0')}`, name: `Person ${i}`, groups: ['staff'], credentials: [{ id: `p-${i}-card`, card }] });
const everyone = () => Array.from({ length: PEOPLE }, (_, i) => person(i));

function open() {
  const store = Store.open(tempDir());
  const changes: string[] = [];
  const service = new SiteService({ store, clock: () => 0, onChanged: (change) => changes.push(change.what), changeCardholders: (_ids, _change, write) => store.db.transaction(write)() });
  service.replaceAll({ ...RULES, cardholders: everyone() }, BY, false);
  return { store, service, changes };
}
const holderOf = (store: Store, card: string) => store.cardholders.holderOfDigest('card', store.cardDigests!.ofCard(card))?.cardholderId;
const refusal = (run: () => unknown): GuardpostError => {
  try {
    run();
  } catch (error) {
    if (error instanceof GuardpostError) return error;
    throw error;
  }
  throw new Error('the import was accepted');
};

describe('a whole-site import of many people [SITE-IMPORT]', () => {
  it('lets a card move to a person earlier in the file, across batches, from someone later who gets another', () => {
    const { store, service } = open();
    const people = everyone();
    people[3] = person(3, String(40_000_000 + 2_200));
    people[2_200] = person(2_200, '77777777');
    const report = service.replaceAll({ ...RULES, cardholders: people }, BY, false);
    expect(report.counts.updated.cardholders).toBe(2);
    expect(report.counts.unchanged.cardholders).toBe(PEOPLE - 2);
    expect(holderOf(store, String(40_000_000 + 2_200))).toBe('p-00003');
    expect(holderOf(store, '77777777')).toBe('p-02200');
    expect(holderOf(store, String(40_000_000 + 3))).toBeUndefined();
    store.close();
  });

  it('refuses a card two people of the file hold, also when the later one is otherwise unchanged, and changes nothing', () => {
    const { store, service } = open();
    const generation = store.cardholders.generation();
    const people = everyone();
    // Person 3 takes person 2,200's card; person 2,200 still lists it, unchanged.
    people[3] = person(3, String(40_000_000 + 2_200));
    const error = refusal(() => service.replaceAll({ ...RULES, cardholders: people }, BY, false));
    expect(error.details).toEqual(['cardholders[2200].credentials[0].card: this card is already held by cardholders[3]']);
    expect(store.cardholders.generation()).toBe(generation);
    expect(holderOf(store, String(40_000_000 + 2_200))).toBe('p-02200');
    store.close();
  });

  it('refuses a person or a credential id twice in the file, naming both places', () => {
    const { store, service } = open();
    const people = [...everyone(), { ...person(7), credentials: [{ id: 'p-7-card-2', card: '66666666' }] }, { ...person(99_999), credentials: [{ id: 'p-1500-card', card: '55555555' }] }];
    const error = refusal(() => service.replaceAll({ ...RULES, cardholders: people }, BY, true));
    expect(error.details).toEqual([
      `cardholders[${PEOPLE}].id: duplicate id "p-00007" (also at cardholders[7])`,
      `cardholders[${PEOPLE + 1}].credentials[0].id: duplicate id "p-1500-card" (a credential of cardholders[1500])`,
    ]);
    expect(error.message).toBe(`${error.details[0]}; and 1 more problem(s); nothing was changed`);
    store.close();
  });

  it('counts every deletion but names only the first ids, in a dry run that changes nothing', () => {
    const { store, service, changes } = open();
    const before = changes.length;
    const report = service.replaceAll({ ...RULES, cardholders: [person(0)] }, BY, true);
    expect(report.counts.deleted.cardholders).toBe(PEOPLE - 1);
    expect(report.deleted.cardholders).toHaveLength(REPORT_IDS);
    expect(report.deleted.cardholders[0]).toBe('p-00001');
    expect(store.db.prepare('SELECT count(*) FROM cardholders').pluck().get()).toBe(PEOPLE);
    expect(changes).toHaveLength(before);
    const applied = service.replaceAll({ ...RULES, cardholders: [person(0)] }, BY, false);
    expect(applied.counts.deleted.cardholders).toBe(PEOPLE - 1);
    expect(store.db.prepare('SELECT count(*) FROM cardholders').pluck().get()).toBe(1);
    expect(store.db.prepare(`SELECT count(*) FROM audit WHERE action = 'cardholder.deleted'`).pluck().get()).toBe(PEOPLE - 1);
    store.close();
  });

  it('keeps the file\'s order of people, whoever was there before', () => {
    const { store, service } = open();
    const reversed = everyone().reverse();
    service.replaceAll({ ...RULES, cardholders: reversed }, BY, false);
    const order = store.db.prepare(`SELECT id FROM site_documents WHERE collection = 'cardholders' ORDER BY position`).pluck().all();
    expect(order).toEqual(reversed.map((holder) => holder.id));
    store.close();
  });
});
