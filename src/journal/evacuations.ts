import type { JournalEvent } from './events.js';

/**
 * Evacuations as the journal records them (issue 12): `muster.started` carries the mustering list,
 * `muster.marked_safe` one person accounted for, `muster.ended` the close. Pure: the live service
 * and the incident report both replay the same events.
 */

export interface MusterEntry {
  readonly cardholder: string;
  readonly name: string;
  readonly areas: readonly string[];
  readonly lastSeenAt: string;
  readonly lastSeenDoor: string | null;
  readonly safe: { readonly at: string; readonly by: string | null; readonly via: 'api' | 'reader'; readonly point: string | null } | null;
}

export interface Evacuation {
  readonly id: string;
  readonly startedAt: string;
  readonly startedBy: string | null;
  /** What started it: a fire-alarm input (its device id), or a person through the API. */
  readonly trigger: { readonly kind: 'fire-alarm'; readonly device: string } | { readonly kind: 'api' };
  readonly reason: string | null;
  readonly endedAt: string | null;
  readonly endedBy: string | null;
  readonly people: readonly MusterEntry[];
}

export interface MusterSummary {
  readonly total: number;
  readonly safe: number;
  readonly missing: number;
  readonly byArea: readonly { readonly area: string; readonly total: number; readonly missing: number }[];
}

export type MarkResult = { readonly ok: true; readonly evacuation: Evacuation; readonly entry: MusterEntry } | { readonly ok: false; readonly code: 'not_on_list' | 'already_safe' | 'ended'; readonly message: string };

/** Someone not seen inside turned up at the assembly point: accounted for, added to the list as safe. */
export function addSafe(evacuation: Evacuation, entry: Omit<MusterEntry, 'safe'>, mark: NonNullable<MusterEntry['safe']>): Evacuation {
  if (evacuation.people.some((person) => person.cardholder === entry.cardholder)) return evacuation;
  return { ...evacuation, people: [...evacuation.people, { ...entry, safe: mark }] };
}

export function markSafe(evacuation: Evacuation, cardholder: string, mark: NonNullable<MusterEntry['safe']>): MarkResult {
  if (evacuation.endedAt !== null) return { ok: false, code: 'ended', message: `evacuation ${evacuation.id} has ended` };
  const index = evacuation.people.findIndex((entry) => entry.cardholder === cardholder);
  const found = evacuation.people[index];
  if (found === undefined) return { ok: false, code: 'not_on_list', message: `"${cardholder}" is not on the mustering list` };
  if (found.safe !== null) return { ok: false, code: 'already_safe', message: `"${cardholder}" was already marked safe at ${found.safe.at}` };
  const entry = { ...found, safe: mark };
  const people = [...evacuation.people];
  people[index] = entry;
  return { ok: true, evacuation: { ...evacuation, people }, entry };
}

export function summary(evacuation: Evacuation): MusterSummary {
  const areas = new Map<string, { total: number; missing: number }>();
  for (const entry of evacuation.people) {
    for (const area of entry.areas) {
      const counts = areas.get(area) ?? { total: 0, missing: 0 };
      counts.total += 1;
      if (entry.safe === null) counts.missing += 1;
      areas.set(area, counts);
    }
  }
  const safe = evacuation.people.filter((entry) => entry.safe !== null).length;
  return { total: evacuation.people.length, safe, missing: evacuation.people.length - safe, byArea: [...areas.entries()].map(([area, counts]) => ({ area, ...counts })) };
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** Replays muster.* events (in journal order) into the evacuations they describe. */
export function replayEvacuations(events: Iterable<JournalEvent>): Evacuation[] {
  const byId = new Map<string, Evacuation>();
  for (const event of events) {
    const id = text(event.data.evacuation);
    if (id === null) continue;
    if (event.type === 'muster.started') {
      const trigger = event.data.trigger as Evacuation['trigger'] | undefined;
      byId.set(id, {
        id,
        startedAt: event.time,
        startedBy: text(event.data.by),
        trigger: trigger ?? { kind: 'api' },
        reason: text(event.data.reason),
        endedAt: null,
        endedBy: null,
        people: Array.isArray(event.data.people) ? (event.data.people as MusterEntry[]) : [],
      });
      continue;
    }
    const evacuation = byId.get(id);
    if (evacuation === undefined) continue;
    if (event.type === 'muster.marked_safe' && event.cardholder !== null) {
      const via = event.data.via === 'reader' ? 'reader' : 'api';
      const mark = { at: event.time, by: text(event.data.by), via, point: text(event.data.point) } as const;
      if (event.data.onList === false) {
        byId.set(id, addSafe(evacuation, { cardholder: event.cardholder, name: text(event.data.name) ?? event.cardholder, areas: [], lastSeenAt: event.time, lastSeenDoor: null }, mark));
        continue;
      }
      const result = markSafe(evacuation, event.cardholder, mark);
      if (result.ok) byId.set(id, result.evacuation);
    } else if (event.type === 'muster.ended') {
      byId.set(id, { ...evacuation, endedAt: event.time, endedBy: text(event.data.by) });
    }
  }
  return [...byId.values()];
}
