import type { Migration } from './types.js';

export const siteAndJournal: Migration = {
  version: 1,
  name: 'site data and journal',
  sql: `
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE devices (
      id TEXT PRIMARY KEY,
      name TEXT,
      kind TEXT NOT NULL,
      driver TEXT NOT NULL,
      location TEXT,
      password_hash TEXT
    );
    CREATE TABLE doors (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      reader_device TEXT REFERENCES devices(id),
      strike_device TEXT REFERENCES devices(id),
      unlock_ms INTEGER NOT NULL CHECK (unlock_ms >= 100),
      mode TEXT NOT NULL
    );
    CREATE TABLE groups (id TEXT PRIMARY KEY, name TEXT NOT NULL);
    CREATE TABLE group_doors (
      group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
      door_id TEXT NOT NULL REFERENCES doors(id) ON DELETE CASCADE,
      PRIMARY KEY (group_id, door_id)
    );
    CREATE TABLE cardholders (id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL);
    CREATE TABLE cardholder_groups (
      cardholder_id TEXT NOT NULL REFERENCES cardholders(id) ON DELETE CASCADE,
      group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
      PRIMARY KEY (cardholder_id, group_id)
    );
    CREATE TABLE credentials (
      id TEXT PRIMARY KEY,
      cardholder_id TEXT NOT NULL REFERENCES cardholders(id) ON DELETE CASCADE,
      kind TEXT NOT NULL,
      number TEXT NOT NULL,
      status TEXT NOT NULL,
      valid_from_ms INTEGER,
      valid_until_ms INTEGER,
      UNIQUE (kind, number)
    );
    CREATE TABLE events (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      time_ms INTEGER NOT NULL,
      type TEXT NOT NULL,
      severity TEXT NOT NULL,
      site TEXT NOT NULL,
      door TEXT,
      device TEXT,
      cardholder TEXT,
      reason TEXT,
      data TEXT NOT NULL
    );
    CREATE INDEX events_time ON events (time_ms);
    CREATE INDEX events_door ON events (door, seq);
    CREATE INDEX events_type ON events (type, seq);
  `,
};
