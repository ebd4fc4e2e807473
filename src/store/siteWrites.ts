import { sealCardholderList, storedCardOf } from './cardCredentials.js';
import { BINDING_FIELDS, type DeviceBinding, type SiteCardholder, type SiteData, type SiteDevice, type SiteDoor, type SiteGroup } from '../config/siteSchema.js';
import { GuardpostError } from '../errors.js';
import type { AccessSettings, SiteIdentity, Store } from './index.js';

/**
 * Writes validated site data (the site file's shape) into the store, one entity at a time, for
 * imports and API changes alike. Call inside a transaction. Each writer also keeps the entity's
 * document (see siteDocuments.ts) so export gives back what was written.
 */

const minuteOf = (clock: string): number => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));
const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const toMs = (value: string | undefined): number | null => (value === undefined ? null : Date.parse(value));

/** Where a device is wired, when not on guardpost's own topics (serial, GPIO, a product's topics). */
function bindingOf(device: SiteDevice): { binding?: DeviceBinding } {
  const binding: DeviceBinding = {};
  for (const field of BINDING_FIELDS) if (device[field] !== undefined) Object.assign(binding, { [field]: device[field] });
  return Object.keys(binding).length === 0 ? {} : { binding };
}

/** [SEC-CARD-DIGEST] Cardholders with every card as its keyed digest and mask (idempotent); a digest of another site's key is refused. */
export function sealedCardholders(store: Store, holders: readonly SiteCardholder[]): SiteCardholder[] {
  return sealCardholderList(store.cardDigests, holders);
}

/** What of a cardholder is kept as a document: never PIN digits, never a whole card number. */
export function cardholderDocument(holder: SiteCardholder): SiteCardholder {
  const { pin: _pin, duressPin: _duressPin, ...rest } = holder;
  return rest as SiteCardholder;
}

export function writeSiteInfo(store: Store, site: SiteData['site']): void {
  store.meta.set('site', JSON.stringify({ id: site.id, name: site.name, timezone: site.timezone } satisfies SiteIdentity));
  store.meta.set('access-settings', JSON.stringify({ duressPinOffset: site.duressPinOffset ?? null, cardFormat: site.cardFormat ?? 'decimal' } satisfies AccessSettings));
  store.documents.replaceCollection('site', [{ id: 'site', item: site }]);
}

/** A device as kept: its OSDP key sealed under the state directory's osdp.key, never in clear (store/osdpKeys.ts). */
export function sealedDevice(store: Store, device: SiteDevice): SiteDevice {
  if (device.osdpKey === undefined) return device;
  if (store.osdpKeys === null) throw new GuardpostError('GP_ERR_STORE', `device "${device.id}": an OSDP key cannot be stored without the state directory's key file (open the store with Store.open)`);
  return { ...device, osdpKey: store.osdpKeys.seal(device.id, device.osdpKey) };
}

export function writeDevice(store: Store, device: SiteDevice): void {
  device = sealedDevice(store, device);
  store.devices.upsert({
    id: device.id,
    name: device.name ?? null,
    kind: device.kind,
    driver: device.driver,
    location: device.location ?? null,
    passwordHash: device.passwordHash ?? null,
    ...bindingOf(device),
    ...(device.cardFormat === undefined ? {} : { cardFormat: device.cardFormat }),
  });
  store.safety.setSupervision(device.id, device.supervisionMs ?? null);
  store.documents.put('devices', device.id, device);
}

export function writeDoor(store: Store, door: SiteDoor): void {
  store.doors.upsert({ id: door.id, name: door.name, readerDeviceId: door.reader, strikeDeviceId: door.strike, unlockMs: door.unlockMs, mode: door.mode });
  store.siteRules.upsertDoorRules({
    doorId: door.id,
    overrideGroupIds: door.overrideGroups ?? [],
    unlockScheduleId: door.unlockSchedule ?? null,
    firstPersonInGroupIds: door.firstPersonInGroups ?? [],
    twoPersonWindowMs: door.twoPersonSeconds === undefined ? null : door.twoPersonSeconds * 1000,
  });
  store.safety.upsertDoorHardware({
    doorId: door.id,
    contactDeviceId: door.contact ?? null,
    exitDeviceId: door.exit ?? null,
    failMode: door.failMode,
    heldOpenMs: door.heldOpenMs,
    preAlarmMs: door.preAlarmMs,
    rexUnlocks: door.rexUnlocks,
  });
  store.documents.put('doors', door.id, door);
}

export function writeGroup(store: Store, group: SiteGroup): void {
  store.groups.upsert({ id: group.id, name: group.name, doorIds: group.doors });
  store.accessLevels.setGroupLevels(group.id, group.accessLevels ?? []);
  store.documents.put('groups', group.id, group);
}

