import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/access/decide.js';
import { parseSiteData } from '../../../src/config/load.js';
import { buildSiteIndex, credentialKeysOf, patchCardholder } from '../../../src/site/siteIndex.js';
import { Store } from '../../../src/store/index.js';
import { tempDir } from '../../support/gateway.js';

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
  const store = Store.open(tempDir());
  store.importSiteData(parsed.site);
  return { store, index: buildSiteIndex(store) };
}

const pinOf = (store: Store, pin: string) => ({ digest: store.pins?.digest(pin) ?? Buffer.alloc(0), undoOffsetDigest: null });

describe('patching one cardholder into the live index [ACC-INDEX]', () => {
  it('replaces a changed card number: the old one stops opening, the new one opens', () => {
    const { store, index } = open();
    const before = credentialKeysOf(store, 'ann');
    expect(before).toEqual(['42']);
    store.cardholders.upsertCredential({ id: 'ann-card-1', cardholderId: 'ann', kind: 'card', number: '77', status: 'active', validFromMs: null, validUntilMs: null });
    patchCardholder(index, store, 'ann', before);
    expect(decide({ doorId: 'lobby', credential: { kind: 'card', number: '42' } }, index.access, 0).reason).toBe('unknown_credential');
    expect(decide({ doorId: 'lobby', credential: { kind: 'card', number: '77' } }, index.access, 0)).toMatchObject({ granted: true, cardholderId: 'ann' });
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
    expect(decide({ doorId: 'lobby', credential: { kind: 'card', number: '43' } }, index.access, 0).reason).toBe('unknown_credential');
    expect(index.access.cardholders.has('ben')).toBe(false);
    store.close();
  });
});
