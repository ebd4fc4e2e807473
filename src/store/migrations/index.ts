import { siteAndJournal } from './001-site-and-journal.js';
import { accessRules } from './002-access-rules.js';
import { doorsAlarms } from './003-doors-alarms.js';
import { forwarderCursors } from './004-forwarders.js';
import { usersAndAudit } from './006-users-audit.js';
import { siteDocuments } from './007-site-documents.js';
import { deviceBindings } from './005-devices.js';
import { panelScaleIndexes } from './008-panel-scale-indexes.js';
import { cardFormat } from './009-card-format.js';
import { visitorsWatchlist } from './010-visitors-watchlist.js';
import { peopleChanges } from './011-people-changes.js';
import { cardDigests } from './012-card-digests.js';
import { cardholderListIndexes } from './013-cardholder-list-indexes.js';
import { cardholderSearch } from './014-cardholder-search.js';
import type { Migration } from './types.js';

export type { Migration } from './types.js';

/**
 * Numbered schema migrations, applied in order inside one transaction each and recorded in
 * `PRAGMA user_version`. Never edit a released migration: add the next one, one file each.
 */
export const migrations: readonly Migration[] = [siteAndJournal, accessRules, doorsAlarms, forwarderCursors, deviceBindings, usersAndAudit, siteDocuments, panelScaleIndexes, cardFormat, visitorsWatchlist, peopleChanges, cardDigests, cardholderListIndexes, cardholderSearch];
