import type { Migration } from './types.js';

/** Where a device is wired (serial bus and address, GPIO pins) as JSON; null for guardpost's own MQTT topics. */
export const deviceBindings: Migration = {
  version: 5,
  name: 'device bindings',
  sql: `ALTER TABLE devices ADD COLUMN binding TEXT;`,
};
