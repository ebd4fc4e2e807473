import fs from 'node:fs';
import path from 'node:path';
import { PIN_KEY_FILE, PinHasher } from '../../src/store/pinKey.js';
import { tempDir } from './gateway.js';

/**
 * A known site key for tests that decide on a store's card index directly: credentials are kept
 * by keyed digest [SEC-CARD-DIGEST], so a test presenting card 1001 to decide() presents its
 * digest, as the access path does.
 */
const TEST_SITE_KEY = Buffer.alloc(32, 11);
export const testCardDigests = PinHasher.withKey(TEST_SITE_KEY).cardDigester();

/** The index key of a card number under the test key. */
export const cardKey = (number: string): string => testCardDigests.ofCard(number);

/** A state directory holding the test key, so its store's digests are `cardKey`'s. */
export function keyedDir(dir = tempDir()): string {
  fs.writeFileSync(path.join(dir, PIN_KEY_FILE), TEST_SITE_KEY, { mode: 0o600 });
  return dir;
}
