import { describe, expect, it } from 'vitest';
import { BUILT_IN_WIEGAND_FORMATS, decodeWiegand, encodeWiegand, type WiegandFormat } from '../../../src/access/wiegand.js';

const format = (id: string): WiegandFormat => {
  const found = BUILT_IN_WIEGAND_FORMATS.find((candidate) => candidate.id === id);
  if (found === undefined) throw new Error(`no format ${id}`);
  return found;
};
const flip = (bits: string, position: number): string => `${bits.slice(0, position)}${bits[position] === '1' ? '0' : '1'}${bits.slice(position + 1)}`;

describe('Wiegand formats [ACC-WIEGAND]', () => {
  it('decodes a known H10301 26-bit frame: facility 1, card 1 with both parity bits set right', () => {
    // E=1 (bits 1-12 hold one 1) | 00000001 | 0000000000000001 | O=0 (bits 13-24 hold one 1).
    expect(decodeWiegand('10000000100000000000000010', BUILT_IN_WIEGAND_FORMATS)).toEqual({ ok: true, format: 'h10301', facility: 1, number: 1 });
  });

  it.each([
    ['h10301', 255, 65535],
    ['h10301', 12, 345],
    ['h10304', 65535, 524287],
    ['h10304', 1234, 98765],
    ['c1000-35', 4095, 1048575],
    ['c1000-35', 1000, 123456],
  ])('round-trips %s facility %i card %i', (id, facility, number) => {
    const bits = encodeWiegand(format(id), facility, number);
    expect(bits).toHaveLength(format(id).bits);
    expect(decodeWiegand(bits, BUILT_IN_WIEGAND_FORMATS)).toEqual({ ok: true, format: id, facility, number });
  });

  it.each(['h10301', 'h10304', 'c1000-35'])('refuses a %s frame with any single bit flipped', (id) => {
    const bits = encodeWiegand(format(id), 100, 4242);
    for (let position = 0; position < bits.length; position++) {
      const decoded = decodeWiegand(flip(bits, position), BUILT_IN_WIEGAND_FORMATS);
      expect(decoded.ok, `bit ${position}`).toBe(false);
      if (!decoded.ok) expect(decoded.code).toBe('bad_parity');
    }
  });

  it('refuses a frame of a length no format has, naming the length', () => {
    expect(decodeWiegand('1'.repeat(30), BUILT_IN_WIEGAND_FORMATS)).toMatchObject({ ok: false, code: 'unknown_format', message: expect.stringContaining('30 bits') });
  });

  it('refuses characters other than 0 and 1', () => {
    expect(decodeWiegand('0101x', BUILT_IN_WIEGAND_FORMATS)).toMatchObject({ ok: false, code: 'bad_bits' });
    expect(decodeWiegand('', BUILT_IN_WIEGAND_FORMATS)).toMatchObject({ ok: false, code: 'bad_bits' });
  });

  it('decodes a custom site format declared ahead of the built-in ones', () => {
    const custom: WiegandFormat = { id: 'acme-26', bits: 26, facility: null, card: { start: 1, length: 24 }, parity: [{ bit: 0, kind: 'odd', over: [] }, { bit: 25, kind: 'even', over: [] }] };
    const bits = encodeWiegand(custom, 0, 9_999_999);
    expect(decodeWiegand(bits, [custom, ...BUILT_IN_WIEGAND_FORMATS])).toEqual({ ok: true, format: 'acme-26', facility: 0, number: 9_999_999 });
  });
});
