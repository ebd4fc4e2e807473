import type { Migration } from './types.js';

/** The access rules of issue 4: schedules, holidays, levels, threat levels, areas, watch list, PINs, rule state. */
export const accessRules: Migration = {
  version: 2,
  name: 'access rules',
  sql: `
    CREATE TABLE door_groups (id TEXT PRIMARY KEY, name TEXT NOT NULL, doors TEXT NOT NULL);
    CREATE TABLE schedules (id TEXT PRIMARY KEY, name TEXT NOT NULL, intervals TEXT NOT NULL, holidays TEXT NOT NULL, holiday_intervals TEXT NOT NULL);
    CREATE TABLE holiday_calendars (id TEXT PRIMARY KEY, name TEXT NOT NULL, dates TEXT NOT NULL);
    CREATE TABLE access_levels (id TEXT PRIMARY KEY, name TEXT NOT NULL, doors TEXT NOT NULL, door_groups TEXT NOT NULL, schedule_id TEXT);
    CREATE TABLE group_access_levels (
      group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
      access_level_id TEXT NOT NULL REFERENCES access_levels(id) ON DELETE CASCADE,
      PRIMARY KEY (group_id, access_level_id)
    );
    CREATE TABLE door_rules (
      door_id TEXT PRIMARY KEY REFERENCES doors(id) ON DELETE CASCADE,
      override_groups TEXT NOT NULL,
      unlock_schedule TEXT,
      first_person_in_groups TEXT NOT NULL,
      two_person_ms INTEGER
    );
    CREATE TABLE threat_levels (id TEXT PRIMARY KEY, name TEXT NOT NULL, allowed_groups TEXT, doors TEXT NOT NULL);
    CREATE TABLE areas (id TEXT PRIMARY KEY, name TEXT NOT NULL, entry_doors TEXT NOT NULL, exit_doors TEXT NOT NULL, passback TEXT NOT NULL, forgive_after_ms INTEGER);
    CREATE TABLE watch_list (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      cardholder_id TEXT REFERENCES cardholders(id) ON DELETE CASCADE,
      credential_id TEXT REFERENCES credentials(id) ON DELETE CASCADE,
      reason TEXT NOT NULL,
      CHECK ((cardholder_id IS NULL) <> (credential_id IS NULL))
    );
    CREATE TABLE wiegand_formats (id TEXT PRIMARY KEY, definition TEXT NOT NULL);
    -- Keyed digests (HMAC-SHA256 with the state directory's pin.key), never PINs.
    CREATE TABLE cardholder_pins (
      cardholder_id TEXT PRIMARY KEY REFERENCES cardholders(id) ON DELETE CASCADE,
      pin_digest BLOB NOT NULL,
      duress_digest BLOB
    );
    CREATE TABLE cardholder_escorts (
      cardholder_id TEXT PRIMARY KEY REFERENCES cardholders(id) ON DELETE CASCADE,
      groups TEXT NOT NULL,
      window_ms INTEGER NOT NULL
    );
    -- The stateful rules' state that must survive a restart (passback presence, released doors).
    CREATE TABLE access_rule_state (kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, key));
  `,
};
