import { describe, expect, it } from 'vitest';
import { cardNumberFrom } from '../../../src/access/credentials.js';
import { parseSiteData } from '../../../src/config/load.js';

describe('reading card numbers as the reader sends them [ACC-CARD-FORMAT]', () => {
  it.each([
    ['hex', '04A1B2C3', '77705923'],
    ['hex', '04a1b2c3', '77705923'],
    ['hex', '0004A1B2C3', '77705923'],
    ['hex', '0', '0'],
    // A 7-byte UID is past 2^53: read exactly, not as a float.
    ['hex', '04112233445566', '1144738493519206'],
    ['hex', 'FFFFFFFFFFFFFFFFFFFF', '1208925819614629174706175'],
    ['decimal', '0077705923', '77705923'],
    ['decimal', '77705923', '77705923'],
  ] as const)('reads %s "%s" as the credential number %s', (format, raw, number) => {
    expect(cardNumberFrom(raw, format)).toEqual({ ok: true, number });
  });

  it.each([
    ['hex', 'XYZ', 'this reader sends hex UIDs, expected 1 to 20 hex digits'],
    ['hex', '1'.repeat(21), 'expected 1 to 20 hex digits'],
    ['hex', '', 'expected 1 to 20 hex digits'],
    ['decimal', '04A1B2C3', 'this reader sends decimal numbers, expected 1 to 20 decimal digits (set cardFormat: hex on a reader that sends hex UIDs)'],
  ] as const)('refuses %s "%s" with a message naming what was expected', (format, raw, message) => {
    const read = cardNumberFrom(raw, format);
    expect(read.ok).toBe(false);
    if (!read.ok) {
      expect(read.message).toContain(message);
      if (raw.length > 3) expect(read.message).not.toContain(raw);
    }
  });

  const site = (device: Record<string, unknown>, siteInfo: Record<string, unknown> = {}) =>
    parseSiteData({ site: { id: 's', name: 'S', timezone: 'UTC', ...siteInfo }, devices: [device] });

  it('takes cardFormat on a reader and on the site', () => {
    const parsed = site({ id: 'r', kind: 'reader', cardFormat: 'hex' }, { cardFormat: 'decimal' });
    expect(parsed.ok).toBe(true);
  });

  it('refuses cardFormat on a device that reads no cards, and a format it does not know', () => {
    const strike = site({ id: 'k', kind: 'strike', cardFormat: 'hex' });
    expect(strike.ok ? [] : strike.problems).toEqual(['devices[0].cardFormat: only a reader reads cards; this device is a strike']);
    const octal = site({ id: 'r', kind: 'reader', cardFormat: 'octal' });
    expect(octal.ok).toBe(false);
    expect(octal.ok ? '' : octal.problems.join()).toContain('devices[0].cardFormat');
  });
});
