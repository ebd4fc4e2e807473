/** Card numbers as readers send them, and as logs may show them. */

/** Canonical form used as the index key: leading zeros carry no meaning on a card. */
export function canonicalCardNumber(digits: string): string {
  if (digits === '') return '';
  const stripped = digits.replace(/^0+/, '');
  return stripped === '' ? '0' : stripped;
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
