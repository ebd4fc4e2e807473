import { accessStateWith } from '../access/build.js';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CardIndex, credentialKey } from '../access/cardIndex.js';
import type { CardFormat } from '../access/credentials.js';
import type { AccessState } from '../access/types.js';
import { BUILT_IN_WIEGAND_FORMATS, type WiegandFormat } from '../access/wiegand.js';
import type { DeviceRecord, DoorRecord, Store } from '../store/index.js';
import { CARD_SNAPSHOT_FILE, readCardSnapshot, writeCardSnapshot, type SnapshotStamp } from './cardSnapshot.js';
import { catchUpCardIndex } from './peopleChanges.js';
import { scanCardIndexFrom, scanCardIndexInWorkers } from './cardIndexScan.js';

/**
 * Everything the critical path reads, in memory: decisions never wait for the disk. The small
 * part (doors, devices, schedules, levels, groups) is rebuilt from the store when site data
 * changes and swapped in whole; the card index (cardholders, credentials, PINs) is loaded once
 * and patched per cardholder [ACC-INDEX].
 */
export interface SiteIndex {
  readonly access: AccessState;
  readonly cards: CardIndex;
  readonly devices: ReadonlyMap<string, DeviceRecord>;
  readonly doors: ReadonlyMap<string, DoorRecord>;
  readonly doorByReader: ReadonlyMap<string, DoorRecord>;
  /** Site formats first: a site may redefine how a frame length is read. */
  readonly wiegandFormats: readonly WiegandFormat[];
  /** [ACC-DURESS] the PIN with this added to its last digit is the duress PIN; null = off. */
  readonly duressPinOffset: number | null;
  /** [ACC-CARD-FORMAT] how readers without a cardFormat of their own send card numbers. */
  readonly cardFormat: CardFormat;
}

/** Below this many people a database read takes well under a second and no snapshot is kept. */
export const SNAPSHOT_MIN_CARDHOLDERS = 10_000;

export interface CardIndexLoad {
  readonly cards: CardIndex;
  readonly from: 'snapshot' | 'database';
  /** Cardholders re-read from the change log after a snapshot older than the database (0 otherwise). */
  readonly changedSince: number;
  /** Why a snapshot was not used, or could not be written; null when all went as planned. */
  readonly note: string | null;
}

/** The card index, from the snapshot when it is the database's current one, else from the database. */
export function loadCardIndex(store: Store): CardIndex {
  return openCardIndex(store).cards;
}

/**
 * The card index from the snapshot file, brought up to date with the cardholders the change log
 * names since it was written; from the whole database when there is no usable snapshot or the log
 * does not reach back to it (`note` says why). A snapshot is then due: `save: 'now'` writes it
 * before returning (tests, the bench); the runtime writes it in the background instead.
 */
export function openCardIndex(store: Store, options: { readonly save?: 'now' | 'later' } = {}): CardIndexLoad {
  const fromSnapshot = openCardIndexFromSnapshot(store);
  if (fromSnapshot.cards !== null) return fromSnapshot;
  const cards = readCardIndexHere(store);
  const saved = options.save === 'now' ? saveCardSnapshot(store, cards) : null;
  return { cards, from: 'database', changedSince: 0, note: saved ?? fromSnapshot.note };
}

/**
 * The snapshot part of `openCardIndex`: the index from the snapshot brought up to date from the
 * change log, or `cards: null` when only a full read will do (`note` says why; null when there
 * simply is no snapshot). The caller then reads the database, on this thread or off it.
 */
export function openCardIndexFromSnapshot(store: Store): CardIndexLoad | { readonly cards: null; readonly note: string | null } {
  const file = snapshotFileOf(store);
  let note: string | null = null;
  if (file !== null) {
    const databaseId = databaseIdOf(store);
    const generation = store.cardholders.generation();
    const read = readCardSnapshot(file, (stamp) => {
      if (stamp.databaseId !== databaseId) return 'snapshot of another database';
      if (stamp.generation > generation) return `snapshot at people generation ${stamp.generation}, newer than the database's ${generation} (a restored backup?)`;
      return null;
    });
    if (read.ok) {
      try {
        const cards = CardIndex.fromImage(read.image);
        cards.generation = read.stamp.generation;
        cards.snapshotGeneration = read.stamp.generation;
        const caughtUp = catchUpCardIndex(store, cards);
        if (caughtUp.kind !== 'full-read') return { cards, from: 'snapshot', changedSince: caughtUp.kind === 'patched' ? caughtUp.cardholders : 0, note: null };
        note = caughtUp.reason;
      } catch (error) {
        note = `unusable snapshot: ${(error as Error).message}`;
      }
    } else if (fs.existsSync(file)) note = read.reason;
  }
  return { cards: null, note };
}

