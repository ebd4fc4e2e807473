import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CardDigester, isMasked, maskedCard, maskedWiegand } from '../../../src/access/cardDigest.js';
import { cardNumberFrom } from '../../../src/access/credentials.js';
import { PinHasher } from '../../../src/store/pinKey.js';

const digests = new CardDigester(Buffer.alloc(32, 3));

describe('card digests [SEC-CARD-DIGEST]', () => {
  it('gives a card read with leading zeros the digest of the card as enrolled', () => {
    expect(digests.ofCard('0012345678')).toBe(digests.ofCard('12345678'));
    expect(digests.ofCard('00000000000012345678')).toBe(digests.ofCard('12345678'));
    expect(digests.ofCard('123456780')).not.toBe(digests.ofCard('12345678'));
  });

  it('gives one card read as a hex UID and as decimal one digest [ACC-CARD-FORMAT]', () => {
    const hex = cardNumberFrom('04A1B2C3', 'hex');
    const decimal = cardNumberFrom('77705923', 'decimal');
    expect(hex.ok && decimal.ok).toBe(true);
    if (hex.ok && decimal.ok) expect(digests.ofKey(hex.number)).toBe(digests.ofKey(decimal.number));
  });

  it('is 16 bytes that hold neither the number nor anything another key would give', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[1-9][0-9]{7,19}$/), (card) => {
        const digest = digests.ofCard(card);
        expect(digest).toHaveLength(16);
        expect(Buffer.from(digest, 'latin1').toString('latin1')).toBe(digest);
        expect(digest).not.toContain(card);
        expect(Buffer.from(digest, 'latin1').toString('hex')).not.toContain(card);
        expect(new CardDigester(Buffer.alloc(32, 4)).ofCard(card)).not.toBe(digest);
      }),
    );
  });

  it('keeps Wiegand cards apart from plain numbers and from each other', () => {
    expect(digests.ofWiegand('h10301', 12, 345)).toBe(digests.ofKey('h10301:12:345'));
    expect(digests.ofWiegand('h10301', 12, 345)).not.toBe(digests.ofWiegand('h10301', 13, 345));
    expect(digests.ofWiegand('h10301', 12, 345)).not.toBe(digests.ofCard('12345'));
  });

  it('names its key in the sealed form, and refuses a digest sealed with another key, saying what to do', () => {
    const sealed = digests.seal(digests.ofCard('1001'));
    expect(sealed).toMatch(/^gpcd1:[0-9a-f]{8}:[0-9a-f]{32}$/);
    expect(digests.open(sealed)).toEqual({ ok: true, digest: digests.ofCard('1001') });
    const other = new CardDigester(Buffer.alloc(32, 9));
    const refused = other.open(sealed);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.message).toMatch(/another site's card key .*restore that gateway's pin\.key/);
    expect(digests.open('gpcd1:zz').ok).toBe(false);
  });

  it('derives the card key from the site key under its own label: a card digest is never a PIN digest', () => {
    const site = PinHasher.withKey(Buffer.alloc(32, 5));
    expect(site.cardDigester().ofKey('1234')).not.toBe(site.digest('1234').toString('latin1', 0, 16));
    expect(site.cardDigester().ofCard('1234')).toBe(PinHasher.withKey(Buffer.alloc(32, 5)).cardDigester().ofCard('1234'));
  });

  it('masks never show a whole number, and a mask is told apart from a number', () => {
    expect(maskedCard('7305518842')).toBe('********42');
    expect(maskedCard('0001001')).toBe('***1');
    expect(maskedWiegand('h10301', 12, 34567)).toBe('h10301:12:****7');
    expect(isMasked('********42')).toBe(true);
    expect(isMasked('1001')).toBe(false);
  });
});
