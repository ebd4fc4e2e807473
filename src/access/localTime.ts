/** Wall-clock time in an IANA zone, as schedules read it. Pure: the instant is a parameter. */

export interface LocalTime {
  /** `YYYY-MM-DD` in the zone. */
  readonly date: string;
  /** ISO weekday, 1 = Monday … 7 = Sunday. */
  readonly weekday: number;
  /** Minutes after local midnight, 0 … 1439. */
  readonly minute: number;
}

/**
 * Every zone in use today changes its UTC offset only at a whole quarter hour UTC (offsets are
 * multiples of 15 minutes and changes happen on the local hour or half hour), so the offset is
 * constant within a UTC quarter hour: one Intl call per zone and quarter hour, not per read.
 */
const QUARTER_HOUR_MS = 15 * 60_000;
const MAX_CACHED_QUARTERS = 4096;

const formatters = new Map<string, Intl.DateTimeFormat>();
// A memo of a pure function (same zone and quarter hour → same offset), not rule state.
const offsets = new Map<string, Map<number, number>>();

function formatter(zone: string): Intl.DateTimeFormat {
  let format = formatters.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(zone, format);
  }
  return format;
}

/** The zone's offset from UTC in ms at an instant, from Intl (throws a RangeError for an unknown zone). */
function offsetFromIntl(zone: string, epochMs: number): number {
  const fields: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(epochMs)) if (part.type !== 'literal') fields[part.type] = Number(part.value);
  const wallClockAsUtc = Date.UTC(fields.year ?? 0, (fields.month ?? 1) - 1, fields.day ?? 1, fields.hour ?? 0, fields.minute ?? 0, fields.second ?? 0);
  return wallClockAsUtc - (epochMs - (epochMs % 1000));
}

export function utcOffsetMs(zone: string, epochMs: number): number {
  const quarter = Math.floor(epochMs / QUARTER_HOUR_MS);
  let byQuarter = offsets.get(zone);
  if (byQuarter === undefined) {
    byQuarter = new Map();
    offsets.set(zone, byQuarter);
  }
  let offset = byQuarter.get(quarter);
  if (offset === undefined) {
    offset = offsetFromIntl(zone, quarter * QUARTER_HOUR_MS);
    if (byQuarter.size >= MAX_CACHED_QUARTERS) byQuarter.clear();
    byQuarter.set(quarter, offset);
  }
  return offset;
}

const pad2 = (value: number): string => (value < 10 ? `0${value}` : String(value));

/** Throws a RangeError for a zone Intl does not know or a time out of range (decide() closes schedules then). */
export function localTimeAt(zone: string, epochMs: number): LocalTime {
  const wallClock = new Date(epochMs + utcOffsetMs(zone, epochMs));
  const year = wallClock.getUTCFullYear();
  if (Number.isNaN(year)) throw new RangeError(`no local time at ${epochMs}`);
  return {
    date: `${String(year).padStart(4, '0')}-${pad2(wallClock.getUTCMonth() + 1)}-${pad2(wallClock.getUTCDate())}`,
    weekday: ((wallClock.getUTCDay() + 6) % 7) + 1,
    minute: wallClock.getUTCHours() * 60 + wallClock.getUTCMinutes(),
  };
}
