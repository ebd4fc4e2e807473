import { afterEach, describe, expect, it } from 'vitest';
import { CardIndex } from '../../../src/access/cardIndex.js';
import { decide } from '../../../src/access/decide.js';
import { emptyRuleState } from '../../../src/access/ruleState.js';
import { NORMAL_CONDITIONS, type AccessRequest } from '../../../src/access/types.js';
import { parseSiteData } from '../../../src/config/load.js';
import { scanCardIndexFrom, scanCardIndexInWorkers } from '../../../src/site/cardIndexScan.js';
import { buildSiteIndex } from '../../../src/site/siteIndex.js';
import { Store } from '../../../src/store/index.js';
import { cardKey, keyedDir } from '../../support/cardKeys.js';

/**
 * [ACC-INDEX] The full read split over two worker threads (cardholders on one, credentials on the
 * other, merged) must give exactly the index the read on one thread gives, and never an index of
 * two database states.
 */

const stores: Store[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

/** Every rule the card index feeds: PINs (own, duress, shared), groups, windows, states, escorts, the watch list, Wiegand. */
function variedSite(): Store {
  const parsed = parseSiteData({
    site: { id: 's', name: 'S', timezone: 'Europe/London' },
    devices: [
      { id: 'r1', kind: 'reader' },
      { id: 's1', kind: 'strike' },
      { id: 'r2', kind: 'reader' },
      { id: 's2', kind: 'strike' },
    ],
    doors: [
      { id: 'lobby', name: 'Lobby', reader: 'r1', strike: 's1', mode: 'card-or-pin' },
      { id: 'lab', name: 'Lab', reader: 'r2', strike: 's2', mode: 'card' },
    ],
    schedules: [{ id: 'office', name: 'Office', intervals: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '18:00' }] }],
    accessLevels: [{ id: 'lab-office', name: 'Lab in office hours', doors: ['lab'], schedule: 'office' }],
    groups: [
      { id: 'staff', name: 'Staff', doors: ['lobby'] },
      { id: 'scientists', name: 'Scientists', accessLevels: ['lab-office'] },
      { id: 'hosts', name: 'Hosts', doors: ['lobby', 'lab'] },
      { id: 'nobody', name: 'Nobody' },
    ],
    cardholders: [
      { id: 'ann', name: 'Ann', groups: ['staff', 'scientists'], pin: '2468', duressPin: '9753', credentials: [{ card: '1001' }, { card: '1002', status: 'lost' }] },
      { id: 'bob', name: 'Bob', groups: ['staff'], pin: '1357', credentials: [{ card: '2001', validFrom: '2026-01-01T00:00:00Z', validUntil: '2026-06-30T00:00:00Z' }] },
      { id: 'cat', name: 'Cat', status: 'suspended', groups: ['staff'], credentials: [{ card: '3001' }] },
      { id: 'dan', name: 'Dan', groups: ['hosts'], credentials: [{ card: '4001', status: 'suspended' }, { card: '4002', status: 'expired' }, { card: '4003', validUntil: '2025-01-01T00:00:00Z' }] },
      { id: 'eve', name: 'Eve', groups: ['staff', 'hosts'], credentials: [{ card: '5001' }] },
      { id: 'vic', name: 'Vic', groups: ['staff'], escort: { groups: ['hosts'], withinSeconds: 30 }, credentials: [{ card: '6001' }] },
      { id: 'sam', name: 'Sam', groups: ['staff'], pin: '1111', credentials: [{ card: '7001' }] },
      { id: 'tom', name: 'Tom', groups: ['staff'], pin: '1111', credentials: [{ card: '7002' }] },
      { id: 'wig', name: 'Wig', groups: ['staff', 'nobody'], credentials: [{ wiegand: { format: 'h10301', facility: 12, number: 345 } }] },
      { id: 'nil', name: 'Nil', groups: [], credentials: [] },
    ],
    watchList: [{ cardholder: 'eve', reason: 'banned' }],
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const store = Store.open(keyedDir());
  stores.push(store);
  store.importSiteData(parsed.site);
  // 3,000 more people (more than one batch of rows), and ids only plain SQL could write: not ASCII.
  store.db.exec(`
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < 3000)
    INSERT INTO cardholders (id, name, status) SELECT 'holder-' || i, 'Holder ' || i, CASE WHEN i % 7 = 0 THEN 'suspended' ELSE 'active' END FROM n;
    INSERT INTO cardholder_groups (cardholder_id, group_id) SELECT id, CASE WHEN rowid % 3 = 0 THEN 'scientists' ELSE 'staff' END FROM cardholders WHERE id LIKE 'holder-%';
    INSERT INTO credentials (id, cardholder_id, kind, digest, masked, status, valid_until_ms)
      SELECT id || '-card', id, 'card', gp_credential_digest('card', CAST(10000000 + substr(id, 8) AS TEXT)), '**', CASE WHEN rowid % 5 = 0 THEN 'lost' ELSE 'active' END,
             CASE WHEN rowid % 11 = 0 THEN 1767225600000 END FROM cardholders WHERE id LIKE 'holder-%';
    INSERT INTO cardholders (id, name, status) VALUES ('zoë', 'Zoë', 'active');
    INSERT INTO cardholder_groups (cardholder_id, group_id) VALUES ('zoë', 'staff');
    INSERT INTO credentials (id, cardholder_id, kind, digest, masked, status) VALUES ('zoë-card', 'zoë', 'card', gp_credential_digest('card', '8001'), '**', 'active');
  `);
  return store;
}

const CARDS = ['1001', '1002', '2001', '3001', '4001', '4002', '4003', '5001', '6001', '7001', '7002', '8001', '99', ...Array.from({ length: 60 }, (_, i) => String(10_000_000 + i * 50))];
const TIMES = ['2025-12-31T12:00:00Z', '2026-03-02T09:30:00Z', '2026-03-07T09:30:00Z', '2026-03-29T07:30:00Z', '2026-07-01T12:00:00Z'].map((time) => Date.parse(time));

/** Every decision the two indexes could differ on: each card and PIN at each door and time. */
function decisions(store: Store, cards: CardIndex): unknown[] {
  const site = buildSiteIndex(store, cards);
  const wiegand = (store.db.prepare(`SELECT digest FROM credentials WHERE kind = 'wiegand'`).pluck().all() as Buffer[]).map((digest) => digest.toString('latin1'));
  const requests: AccessRequest[] = [
    ...[...CARDS.map(cardKey), ...wiegand].map((number): AccessRequest => ({ doorId: 'x', credential: { kind: 'card', digest: number } })),
    ...['2468', '9753', '1357', '1111', '0000'].map((pin): AccessRequest => ({ doorId: 'x', credential: { kind: 'pin' }, pin: { digest: store.pins!.digest(pin), undoOffsetDigest: null } })),
  ];
  const out: unknown[] = [];
  for (const doorId of ['lobby', 'lab'])
    for (const nowMs of TIMES)
      for (const request of requests) {
        const decision = decide({ ...request, doorId }, site.access, nowMs, NORMAL_CONDITIONS, emptyRuleState());
        out.push({ doorId, nowMs, request: request.credential, granted: decision.granted, reason: decision.reason, cardholder: decision.cardholderId ?? null, flags: decision.flags });
      }
  return out;
}

describe('the full read on two worker threads [ACC-INDEX]', () => {
  it('yields the index a read on one thread yields: the same decision for every card, PIN, group, validity window, state, escort and watch-listed person', async () => {
    const store = variedSite();
    const single = scanCardIndexFrom(store.db, store.cardholders, store.cardholderRules);
    const parallel = await scanCardIndexInWorkers(store.db.name);
    expect(parallel.generation).toBe(single.generation);
    expect(parallel.cardholderCount).toBe(single.cardholderCount);
    expect(parallel.credentialCount).toBe(single.credentialCount);
    const ids = store.db.prepare('SELECT id FROM cardholders').pluck().all() as string[];
    for (const id of ids) expect(parallel.cardholders.get(id), id).toEqual(single.cardholders.get(id));
    for (const [digest] of store.db.prepare('SELECT digest FROM credentials').raw().all() as [Buffer][]) {
      const key = digest.toString('latin1');
      expect(parallel.credentials.get(key)).toEqual(single.credentials.get(key));
    }
    for (const pin of ['2468', '9753', '1357', '1111']) expect(parallel.pins.holderOf(store.pins!.digest(pin))).toBe(single.pins.holderOf(store.pins!.digest(pin)));
    expect([...parallel.escortGroupIds]).toEqual([...single.escortGroupIds]);

    const expected = decisions(store, single);
    expect(decisions(store, parallel)).toEqual(expected);
    // The site really exercises the rules it claims to.
    const reasons = new Set(expected.map((decision) => (decision as { reason: string }).reason));
    for (const reason of ['granted', 'unknown_credential', 'cardholder_suspended', 'credential_suspended', 'credential_lost', 'credential_expired', 'watchlist', 'outside_schedule', 'credential_not_yet_valid', 'escort_required', 'not_in_group']) expect(reasons, reason).toContain(reason);
    expect(decide({ doorId: 'lobby', credential: { kind: 'card', digest: cardKey('8001') } }, buildSiteIndex(store, parallel).access, TIMES[1] ?? 0)).toMatchObject({ granted: true, cardholderId: 'zoë' });
  });

  it('never merges halves that read two database states: a writer committing between their read transactions makes it read again', async () => {
    const store = variedSite();
    const begun: [string, number][] = [];
    let written = false;
    const parallel = await scanCardIndexInWorkers(store.db.name, {
      onBegun: (part, generation) => {
        begun.push([part, generation]);
        if (written || part !== 'holders') return;
        written = true;
        // Between the cardholder half's BEGIN and the credential half's: Ann's card moves to Bob, and Cat is back.
        store.db.exec(`UPDATE credentials SET cardholder_id = 'bob' WHERE id = 'ann-card-1'; UPDATE cardholders SET status = 'active' WHERE id = 'cat';`);
      },
    });
    expect(begun.length).toBe(4);
    const [[, firstHolders], [, firstCredentials], [, secondHolders], [, secondCredentials]] = begun as [[string, number], [string, number], [string, number], [string, number]];
    expect(firstCredentials).toBeGreaterThan(firstHolders);
    expect(secondHolders).toBe(secondCredentials);
    expect(parallel.generation).toBe(store.cardholders.generation());
    const after = scanCardIndexFrom(store.db, store.cardholders, store.cardholderRules);
    expect(decisions(store, parallel)).toEqual(decisions(store, after));
    expect(parallel.credentials.get(cardKey('1001'))?.cardholderId).toBe('bob');
    expect(parallel.cardholders.get('cat')?.status).toBe('active');
  });

  it('reads row by row on one worker when a row does not fit the batch format (text in a time column, written by plain SQL), deciding alike', async () => {
    const store = variedSite();
    store.db.exec(`UPDATE credentials SET valid_from_ms = '1;2' WHERE id = 'bob-card-1'`);
    const single = scanCardIndexFrom(store.db, store.cardholders, store.cardholderRules);
    const notes: string[] = [];
    const parallel = await scanCardIndexInWorkers(store.db.name, { onNote: (note) => notes.push(note) });
    expect(notes).toEqual([expect.stringMatching(/^reading row by row on one worker thread: .*a batch of credentials rows does not parse/)]);
    expect(parallel.credentialCount).toBe(single.credentialCount);
    expect(parallel.credentials.get(cardKey('2001'))).toEqual(single.credentials.get(cardKey('2001')));
    expect(decisions(store, parallel)).toEqual(decisions(store, single));
  });

  it('stops its workers and rejects when the gateway stops during the read', async () => {
    const store = variedSite();
    const stop = new AbortController();
    const read = scanCardIndexInWorkers(store.db.name, { signal: stop.signal, onBegun: () => stop.abort() });
    await expect(read).rejects.toThrow();
  });
});
