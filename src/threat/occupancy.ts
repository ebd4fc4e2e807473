import type { SiteArea } from '../config/siteSchema.js';
import type { JournalEvent } from '../journal/index.js';

/**
 * Who is inside each area, pure: granted reads at an area's entry doors put a person in, at its
 * exit doors take them out. Rebuilt from the journal after a restart by replaying the same events.
 */

export interface Presence {
  readonly cardholder: string;
  readonly area: string;
  /** When they last entered the area. */
  readonly enteredAtMs: number;
  readonly enteredBy: string;
}

export interface LastSeen {
  readonly atMs: number;
  readonly door: string | null;
  readonly device: string | null;
}

export interface AreaOccupancy {
  readonly area: string;
  readonly name: string;
  readonly count: number;
  readonly max: number | null;
  readonly people: readonly (Presence & { readonly lastSeen: LastSeen })[];
}

export type OccupancyChange =
  | { readonly kind: 'entered'; readonly cardholder: string; readonly area: string; readonly count: number }
  | { readonly kind: 'left'; readonly cardholder: string; readonly area: string; readonly count: number };

export class Occupancy {
  private readonly inside = new Map<string, Map<string, Presence>>();
  private readonly lastSeen = new Map<string, LastSeen>();
  private readonly doorRoles = new Map<string, { area: string; direction: 'entry' | 'exit' }>();
  private areas: readonly SiteArea[] = [];
  private limits = new Map<string, number>();

  constructor(
    areas: readonly SiteArea[],
    limits: readonly { area: string; max: number }[],
    /** A person whose last entry is older than this no longer counts inside (a missed exit badge). */
    private staleMs: number,
  ) {
    this.configure(areas, limits, staleMs);
  }

  /** New site data: people stay where they were in areas that still exist. */
  configure(areas: readonly SiteArea[], limits: readonly { area: string; max: number }[], staleMs: number): void {
    this.areas = areas;
    this.staleMs = staleMs;
    this.limits = new Map(limits.map((limit) => [limit.area, limit.max]));
    this.doorRoles.clear();
    for (const area of areas) {
      for (const door of area.entryDoors) this.doorRoles.set(door, { area: area.id, direction: 'entry' });
      for (const door of area.exitDoors) this.doorRoles.set(door, { area: area.id, direction: 'exit' });
      if (!this.inside.has(area.id)) this.inside.set(area.id, new Map());
    }
    for (const id of [...this.inside.keys()]) if (!areas.some((area) => area.id === id)) this.inside.delete(id);
  }

  /** Applies one journal event; returns what changed. */
  apply(event: JournalEvent): OccupancyChange[] {
    const atMs = Date.parse(event.time);
    if (event.type === 'access.granted' || event.type === 'access.denied') {
      if (event.cardholder !== null) this.lastSeen.set(event.cardholder, { atMs, door: event.door, device: event.device });
    }
    if (event.type === 'muster.marked_safe' && event.cardholder !== null) {
      this.lastSeen.set(event.cardholder, { atMs, door: null, device: event.device });
    }
    if (event.type === 'muster.ended' && event.data.resetOccupancy === true) {
      // After an evacuation everyone left by the fire exits, unbadged: start the count afresh.
      for (const people of this.inside.values()) people.clear();
      return [];
    }
    // A visitor who expired while still inside stays on the list: an evacuation must find them.
    if (event.type === 'visitor.checked_out') {
      const visitor = typeof event.data.visitor === 'string' ? event.data.visitor : event.cardholder;
      return visitor === null ? [] : this.leaveAll(visitor);
    }
    if (event.type !== 'access.granted' || event.door === null) return [];
    const role = this.doorRoles.get(event.door);
    if (role === undefined) return [];
    // [ACC-ESCORT] an escort's grant lets the waiting visitor in too: both move.
    const who = [event.cardholder, typeof event.data.escortedVisitor === 'string' ? event.data.escortedVisitor : null].filter((id): id is string => id !== null);
    const people = this.inside.get(role.area) ?? new Map<string, Presence>();
    this.inside.set(role.area, people);
    const changes: OccupancyChange[] = [];
    for (const cardholder of who) {
      if (role.direction === 'entry') {
        people.set(cardholder, { cardholder, area: role.area, enteredAtMs: atMs, enteredBy: event.door });
        this.lastSeen.set(cardholder, { atMs, door: event.door, device: event.device });
        changes.push({ kind: 'entered', cardholder, area: role.area, count: people.size });
      } else if (people.delete(cardholder)) {
        changes.push({ kind: 'left', cardholder, area: role.area, count: people.size });
      }
    }
    return changes;
  }

  private leaveAll(cardholder: string): OccupancyChange[] {
    const changes: OccupancyChange[] = [];
    for (const [area, people] of this.inside) if (people.delete(cardholder)) changes.push({ kind: 'left', cardholder, area, count: people.size });
    return changes;
  }

  /** Everyone inside now, by area; people whose entry went stale are left out. */
  snapshot(nowMs: number): AreaOccupancy[] {
    return this.areas.map((area) => {
      const people = [...(this.inside.get(area.id)?.values() ?? [])]
        .filter((presence) => nowMs - presence.enteredAtMs < this.staleMs)
        .map((presence) => ({ ...presence, lastSeen: this.lastSeen.get(presence.cardholder) ?? { atMs: presence.enteredAtMs, door: presence.enteredBy, device: null } }))
        .sort((a, b) => a.cardholder.localeCompare(b.cardholder));
      return { area: area.id, name: area.name, count: people.length, max: this.limits.get(area.id) ?? null, people };
    });
  }

  /** Current count in an area (stale entries excluded). */
  count(areaId: string, nowMs: number): number {
    let count = 0;
    for (const presence of this.inside.get(areaId)?.values() ?? []) if (nowMs - presence.enteredAtMs < this.staleMs) count += 1;
    return count;
  }

  /** The area a door leads into, if it is an entry door. */
  entryArea(doorId: string): string | undefined {
    const role = this.doorRoles.get(doorId);
    return role?.direction === 'entry' ? role.area : undefined;
  }

  max(areaId: string): number | null {
    return this.limits.get(areaId) ?? null;
  }

  isInside(cardholder: string, nowMs: number): string[] {
    const areas: string[] = [];
    for (const [area, people] of this.inside) {
      const presence = people.get(cardholder);
      if (presence !== undefined && nowMs - presence.enteredAtMs < this.staleMs) areas.push(area);
    }
    return areas;
  }
}

/** The events that rebuild occupancy, in journal order. */
export const OCCUPANCY_EVENT_TYPES: ReadonlySet<string> = new Set(['access.granted', 'access.denied', 'muster.marked_safe', 'muster.ended', 'visitor.checked_out']);
