import type { Migration } from './types.js';

/** The people tables and the column naming the cardholder a row belongs to. */
const PEOPLE_TABLES: readonly (readonly [table: string, holder: string])[] = [
  ['cardholders', 'id'],
  ['cardholder_groups', 'cardholder_id'],
  ['credentials', 'cardholder_id'],
  ['cardholder_pins', 'cardholder_id'],
  ['cardholder_escorts', 'cardholder_id'],
];

/** Bumps the people generation and logs the cardholder under the generation it reached. */
const logged = (holder: string): string =>
  `UPDATE people_generation SET value = value + 1 WHERE id = 1; INSERT INTO people_changes (generation, cardholder_id) SELECT value, ${holder} FROM people_generation WHERE id = 1;`;

/**
 * Which cardholders changed, by people generation [ACC-INDEX]: every row any connection writes
 * to the people tables (the gateway, the CLI, plain SQL) bumps the generation (as migration 9's
 * triggers did, which these replace) and logs the cardholder it belongs to under the generation
 * it reached, in the same statement. So a card index snapshot at generation G is brought up to
 * date by re-reading the cardholders logged after G, instead of every cardholder; the log holds
 * every generation after G exactly when it has (current − G) rows after G. Rows a newer snapshot
 * covers are pruned. Only ids and numbers: no card number or PIN is copied here.
 * A credential or membership moved between cardholders logs both of them.
 */
export const peopleChanges: Migration = {
  version: 11,
  name: 'people change log for card index snapshots',
  sql: `
    CREATE TABLE people_changes (generation INTEGER PRIMARY KEY, cardholder_id TEXT NOT NULL);
    ${PEOPLE_TABLES.flatMap(([table, holder]) => [
      ...['insert', 'update', 'delete'].map((op) => `DROP TRIGGER IF EXISTS ${table}_${op}_generation;`),
      `CREATE TRIGGER ${table}_insert_changes AFTER INSERT ON ${table} BEGIN ${logged(`NEW.${holder}`)} END;`,
      `CREATE TRIGGER ${table}_update_changes AFTER UPDATE ON ${table} BEGIN ${logged(`NEW.${holder}`)} END;`,
      `CREATE TRIGGER ${table}_update_moved_changes AFTER UPDATE OF ${holder} ON ${table} WHEN OLD.${holder} IS NOT NEW.${holder} BEGIN ${logged(`OLD.${holder}`)} END;`,
      `CREATE TRIGGER ${table}_delete_changes AFTER DELETE ON ${table} BEGIN ${logged(`OLD.${holder}`)} END;`,
    ]).join('\n    ')}
  `,
};
