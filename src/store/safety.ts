import type { SiteAlarmSettings, SiteCamera, SiteThreatLevel } from '../config/siteSchema.js';
import type { Db } from './db.js';

export type FailMode = 'fail-secure' | 'fail-safe';

export interface DoorHardwareRecord {
  readonly doorId: string;
  readonly contactDeviceId: string | null;
  readonly exitDeviceId: string | null;
  readonly failMode: FailMode;
  readonly heldOpenMs: number;
  readonly preAlarmMs: number;
  readonly rexUnlocks: boolean;
}

export interface ZoneRecord {
  readonly id: string;
  readonly name: string;
  readonly doorIds: readonly string[];
}

export interface PanicButtonRecord {
  readonly deviceId: string;
  readonly zoneId: string | null;
  readonly lockdown: boolean;
  readonly silent: boolean;
}

export type CameraRecord = SiteCamera;

/** An alarm as stored: the lifecycle state in columns, the rest as JSON the alarms module owns. */
export interface StoredAlarm {
  readonly id: string;
  readonly state: 'raised' | 'acknowledged' | 'cleared';
  readonly raisedMs: number;
  readonly record: string;
}

/**
 * Door hardware, zones, cameras, panic buttons and alarm settings (site data), plus the alarms
 * and live conditions (threat level, lockdowns, drill) that must survive a restart.
 */
export class SafetyRepository {
  constructor(private readonly db: Db) {}

  listDoorHardware(): DoorHardwareRecord[] {
    return this.db
      .prepare<[], { door_id: string; contact_device: string | null; exit_device: string | null; fail_mode: FailMode; held_open_ms: number; pre_alarm_ms: number; rex_unlocks: number }>(
        'SELECT * FROM door_hardware ORDER BY door_id',
      )
      .all()
      .map((row) => ({
        doorId: row.door_id,
        contactDeviceId: row.contact_device,
        exitDeviceId: row.exit_device,
        failMode: row.fail_mode,
        heldOpenMs: row.held_open_ms,
        preAlarmMs: row.pre_alarm_ms,
        rexUnlocks: row.rex_unlocks === 1,
      }));
  }

  upsertDoorHardware(record: DoorHardwareRecord): void {
    this.db
      .prepare(
        `INSERT INTO door_hardware (door_id, contact_device, exit_device, fail_mode, held_open_ms, pre_alarm_ms, rex_unlocks)
         VALUES (@doorId, @contactDeviceId, @exitDeviceId, @failMode, @heldOpenMs, @preAlarmMs, @rexUnlocks)
         ON CONFLICT (door_id) DO UPDATE SET contact_device = excluded.contact_device, exit_device = excluded.exit_device,
           fail_mode = excluded.fail_mode, held_open_ms = excluded.held_open_ms, pre_alarm_ms = excluded.pre_alarm_ms, rex_unlocks = excluded.rex_unlocks`,
      )
      .run({ ...record, rexUnlocks: record.rexUnlocks ? 1 : 0 });
  }

  listZones(): ZoneRecord[] {
    const doors = this.db.prepare<[], { zone_id: string; door_id: string }>('SELECT zone_id, door_id FROM zone_doors ORDER BY door_id').all();
    return this.db
      .prepare<[], { id: string; name: string }>('SELECT id, name FROM zones ORDER BY id')
      .all()
      .map((row) => ({ id: row.id, name: row.name, doorIds: doors.filter((door) => door.zone_id === row.id).map((door) => door.door_id) }));
  }

  upsertZone(zone: ZoneRecord): void {
    this.db.prepare('INSERT INTO zones (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name').run(zone.id, zone.name);
    this.db.prepare('DELETE FROM zone_doors WHERE zone_id = ?').run(zone.id);
    const insert = this.db.prepare('INSERT INTO zone_doors (zone_id, door_id) VALUES (?, ?)');
    for (const doorId of zone.doorIds) insert.run(zone.id, doorId);
  }

  listCameras(): CameraRecord[] {
    return this.db
      .prepare<[], { config: string }>('SELECT config FROM cameras ORDER BY id')
      .all()
      .map((row) => JSON.parse(row.config) as CameraRecord);
  }

