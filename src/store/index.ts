import type { SiteData } from '../config/siteSchema.js';
import { canonicalCardNumber } from '../access/credentials.js';
import { wiegandKey } from '../access/wiegand.js';
import { GuardpostError } from '../errors.js';
import { AccessLevelsRepository, CardholderRulesRepository, RuleStateRepository, SchedulesRepository, SiteRulesRepository } from './accessRules.js';
import { PinHasher } from './pinKey.js';
import { CardholdersRepository } from './cardholders.js';
import { openDatabase, type Db } from './db.js';
import { DevicesRepository } from './devices.js';
import { DoorsRepository } from './doors.js';
import { GroupsRepository } from './groups.js';
import { MetaRepository } from './meta.js';

export type { Db } from './db.js';
export type { DeviceKind, DeviceRecord } from './devices.js';
export type { DoorRecord } from './doors.js';
export type { AccessLevelRecord, DoorGroup, DoorRules, WatchListRecord } from './accessRules.js';
export { PinHasher } from './pinKey.js';

/** Site-wide access settings kept in meta (see access-rules.md). */
export interface AccessSettings {
  /** [ACC-DURESS] PIN + this offset on its last digit is the duress PIN; null = off. */
  readonly duressPinOffset: number | null;
}

const minuteOf = (clock: string): number => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));
const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export interface SiteIdentity {
  readonly id: string;
  readonly name: string;
  readonly timezone: string;
}

/** The one source of truth for site data: the database and a repository per aggregate. */
export class Store {
  readonly meta: MetaRepository;
  readonly devices: DevicesRepository;
  readonly doors: DoorsRepository;
  readonly groups: GroupsRepository;
  readonly cardholders: CardholdersRepository;
  readonly schedules: SchedulesRepository;
  readonly accessLevels: AccessLevelsRepository;
  readonly siteRules: SiteRulesRepository;
  readonly cardholderRules: CardholderRulesRepository;
  readonly ruleState: RuleStateRepository;

  /** `pins` hashes PINs with the site's key; without it, importing a PIN is refused. */
  constructor(readonly db: Db, readonly pins: PinHasher | null = null) {
    this.schedules = new SchedulesRepository(db);
    this.accessLevels = new AccessLevelsRepository(db);
    this.siteRules = new SiteRulesRepository(db);
    this.cardholderRules = new CardholderRulesRepository(db);
    this.ruleState = new RuleStateRepository(db);
    this.meta = new MetaRepository(db);
    this.devices = new DevicesRepository(db);
    this.doors = new DoorsRepository(db);
    this.groups = new GroupsRepository(db);
    this.cardholders = new CardholdersRepository(db);
  }

