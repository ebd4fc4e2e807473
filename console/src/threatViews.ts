// Pure: no DOM, so the Node tests can check it too.
import type { Evacuation } from '../../src/journal/evacuations.js';
import { percentile, type AlarmResponse } from '../../src/threat/responseTimes.js';

/** The part of a journal event these helpers read (the console's JournalEvent, without importing the DOM-bound api.ts). */
export interface EventFacts {
  readonly type: string;
  readonly time: string;
  readonly door: string | null;
  readonly data: Readonly<Record<string, unknown>>;
}

/** What reception sees of a visit: the record's status, and "inside" from occupancy. */
export type VisitState = 'expected' | 'inside' | 'left' | 'expired' | 'blocked';

export function visitState(visitor: { readonly id: string; readonly status: 'active' | 'blocked' | 'checked_out' | 'expired' }, insideIds: ReadonlySet<string>): VisitState {
  switch (visitor.status) {
    case 'blocked':
      return 'blocked';
    case 'checked_out':
      return 'left';
    case 'expired':
      return 'expired';
    case 'active':
      return insideIds.has(visitor.id) ? 'inside' : 'expected';
  }
}

/** Events after which who is inside may have changed (src/threat/occupancy.ts OCCUPANCY_EVENT_TYPES, and the site's areas). */
export function changesOccupancy(event: EventFacts, areaDoors: ReadonlySet<string> | null): boolean {
  // Without the list of area doors (an older gateway), any grant may have moved someone.
  if (event.type === 'access.granted') return event.door !== null && (areaDoors === null || areaDoors.has(event.door));
  return event.type === 'muster.ended' || event.type === 'visitor.checked_out' || event.type === 'visitor.expired' || event.type === 'config.changed' || event.type === 'occupancy.exceeded';
}

/**
 * An evacuation as every signed-in role learns of it: from the journal's `muster.*` events, which
 * viewers read too. Who is on the list is for security staff (GET /api/v1/evacuations/current).
 */
export interface EvacuationBrief {
  readonly id: string;
  readonly startedAt: string | null;
  readonly trigger: Evacuation['trigger'] | null;
  readonly startedBy: string | null;
  readonly reason: string | null;
  readonly total: number;
  readonly safe: number;
  readonly missing: number;
}

const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** What one muster event says about the evacuation under way. */
export function briefAfter(brief: EvacuationBrief | null, event: EventFacts): EvacuationBrief | null {
  const id = str(event.data.evacuation);
  if (id === null) return brief;
  switch (event.type) {
    case 'muster.started': {
      const count = num(event.data.count);
      return { id, startedAt: event.time, trigger: (event.data.trigger as Evacuation['trigger'] | undefined) ?? null, startedBy: str(event.data.by), reason: str(event.data.reason), total: count, safe: 0, missing: count };
    }
    case 'muster.marked_safe':
      return { ...(brief?.id === id ? brief : { id, startedAt: null, trigger: null, startedBy: null, reason: null }), total: num(event.data.total), safe: num(event.data.safe), missing: num(event.data.missing) };
    case 'muster.ended':
      return brief === null || brief.id === id ? null : brief;
    default:
      return brief;
  }
}

/** How an evacuation started, in words. */
export function triggerText(brief: Pick<EvacuationBrief, 'trigger' | 'startedBy' | 'reason'>, deviceName: (id: string) => string = (id) => id): string {
  const how = brief.trigger?.kind === 'fire-alarm' ? `fire alarm (${deviceName(brief.trigger.device)})` : brief.startedBy !== null ? `started by ${brief.startedBy}` : 'started from the API';
  return brief.reason !== null && brief.reason !== 'fire alarm' ? `${how}: ${brief.reason}` : how;
}

/** Seconds as a guard reads them: "45 s", "4 min 15 s", "1 h 2 min". */
export function duration(seconds: number | null): string {
  if (seconds === null) return '—';
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) return `${Math.floor(whole / 60)} min${whole % 60 === 0 ? '' : ` ${whole % 60} s`}`;
  const minutes = Math.floor((whole % 3600) / 60);
  return `${Math.floor(whole / 3600)} h${minutes === 0 ? '' : ` ${minutes} min`}`;
}

/** Who acknowledged: per person, how many and how fast (median, p90), most first. */
export function byAcknowledger(alarms: readonly AlarmResponse[]): { who: string; count: number; median: number | null; p90: number | null }[] {
  const groups = new Map<string, number[]>();
  for (const alarm of alarms) {
    if (alarm.acknowledgeSeconds === null) continue;
    const who = alarm.acknowledgedBy ?? 'unknown';
    groups.set(who, [...(groups.get(who) ?? []), alarm.acknowledgeSeconds]);
  }
  return [...groups.entries()].map(([who, seconds]) => ({ who, count: seconds.length, median: percentile(seconds, 50), p90: percentile(seconds, 90) })).sort((a, b) => b.count - a.count || a.who.localeCompare(b.who));
}
