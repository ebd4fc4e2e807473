import { accessStateWith } from '../access/build.js';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CardIndex, credentialKey } from '../access/cardIndex.js';
import type { CardFormat } from '../access/credentials.js';
import type { AccessState } from '../access/types.js';
import { BUILT_IN_WIEGAND_FORMATS, type WiegandFormat } from '../access/wiegand.js';
import type { DeviceRecord, DoorRecord, Store } from '../store/index.js';
import { CARD_SNAPSHOT_FILE, readCardSnapshot, writeCardSnapshot } from './cardSnapshot.js';

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
  /** Why a snapshot was not used, or could not be written; null when all went as planned. */
  readonly note: string | null;
}

/** The card index, from the snapshot when it is the database's current one, else from the database. */
export function loadCardIndex(store: Store): CardIndex {
  return openCardIndex(store).cards;
}

export function openCardIndex(store: Store): CardIndexLoad {
  const file = snapshotFileOf(store);
  let note: string | null = null;
  if (file !== null) {
    const stamp = { databaseId: databaseIdOf(store), generation: store.cardholders.generation() };
    const read = readCardSnapshot(file, stamp);
    if (read.ok) {
      try {
        const cards = CardIndex.fromImage(read.image);
        cards.generation = stamp.generation;
        cards.snapshotGeneration = stamp.generation;
        return { cards, from: 'snapshot', note: null };
      } catch (error) {
        note = `unusable snapshot: ${(error as Error).message}`;
      }
    } else if (fs.existsSync(file)) note = read.reason;
  }
  const cards = scanCardIndex(store);
  const saved = saveCardSnapshot(store, cards);
  return { cards, from: 'database', note: saved ?? note };
}

/**
 * Writes the snapshot if the index is the database's current state and the file is not already
 * of it (the runtime calls this on stop). Returns a problem to log, or null; never throws: the
 * snapshot is only a faster start.
 */
export function saveCardSnapshot(store: Store, cards: CardIndex): string | null {
  const file = snapshotFileOf(store);
  if (file === null || !store.db.open || cards.cardholderCount < SNAPSHOT_MIN_CARDHOLDERS) return null;
  try {
    const generation = store.cardholders.generation();
    if (cards.generation !== generation || cards.snapshotGeneration === generation) return null;
    writeCardSnapshot(file, cards, { databaseId: databaseIdOf(store), generation });
    cards.snapshotGeneration = generation;
    return null;
  } catch (error) {
    return `cannot write the card index snapshot: ${(error as Error).message}`;
  }
}

/**
 * Runs a write to the people tables in one transaction and keeps track of whether the index still
 * reflects the database: only if nobody else wrote people since the index was read (their change
 * reaches it by a full reload) does it take the generation our write leaves.
 */
export function writePeople(store: Store, cards: CardIndex, write: () => void): void {
  let after: number | null = null;
  store.db.transaction(() => {
    const before = store.cardholders.generation();
    write();
    after = cards.generation === before ? store.cardholders.generation() : null;
  })();
  cards.generation = after;
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

/**
 * Reads every cardholder and credential into a compact index, row by row without an object per
 * row, in one read transaction with the generation it reflects. ~1 s per 100,000 people here.
 */
function scanCardIndex(store: Store): CardIndex {
  let cards: CardIndex | undefined;
  store.db.transaction(() => {
    const generation = store.cardholders.generation();
    cards = new CardIndex(store.cardholders.sizesForIndex());
    const index = cards;
    const escorts = new Map(store.cardholderRules.listEscorts().map((escort) => [escort.cardholderId, { groupIds: escort.groupIds, windowMs: escort.windowMs }]));
    const noGroups: readonly string[] = [];
    store.cardholders.scanForIndex(
      (id, status, groups, pinDigest, duressDigest) => index.putCardholder({ id, status, groupIds: groups === null ? noGroups : groups.split(','), pinDigest, duressPinDigest: duressDigest, escort: escorts.get(id) ?? null }),
      (id, cardholderId, kind, number, status, validFromMs, validUntilMs) => index.putCredentialFields(id, cardholderId, kind, number, status, validFromMs, validUntilMs),
    );
    index.trim();
    index.generation = generation;
  })();
  return cards as CardIndex;
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