  static open(stateDir: string): Store {
    const db = openDatabase(stateDir);
    try {
      return new Store(db, PinHasher.forStateDir(stateDir));
    } catch (error) {
      db.close();
      throw error;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  site(): SiteIdentity | undefined {
    const raw = this.meta.get('site');
    return raw === undefined ? undefined : (JSON.parse(raw) as SiteIdentity);
  }

  accessSettings(): AccessSettings {
    const raw = this.meta.get('access-settings');
    return raw === undefined ? { duressPinOffset: null } : (JSON.parse(raw) as AccessSettings);
  }

  /** True once site data has been imported; later starts keep what admins edited since. */
  hasSiteData(): boolean {
    return this.site() !== undefined;
  }

  /** Imports validated site data in one transaction: all of it or nothing. */
  importSiteData(data: SiteData): void {
    const toMs = (value: string | Date | undefined | null): number | null => (value === undefined || value === null ? null : new Date(value).getTime());
    this.db.transaction(() => {
      this.meta.set('site', JSON.stringify({ id: data.site.id, name: data.site.name, timezone: data.site.timezone } satisfies SiteIdentity));
      for (const device of data.devices) {
        this.devices.upsert({
          id: device.id,
          name: device.name ?? null,
          kind: device.kind,
          driver: device.driver,
          location: device.location ?? null,
          passwordHash: device.passwordHash ?? null,
        });
      }
      for (const door of data.doors) {
        this.doors.upsert({ id: door.id, name: door.name, readerDeviceId: door.reader, strikeDeviceId: door.strike, unlockMs: door.unlockMs, mode: door.mode });
        this.siteRules.upsertDoorRules({
          doorId: door.id,
          overrideGroupIds: door.overrideGroups ?? [],
          unlockScheduleId: door.unlockSchedule ?? null,
          firstPersonInGroupIds: door.firstPersonInGroups ?? [],
          twoPersonWindowMs: door.twoPersonSeconds === undefined ? null : door.twoPersonSeconds * 1000,
        });
      }
      this.meta.set('access-settings', JSON.stringify({ duressPinOffset: data.site.duressPinOffset ?? null } satisfies AccessSettings));
      for (const calendar of data.holidays) this.schedules.upsertHolidays({ id: calendar.id, name: calendar.name, dates: calendar.dates });
      for (const schedule of data.schedules) {
        this.schedules.upsert({
          id: schedule.id,
          name: schedule.name,
          intervals: schedule.intervals.map((interval) => ({ days: interval.days.map((day) => WEEKDAYS.indexOf(day) + 1), startMinute: minuteOf(interval.from), endMinute: minuteOf(interval.to) })),
          holidayCalendarIds: schedule.holidays,
          holidayIntervals: schedule.holidayIntervals.map((interval) => ({ startMinute: minuteOf(interval.from), endMinute: minuteOf(interval.to) })),
        });
      }
      for (const doorGroup of data.doorGroups) this.accessLevels.upsertDoorGroup({ id: doorGroup.id, name: doorGroup.name, doorIds: doorGroup.doors });
      for (const level of data.accessLevels) {
        this.accessLevels.upsert({ id: level.id, name: level.name, doorIds: level.doors, doorGroupIds: level.doorGroups, scheduleId: level.schedule ?? null });
      }
      for (const group of data.groups) {
        this.groups.upsert({ id: group.id, name: group.name, doorIds: group.doors });
        this.accessLevels.setGroupLevels(group.id, group.accessLevels ?? []);
      }
      const doorGroupDoors = new Map(data.doorGroups.map((group) => [group.id, group.doors]));
      for (const level of data.threatLevels) {
        const doors: Record<string, string[]> = {};
        for (const entry of level.doors) {
          for (const doorId of entry.door !== undefined ? [entry.door] : (doorGroupDoors.get(entry.doorGroup ?? '') ?? [])) doors[doorId] = entry.groups;
        }
        this.siteRules.upsertThreatLevel({ id: level.id, name: level.name, allowedGroupIds: level.allowedGroups ?? null, doors });
      }
      for (const area of data.areas) {
        this.siteRules.upsertArea({ id: area.id, name: area.name, entryDoorIds: area.entryDoors, exitDoorIds: area.exitDoors, passback: area.passback, forgiveAfterMs: area.forgiveAfterMinutes === undefined ? null : area.forgiveAfterMinutes * 60_000 });
      }
      for (const format of data.wiegandFormats) {
        const over = (spec: number | string): number[] => {
          if (typeof spec === 'number') return [spec];
          const [from, to] = spec.split('-').map(Number) as [number, number];
          return Array.from({ length: to - from + 1 }, (_, i) => from + i);
        };
        this.siteRules.upsertWiegandFormat({
          id: format.id,
          bits: format.bits,
          facility: format.facility ?? null,
          card: format.card,
          parity: format.parity.map((parity) => ({ bit: parity.bit, kind: parity.kind, over: parity.over.flatMap(over) })),
        });
      }
      for (const holder of data.cardholders) {
        this.cardholders.upsert({ id: holder.id, name: holder.name, status: holder.status, groupIds: holder.groups });
        if (holder.pin !== undefined) {
          if (this.pins === null) throw new GuardpostError('GP_ERR_STORE', 'cannot import PINs without the site PIN key');
          this.cardholderRules.setPin(holder.id, this.pins.digest(holder.pin), holder.duressPin === undefined ? null : this.pins.digest(holder.duressPin));
        }
        if (holder.escort !== undefined) this.cardholderRules.setEscort(holder.id, holder.escort.groups, holder.escort.withinSeconds * 1000);
        holder.credentials.forEach((credential, index) => {
          const wiegand = credential.wiegand;
          this.cardholders.upsertCredential({
            id: credential.id ?? `${holder.id}-card-${index + 1}`,
            cardholderId: holder.id,
            kind: wiegand === undefined ? 'card' : 'wiegand',
            number: wiegand === undefined ? canonicalCardNumber(String(credential.card)) : wiegandKey(wiegand.format, wiegand.facility, wiegand.number),
            status: credential.status,
            validFromMs: toMs(credential.validFrom),
            validUntilMs: toMs(credential.validUntil),
          });
        });
      }
      this.siteRules.replaceWatchList(data.watchList.map((entry) => ({ cardholderId: entry.cardholder ?? null, credentialId: entry.credential ?? null, reason: entry.reason })));
    })();
  }
}
