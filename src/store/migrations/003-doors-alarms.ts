import type { Migration } from './types.js';

/** Door hardware, zones, cameras, panic buttons, alarm settings; open alarms and live conditions. */
export const doorsAlarms: Migration = {
  version: 3,
  name: 'doors and alarms',
  sql: `
    CREATE TABLE door_hardware (
      door_id TEXT PRIMARY KEY REFERENCES doors(id) ON DELETE CASCADE,
      contact_device TEXT REFERENCES devices(id),
      exit_device TEXT REFERENCES devices(id),
      fail_mode TEXT NOT NULL CHECK (fail_mode IN ('fail-secure', 'fail-safe')),
      held_open_ms INTEGER NOT NULL,
      pre_alarm_ms INTEGER NOT NULL,
      rex_unlocks INTEGER NOT NULL
    );
    CREATE TABLE zones (id TEXT PRIMARY KEY, name TEXT NOT NULL);
    CREATE TABLE zone_doors (
      zone_id TEXT NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
      door_id TEXT NOT NULL REFERENCES doors(id) ON DELETE CASCADE,
      PRIMARY KEY (zone_id, door_id)
    );
    CREATE TABLE cameras (id TEXT PRIMARY KEY, config TEXT NOT NULL);
    CREATE TABLE panic_buttons (
      device_id TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
      zone_id TEXT REFERENCES zones(id),
      lockdown INTEGER NOT NULL,
      silent INTEGER NOT NULL
    );
    CREATE TABLE device_supervision (
      device_id TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
      supervision_ms INTEGER NOT NULL
    );
    CREATE TABLE safety_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE alarms (
      id TEXT PRIMARY KEY,
      state TEXT NOT NULL CHECK (state IN ('raised', 'acknowledged', 'cleared')),
      raised_ms INTEGER NOT NULL,
      record TEXT NOT NULL
    );
    CREATE INDEX alarms_open ON alarms (state) WHERE state <> 'cleared';
    CREATE TABLE site_conditions (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `,
};
