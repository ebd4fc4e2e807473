import { describe, expect, it } from 'vitest';
import { decodeJsonInput } from '../../../src/drivers/json.js';

const decode = (value: unknown) => decodeJsonInput(Buffer.from(JSON.stringify(value)));

describe('the JSON codec reads raw Wiegand frames [ACC-WIEGAND]', () => {
  it('passes a frame of 0s and 1s on as a wiegand signal, parity unchecked (the site formats check it)', () => {
    expect(decode({ type: 'wiegand', bits: '10000000100000000000000010' })).toEqual({ ok: true, signal: { type: 'wiegand', bits: '10000000100000000000000010' } });
  });

  it.each([
    ['bits that are not a string', { type: 'wiegand', bits: 1010 }],
    ['characters other than 0 and 1', { type: 'wiegand', bits: '10201' }],
    ['a frame longer than 128 bits', { type: 'wiegand', bits: '1'.repeat(129) }],
    ['a missing frame', { type: 'wiegand' }],
  ])('refuses %s, naming the field', (_what, payload) => {
    expect(decode(payload)).toEqual({ ok: false, error: { code: 'bad_field', message: 'bits: expected 4 to 128 characters of 0 and 1' } });
  });
});