/**
 * From this many people a start without a usable snapshot reads them on worker threads. Below it
 * the read takes under ~15 ms on the event loop, less than starting the workers.
 */
export const OFF_THREAD_MIN_CARDHOLDERS = 2000;

/** Whether a start should read this store's people on worker threads (see OFF_THREAD_MIN_CARDHOLDERS). */
export function startReadsOffThread(store: Store): boolean {
  return !store.db.memory && store.db.name !== '' && store.cardholders.atLeast(OFF_THREAD_MIN_CARDHOLDERS);
}

/** Full reads in a row that writers outran (the change log could not bring the read up to date) before one is made here. */
const BACKGROUND_READ_TRIES = 3;

/**
 * The full read off the event loop [ACC-INDEX]: on two worker threads (site/cardIndexScan.ts),
 * then brought up to the database's current people generation from the change log, since people
 * written while the workers read are not in their read. The event loop only merges the arrays
 * the workers hand over and re-reads the people changed meanwhile. A database in memory (no file
 * for a worker to open) is read here.
 */
export async function readCardIndexOffThread(store: Store, options: { readonly signal?: AbortSignal; readonly onNote?: (note: string) => void } = {}): Promise<CardIndex> {
  if (store.db.memory || store.db.name === '') return readCardIndexHere(store);
  let reason = '';
  for (let attempt = 1; attempt <= BACKGROUND_READ_TRIES; attempt++) {
    const cards = await scanCardIndexInWorkers(store.db.name, options);
    if (!store.db.open) throw new Error('the store was closed while the card index was read');
    const caughtUp = catchUpCardIndex(store, cards);
    if (caughtUp.kind !== 'full-read') return cards;
    reason = caughtUp.reason;
    options.onNote?.(`the read is behind already (${reason}); reading again`);
  }
  throw new Error(`the database changed faster than the card index could be read (${reason})`);
}

/** Where the snapshot of this store's card index lives; null for a database in memory. */
export function cardSnapshotFileOf(store: Store): string | null {
  return snapshotFileOf(store);
}

/** The snapshot's stamp for an index at `generation`. */
export function snapshotStampOf(store: Store, generation: number): SnapshotStamp {
  return { databaseId: databaseIdOf(store), generation };
}

/**
 * Writes the snapshot if the index is the database's current state and the file is not already
 * of it (the runtime calls this on stop). Returns a problem to log, or null; never throws: the
 * snapshot is only a faster start. Blocks while it writes (about a second at 2,000,000 people).
 */
export function saveCardSnapshot(store: Store, cards: CardIndex): string | null {
  const file = snapshotFileOf(store);
  if (file === null || !store.db.open || cards.cardholderIdCount < SNAPSHOT_MIN_CARDHOLDERS) return null;
  try {
    const generation = store.cardholders.generation();
    if (cards.generation !== generation || cards.snapshotGeneration === generation) return null;
    writeCardSnapshot(file, cards, { databaseId: databaseIdOf(store), generation });
    cards.snapshotGeneration = generation;
    pruneChangeLog(store, generation);
    return null;
  } catch (error) {
    return `cannot write the card index snapshot: ${(error as Error).message}`;
  }
}

/**
 * Forgets the change log a snapshot at `generation` covers, up to `maxRows` rows (stop must not
 * wait long; what is left goes with the next snapshot). The runtime prunes in small steps instead.
 */
export function pruneChangeLog(store: Store, generation: number, maxRows = 200_000): number {
  let pruned = 0;
  for (;;) {
    const step = store.cardholders.pruneChanges(generation, Math.min(20_000, maxRows - pruned));
    pruned += step;
    if (step === 0 || pruned >= maxRows) return pruned;
  }
}

/**
 * Runs a write to the people tables in one transaction. The index takes the generation the write
 * leaves only if nobody else wrote people since it was read; otherwise it keeps its generation, and
 * the change log brings it the other writes (ours again too, harmlessly) at the next catch-up.
 */
export function writePeople(store: Store, cards: CardIndex, write: () => void): void {
  let after: number | null = null;
  store.db.transaction(() => {
    const before = store.cardholders.generation();
    write();
    after = cards.generation === before ? store.cardholders.generation() : null;
  })();
  if (after !== null) cards.generation = after;
}

function snapshotFileOf(store: Store): string | null {
  const name = store.db.name;
  return store.db.memory || name === '' ? null : path.join(path.dirname(name), CARD_SNAPSHOT_FILE);
}

function databaseIdOf(store: Store): string {
  let id = store.meta.get('database-id');
  if (id === undefined) {
    id = randomUUID();
    store.meta.set('database-id', id);
  }
  return id;
}

