import type { Migration } from './types.js';

/**
 * Threat management (issue 12): visitors registered by security or reception, and the people on
 * security's watch list by name and identifier (beside site data's watch list of cardholders and
 * credentials). The visitor's credential itself is an ordinary cardholder in site data.
 */
export const visitorsWatchlist: Migration = {
  version: 10,
  name: 'visitors and watch-listed people',
  sql: `
    CREATE TABLE visitors (
      id TEXT PRIMARY KEY,
      cardholder_id TEXT NOT NULL,
      record TEXT NOT NULL,
      status TEXT NOT NULL,
      valid_until_ms INTEGER NOT NULL,
      created_ms INTEGER NOT NULL
    );
    CREATE INDEX visitors_status ON visitors (status, valid_until_ms);
    CREATE INDEX visitors_created ON visitors (created_ms);
    CREATE TABLE watchlist_people (
      id TEXT PRIMARY KEY,
      record TEXT NOT NULL,
      added_ms INTEGER NOT NULL
    );
  `,
};
