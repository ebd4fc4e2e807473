import { siteAndJournal } from './001-site-and-journal.js';
import { deviceBindings } from './005-devices.js';
import type { Migration } from './types.js';

export type { Migration } from './types.js';

/**
 * Numbered schema migrations, applied in order inside one transaction each and recorded in
 * `PRAGMA user_version`. Never edit a released migration: add the next one, one file each.
 */
export const migrations: readonly Migration[] = [siteAndJournal, deviceBindings];