  upsertCamera(camera: CameraRecord): void {
    this.db.prepare('INSERT INTO cameras (id, config) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET config = excluded.config').run(camera.id, JSON.stringify(camera));
  }

  listPanicButtons(): PanicButtonRecord[] {
    return this.db
      .prepare<[], { device_id: string; zone_id: string | null; lockdown: number; silent: number }>('SELECT * FROM panic_buttons ORDER BY device_id')
      .all()
      .map((row) => ({ deviceId: row.device_id, zoneId: row.zone_id, lockdown: row.lockdown === 1, silent: row.silent === 1 }));
  }

  upsertPanicButton(button: PanicButtonRecord): void {
    this.db
      .prepare(
        `INSERT INTO panic_buttons (device_id, zone_id, lockdown, silent) VALUES (@deviceId, @zoneId, @lockdown, @silent)
         ON CONFLICT (device_id) DO UPDATE SET zone_id = excluded.zone_id, lockdown = excluded.lockdown, silent = excluded.silent`,
      )
      .run({ ...button, lockdown: button.lockdown ? 1 : 0, silent: button.silent ? 1 : 0 });
  }

  /** Device id → supervision period in ms. */
  supervision(): Map<string, number> {
    const rows = this.db.prepare<[], { device_id: string; supervision_ms: number }>('SELECT * FROM device_supervision').all();
    return new Map(rows.map((row) => [row.device_id, row.supervision_ms]));
  }

  setSupervision(deviceId: string, supervisionMs: number | null): void {
    if (supervisionMs === null) this.db.prepare('DELETE FROM device_supervision WHERE device_id = ?').run(deviceId);
    else this.db.prepare('INSERT INTO device_supervision (device_id, supervision_ms) VALUES (?, ?) ON CONFLICT (device_id) DO UPDATE SET supervision_ms = excluded.supervision_ms').run(deviceId, supervisionMs);
  }

  alarmSettings(): SiteAlarmSettings {
    return this.setting<SiteAlarmSettings>('alarms') ?? { escalation: [] };
  }

  setAlarmSettings(settings: SiteAlarmSettings): void {
    this.setSetting('alarms', settings);
  }

  threatLevels(): SiteThreatLevel[] {
    return this.setting<SiteThreatLevel[]>('threatLevels') ?? [];
  }

  setThreatLevels(levels: readonly SiteThreatLevel[]): void {
    this.setSetting('threatLevels', levels);
  }

  listOpenAlarms(): StoredAlarm[] {
    return this.db
      .prepare<[], { id: string; state: StoredAlarm['state']; raised_ms: number; record: string }>("SELECT * FROM alarms WHERE state <> 'cleared' ORDER BY raised_ms, id")
      .all()
      .map((row) => ({ id: row.id, state: row.state, raisedMs: row.raised_ms, record: row.record }));
  }

  getAlarm(id: string): StoredAlarm | undefined {
    const row = this.db.prepare<[string], { id: string; state: StoredAlarm['state']; raised_ms: number; record: string }>('SELECT * FROM alarms WHERE id = ?').get(id);
    return row === undefined ? undefined : { id: row.id, state: row.state, raisedMs: row.raised_ms, record: row.record };
  }

  saveAlarm(alarm: StoredAlarm): void {
    this.db
      .prepare(
        `INSERT INTO alarms (id, state, raised_ms, record) VALUES (@id, @state, @raisedMs, @record)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, record = excluded.record`,
      )
      .run(alarm);
  }

  /** A live condition (threat level, lockdowns, drill) as saved, or undefined. */
  condition<T>(key: string): T | undefined {
    const row = this.db.prepare<[string], { value: string }>('SELECT value FROM site_conditions WHERE key = ?').get(key);
    return row === undefined ? undefined : (JSON.parse(row.value) as T);
  }

  setCondition(key: string, value: unknown): void {
    this.db.prepare('INSERT INTO site_conditions (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, JSON.stringify(value));
  }

  private setting<T>(key: string): T | undefined {
    const row = this.db.prepare<[string], { value: string }>('SELECT value FROM safety_settings WHERE key = ?').get(key);
    return row === undefined ? undefined : (JSON.parse(row.value) as T);
  }

  private setSetting(key: string, value: unknown): void {
    this.db.prepare('INSERT INTO safety_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, JSON.stringify(value));
  }
}
