import { AccessLevelsRepository, CardholderRulesRepository, RuleStateRepository, SchedulesRepository, SiteRulesRepository } from './accessRules.js';
import { PinHasher } from './pinKey.js';
import type { SiteData } from '../config/siteSchema.js';
import { CardholdersRepository } from './cardholders.js';
import { CardholderListRepository } from './cardholderList.js';
import { openDatabase, type Db } from './db.js';
import { DevicesRepository } from './devices.js';
import { DoorsRepository } from './doors.js';
import { GroupsRepository } from './groups.js';
import { MetaRepository } from './meta.js';
import { AuditRepository } from './audit.js';
import { UsersRepository } from './users.js';
import { SiteDocumentsRepository } from './siteDocuments.js';
import { sealedCardholders, sealedDevice, writeAllDocuments, writeCardholder, writeDevice, writeDoor, writeGroup, writeSchedulesAndLevels, writeSiteInfo, writeSiteRules } from './siteWrites.js';
import { SafetyRepository } from './safety.js';
import { OsdpKeyVault, sealStoredOsdpKeys } from './osdpKeys.js';
import type { CardDigester } from '../access/cardDigest.js';

export type { Db } from './db.js';
export type { DeviceKind, DeviceRecord } from './devices.js';
export type { DoorRecord } from './doors.js';
export type { AuditEntry, AuditInput } from './audit.js';
export { Roles, type ApiTokenRecord, type Role, type UserRecord } from './users.js';
export type { AccessLevelRecord, DoorGroup, DoorRules, WatchListRecord } from './accessRules.js';
export { PinHasher } from './pinKey.js';
export { OsdpKeyVault } from './osdpKeys.js';

/** Site-wide access settings kept in meta (see access-rules.md). */
export interface AccessSettings {
  /** [ACC-DURESS] PIN + this offset on its last digit is the duress PIN; null = off. */
  readonly duressPinOffset: number | null;
  /** [ACC-CARD-FORMAT] how readers send card numbers unless a reader says otherwise (absent in older databases: decimal). */
  readonly cardFormat?: 'decimal' | 'hex';
}
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
  /** The cardholder list, paged in SQL [SITE-LIST]. */
  readonly cardholderList: CardholderListRepository;
  readonly users: UsersRepository;
  readonly audit: AuditRepository;
  readonly documents: SiteDocumentsRepository;
  readonly schedules: SchedulesRepository;
  readonly accessLevels: AccessLevelsRepository;
  readonly siteRules: SiteRulesRepository;
  readonly cardholderRules: CardholderRulesRepository;
  readonly ruleState: RuleStateRepository;
  readonly safety: SafetyRepository;
  /** [SEC-CARD-DIGEST] digests card numbers with the site's card key (from `pins`); null = cards cannot be enrolled. */
  readonly cardDigests: CardDigester | null;

  /** `pins` hashes PINs with the site's key; without it, importing a PIN is refused. */
  /** `osdpKeys` seals OSDP reader keys at rest; without it, storing a reader key is refused. */
  constructor(readonly db: Db, readonly pins: PinHasher | null = null, readonly osdpKeys: OsdpKeyVault | null = null) {
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
    this.cardholderList = new CardholderListRepository(db);
    this.users = new UsersRepository(db);
    this.audit = new AuditRepository(db);
    this.documents = new SiteDocumentsRepository(db);
    this.safety = new SafetyRepository(db);
    this.cardDigests = pins?.cardDigester() ?? null;
  }

  static open(stateDir: string): Store {
    const db = openDatabase(stateDir);
    try {
      const osdpKeys = OsdpKeyVault.forStateDir(stateDir);
      osdpKeys.checkFile();
      const store = new Store(db, PinHasher.forStateDir(stateDir), osdpKeys);
      sealStoredOsdpKeys(store, Date.now()); // keys stored in clear before they were sealed
      return store;
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
    const cardholders = sealedCardholders(this, data.cardholders);
    this.db.transaction(() => {
      this.importSiteRules(data);
      for (const holder of cardholders) writeCardholder(this, holder);
      this.siteRules.replaceWatchList(data.watchList.map((entry) => ({ cardholderId: entry.cardholder ?? null, credentialId: entry.credential ?? null, reason: entry.reason })));
      writeAllDocuments(this, { cardholders, watchList: data.watchList } as Partial<SiteData> as SiteData);
    })();
  }

  /**
   * Everything of a site but its people and watch list (which names people): a whole-site import
   * writes those itself, a person at a time [SITE-IMPORT]. Call inside a transaction.
   */
  importSiteRules(data: SiteData): void {
    data = { ...data, devices: data.devices.map((device) => sealedDevice(this, device)) };
    writeSiteInfo(this, data.site);
    for (const device of data.devices) writeDevice(this, device);
    for (const door of data.doors) writeDoor(this, door);
    writeSchedulesAndLevels(this, data);
    for (const group of data.groups) writeGroup(this, group);
    writeSiteRules(this, data);
    const { cardholders: _people, watchList: _watchList, ...documents } = data;
    writeAllDocuments(this, documents as SiteData);
    this.importSafetyData(data);
  }

  /** Zones, cameras, panic buttons, alarm settings and threat-level lockdowns (door hardware and supervision go with doors and devices). */
  private importSafetyData(data: SiteData): void {
    for (const zone of data.zones) this.safety.upsertZone({ id: zone.id, name: zone.name, doorIds: zone.doors });
    for (const camera of data.cameras) this.safety.upsertCamera(camera);
    for (const button of data.panicButtons) this.safety.upsertPanicButton({ deviceId: button.device, zoneId: button.zone ?? null, lockdown: button.lockdown, silent: button.silent, threatLevel: button.threatLevel ?? null });
    this.safety.setAlarmSettings(data.alarms);
    this.safety.setThreatLevels(data.threatLevels);
  }
}

