import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CardDigester } from '../access/cardDigest.js';
import { GuardpostError } from '../errors.js';

export const PIN_KEY_FILE = 'pin.key';
const KEY_BYTES = 32;

/**
 * PINs are stored as HMAC-SHA256 digests keyed with a per-site secret kept in the state
 * directory (mode 0600), apart from the database: a copied database alone cannot be
 * brute-forced over the 10^4–10^8 PINs, yet a PIN costs one HMAC (~1 µs) to check, and a PIN
 * alone can be looked up by its digest at PIN-only doors. See docs/design-notes.md.
 */
export class PinHasher {
  private constructor(private readonly key: Buffer) {}

  /** Reads the site's PIN key, creating it (0600) on first use. */
  static forStateDir(stateDir: string): PinHasher {
    const file = path.join(stateDir, PIN_KEY_FILE);
    try {
      fs.mkdirSync(stateDir, { recursive: true });
      try {
        fs.writeFileSync(file, randomBytes(KEY_BYTES), { mode: 0o600, flag: 'wx' });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const mode = fs.statSync(file).mode & 0o777;
      if ((mode & 0o077) !== 0) throw new Error(`its mode is ${mode.toString(8)}; it must be readable by the gateway's user only (chmod 600)`);
      const key = fs.readFileSync(file);
      if (key.byteLength !== KEY_BYTES) throw new Error(`it holds ${key.byteLength} bytes, expected ${KEY_BYTES}`);
      return new PinHasher(key);
    } catch (error) {
      throw new GuardpostError('GP_ERR_STORE', `cannot use the PIN key ${file}: ${(error as Error).message}`);
    }
  }

  /** For tests and benchmarks that hold no state directory. */
  static withKey(key: Buffer): PinHasher {
    return new PinHasher(key);
  }

  digest(pin: string): Buffer {
    return createHmac('sha256', this.key).update(pin, 'utf8').digest();
  }

  /**
   * [SEC-CARD-DIGEST] The card key, derived from the same site secret with its own label: one
   * file to keep and back up (backups carry pin.key), and a card digest is never a PIN digest.
   */
  cardDigester(): CardDigester {
    return new CardDigester(createHmac('sha256', this.key).update('guardpost card digest v1').digest());
  }
}
