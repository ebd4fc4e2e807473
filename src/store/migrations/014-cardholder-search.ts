import type { Migration } from './types.js';

/** An external-content trigram index over `table`'s `columns`, kept by triggers, filled for the rows already there. */
function searchIndex(table: string, index: string, columns: readonly string[]): string {
  const list = columns.join(', ');
  const values = (row: 'NEW' | 'OLD') => columns.map((column) => `${row}.${column}`).join(', ');
  const insert = `INSERT INTO ${index} (rowid, ${list}) VALUES (NEW.rowid, ${values('NEW')});`;
  // An external-content index is told what a row held when it leaves: exactly the values indexed.
  const remove = `INSERT INTO ${index} (${index}, rowid, ${list}) VALUES ('delete', OLD.rowid, ${values('OLD')});`;
  const changed = columns.map((column) => `OLD.${column} IS NOT NEW.${column}`).join(' OR ');
  return `
    CREATE VIRTUAL TABLE ${index} USING fts5(${list}, content='${table}', content_rowid='rowid', tokenize='trigram', detail='none', columnsize=0);
    CREATE TRIGGER ${index}_insert AFTER INSERT ON ${table} BEGIN ${insert} END;
    CREATE TRIGGER ${index}_delete AFTER DELETE ON ${table} BEGIN ${remove} END;
    CREATE TRIGGER ${index}_update AFTER UPDATE OF ${list} ON ${table} WHEN ${changed} BEGIN ${remove} ${insert} END;
    INSERT INTO ${index} (${index}) VALUES ('rebuild');`;
}

/**
 * The cardholder list's text search (`q`) along an index [SITE-LIST]: FTS5 trigram indexes
 * (case-insensitive, Unicode case folding) over cardholders' ids and names and credentials' ids
 * and masked numbers. External content: the index keeps trigrams and rowids only
 * (`detail='none'`, no copy of the text); a match is checked against the row itself
 * (`store/cardholderList.ts`). Triggers keep it up to date whoever writes (the gateway, the
 * CLI, plain SQL); a row whose indexed columns did not change (an import of an unchanged
 * person, a status change) costs the index nothing. Filled here for the people already stored.
 */
export const cardholderSearch: Migration = {
  version: 14,
  name: 'cardholder text search index',
  sql: `${searchIndex('cardholders', 'cardholders_search', ['id', 'name'])}
    ${searchIndex('credentials', 'credentials_search', ['id', 'masked'])}
  `,
};
