import { BINDING_FIELDS, type DeviceBinding, type SiteData, type SiteDevice } from '../config/siteSchema.js';
import { canonicalCardNumber } from '../access/credentials.js';
import { CardholdersRepository } from './cardholders.js';
import { openDatabase, type Db } from './db.js';
import { DevicesRepository } from './devices.js';
import { DoorsRepository } from './doors.js';
import { GroupsRepository } from './groups.js';
import { MetaRepository } from './meta.js';

export type { Db } from './db.js';
export type { DeviceKind, DeviceRecord } from './devices.js';
export type { DoorRecord } from './doors.js';

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

  constructor(readonly db: Db) {
    this.meta = new MetaRepository(db);
    this.devices = new DevicesRepository(db);
    this.doors = new DoorsRepository(db);
    this.groups = new GroupsRepository(db);
    this.cardholders = new CardholdersRepository(db);
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
          ...bindingOf(device),
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
    })();
  }
}

function bindingOf(device: SiteDevice): { binding?: DeviceBinding } {
  const binding: DeviceBinding = {};
  for (const field of BINDING_FIELDS) if (device[field] !== undefined) Object.assign(binding, { [field]: device[field] });
  return Object.keys(binding).length === 0 ? {} : { binding };
}
