import type { Migration } from './types.js';

/**
 * Indexes for panel-scale sites: a cardholder's credentials by cardholder, and the next
 * position of a site document. Without them, writing one person scans every credential and
 * every cardholder document of the site (millions at panel scale): an import was quadratic.
 */
export const panelScaleIndexes: Migration = {
  version: 8,
  name: 'indexes for panel-scale sites',
  sql: `
    CREATE INDEX credentials_cardholder ON credentials (cardholder_id);
    CREATE INDEX site_documents_position ON site_documents (collection, position);
  `,
};
