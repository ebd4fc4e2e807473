import { localTimeAt, type LocalTime } from './localTime.js';
import type { CompiledSchedule, HolidayCalendar, Schedule } from './types.js';

export const MINUTES_PER_DAY = 1440;

/** Folds weekdays into bitmasks and calendars into one date set, once per site change. */
export function compileSchedule(schedule: Schedule, calendars: ReadonlyMap<string, HolidayCalendar>): CompiledSchedule {
  const holidayDates = new Set<string>();
  for (const calendarId of schedule.holidayCalendarIds) for (const date of calendars.get(calendarId)?.dates ?? []) holidayDates.add(date);
  return {
    id: schedule.id,
    intervals: schedule.intervals.map((interval) => ({
      daysMask: interval.days.reduce((mask, day) => mask | (1 << day), 0),
      startMinute: interval.startMinute,
      endMinute: interval.endMinute,
    })),
    holidayDates,
    holidayIntervals: schedule.holidayIntervals,
  };
}

/**
 * Whether a schedule is open at a local wall-clock time [ACC-SCHEDULE]. Intervals are wall-clock,
 * so 08:00–18:00 means 08:00–18:00 on the short and the long DST days alike; an interval whose
 * end is not after its start runs past midnight into the next day. On a holiday only the
 * holiday intervals apply, for the whole local date [ACC-HOLIDAY].
 */
export function scheduleOpenAt(schedule: CompiledSchedule, local: LocalTime): boolean {
  const minute = local.minute;
  if (schedule.holidayDates.size > 0 && schedule.holidayDates.has(local.date)) {
    for (const interval of schedule.holidayIntervals) if (minute >= interval.startMinute && minute < interval.endMinute) return true;
    return false;
  }
  const today = 1 << local.weekday;
  const yesterday = 1 << (local.weekday === 1 ? 7 : local.weekday - 1);
  for (const interval of schedule.intervals) {
    if (interval.endMinute > interval.startMinute) {
      if ((interval.daysMask & today) !== 0 && minute >= interval.startMinute && minute < interval.endMinute) return true;
    } else {
      // Spans midnight: the evening of a listed day, and the small hours of the day after it.
      if ((interval.daysMask & today) !== 0 && minute >= interval.startMinute) return true;
      if ((interval.daysMask & yesterday) !== 0 && minute < interval.endMinute) return true;
    }
  }
  return false;
}

export function scheduleOpen(schedule: CompiledSchedule, zone: string, epochMs: number): boolean {
  return scheduleOpenAt(schedule, localTimeAt(zone, epochMs));
}