/** The full read (see cardIndexScan.ts), on this thread: for small sites, and whenever a caller must have it now. */
export function readCardIndexHere(store: Store): CardIndex {
  return scanCardIndexFrom(store.db, store.cardholders, store.cardholderRules);
}

/**
 * The site index from the store. With `cards`, only the small part is read again and the card
 * index is kept: a change to a schedule, level, group, door or device never re-reads millions of
 * cardholders [ACC-INDEX]. Groups the site no longer has are dropped from every member.
 */
export function buildSiteIndex(store: Store, cards?: CardIndex): SiteIndex {
  const doorList = store.doors.list();
  const doors = new Map(doorList.map((door) => [door.id, door]));
  const doorByReader = new Map<string, DoorRecord>();
  for (const door of doors.values()) if (door.readerDeviceId !== null) doorByReader.set(door.readerDeviceId, door);

  const doorRules = new Map(store.siteRules.listDoorRules().map((rules) => [rules.doorId, rules]));
  const doorGroups = new Map(store.accessLevels.listDoorGroups().map((group) => [group.id, group.doorIds]));
  const groupLevels = store.accessLevels.groupLevels();
  const watch = store.siteRules.listWatchList();
  const groups = store.groups.list();
  const settings = store.accessSettings();

  let index = cards;
  if (index === undefined) index = loadCardIndex(store);
  else {
    const known = new Set(groups.map((group) => group.id));
    for (const groupId of index.groupIds()) if (!known.has(groupId)) index.removeGroup(groupId);
  }

  const access = accessStateWith(index, {
    timezone: store.site()?.timezone ?? 'UTC',
    groups: groups.map((group) => ({ ...group, accessLevelIds: groupLevels.get(group.id) ?? [] })),
    doors: doorList.map((door) => {
      const rules = doorRules.get(door.id);
      return {
        id: door.id,
        mode: door.mode,
        overrideGroupIds: rules?.overrideGroupIds ?? [],
        unlockScheduleId: rules?.unlockScheduleId ?? null,
        firstPersonInGroupIds: rules?.firstPersonInGroupIds ?? [],
        twoPersonWindowMs: rules?.twoPersonWindowMs ?? null,
      };
    }),
    schedules: store.schedules.list(),
    holidayCalendars: store.schedules.listHolidays(),
    accessLevels: store.accessLevels.list().map((level) => ({
      id: level.id,
      doorIds: [...new Set([...level.doorIds, ...level.doorGroupIds.flatMap((groupId) => doorGroups.get(groupId) ?? [])])],
      scheduleId: level.scheduleId,
    })),
    threatLevels: store.siteRules.listThreatLevels(),
    areas: store.siteRules.listAreas(),
    watchList: {
      cardholders: Object.fromEntries(watch.filter((entry) => entry.cardholderId !== null).map((entry) => [entry.cardholderId, entry.reason])),
      credentials: Object.fromEntries(watch.filter((entry) => entry.credentialId !== null).map((entry) => [entry.credentialId, entry.reason])),
    },
  });

  return {
    access,
    cards: index,
    devices: new Map(store.devices.list().map((device) => [device.id, device])),
    doors,
    doorByReader,
    wiegandFormats: [...store.siteRules.listWiegandFormats(), ...BUILT_IN_WIEGAND_FORMATS],
    duressPinOffset: settings.duressPinOffset,
    cardFormat: settings.cardFormat ?? 'decimal',
  };
}

/** The index keys of one cardholder's credentials as the store holds them now. */
export function credentialKeysOf(store: Store, cardholderId: string): string[] {
  return store.cardholders.credentialsOf(cardholderId).map(credentialKey);
}

/**
 * Re-reads one cardholder (groups, credentials, PIN, escort) into the live index in place,
 * instead of rebuilding a site of millions [ACC-INDEX]. `keysBefore` are the credential keys the
 * cardholder had before the change (credentialKeysOf, read before writing). The runtime calls this
 * synchronously right after the store's transaction commits, so no read sees half a change.
 */
export function patchCardholder(index: SiteIndex, store: Store, cardholderId: string, keysBefore: readonly string[]): void {
  const cards = index.cards;
  for (const key of keysBefore) cards.removeCredential(key, cardholderId);
  const holder = store.cardholders.get(cardholderId);
  if (holder === undefined) {
    cards.removeCardholder(cardholderId);
    return;
  }
  const pin = store.cardholderRules.pinOf(cardholderId);
  const escort = store.cardholderRules.escortOf(cardholderId);
  cards.putCardholder({ id: holder.id, status: holder.status, groupIds: holder.groupIds, pinDigest: pin?.pinDigest ?? null, duressPinDigest: pin?.duressDigest ?? null, escort: escort ?? null });
  for (const credential of store.cardholders.credentialsOf(cardholderId)) cards.putCredential(credential);
}
