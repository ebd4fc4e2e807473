import type { SiteData } from '../config/siteSchema.js';
import { canonicalCardNumber } from '../access/credentials.js';
import { CardholdersRepository } from './cardholders.js';
import { openDatabase, type Db } from './db.js';
import { DevicesRepository } from './devices.js';
import { DoorsRepository } from './doors.js';
import { GroupsRepository } from './groups.js';
import { MetaRepository } from './meta.js';
import { SafetyRepository } from './safety.js';

export type { Db } from './db.js';
export type { DeviceKind, DeviceRecord } from './devices.js';
export type { DoorRecord } from './doors.js';
export type { CameraRecord, DoorHardwareRecord, FailMode, PanicButtonRecord, StoredAlarm, ZoneRecord } from './safety.js';

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
  readonly safety: SafetyRepository;

  constructor(readonly db: Db) {
    this.meta = new MetaRepository(db);
    this.devices = new DevicesRepository(db);
    this.doors = new DoorsRepository(db);
    this.groups = new GroupsRepository(db);
    this.cardholders = new CardholdersRepository(db);
    this.safety = new SafetyRepository(db);
  }

  static open(stateDir: string): Store {
    return new Store(openDatabase(stateDir));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  site(): SiteIdentity | undefined {
    const raw = this.meta.get('site');
    return raw === undefined ? undefined : (JSON.parse(raw) as SiteIdentity);
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
      }
      for (const group of data.groups) this.groups.upsert({ id: group.id, name: group.name, doorIds: group.doors });
      for (const holder of data.cardholders) {
        this.cardholders.upsert({ id: holder.id, name: holder.name, status: holder.status, groupIds: holder.groups });
        holder.credentials.forEach((credential, index) => {
          this.cardholders.upsertCredential({
            id: credential.id ?? `${holder.id}-card-${index + 1}`,
            cardholderId: holder.id,
            kind: 'card',
            number: canonicalCardNumber(String(credential.card)),
            status: credential.status,
            validFromMs: toMs(credential.validFrom),
            validUntilMs: toMs(credential.validUntil),
          });
        });
      }
      this.importSafetyData(data);
    })();
  }

  /** Door hardware, zones, cameras, panic buttons, supervision and alarm settings (issue 5). */
  private importSafetyData(data: SiteData): void {
    for (const door of data.doors) {
      this.safety.upsertDoorHardware({
        doorId: door.id,
        contactDeviceId: door.contact ?? null,
        exitDeviceId: door.exit ?? null,
        failMode: door.failMode,
        heldOpenMs: door.heldOpenMs,
        preAlarmMs: door.preAlarmMs,
        rexUnlocks: door.rexUnlocks,
      });
    }
    for (const device of data.devices) this.safety.setSupervision(device.id, device.supervisionMs ?? null);
    for (const zone of data.zones) this.safety.upsertZone({ id: zone.id, name: zone.name, doorIds: zone.doors });
    for (const camera of data.cameras) this.safety.upsertCamera(camera);
    for (const button of data.panicButtons) this.safety.upsertPanicButton({ deviceId: button.device, zoneId: button.zone ?? null, lockdown: button.lockdown, silent: button.silent, threatLevel: button.threatLevel ?? null });
    this.safety.setAlarmSettings(data.alarms);
    this.safety.setThreatLevels(data.threatLevels);
  }
}
