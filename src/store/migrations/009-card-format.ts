import type { Migration } from './types.js';

const PEOPLE_TABLES = ['cardholders', 'cardholder_groups', 'credentials', 'cardholder_pins', 'cardholder_escorts'];

/**
 * - How a reader sends card numbers (decimal digits or a hex UID); null = the site's default [ACC-CARD-FORMAT].
 * - A generation counter of the people tables, bumped by triggers on every row any connection
 *   writes (the CLI's too), so a snapshot of the card index can tell whether it is still the
 *   database's [ACC-INDEX].
 */
export const cardFormat: Migration = {
  version: 9,
  name: 'reader card number format; people generation for card index snapshots',
  sql: `
    ALTER TABLE devices ADD COLUMN card_format TEXT CHECK (card_format IN ('decimal', 'hex'));
    CREATE TABLE people_generation (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
    INSERT INTO people_generation (id, value) VALUES (1, 0);
    ${PEOPLE_TABLES.flatMap((table) =>
      ['INSERT', 'UPDATE', 'DELETE'].map((op) => `CREATE TRIGGER ${table}_${op.toLowerCase()}_generation AFTER ${op} ON ${table} BEGIN UPDATE people_generation SET value = value + 1 WHERE id = 1; END;`),
    ).join('\n    ')}
  `,
};
