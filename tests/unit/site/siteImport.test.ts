import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { GuardpostError } from '../../../src/errors.js';
import { SiteService } from '../../../src/site/siteService.js';
import { REPORT_IDS, importSteps } from '../../../src/site/siteImport.js';
import { Store } from '../../../src/store/index.js';
import { writeCardholder } from '../../../src/store/siteWrites.js';
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

  it('refuses people that are not a list instead of taking them for nobody', () => {
    const { store, service } = open();
    const error = refusal(() => service.importSite({ rules: { ...RULES, cardholders: 'everyone' }, people: [] }, BY, false));
    expect(error.details.join('\n')).toMatch(/^cardholders: /);
    expect(store.db.prepare('SELECT count(*) FROM cardholders').pluck().get()).toBe(PEOPLE);
    store.close();
  });
});

describe('a whole-site import written in short transactions [SITE-IMPORT-SLICES]', () => {
  const noAudit = (_collection: string, item: unknown) => item;
  /** Every step of an import (slices of 0 ms: one person each), with what `between` saw after each. */
  function stepThrough<T>(store: Store, site: { rules: Record<string, unknown>; people: Iterable<{ raw: unknown; where: string }> }, between: (step: string) => T): { seen: { step: string; value: T }[]; result: unknown } {
    const steps = importSteps(store, site, BY, false, 0, noAudit, 0);
    const seen: { step: string; value: T }[] = [];
    for (;;) {
      const next = steps.next();
      if (next.done === true) return { seen, result: next.value };
      seen.push({ step: next.value, value: between(next.value) });
    }
  }
  const asPeople = (people: unknown[]) => people.map((raw, i) => ({ raw, where: `cardholders[${i}]` }));

  it('lets another connection write between any two slices, where one transaction held the database for the whole import', () => {
    const { store } = open();
    const other = new Database(store.db.name);
    other.pragma('busy_timeout = 0');
    const people = everyone().map((holder) => ({ ...holder, name: `${holder.name} (renamed)` }));
    const { seen } = stepThrough(store, { rules: RULES, people: asPeople(people) }, () => {
      // SQLITE_BUSY at once if the import still held the write lock.
      other.prepare(`INSERT INTO meta (key, value) VALUES ('between-slices', '1') ON CONFLICT (key) DO UPDATE SET value = value + 1`).run();
      return store.db.inTransaction;
    });
    expect(seen.filter(({ step }) => step === 'wrote').length).toBeGreaterThan(PEOPLE / 2);
    expect(seen.every(({ value }) => value === false)).toBe(true);
    expect(store.db.prepare(`SELECT count(*) FROM cardholders WHERE name LIKE '%(renamed)'`).pluck().get()).toBe(PEOPLE);
    other.close();
    store.close();
  });

  it('takes people the file no longer names away, and bans people already here, before it writes anyone new', () => {
    const { store } = open();
    const newcomers = [person(90_000), person(90_001)];
    const site = { rules: { ...RULES, watchList: [{ cardholder: 'p-00001', reason: 'threats' }, { cardholder: 'p-90001', reason: 'banned' }] }, people: asPeople([person(1), person(2), ...newcomers]) };
    const count = (sql: string) => store.db.prepare(sql).pluck().get() as number;
    const { seen } = stepThrough(store, site, (step) => ({ step, people: count('SELECT count(*) FROM cardholders'), newcomers: count(`SELECT count(*) FROM cardholders WHERE id >= 'p-90000'`), bans: store.siteRules.listWatchList().map((entry) => entry.cardholderId) }));
    // The rules and the ban on p-00001 first, with everyone still there.
    expect(seen[0]!.value).toMatchObject({ step: 'rules', people: PEOPLE, bans: ['p-00001'] });
    // Then the removals: down to the two who stay before the first newcomer is written.
    const removed = seen.findIndex(({ value }) => value.people === 2);
    const firstNew = seen.findIndex(({ value }) => value.newcomers > 0);
    expect(removed).toBeGreaterThan(0);
    expect(firstNew).toBeGreaterThan(removed);
    // A ban naming a newcomer is written with that newcomer.
    expect(seen.at(-1)!.value).toMatchObject({ people: 4, newcomers: 2, bans: ['p-00001', 'p-90001'] });
    expect(store.documents.list('watchList')).toEqual([{ cardholder: 'p-00001', reason: 'threats' }, { cardholder: 'p-90001', reason: 'banned' }]);
    store.close();
  });

  it('writes a person as the file says when someone else changed them after the check, where the check found nothing to write', () => {
    const { store } = open();
    const people = everyone().map((holder, i) => (i < 10 ? { ...holder, name: `${holder.name} renamed` } : holder));
    let edited = false;
    stepThrough(store, { rules: RULES, people: asPeople(people) }, (step) => {
      // An admin renames person 2,400 (unchanged in the file) while the import writes the first ones.
      if (step === 'wrote' && !edited) {
        writeCardholder(store, { ...person(2_400), name: 'Edited meanwhile', status: 'active', credentials: [{ ...person(2_400).credentials[0]!, status: 'active' }] } as never);
        edited = true;
      }
    });
    expect(edited).toBe(true);
    expect(store.documents.get('cardholders', 'p-02400')).toMatchObject({ name: 'Person 2400' });
    expect(store.cardholders.get('p-02400')?.name).toBe('Person 2400');
    store.close();
  });

  it('keeps a ban on a credential whose card went to someone earlier in the file, though its row was written again on the way', () => {
    const { store, service } = open();
    service.replaceAll({ ...RULES, cardholders: everyone(), watchList: [{ credential: 'p-1-card', reason: 'lost and misused' }] }, BY, false);
    const people = everyone();
    // Person 0 now holds person 1's card; person 1 keeps the credential id with a new card.
    people[0] = { ...person(0), credentials: [{ id: 'p-0-card', card: String(40_000_001) }] };
    people[1] = { ...person(1), credentials: [{ id: 'p-1-card', card: '77777777' }] };
    service.replaceAll({ ...RULES, cardholders: people, watchList: [{ credential: 'p-1-card', reason: 'lost and misused' }] }, BY, false);
    expect(holderOf(store, String(40_000_001))).toBe('p-00000');
    expect(holderOf(store, '77777777')).toBe('p-00001');
    expect(store.siteRules.listWatchList()).toEqual([{ cardholderId: null, credentialId: 'p-1-card', reason: 'lost and misused' }]);
    store.close();
  });

  it('stops with a clear error when the file reads differently while it is written, saying the site is partly imported', () => {
    const { store, service } = open();
    let reads = 0;
    const people = {
      *[Symbol.iterator]() {
        reads++;
        for (let i = 0; i < PEOPLE; i++) yield { raw: reads > 1 && i === 2_000 ? person(2_000, '99999999') : { ...person(i), name: `Person ${i} renamed` }, where: `line ${i + 10}, cardholders[${i}]` };
      },
    };
    const error = refusal(() => service.importSite({ rules: RULES, people }, BY, false));
    expect(error.code).toBe('GP_ERR_CONFLICT');
    expect(error.message).toBe('the site data changed while it was being imported (line 2010, cardholders[2000] is not what was checked); the import stopped part way: the site is partly imported (what was written is in the audit log); import the file again to finish it');
    // What was written before it stopped is there, whole, and audited.
    expect(store.db.prepare(`SELECT count(*) FROM cardholders WHERE name LIKE '%renamed'`).pluck().get()).toBe(2_000);
    expect(store.db.prepare(`SELECT count(*) FROM audit WHERE action = 'cardholder.updated'`).pluck().get()).toBe(2_000);
    store.close();
  });

  it('changes nothing at all when a problem is found, however late in the file', () => {
    const { store, service } = open();
    const generation = store.cardholders.generation();
    const audited = () => store.db.prepare(`SELECT count(*) FROM audit`).pluck().get();
    const auditRows = audited();
    const people = everyone().map((holder) => ({ ...holder, name: `${holder.name} renamed` }));
    people[PEOPLE - 1] = { ...people[PEOPLE - 1]!, groups: ['no-such-group'] };
    const error = refusal(() => service.replaceAll({ ...RULES, cardholders: [...people], watchList: [{ cardholder: 'nobody', reason: 'x' }] }, BY, false));
    expect(error.details).toEqual([`cardholders[${PEOPLE - 1}].groups[0]: unknown group "no-such-group"`, 'watchList[0].cardholder: unknown cardholder "nobody"']);
    expect(store.cardholders.generation()).toBe(generation);
    expect(audited()).toBe(auditRows);
    store.close();
  });
});
