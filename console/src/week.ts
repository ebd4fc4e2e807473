// Pure: no DOM, so the Node tests can check it too.

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

export interface Schedule {
  readonly id: string;
  readonly name: string;
  readonly intervals: readonly { readonly days: readonly Weekday[]; readonly from: string; readonly to: string }[];
  readonly holidays: readonly string[];
  readonly holidayIntervals: readonly { readonly from: string; readonly to: string }[];
}

export interface HolidayCalendar {
  readonly id: string;
  readonly name: string;
  readonly dates: readonly string[];
}

export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
export const DAY_NAMES: Record<Weekday, string> = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };

const minutesOf = (clock: string): number => {
  const [hours, minutes] = clock.split(':').map(Number);
  return (hours ?? 0) * 60 + (minutes ?? 0);
};

/** A calendar date as YYYY-MM-DD (the site file's holiday format). */
export const isoDate = (date: Date): string => `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;

export function mondayOf(date: Date): Date {
  const monday = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  monday.setDate(monday.getDate() - ((monday.getDay() + 6) % 7));
  return monday;
}

export interface Block {
  readonly day: number;
  readonly fromMin: number;
  readonly toMin: number;
  readonly holiday: boolean;
}

/**
 * The open blocks of one week, Monday = day 0. An interval whose `to` is not after its `from`
 * runs past midnight into the next day (as the access rules read it); on a holiday only the
 * holiday intervals apply.
 */
export function weekBlocks(schedule: Schedule, holidayDays: ReadonlySet<number>): Block[] {
  const blocks: Block[] = [];
  const add = (day: number, fromMin: number, toMin: number, holiday: boolean): void => {
    if (day > 6 || toMin <= fromMin) return;
    // The part of an interval that spills into a holiday does not open it, and vice versa.
    if (holidayDays.has(day) !== holiday) return;
    blocks.push({ day, fromMin, toMin, holiday });
  };
  const place = (day: number, from: string, to: string, holiday: boolean): void => {
    const fromMin = minutesOf(from);
    const toMin = minutesOf(to);
    if (toMin > fromMin) return add(day, fromMin, toMin, holiday);
    add(day, fromMin, 24 * 60, holiday);
    add(day + 1, 0, toMin, holiday);
  };
  for (const interval of schedule.intervals) {
    for (const weekday of interval.days) place(WEEKDAYS.indexOf(weekday), interval.from, interval.to, false);
  }
  // Sunday's overnight interval of the previous week reaches into this Monday.
  for (const interval of schedule.intervals) {
    if (interval.days.includes('sun') && minutesOf(interval.to) <= minutesOf(interval.from)) add(0, 0, minutesOf(interval.to), false);
  }
  for (const day of holidayDays) for (const interval of schedule.holidayIntervals) place(day, interval.from, interval.to, true);
  return blocks;
}
