import type { AccessLevel, Area, HolidayCalendar, Schedule, ThreatLevel } from '../access/types.js';
import type { WiegandFormat } from '../access/wiegand.js';
import type { Db } from './db.js';

/** Door extras the access rules read: overrides, scheduled unlock, two-person. */
export interface DoorRules {
  readonly doorId: string;
  readonly overrideGroupIds: readonly string[];
  readonly unlockScheduleId: string | null;
  readonly firstPersonInGroupIds: readonly string[];
  readonly twoPersonWindowMs: number | null;
}

export interface DoorGroup {
  readonly id: string;
  readonly name: string;
  readonly doorIds: readonly string[];
}

/** An access level as admins edit it: doors and door groups (expanded when indexed). */
export interface AccessLevelRecord {
  readonly id: string;
  readonly name: string;
  readonly doorIds: readonly string[];
  readonly doorGroupIds: readonly string[];
  readonly scheduleId: string | null;
}

export interface WatchListRecord {
  readonly cardholderId: string | null;
  readonly credentialId: string | null;
  readonly reason: string;
}

const json = (value: unknown): string => JSON.stringify(value);
const parse = <T>(text: string): T => JSON.parse(text) as T;

/** Schedules and holiday calendars. */
export class SchedulesRepository {
  constructor(private readonly db: Db) {}

  list(): (Schedule & { name: string })[] {
    return this.db
      .prepare<[], { id: string; name: string; intervals: string; holidays: string; holiday_intervals: string }>('SELECT * FROM schedules ORDER BY id')
      .all()
      .map((row) => ({ id: row.id, name: row.name, intervals: parse(row.intervals), holidayCalendarIds: parse(row.holidays), holidayIntervals: parse(row.holiday_intervals) }));
  }

  upsert(schedule: Schedule & { name: string }): void {
    this.db
      .prepare(`INSERT INTO schedules (id, name, intervals, holidays, holiday_intervals) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET name = excluded.name, intervals = excluded.intervals, holidays = excluded.holidays, holiday_intervals = excluded.holiday_intervals`)
      .run(schedule.id, schedule.name, json(schedule.intervals), json(schedule.holidayCalendarIds), json(schedule.holidayIntervals));
  }

  listHolidays(): (HolidayCalendar & { name: string })[] {
    return this.db
      .prepare<[], { id: string; name: string; dates: string }>('SELECT * FROM holiday_calendars ORDER BY id')
      .all()
      .map((row) => ({ id: row.id, name: row.name, dates: parse(row.dates) }));
  }

  upsertHolidays(calendar: HolidayCalendar & { name: string }): void {
    this.db
      .prepare('INSERT INTO holiday_calendars (id, name, dates) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, dates = excluded.dates')
      .run(calendar.id, calendar.name, json(calendar.dates));
  }
}

/** Access levels, door groups, and which groups hold which levels. */
export class AccessLevelsRepository {
  constructor(private readonly db: Db) {}

  list(): AccessLevelRecord[] {
    return this.db
      .prepare<[], { id: string; name: string; doors: string; door_groups: string; schedule_id: string | null }>('SELECT * FROM access_levels ORDER BY id')
      .all()
      .map((row) => ({ id: row.id, name: row.name, doorIds: parse(row.doors), doorGroupIds: parse(row.door_groups), scheduleId: row.schedule_id }));
  }

  upsert(level: AccessLevelRecord): void {
    this.db
      .prepare(`INSERT INTO access_levels (id, name, doors, door_groups, schedule_id) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET name = excluded.name, doors = excluded.doors, door_groups = excluded.door_groups, schedule_id = excluded.schedule_id`)
      .run(level.id, level.name, json(level.doorIds), json(level.doorGroupIds), level.scheduleId);
  }

  listDoorGroups(): DoorGroup[] {
    return this.db
      .prepare<[], { id: string; name: string; doors: string }>('SELECT * FROM door_groups ORDER BY id')
      .all()
      .map((row) => ({ id: row.id, name: row.name, doorIds: parse(row.doors) }));
  }

  upsertDoorGroup(group: DoorGroup): void {
    this.db.prepare('INSERT INTO door_groups (id, name, doors) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, doors = excluded.doors').run(group.id, group.name, json(group.doorIds));
  }

