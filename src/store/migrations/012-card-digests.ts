import type { Migration } from './types.js';

/**
 * [SEC-CARD-DIGEST] Card numbers are no longer stored whole: each credential keeps a keyed digest
 * of its canonical key (the index key, unique; a 16-byte BLOB) and a masked form, and cardholder documents keep
 * `cardDigest`/`wiegandDigest` + `masked` in place of `card`/`wiegand`. The digests need the
 * state directory's key, so the SQL calls functions `migrate()` registers (store/db.ts).
 * The column is renamed rather than the table rebuilt: dropping `credentials` would cascade to
 * the watch list.
 */
export const cardDigests: Migration = {
  version: 12,
  name: 'card numbers kept as keyed digests and masks',
  sql: `
    ALTER TABLE credentials RENAME COLUMN number TO digest;
    ALTER TABLE credentials ADD COLUMN masked TEXT NOT NULL DEFAULT '';
    UPDATE credentials SET masked = gp_credential_mask(kind, digest), digest = gp_credential_digest(kind, digest);
    UPDATE site_documents SET json = gp_cardholder_document(json) WHERE collection = 'cardholders';
  `,
};
