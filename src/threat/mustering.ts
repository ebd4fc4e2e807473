import type { MusterEntry } from '../journal/evacuations.js';
import type { AreaOccupancy } from './occupancy.js';

/**
 * An evacuation's mustering list, pure: everyone last seen inside when it started, by area, with
 * the time of their last read; marshals mark people safe until the list is closed.
 */

/** The mustering list from who is inside: one entry per person, whatever number of areas they are in. */
export function musterList(occupancy: readonly AreaOccupancy[], nameOf: (cardholder: string) => string): MusterEntry[] {
  const byPerson = new Map<string, { areas: string[]; lastSeenMs: number; door: string | null }>();
  for (const area of occupancy) {
    for (const person of area.people) {
      const entry = byPerson.get(person.cardholder) ?? { areas: [], lastSeenMs: person.lastSeen.atMs, door: person.lastSeen.door };
      entry.areas.push(area.area);
      byPerson.set(person.cardholder, entry);
    }
  }
  return [...byPerson.entries()]
    .map(([cardholder, entry]) => ({ cardholder, name: nameOf(cardholder), areas: entry.areas, lastSeenAt: new Date(entry.lastSeenMs).toISOString(), lastSeenDoor: entry.door, safe: null }))
    .sort((a, b) => a.areas[0]!.localeCompare(b.areas[0]!) || a.name.localeCompare(b.name));
}