  /** group → its access level ids. */
  groupLevels(): Map<string, string[]> {
    const byGroup = new Map<string, string[]>();
    for (const row of this.db.prepare<[], { group_id: string; access_level_id: string }>('SELECT * FROM group_access_levels ORDER BY access_level_id').all()) {
      const list = byGroup.get(row.group_id);
      if (list === undefined) byGroup.set(row.group_id, [row.access_level_id]);
      else list.push(row.access_level_id);
    }
    return byGroup;
  }

  setGroupLevels(groupId: string, levelIds: readonly string[]): void {
    this.db.prepare('DELETE FROM group_access_levels WHERE group_id = ?').run(groupId);
    const insert = this.db.prepare('INSERT INTO group_access_levels (group_id, access_level_id) VALUES (?, ?)');
    for (const levelId of levelIds) insert.run(groupId, levelId);
  }
}

/** Door extras, threat levels, areas, the watch list and custom Wiegand formats. */
export class SiteRulesRepository {
  constructor(private readonly db: Db) {}

  listDoorRules(): DoorRules[] {
    return this.db
      .prepare<[], { door_id: string; override_groups: string; unlock_schedule: string | null; first_person_in_groups: string; two_person_ms: number | null }>('SELECT * FROM door_rules')
      .all()
      .map((row) => ({ doorId: row.door_id, overrideGroupIds: parse(row.override_groups), unlockScheduleId: row.unlock_schedule, firstPersonInGroupIds: parse(row.first_person_in_groups), twoPersonWindowMs: row.two_person_ms }));
  }

  upsertDoorRules(rules: DoorRules): void {
    this.db
      .prepare(`INSERT INTO door_rules (door_id, override_groups, unlock_schedule, first_person_in_groups, two_person_ms) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (door_id) DO UPDATE SET override_groups = excluded.override_groups, unlock_schedule = excluded.unlock_schedule,
          first_person_in_groups = excluded.first_person_in_groups, two_person_ms = excluded.two_person_ms`)
      .run(rules.doorId, json(rules.overrideGroupIds), rules.unlockScheduleId, json(rules.firstPersonInGroupIds), rules.twoPersonWindowMs);
  }

  listThreatLevels(): (ThreatLevel & { name: string })[] {
    return this.db
      .prepare<[], { id: string; name: string; allowed_groups: string | null; doors: string }>('SELECT * FROM threat_levels ORDER BY id')
      .all()
      .map((row) => ({ id: row.id, name: row.name, allowedGroupIds: row.allowed_groups === null ? null : parse(row.allowed_groups), doors: parse(row.doors) }));
  }

  upsertThreatLevel(level: ThreatLevel & { name: string }): void {
    this.db
      .prepare('INSERT INTO threat_levels (id, name, allowed_groups, doors) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, allowed_groups = excluded.allowed_groups, doors = excluded.doors')
      .run(level.id, level.name, level.allowedGroupIds === null ? null : json(level.allowedGroupIds), json(level.doors));
  }

  listAreas(): (Area & { name: string })[] {
    return this.db
      .prepare<[], { id: string; name: string; entry_doors: string; exit_doors: string; passback: Area['passback']; forgive_after_ms: number | null }>('SELECT * FROM areas ORDER BY id')
      .all()
      .map((row) => ({ id: row.id, name: row.name, entryDoorIds: parse(row.entry_doors), exitDoorIds: parse(row.exit_doors), passback: row.passback, forgiveAfterMs: row.forgive_after_ms }));
  }

  upsertArea(area: Area & { name: string }): void {
    this.db
      .prepare(`INSERT INTO areas (id, name, entry_doors, exit_doors, passback, forgive_after_ms) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET name = excluded.name, entry_doors = excluded.entry_doors, exit_doors = excluded.exit_doors, passback = excluded.passback, forgive_after_ms = excluded.forgive_after_ms`)
      .run(area.id, area.name, json(area.entryDoorIds), json(area.exitDoorIds), area.passback, area.forgiveAfterMs);
  }

  listWatchList(): WatchListRecord[] {
    return this.db
      .prepare<[], { cardholder_id: string | null; credential_id: string | null; reason: string }>('SELECT cardholder_id, credential_id, reason FROM watch_list ORDER BY id')
      .all()
      .map((row) => ({ cardholderId: row.cardholder_id, credentialId: row.credential_id, reason: row.reason }));
  }

  replaceWatchList(entries: readonly WatchListRecord[]): void {
    this.db.prepare('DELETE FROM watch_list').run();
    const insert = this.db.prepare('INSERT INTO watch_list (cardholder_id, credential_id, reason) VALUES (?, ?, ?)');
    for (const entry of entries) insert.run(entry.cardholderId, entry.credentialId, entry.reason);
  }

