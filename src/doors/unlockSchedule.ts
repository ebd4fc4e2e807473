import { scheduleOpenAt } from '../access/schedule.js';
import { localTimeAt } from '../access/localTime.js';
import type { AccessDoor, AccessState, CompiledSchedule, SiteConditions } from '../access/types.js';

/**
 * When a door stands unlocked on its schedule (free access hours), pure: the instant, the site
 * and the live conditions are parameters. The service (scheduledUnlocks.ts) sets one timer to the
 * next change this computes and feeds the door machines.
 */

const QUARTER_HOUR_MS = 15 * 60_000;
const MINUTE_MS = 60_000;
/** How far ahead to look for the next change; a schedule that stays as it is re-checks then. */
export const SCHEDULE_HORIZON_MS = 8 * 24 * 3_600_000;

export type ScheduledUnlock =
  | { readonly unlocked: true; readonly schedule: string; readonly firstPersonIn: boolean }
  | { readonly unlocked: false; readonly schedule: string | null; readonly why: 'no-schedule' | 'closed' | 'waiting-first-person' | 'threat-level' | 'clock' };

/** A door held on a schedule: any mode but `locked` (which opens only for its override groups). */
export function hasUnlockSchedule(door: AccessDoor): boolean {
  return door.unlockScheduleId != null && door.mode !== 'locked';
}

/** [ACC-FIRST-IN] a scheduled-unlock door naming first-person-in groups waits for one of them. */
export function needsFirstPerson(door: AccessDoor): boolean {
  return door.mode === 'scheduled-unlock' && (door.firstPersonInGroupIds?.length ?? 0) > 0;
}

/** Whether the current threat level restricts who may pass this door (then holding it open would defeat it). */
export function threatRestricts(state: AccessState, conditions: SiteConditions, doorId: string): boolean {
  if (conditions.threatLevel === 'normal') return false;
  const level = state.threatLevels?.get(conditions.threatLevel);
  if (level === undefined) return true;
  return (level.doors[doorId] ?? level.allowedGroupIds) !== null;
}

/**
 * [SAFE-SCHEDULE] what the door's schedule asks for at `nowMs`. `released` is the first-person-in
 * record (door → local date released, kept by the access rules). An unknown zone or schedule
 * keeps the door locked: fail secure.
 */
export function scheduledUnlockAt(
  state: AccessState,
  conditions: SiteConditions,
  door: AccessDoor,
  released: ReadonlyMap<string, string>,
  nowMs: number,
): ScheduledUnlock {
  if (!hasUnlockSchedule(door)) return { unlocked: false, schedule: null, why: 'no-schedule' };
  const scheduleId = door.unlockScheduleId as string;
  const schedule = state.schedules?.get(scheduleId);
  if (schedule === undefined) return { unlocked: false, schedule: scheduleId, why: 'closed' };
  let local;
  try {
    local = localTimeAt(state.timezone ?? 'UTC', nowMs);
  } catch {
    return { unlocked: false, schedule: scheduleId, why: 'closed' };
  }
  if (!scheduleOpenAt(schedule, local)) return { unlocked: false, schedule: scheduleId, why: 'closed' };
  if (threatRestricts(state, conditions, door.id)) return { unlocked: false, schedule: scheduleId, why: 'threat-level' };
  if (needsFirstPerson(door) && released.get(door.id) !== local.date) return { unlocked: false, schedule: scheduleId, why: 'waiting-first-person' };
  return { unlocked: true, schedule: scheduleId, firstPersonIn: needsFirstPerson(door) };
}

function openAt(schedule: CompiledSchedule, zone: string, epochMs: number): boolean | null {
  try {
    return scheduleOpenAt(schedule, localTimeAt(zone, epochMs));
  } catch {
    return null;
  }
}

/**
 * The first instant after `fromMs` at which the schedule opens or closes (or the local date
 * changes, for first-person-in doors, whose release is per local date), up to `horizonMs`
 * ahead; null if nothing changes in that time.
 *
 * Every zone changes its UTC offset only on a UTC quarter hour, so inside one quarter local
 * time runs straight: a change can only fall on the quarter's start (a DST jump, midnight) or
 * on a minute an interval starts or ends. That is a few evaluations per quarter hour, no
 * minute-by-minute scan, and exact across DST gaps and repeated hours.
 */
export function nextScheduleChangeMs(schedule: CompiledSchedule, zone: string, fromMs: number, options: { readonly dateChanges?: boolean; readonly horizonMs?: number } = {}): number | null {
  const horizonMs = options.horizonMs ?? SCHEDULE_HORIZON_MS;
  const initial = openAt(schedule, zone, fromMs);
  if (initial === null) return null;
  let initialDate: string | null = null;
  if (options.dateChanges === true) {
    try {
      initialDate = localTimeAt(zone, fromMs).date;
    } catch {
      return null;
    }
  }
  const boundaries = new Set<number>([0]);
  for (const interval of schedule.intervals) boundaries.add(interval.startMinute % 1440).add(interval.endMinute % 1440);
  for (const interval of schedule.holidayIntervals) boundaries.add(interval.startMinute % 1440).add(interval.endMinute % 1440);
  const sorted = [...boundaries].sort((a, b) => a - b);

  const changed = (atMs: number): boolean => {
    if (openAt(schedule, zone, atMs) !== initial) return true;
    if (initialDate === null) return false;
    try {
      return localTimeAt(zone, atMs).date !== initialDate;
    } catch {
      return false;
    }
  };

  const firstQuarter = Math.floor(fromMs / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
  for (let quarterMs = firstQuarter; quarterMs <= fromMs + horizonMs; quarterMs += QUARTER_HOUR_MS) {
    let startMinute: number;
    try {
      startMinute = localTimeAt(zone, quarterMs).minute;
    } catch {
      return null;
    }
    const candidates = [quarterMs];
    for (const minute of sorted) {
      if (minute > startMinute && minute < startMinute + 15) candidates.push(quarterMs + (minute - startMinute) * MINUTE_MS);
    }
    for (const atMs of candidates) {
      if (atMs > fromMs && changed(atMs)) return atMs;
    }
  }
  return null;
}
