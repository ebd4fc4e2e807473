/** Card numbers as readers send them, and as logs may show them. */

/** Canonical form used as the index key: leading zeros carry no meaning on a card. */
export function canonicalCardNumber(digits: string): string {
  const stripped = digits.replace(/^0+/, '');
  return stripped === '' ? '0' : stripped;
}

/**
 * A card number as it may appear in logs and events: never whole. Keeps the last two digits so
 * a security officer can tell two reads apart without being able to clone the card.
 */
export function maskCardNumber(number: string): string {
  if (number.length <= 2) return '*'.repeat(number.length);
  return `${'*'.repeat(Math.min(number.length - 2, 8))}${number.slice(-2)}`;
}
