import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CardIndex, credentialKey, type CardholderEntry } from '../../../src/access/cardIndex.js';
import { KeyTable } from '../../../src/access/keyTable.js';
import type { Credential } from '../../../src/access/types.js';
import { pinDigest } from './fixture.js';

const holder = (id: string, groupIds: string[], extra: Partial<CardholderEntry> = {}): CardholderEntry => ({ id, status: 'active', groupIds, ...extra });
const card = (id: string, cardholderId: string, number: string, extra: Partial<Credential> = {}): Credential => ({ id, cardholderId, kind: 'card', digest: number, status: 'active', validFromMs: null, validUntilMs: null, ...extra });

describe('the compact key table [ACC-INDEX]', () => {
  it('finds, adds and removes keys like a Map, through growth, tombstones and reused ordinals', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.oneof(fc.stringMatching(/^[0-9]{1,6}$/), fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 3 }))), { maxLength: 300 }), (operations) => {
        const table = new KeyTable(2);
        const model = new Map<string, number>();
        for (const [add, key] of operations) {
          if (add) {
            const ordinal = table.add(key);
            if (model.has(key)) expect(ordinal).toBe(model.get(key));
            // No two live keys share an ordinal.
            else expect([...model.values()]).not.toContain(ordinal);
            model.set(key, ordinal);
          } else {
            expect(table.remove(key)).toBe(model.get(key) ?? -1);
            model.delete(key);
          }
          expect(table.size).toBe(model.size);
        }
        for (const [key, ordinal] of model) {
          expect(table.find(key)).toBe(ordinal);
          expect(table.keyOf(ordinal)).toBe(key);
        }
      }),
    );
  });
  it('adds keys from bytes as it adds the same keys as strings, with or without the hashes a bulk load keeps', () => {
    const latin1Key = fc.oneof(fc.stringMatching(/^[0-9]{1,6}$/), fc.uint8Array({ maxLength: 16 }).map((bytes) => Buffer.from(bytes).toString('latin1')));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('string', 'bytes', 'remove'), latin1Key), { maxLength: 300 }), fc.boolean(), fc.nat(40), (operations, tracked, trackFrom) => {
        const table = new KeyTable(2);
        const model = new Map<string, number>();
        operations.forEach(([operation, key], at) => {
          if (tracked && at === trackFrom) table.trackHashes(model.size);
          if (operation === 'remove') {
            expect(table.remove(key)).toBe(model.get(key) ?? -1);
            model.delete(key);
            return;
          }
          // The bytes sit inside a larger buffer, as a field inside a batch does.
          const source = Buffer.concat([Buffer.from('x;'), Buffer.from(key, 'latin1'), Buffer.from(';y')]);
          const ordinal = operation === 'string' ? table.add(key) : table.addBytes(source, 2, key.length);
          if (model.has(key)) expect(ordinal).toBe(model.get(key));
          else expect([...model.values()]).not.toContain(ordinal);
          model.set(key, ordinal);
        });
        table.forgetHashes();
        expect(table.size).toBe(model.size);
        for (const [key, ordinal] of model) {
          expect(table.find(key)).toBe(ordinal);
          expect(table.keyOf(ordinal)).toBe(key);
        }
      }),
    );
  });
});

