import type { Migration } from './types.js';

/** The tables searched, each with its kind in the pending log and the columns indexed. */
const SEARCHED = [
  { table: 'cardholders', index: 'cardholders_search', kind: 0, columns: ['id', 'name'] },
  { table: 'credentials', index: 'credentials_search', kind: 1, columns: ['id', 'masked'] },
] as const;

/** An external-content trigram index over a table's columns, its triggers (into the pending log), filled for the rows already there. */
function searchIndex({ table, index, kind, columns }: (typeof SEARCHED)[number]): string {
  const [first, second] = columns;
  // The first change to a row since the index was last brought up to date records what the
  // index holds for it (NULL: nothing, the row is new); later changes keep that record.
  // (Not OR IGNORE: a policy of the statement firing the trigger, as an upsert's, would override it.)
  const pending = (row: 'NEW' | 'OLD', held: string) =>
    `INSERT INTO cardholder_search_pending (kind, row, old1, old2) SELECT ${kind}, ${row}.rowid, ${held} WHERE NOT EXISTS (SELECT 1 FROM cardholder_search_pending WHERE kind = ${kind} AND row = ${row}.rowid);`;
  return `
    CREATE VIRTUAL TABLE ${index} USING fts5(${first}, ${second}, content='${table}', content_rowid='rowid', tokenize='trigram', detail='none', columnsize=0);
    CREATE TRIGGER ${index}_insert AFTER INSERT ON ${table} BEGIN ${pending('NEW', 'NULL, NULL')} END;
    CREATE TRIGGER ${index}_delete AFTER DELETE ON ${table} BEGIN ${pending('OLD', `OLD.${first}, OLD.${second}`)} END;
    CREATE TRIGGER ${index}_update AFTER UPDATE OF ${first}, ${second} ON ${table} WHEN OLD.${first} IS NOT NEW.${first} OR OLD.${second} IS NOT NEW.${second}
      BEGIN ${pending('OLD', `OLD.${first}, OLD.${second}`)} END;
    INSERT INTO ${index} (${index}) VALUES ('rebuild');`;
}

/**
 * The cardholder list's text search (`q`) along an index [SITE-LIST]: FTS5 trigram indexes
 * (case-insensitive, Unicode case folding) over cardholders' ids and names and credentials' ids
 * and masked numbers. External content: the index keeps trigrams and rowids only
 * (`detail='none'`, `columnsize=0`: no copy of the text); a match is checked against the row
 * itself (`store/cardholderList.ts`).
 *
 * Triggers do not write the index itself: FTS5 writes a segment of its own for every statement
 * that fires such a trigger (~20 µs a row, +100% on writing people), so they log the rows that
 * changed, with what the index holds for each, in `cardholder_search_pending` (~3 µs a row);
 * the list folds the log into the index in one statement before a search (~1 µs a row) and
 * meanwhile searches the logged rows beside the index, so a search is exact whoever wrote (the
 * gateway, the CLI, plain SQL). A row whose indexed columns did not change (an unchanged person
 * re-imported, a status change) logs nothing. Filled here for the people already stored.
 */
export const cardholderSearch: Migration = {
  version: 14,
  name: 'cardholder text search index',
  sql: `
    CREATE TABLE cardholder_search_pending (
      kind INTEGER NOT NULL,
      row INTEGER NOT NULL,
      old1 TEXT,
      old2 TEXT,
      PRIMARY KEY (kind, row)
    ) WITHOUT ROWID;
    ${SEARCHED.map(searchIndex).join('\n')}
  `,
};
