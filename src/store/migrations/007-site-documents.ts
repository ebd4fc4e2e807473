import type { Migration } from './types.js';

/**
 * Site data as authored (the site file's entities, PINs removed), beside the tables the runtime
 * indexes. Export reads these, so `guardpost export` gives back every field of every collection.
 */
export const siteDocuments: Migration = {
  version: 7,
  name: 'site documents',
  sql: `
    CREATE TABLE site_documents (
      collection TEXT NOT NULL,
      id TEXT NOT NULL,
      position INTEGER NOT NULL,
      json TEXT NOT NULL,
      PRIMARY KEY (collection, id)
    );
  `,
};
