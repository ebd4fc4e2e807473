import { buildAccessState } from '../access/build.js';
import type { AccessState, Cardholder } from '../access/types.js';
import { BUILT_IN_WIEGAND_FORMATS, type WiegandFormat } from '../access/wiegand.js';
import type { DeviceRecord, DoorRecord, Store } from '../store/index.js';

/**
 * Everything the critical path reads, in memory: decisions never wait for the disk. Rebuilt
 * from the store whenever site data changes and swapped in whole.
 */
export interface SiteIndex {
  readonly access: AccessState;
  readonly devices: ReadonlyMap<string, DeviceRecord>;
  readonly doors: ReadonlyMap<string, DoorRecord>;
  readonly doorByReader: ReadonlyMap<string, DoorRecord>;
  /** Site formats first: a site may redefine how a frame length is read. */
  readonly wiegandFormats: readonly WiegandFormat[];
  /** [ACC-DURESS] the PIN with this added to its last digit is the duress PIN; null = off. */
  readonly duressPinOffset: number | null;
}

export function buildSiteIndex(store: Store): SiteIndex {
  const doorList = store.doors.list();
  const doors = new Map(doorList.map((door) => [door.id, door]));
  const doorByReader = new Map<string, DoorRecord>();
  for (const door of doors.values()) if (door.readerDeviceId !== null) doorByReader.set(door.readerDeviceId, door);

  const doorRules = new Map(store.siteRules.listDoorRules().map((rules) => [rules.doorId, rules]));
  const doorGroups = new Map(store.accessLevels.listDoorGroups().map((group) => [group.id, group.doorIds]));
  const groupLevels = store.accessLevels.groupLevels();
  const pins = new Map(store.cardholderRules.listPins().map((pin) => [pin.cardholderId, pin]));
  const escorts = new Map(store.cardholderRules.listEscorts().map((escort) => [escort.cardholderId, escort]));
  const watch = store.siteRules.listWatchList();

  const cardholders: Cardholder[] = store.cardholders.list().map((holder) => {
    const pin = pins.get(holder.id);
    const escort = escorts.get(holder.id);
    if (pin === undefined && escort === undefined) return holder;
    return { ...holder, pinDigest: pin?.pinDigest ?? null, duressPinDigest: pin?.duressDigest ?? null, escort: escort === undefined ? null : { groupIds: escort.groupIds, windowMs: escort.windowMs } };
  });

  const access = buildAccessState({
    timezone: store.site()?.timezone ?? 'UTC',
    credentials: store.cardholders.listCredentials(),
    cardholders,
    groups: store.groups.list().map((group) => ({ ...group, accessLevelIds: groupLevels.get(group.id) ?? [] })),
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
    devices: new Map(store.devices.list().map((device) => [device.id, device])),
    doors,
    doorByReader,
    wiegandFormats: [...store.siteRules.listWiegandFormats(), ...BUILT_IN_WIEGAND_FORMATS],
    duressPinOffset: store.accessSettings().duressPinOffset,
  };
}
