import { CardIndex } from './cardIndex.js';
import { compileSchedule } from './schedule.js';
import type { AccessData, AccessState, Area, CompiledSchedule, HolidayCalendar } from './types.js';

export function digestHex(digest: Uint8Array): string {
  return Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString('hex');
}

/** Site data for decide() but the cardholders and credentials, which a `CardIndex` holds. */
export type AccessRulesData = Omit<AccessData, 'cardholders' | 'credentials'>;

/**
 * Indexes site data for decide(): credentials by number, access levels folded into one
 * group → door → schedules map, areas by door, PIN digests by value. Runs when site data
 * changes, never per read.
 */
export function buildAccessState(data: AccessData): AccessState {
  return accessStateWith(CardIndex.from(data.cardholders, data.credentials), data);
}

/**
 * The rules part (schedules, levels, doors, groups, areas, threat levels, watch list) around an
 * existing card index: what a change to anything but cardholders rebuilds [ACC-INDEX]. Small.
 */
export function accessStateWith(cards: CardIndex, data: AccessRulesData): AccessState {
  const calendars = new Map<string, HolidayCalendar>((data.holidayCalendars ?? []).map((calendar) => [calendar.id, calendar]));
  const schedules = new Map<string, CompiledSchedule>((data.schedules ?? []).map((schedule) => [schedule.id, compileSchedule(schedule, calendars)]));
  const levels = new Map((data.accessLevels ?? []).map((level) => [level.id, level]));

  const groupDoorSchedules = new Map<string, Map<string, (string | null)[]>>();
  for (const group of data.groups) {
    const doors = new Map<string, (string | null)[]>();
    const add = (doorId: string, scheduleId: string | null): void => {
      const list = doors.get(doorId);
      if (list === undefined) doors.set(doorId, [scheduleId]);
      // "Always" wins over any schedule; keep it first so the common case stops at once.
      else if (scheduleId === null) list.unshift(null);
      else if (!list.includes(scheduleId)) list.push(scheduleId);
    };
    for (const doorId of group.doorIds) add(doorId, null);
    for (const levelId of group.accessLevelIds ?? []) {
      const level = levels.get(levelId);
      if (level !== undefined) for (const doorId of level.doorIds) add(doorId, level.scheduleId);
    }
    groupDoorSchedules.set(group.id, doors);
  }

  const areaByDoor = new Map<string, { area: Area; direction: 'entry' | 'exit' }>();
  for (const area of data.areas ?? []) {
    if (area.passback === 'off') continue;
    for (const doorId of area.entryDoorIds) areaByDoor.set(doorId, { area, direction: 'entry' });
    for (const doorId of area.exitDoorIds) areaByDoor.set(doorId, { area, direction: 'exit' });
  }

  return {
    credentialsByCard: cards.credentials,
    cardholders: cards.cardholders,
    groups: new Map(data.groups.map((group) => [group.id, group])),
    doors: new Map(data.doors.map((door) => [door.id, door])),
    timezone: data.timezone ?? 'UTC',
    schedules,
    groupDoorSchedules,
    threatLevels: new Map((data.threatLevels ?? []).map((level) => [level.id, level])),
    areaByDoor,
    watchList: {
      cardholders: new Map(Object.entries(data.watchList?.cardholders ?? {})),
      credentials: new Map(Object.entries(data.watchList?.credentials ?? {})),
    },
    pinIndex: cards.pins,
    escortGroupIds: cards.escortGroupIds,
  };
}