/** The holder, their groups, PIN and escort rule, and exactly the credentials given; `position`: where the document goes (a whole-site import). */
export function writeCardholder(store: Store, holder: SiteCardholder, position?: number): void {
  [holder] = sealedCardholders(store, [holder]) as [SiteCardholder];
  store.cardholders.upsert({ id: holder.id, name: holder.name, status: holder.status, groupIds: holder.groups });
  if (holder.pin !== undefined) {
    if (store.pins === null) throw new GuardpostError('GP_ERR_STORE', 'cannot import PINs without the site PIN key');
    store.cardholderRules.setPin(holder.id, store.pins.digest(holder.pin), holder.duressPin === undefined ? null : store.pins.digest(holder.duressPin));
  }
  if (holder.escort !== undefined) store.cardholderRules.setEscort(holder.id, holder.escort.groups, holder.escort.withinSeconds * 1000);
  store.cardholders.deleteCredentialsExcept(holder.id, holder.credentials.map((credential) => credential.id));
  for (const credential of holder.credentials) {
    const stored = storedCardOf(store.cardDigests, credential);
    store.cardholders.upsertCredential(
      { id: credential.id, cardholderId: holder.id, kind: stored.kind, digest: stored.digest, status: credential.status, validFromMs: toMs(credential.validFrom), validUntilMs: toMs(credential.validUntil) },
      stored.masked,
    );
  }
  store.documents.put('cardholders', holder.id, cardholderDocument(holder), position);
}

/** Holidays, schedules, door groups and access levels: what groups refer to. */
export function writeSchedulesAndLevels(store: Store, data: SiteData): void {
  for (const calendar of data.holidays) store.schedules.upsertHolidays({ id: calendar.id, name: calendar.name, dates: calendar.dates });
  for (const schedule of data.schedules) {
    store.schedules.upsert({
      id: schedule.id,
      name: schedule.name,
      intervals: schedule.intervals.map((interval) => ({ days: interval.days.map((day) => WEEKDAYS.indexOf(day) + 1), startMinute: minuteOf(interval.from), endMinute: minuteOf(interval.to) })),
      holidayCalendarIds: schedule.holidays,
      holidayIntervals: schedule.holidayIntervals.map((interval) => ({ startMinute: minuteOf(interval.from), endMinute: minuteOf(interval.to) })),
    });
  }
  for (const doorGroup of data.doorGroups) store.accessLevels.upsertDoorGroup({ id: doorGroup.id, name: doorGroup.name, doorIds: doorGroup.doors });
  for (const level of data.accessLevels) {
    store.accessLevels.upsert({ id: level.id, name: level.name, doorIds: level.doors, doorGroupIds: level.doorGroups, scheduleId: level.schedule ?? null });
  }
}

/** Threat levels, areas and Wiegand formats. */
export function writeSiteRules(store: Store, data: SiteData): void {
  const doorGroupDoors = new Map(data.doorGroups.map((group) => [group.id, group.doors]));
  for (const level of data.threatLevels) {
    const doors: Record<string, string[]> = {};
    for (const entry of level.doors) {
      for (const doorId of entry.door !== undefined ? [entry.door] : (doorGroupDoors.get(entry.doorGroup ?? '') ?? [])) doors[doorId] = entry.groups;
    }
    store.siteRules.upsertThreatLevel({ id: level.id, name: level.name, allowedGroupIds: level.allowedGroups ?? null, doors });
  }
  for (const area of data.areas) {
    store.siteRules.upsertArea({ id: area.id, name: area.name, entryDoorIds: area.entryDoors, exitDoorIds: area.exitDoors, passback: area.passback, forgiveAfterMs: area.forgiveAfterMinutes === undefined ? null : area.forgiveAfterMinutes * 60_000 });
  }
  for (const format of data.wiegandFormats) {
    const over = (spec: number | string): number[] => {
      if (typeof spec === 'number') return [spec];
      const [from, to] = spec.split('-').map(Number) as [number, number];
      return Array.from({ length: to - from + 1 }, (_, i) => from + i);
    };
    store.siteRules.upsertWiegandFormat({
      id: format.id,
      bits: format.bits,
      facility: format.facility ?? null,
      card: format.card,
      parity: format.parity.map((parity) => ({ bit: parity.bit, kind: parity.kind, over: parity.over.flatMap(over) })),
    });
  }
}

/** The documents of every collection exactly as given (a whole-site import). */
export function writeAllDocuments(store: Store, data: SiteData): void {
  for (const [collection, items] of Object.entries(data)) {
    if (collection === 'site') continue;
    // A settings object (e.g. `alarms`) is one document named after its key.
    if (!Array.isArray(items)) {
      store.documents.replaceCollection(collection, [{ id: collection, item: items }]);
      continue;
    }
    const documents = (items as { id?: string }[]).map((item, index) => ({
      id: item.id ?? String(index),
      item: collection === 'cardholders' ? cardholderDocument(item as SiteCardholder) : collection === 'devices' ? sealedDevice(store, item as SiteDevice) : item,
    }));
    store.documents.replaceCollection(collection, documents);
  }
}
