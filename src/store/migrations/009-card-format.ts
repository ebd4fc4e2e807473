import type { Migration } from './types.js';

/** How a reader sends card numbers (decimal digits or a hex UID); null = the site's default [ACC-CARD-FORMAT]. */
export const cardFormat: Migration = {
  version: 9,
  name: 'reader card number format',
  sql: `
    ALTER TABLE devices ADD COLUMN card_format TEXT CHECK (card_format IN ('decimal', 'hex'));
  `,
};
