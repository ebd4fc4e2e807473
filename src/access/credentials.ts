/** Card numbers as readers send them, and as logs may show them. */

/** Canonical form used as the index key: leading zeros carry no meaning on a card. */
export function canonicalCardNumber(digits: string): string {
  if (digits === '') return '';
  const stripped = digits.replace(/^0+/, '');
  return stripped === '' ? '0' : stripped;
}

export type CardFormat = 'decimal' | 'hex';

/**
 * [ACC-CARD-FORMAT] A card number as a reader sent it, read as the reader's format says, in the
 * canonical decimal form credentials are indexed by: the same card read as hex `04A1B2C3` by one
 * reader and as decimal `77705923` by another is one credential. Up to 20 digits either way (a
 * 10-byte UID is 20 hex digits); anything else is unreadable, with a message naming what was wrong.
 */
export function cardNumberFrom(raw: string, format: CardFormat): { ok: true; number: string } | { ok: false; message: string } {
  if (format === 'hex') {
    if (!/^[0-9A-Fa-f]{1,20}$/.test(raw)) return { ok: false, message: `card number "${maskCardNumber(raw)}": this reader sends hex UIDs, expected 1 to 20 hex digits` };
    return { ok: true, number: BigInt(`0x${raw}`).toString(10) };
  }
  if (!/^[0-9]{1,20}$/.test(raw)) return { ok: false, message: `card number "${maskCardNumber(raw)}": this reader sends decimal numbers, expected 1 to 20 decimal digits (set cardFormat: hex on a reader that sends hex UIDs)` };
  return { ok: true, number: canonicalCardNumber(raw) };
}

/**
 * A card number as it may appear in logs and events: never whole. Shows at most the last two
 * digits and at most a third of them, so a security officer can tell reads apart without
 * learning enough to clone or guess the card.
 */
export function maskCardNumber(number: string): string {
  const visible = Math.min(2, Math.floor(number.length / 3));
  return `${'*'.repeat(Math.min(number.length - visible, 8))}${number.slice(number.length - visible)}`;
}