describe('the compact card index [ACC-INDEX]', () => {
  it('answers every lookup as the plain lists it was built from, credentials and cardholders alike', () => {
    const cards = CardIndex.from(
      [holder('ann', ['staff', 'night']), holder('ben', [], { status: 'suspended' })],
      [card('ann-1', 'ann', '42', { validFromMs: 1000, validUntilMs: null }), card('ben-1', 'ben', '43', { status: 'lost' }), { ...card('ann-w', 'ann', 'h10301:12:345'), kind: 'wiegand' }, card('ghost-1', 'ghost', '99')],
    );
    expect(cards.credentials.get('42')).toEqual({ id: 'ann-1', cardholderId: 'ann', kind: 'card', digest: '42', status: 'active', validFromMs: 1000, validUntilMs: null });
    expect(cards.credentials.get('43')).toMatchObject({ id: 'ben-1', status: 'lost', validFromMs: null });
    expect(cards.credentials.get('h10301:12:345')).toMatchObject({ id: 'ann-w', kind: 'wiegand' });
    expect(cards.credentials.get('0042')).toBeUndefined();
    expect(cards.cardholders.get('ann')).toMatchObject({ id: 'ann', status: 'active', groupIds: ['staff', 'night'], pinDigest: null, escort: null });
    expect(cards.cardholders.get('ben')).toMatchObject({ status: 'suspended', groupIds: [] });
    // A credential may name someone who is not a cardholder: decide() then refuses it.
    expect(cards.credentials.get('99')?.cardholderId).toBe('ghost');
    expect(cards.cardholders.has('ghost')).toBe(false);
    expect(cards.credentialCount).toBe(4);
    expect(cards.cardholderCount).toBe(2);
  });

  it('reads an unknown credential status as suspended (fail closed)', () => {
    const cards = CardIndex.from([holder('ann', [])], [card('ann-1', 'ann', '7', { status: 'stolen' as Credential['status'] })]);
    expect(cards.credentials.get('7')?.status).toBe('suspended');
  });

  it('stays equal to a rebuilt index through any sequence of cardholder and credential edits', () => {
    const ids = ['a', 'b', 'c', 'd'];
    const groups = ['g1', 'g2', 'g3'];
    const edit = fc.oneof(
      fc.record({ op: fc.constant('holder' as const), id: fc.constantFrom(...ids), groups: fc.subarray(groups), suspended: fc.boolean() }),
      fc.record({ op: fc.constant('drop-holder' as const), id: fc.constantFrom(...ids) }),
      fc.record({ op: fc.constant('card' as const), id: fc.constantFrom('c1', 'c2', 'c3', 'c4', 'c5'), holder: fc.constantFrom(...ids), number: fc.constantFrom('1', '2', '3', '4', '05'), until: fc.option(fc.integer({ min: 0, max: 9 }), { nil: null }) }),
      fc.record({ op: fc.constant('drop-card' as const), number: fc.constantFrom('1', '2', '3', '4', '5') }),
      // Another process changed these people: every credential they hold goes, whatever its key.
      fc.record({ op: fc.constant('drop-cards-of' as const), holders: fc.subarray(ids) }),
    );
    fc.assert(
      fc.property(fc.array(edit, { maxLength: 60 }), (edits) => {
        const cards = new CardIndex();
        const holders = new Map<string, CardholderEntry>();
        const credentials = new Map<string, Credential>();
        for (const change of edits) {
          switch (change.op) {
            case 'holder': {
              const entry = holder(change.id, change.groups, { status: change.suspended ? 'suspended' : 'active' });
              holders.set(change.id, entry);
              cards.putCardholder(entry);
              break;
            }
            case 'drop-holder':
              holders.delete(change.id);
              cards.removeCardholder(change.id);
              break;
            case 'card': {
              const credential = card(change.id, change.holder, change.number, { validUntilMs: change.until });
              credentials.set(credentialKey(credential), credential);
              cards.putCredential(credential);
              break;
            }
            case 'drop-card':
              credentials.delete(change.number);
              cards.removeCredential(change.number);
              break;
            case 'drop-cards-of': {
              const expected = [...credentials].filter(([, credential]) => change.holders.includes(credential.cardholderId)).length;
              for (const [key, credential] of credentials) if (change.holders.includes(credential.cardholderId)) credentials.delete(key);
              expect(cards.removeCredentialsOf(change.holders)).toBe(expected);
              break;
            }
          }
        }
        const rebuilt = CardIndex.from(holders.values(), credentials.values());
        for (const id of ids) expect(cards.cardholders.get(id)).toEqual(rebuilt.cardholders.get(id));
        for (const number of ['1', '2', '3', '4', '5']) expect(cards.credentials.get(number)).toEqual(rebuilt.credentials.get(number));
        expect(cards.credentialCount).toBe(credentials.size);
      }),
    );
  });

  it('finds a PIN-only holder by digest, and nobody by a PIN two people share, even after edits', () => {
    const cards = CardIndex.from([holder('ann', [], { pinDigest: pinDigest('1111') }), holder('ben', [], { pinDigest: pinDigest('2222'), duressPinDigest: pinDigest('2229') })], []);
    expect(cards.pins.holderOf(pinDigest('1111'))).toBe('ann');
    expect(cards.pins.holderOf(pinDigest('2229'))).toBe('ben');
    cards.putCardholder(holder('ann', [], { pinDigest: pinDigest('2222') }));
    expect(cards.pins.holderOf(pinDigest('1111'))).toBeUndefined();
    expect(cards.pins.holderOf(pinDigest('2222'))).toBeUndefined();
    expect(cards.cardholders.get('ann')?.pinDigest).toEqual(new Uint8Array(pinDigest('2222')));
    cards.removeCardholder('ben');
    expect(cards.pins.holderOf(pinDigest('2229'))).toBeUndefined();
  });

  it('drops a deleted group from every member, so a group re-created under that id starts empty', () => {
    const cards = CardIndex.from([holder('ann', ['staff', 'vault']), holder('ben', ['vault'])], []);
    cards.removeGroup('vault');
    expect(cards.cardholders.get('ann')?.groupIds).toEqual(['staff']);
    expect(cards.cardholders.get('ben')?.groupIds).toEqual([]);
    cards.putCardholder(holder('cat', ['vault']));
    expect(cards.cardholders.get('ann')?.groupIds).toEqual(['staff']);
    expect(cards.cardholders.get('cat')?.groupIds).toEqual(['vault']);
  });

  it('keeps the escort groups of visitors current as visitors come and go', () => {
    const cards = CardIndex.from([holder('vic', [], { escort: { groupIds: ['hosts'], windowMs: 30_000 } })], []);
    const groups = cards.escortGroupIds;
    expect([...groups]).toEqual(['hosts']);
    cards.putCardholder(holder('val', [], { escort: { groupIds: ['security'], windowMs: 30_000 } }));
    cards.removeCardholder('vic');
    expect([...groups]).toEqual(['security']);
  });

  it('holds 100,000 cardholders and 200,000 credentials in under 20 MB, outside the JS heap', () => {
    const cards = new CardIndex({ cardholders: 100_000, credentials: 200_000 });
    for (let i = 0; i < 100_000; i++) {
      cards.putCardholder(holder(`holder-${i}`, [`group-${i % 500}`, `group-${(i * 7) % 500}`]));
      cards.putCredentialFields(`cred-${i}-a`, `holder-${i}`, 'card', String(10_000_000 + 2 * i), 'active', null, null);
      cards.putCredentialFields(`cred-${i}-b`, `holder-${i}`, 'card', String(10_000_001 + 2 * i), 'lost', null, null);
    }
    cards.trim();
    expect(cards.credentials.get('10199999')).toMatchObject({ id: 'cred-99999-b', cardholderId: 'holder-99999', status: 'lost' });
    // ~55 bytes per credential and cardholder, ids and keys included: a JS object each would be ~200.
    expect(cards.byteSize).toBeLessThan(20 * 1024 * 1024);
  });
});

describe('odd ids [ACC-INDEX]', () => {
  it('finds a cardholder with an empty or non-Latin-1 id like any other, before and after a card lookup', () => {
    const cards = CardIndex.from([holder('', ['g']), holder('zoë-雪', ['h'])], [card('c1', '', '1'), card('c2', 'zoë-雪', '2')]);
    expect(cards.cardholders.get('')).toMatchObject({ id: '', groupIds: ['g'] });
    expect(cards.credentials.get('2')?.cardholderId).toBe('zoë-雪');
    expect(cards.cardholders.get('zoë-雪')).toMatchObject({ groupIds: ['h'] });
    expect(cards.cardholders.get('')).toMatchObject({ id: '', groupIds: ['g'] });
  });
});