  /** One more entry (an import writes an entry with the person it names, who may be new). */
  addWatchListEntry(entry: WatchListRecord): void {
    this.db.prepare('INSERT INTO watch_list (cardholder_id, credential_id, reason) VALUES (?, ?, ?)').run(entry.cardholderId, entry.credentialId, entry.reason);
  }

  listWiegandFormats(): WiegandFormat[] {
    return this.db.prepare<[], { definition: string }>('SELECT definition FROM wiegand_formats ORDER BY id').all().map((row) => parse<WiegandFormat>(row.definition));
  }

  upsertWiegandFormat(format: WiegandFormat): void {
    this.db.prepare('INSERT INTO wiegand_formats (id, definition) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET definition = excluded.definition').run(format.id, json(format));
  }
}

/** Cardholder PIN digests and visitor escort rules. */
export class CardholderRulesRepository {
  constructor(private readonly db: Db) {}

  listPins(): { cardholderId: string; pinDigest: Buffer; duressDigest: Buffer | null }[] {
    return this.db
      .prepare<[], { cardholder_id: string; pin_digest: Buffer; duress_digest: Buffer | null }>('SELECT * FROM cardholder_pins')
      .all()
      .map((row) => ({ cardholderId: row.cardholder_id, pinDigest: row.pin_digest, duressDigest: row.duress_digest }));
  }

  setPin(cardholderId: string, pinDigest: Buffer, duressDigest: Buffer | null): void {
    this.db
      .prepare('INSERT INTO cardholder_pins (cardholder_id, pin_digest, duress_digest) VALUES (?, ?, ?) ON CONFLICT (cardholder_id) DO UPDATE SET pin_digest = excluded.pin_digest, duress_digest = excluded.duress_digest')
      .run(cardholderId, pinDigest, duressDigest);
  }

  pinOf(cardholderId: string): { pinDigest: Buffer; duressDigest: Buffer | null } | undefined {
    const row = this.db.prepare<[string], { pin_digest: Buffer; duress_digest: Buffer | null }>('SELECT pin_digest, duress_digest FROM cardholder_pins WHERE cardholder_id = ?').get(cardholderId);
    return row === undefined ? undefined : { pinDigest: row.pin_digest, duressDigest: row.duress_digest };
  }

  escortOf(cardholderId: string): { groupIds: string[]; windowMs: number } | undefined {
    const row = this.db.prepare<[string], { groups: string; window_ms: number }>('SELECT groups, window_ms FROM cardholder_escorts WHERE cardholder_id = ?').get(cardholderId);
    return row === undefined ? undefined : { groupIds: parse(row.groups), windowMs: row.window_ms };
  }

  listEscorts(): { cardholderId: string; groupIds: string[]; windowMs: number }[] {
    return this.db
      .prepare<[], { cardholder_id: string; groups: string; window_ms: number }>('SELECT * FROM cardholder_escorts')
      .all()
      .map((row) => ({ cardholderId: row.cardholder_id, groupIds: parse(row.groups), windowMs: row.window_ms }));
  }

  setEscort(cardholderId: string, groupIds: readonly string[], windowMs: number): void {
    this.db
      .prepare('INSERT INTO cardholder_escorts (cardholder_id, groups, window_ms) VALUES (?, ?, ?) ON CONFLICT (cardholder_id) DO UPDATE SET groups = excluded.groups, window_ms = excluded.window_ms')
      .run(cardholderId, json(groupIds), windowMs);
  }
}

/** The persisted part of the runtime's rule state (see access/ruleState.ts). */
export class RuleStateRepository {
  private readonly upsertStatement;
  private readonly deleteStatement;

  constructor(private readonly db: Db) {
    this.upsertStatement = db.prepare('INSERT INTO access_rule_state (kind, key, value) VALUES (?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value');
    this.deleteStatement = db.prepare('DELETE FROM access_rule_state WHERE kind = ? AND key = ?');
  }

  list(kind: string): { key: string; value: string }[] {
    return this.db.prepare<[string], { key: string; value: string }>('SELECT key, value FROM access_rule_state WHERE kind = ?').all(kind);
  }

  set(kind: string, key: string, value: string): void {
    this.upsertStatement.run(kind, key, value);
  }

  delete(kind: string, key: string): void {
    this.deleteStatement.run(kind, key);
  }
}
