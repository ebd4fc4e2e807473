import type { JournalEvent } from '../journal/events.js';

/**
 * Response-time figures the security team reviews, pure: from alarm.* events to, per alarm, the
 * time to acknowledge and to clear and who did it; then per period, type, door and hour of day the
 * median and 90th percentile. Drills are counted apart from real alarms, always.
 */

export interface AlarmResponse {
  readonly alarm: string;
  readonly kind: string;
  readonly drill: boolean;
  readonly door: string | null;
  readonly zone: string | null;
  readonly device: string | null;
  readonly raisedAt: string;
  readonly acknowledgedAt: string | null;
  readonly acknowledgedBy: string | null;
  readonly clearedAt: string | null;
  readonly clearedBy: string | null;
  /** Seconds from raised to acknowledged; null while unacknowledged. */
  readonly acknowledgeSeconds: number | null;
  readonly clearSeconds: number | null;
  readonly escalations: number;
  /** Local hour of day (0–23) in the site's zone when it was raised. */
  readonly hour: number;
  /** The week (ISO, e.g. 2026-W10) or month (2026-03) it was raised in, local time. */
  readonly period: string;
}

export interface Figures {
  readonly count: number;
  readonly acknowledged: number;
  readonly cleared: number;
  readonly acknowledgeSeconds: { readonly median: number | null; readonly p90: number | null };
  readonly clearSeconds: { readonly median: number | null; readonly p90: number | null };
}

export interface Breakdown {
  readonly total: Figures;
  readonly byPeriod: Readonly<Record<string, Figures>>;
  readonly byKind: Readonly<Record<string, Figures>>;
  readonly byDoor: Readonly<Record<string, Figures>>;
  /** Keys "00" … "23". */
  readonly byHour: Readonly<Record<string, Figures>>;
}

export interface ResponseTimeReport {
  readonly from: string;
  readonly to: string;
  readonly period: 'week' | 'month';
  readonly timezone: string;
  readonly alarms: readonly AlarmResponse[];
  readonly real: Breakdown;
  readonly drills: Breakdown;
}

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
const who = (event: JournalEvent): string | null => text(event.data.by) ?? text(event.data.user) ?? text(event.data.actor);

/**
 * Percentile by linear interpolation between closest ranks (as spreadsheets' PERCENTILE.INC does),
 * so the median of an even count is the mean of the middle two.
 */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const value = sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
  return Math.round(value * 1000) / 1000;
}

interface LocalParts {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
}

function localParts(ms: number, format: Intl.DateTimeFormat): LocalParts {
  const parts = Object.fromEntries(format.formatToParts(new Date(ms)).map((part) => [part.type, part.value]));
  return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day), hour: Number(parts.hour) % 24 };
}

/** ISO 8601 week of a calendar date: weeks start on Monday, week 1 holds the year's first Thursday. */
export function isoWeek(year: number, month: number, day: number): string {
  const date = new Date(Date.UTC(year, month - 1, day));
  const weekday = (date.getUTCDay() + 6) % 7; // Monday = 0
  date.setUTCDate(date.getUTCDate() - weekday + 3); // the Thursday of this week
  const weekYear = date.getUTCFullYear();
  const week = Math.ceil(((date.getTime() - Date.UTC(weekYear, 0, 1)) / 86_400_000 + 1) / 7);
  return `${weekYear}-W${String(week).padStart(2, '0')}`;
}

