import type { Migration } from './types.js';

/**
 * Indexes for the cardholder list at panel scale [SITE-LIST]: sorted by name or status, filtered
 * by group or by a credential's status, a page is read along an index instead of sorting or
 * scanning millions of people. Ties are broken by id, which each index carries.
 */
export const cardholderListIndexes: Migration = {
  version: 13,
  name: 'cardholder list indexes',
  sql: `
    CREATE INDEX cardholders_name ON cardholders (name, id);
    CREATE INDEX cardholders_status ON cardholders (status, id);
    CREATE INDEX cardholder_groups_group ON cardholder_groups (group_id, cardholder_id);
    CREATE INDEX credentials_status ON credentials (status, cardholder_id);
  `,
};
