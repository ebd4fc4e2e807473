/** Wall-clock time in an IANA zone, as schedules read it. Pure: the instant is a parameter. */

export interface LocalTime {
  /** `YYYY-MM-DD` in the zone. */
  readonly date: string;
  /** ISO weekday, 1 = Monday … 7 = Sunday. */
  readonly weekday: number;
  /** Minutes after local midnight, 0 … 1439. */
  readonly minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
// A memo of a pure function (same zone and minute → same answer), not rule state: reads come in
// bursts within one minute, and Intl formatting costs microseconds the critical path lacks.
const lastByZone = new Map<string, { minuteKey: number; local: LocalTime }>();

function formatter(zone: string): Intl.DateTimeFormat {
  let format = formatters.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
    formatters.set(zone, format);
  }
  return format;
}

/** Throws a RangeError for a zone Intl does not know (decide() turns that into a deny). */
export function localTimeAt(zone: string, epochMs: number): LocalTime {
  const minuteKey = Math.floor(epochMs / 60_000);
  const last = lastByZone.get(zone);
  if (last !== undefined && last.minuteKey === minuteKey) return last.local;
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  for (const part of formatter(zone).formatToParts(minuteKey * 60_000)) {
    if (part.type === 'year') year = Number(part.value);
    else if (part.type === 'month') month = Number(part.value);
    else if (part.type === 'day') day = Number(part.value);
    else if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  const weekday = ((new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7) + 1;
  const local: LocalTime = { date: `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`, weekday, minute: hour * 60 + minute };
  lastByZone.set(zone, { minuteKey, local });
  return local;
}