/** Per-alarm responses from alarm events, for alarms raised in [fromMs, toMs). */
export function alarmResponses(events: Iterable<JournalEvent>, fromMs: number, toMs: number, timezone: string, period: 'week' | 'month'): AlarmResponse[] {
  const format = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' });
  const byAlarm = new Map<string, { raised: JournalEvent; acknowledged?: JournalEvent; cleared?: JournalEvent; escalations: number }>();
  for (const event of events) {
    const alarm = text(event.data.alarm);
    if (alarm === null) continue;
    if (event.type === 'alarm.raised') {
      const atMs = Date.parse(event.time);
      if (atMs >= fromMs && atMs < toMs) byAlarm.set(alarm, { raised: event, escalations: 0 });
      continue;
    }
    const entry = byAlarm.get(alarm);
    if (entry === undefined) continue;
    if (event.type === 'alarm.acknowledged') entry.acknowledged ??= event;
    else if (event.type === 'alarm.cleared') entry.cleared ??= event;
    else if (event.type === 'alarm.escalated') entry.escalations += 1;
  }
  return [...byAlarm.entries()].map(([alarm, entry]) => {
    const raisedMs = Date.parse(entry.raised.time);
    const seconds = (event: JournalEvent | undefined): number | null => (event === undefined ? null : (Date.parse(event.time) - raisedMs) / 1000);
    const local = localParts(raisedMs, format);
    return {
      alarm,
      kind: text(entry.raised.data.kind) ?? entry.raised.reason ?? 'unknown',
      drill: entry.raised.data.drill === true,
      door: entry.raised.door,
      zone: text(entry.raised.data.zone),
      device: entry.raised.device,
      raisedAt: entry.raised.time,
      acknowledgedAt: entry.acknowledged?.time ?? null,
      acknowledgedBy: entry.acknowledged === undefined ? null : who(entry.acknowledged),
      clearedAt: entry.cleared?.time ?? null,
      clearedBy: entry.cleared === undefined ? null : who(entry.cleared),
      acknowledgeSeconds: seconds(entry.acknowledged),
      clearSeconds: seconds(entry.cleared),
      escalations: entry.escalations,
      hour: local.hour,
      period: period === 'month' ? `${local.year}-${String(local.month).padStart(2, '0')}` : isoWeek(local.year, local.month, local.day),
    };
  });
}

function figures(alarms: readonly AlarmResponse[]): Figures {
  const acknowledge = alarms.flatMap((alarm) => (alarm.acknowledgeSeconds === null ? [] : [alarm.acknowledgeSeconds]));
  const clear = alarms.flatMap((alarm) => (alarm.clearSeconds === null ? [] : [alarm.clearSeconds]));
  return {
    count: alarms.length,
    acknowledged: acknowledge.length,
    cleared: clear.length,
    acknowledgeSeconds: { median: percentile(acknowledge, 50), p90: percentile(acknowledge, 90) },
    clearSeconds: { median: percentile(clear, 50), p90: percentile(clear, 90) },
  };
}

function groupBy(alarms: readonly AlarmResponse[], key: (alarm: AlarmResponse) => string): Record<string, Figures> {
  const groups = new Map<string, AlarmResponse[]>();
  for (const alarm of alarms) {
    const value = key(alarm);
    groups.set(value, [...(groups.get(value) ?? []), alarm]);
  }
  return Object.fromEntries([...groups.keys()].sort().map((value) => [value, figures(groups.get(value) ?? [])]));
}

function breakdown(alarms: readonly AlarmResponse[]): Breakdown {
  return {
    total: figures(alarms),
    byPeriod: groupBy(alarms, (alarm) => alarm.period),
    byKind: groupBy(alarms, (alarm) => alarm.kind),
    byDoor: groupBy(alarms, (alarm) => alarm.door ?? 'none'),
    byHour: groupBy(alarms, (alarm) => String(alarm.hour).padStart(2, '0')),
  };
}

export function responseTimeReport(events: Iterable<JournalEvent>, options: { readonly fromMs: number; readonly toMs: number; readonly timezone: string; readonly period: 'week' | 'month' }): ResponseTimeReport {
  const alarms = alarmResponses(events, options.fromMs, options.toMs, options.timezone, options.period);
  return {
    from: new Date(options.fromMs).toISOString(),
    to: new Date(options.toMs).toISOString(),
    period: options.period,
    timezone: options.timezone,
    alarms,
    real: breakdown(alarms.filter((alarm) => !alarm.drill)),
    drills: breakdown(alarms.filter((alarm) => alarm.drill)),
  };
}

export const RESPONSE_CSV_COLUMNS = ['alarm', 'kind', 'drill', 'door', 'zone', 'device', 'raisedAt', 'acknowledgedAt', 'acknowledgedBy', 'acknowledgeSeconds', 'clearedAt', 'clearedBy', 'clearSeconds', 'escalations', 'hour', 'period'] as const;
