import { createHmac } from 'node:crypto';
import { canonicalCardNumber, maskCardNumber } from './credentials.js';

/**
 * [SEC-CARD-DIGEST] Card numbers are never stored whole: a credential is kept and looked up by a
 * keyed digest of its canonical key (decimal digits for a card, `<format>:<facility>:<number>` for
 * Wiegand) — HMAC-SHA256 with the site's card key, truncated to 128 bits — plus a masked form
 * for people to tell cards apart. Without the key a digest says nothing about the number (a
 * stolen database cannot be brute-forced over the 10^10 numbers of a card range), and a digest
 * made by another gateway's key matches nothing here. One HMAC (~1 µs) per read. Pure: the key is
 * given (store/pinKey.ts derives it from the state directory's key file).
 */

/** How a digest is written in site documents and exports: `gpcd1:<key id>:<32 hex digits>`. */
export const SEALED_DIGEST_PATTERN = '^gpcd1:[0-9a-f]{8}:[0-9a-f]{32}$';
const SEALED = /^gpcd1:([0-9a-f]{8}):([0-9a-f]{32})$/;
const DIGEST_BYTES = 16;

export class CardDigester {
  /** Names the key (not secret): lets an import tell a digest made with another gateway's key. */
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    this.keyId = createHmac('sha256', key).update('guardpost card key id').digest('hex').slice(0, 8);
  }

  /**
   * The index key of a canonical credential key: the 16 digest bytes as a one-byte-per-character
   * string (what the compact index and the PIN index hold; stored as a 16-byte BLOB).
   */
  ofKey(canonicalKey: string): string {
    return createHmac('sha256', this.key).update(canonicalKey, 'latin1').digest().toString('latin1', 0, DIGEST_BYTES);
  }

  /** A card number as enrolled or read in decimal: leading zeros carry no meaning. */
  ofCard(digits: string): string {
    return this.ofKey(canonicalCardNumber(digits));
  }

  ofWiegand(format: string, facility: number, number: number): string {
    return this.ofKey(`${format}:${facility}:${number}`);
  }

  /** The form kept in documents and exports, naming this key: text, 32 hex digits. */
  seal(digest: string): string {
    return `gpcd1:${this.keyId}:${Buffer.from(digest, 'latin1').toString('hex')}`;
  }

  /** The digest inside a sealed form, if it was made with this key; else why not. */
  open(sealed: string): { ok: true; digest: string } | { ok: false; message: string } {
    const match = SEALED.exec(sealed);
    if (match === null) return { ok: false, message: 'is not a card digest (expected gpcd1:<key id>:<32 hex digits>)' };
    if (match[1] !== this.keyId) {
      return { ok: false, message: `was made with another site's card key (${match[1]}, this gateway's is ${this.keyId}): restore that gateway's pin.key into the state directory, or enrol the card again by its number` };
    }
    return { ok: true, digest: Buffer.from(match[2]!, 'hex').toString('latin1') };
  }
}

/** What people see of a card: never whole (see maskCardNumber). */
export const maskedCard = (digits: string): string => maskCardNumber(canonicalCardNumber(digits));

/** A Wiegand card shows its format and facility (shared by a site's cards) and a masked number. */
export const maskedWiegand = (format: string, facility: number, number: number): string => `${format}:${facility}:${maskCardNumber(String(number))}`;

/** A masked form as shown (stars, then at most a few digits), as opposed to a number to enrol. */
export const isMasked = (text: string): boolean => text.includes('*');
