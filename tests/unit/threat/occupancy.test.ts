import { describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../../src/journal/index.js';
import { replayEvacuations, summary } from '../../../src/journal/evacuations.js';
import { musterList } from '../../../src/threat/mustering.js';
import { Occupancy } from '../../../src/threat/occupancy.js';

const T0 = Date.parse('2026-03-02T08:00:00Z');
let seq = 0;
function event(type: string, atMs: number, fields: Partial<JournalEvent> = {}): JournalEvent {
  seq += 1;
  return { id: `e${seq}`, seq, time: new Date(atMs).toISOString(), type: type as JournalEvent['type'], severity: 'info', site: 's', door: null, device: null, cardholder: null, reason: null, data: {}, ...fields };
}
const granted = (atMs: number, door: string, cardholder: string, data: Record<string, unknown> = {}): JournalEvent => event('access.granted', atMs, { door, cardholder, data });
const AREAS = [
  { id: 'floor', name: 'Floor', entryDoors: ['in'], exitDoors: ['out'], passback: 'off' as const },
  { id: 'lab', name: 'Lab', entryDoors: ['lab'], exitDoors: [], passback: 'off' as const },
];
const HOUR = 3_600_000;

describe('occupancy from entry and exit reads', () => {
  it('puts people in at entry doors and takes them out at exit doors', () => {
    const occupancy = new Occupancy(AREAS, [], 16 * HOUR);
    occupancy.apply(granted(T0, 'in', 'alice'));
    occupancy.apply(granted(T0 + 1000, 'in', 'bob'));
    expect(occupancy.apply(granted(T0 + 2000, 'out', 'bob'))).toEqual([{ kind: 'left', cardholder: 'bob', area: 'floor', count: 1 }]);
    occupancy.apply(event('access.denied', T0 + 3000, { door: 'lab', cardholder: 'alice' }));
    const [floor, lab] = occupancy.snapshot(T0 + 4000);
    expect(floor?.people.map((person) => [person.cardholder, person.lastSeen.door])).toEqual([['alice', 'lab']]);
    expect(lab?.count).toBe(0);
  });

  it('lets an escorted visitor in with the escort [ACC-ESCORT]', () => {
    const occupancy = new Occupancy(AREAS, [], 16 * HOUR);
    occupancy.apply(granted(T0, 'in', 'maya', { escortedVisitor: 'guest' }));
    expect(occupancy.snapshot(T0)[0]?.people.map((person) => person.cardholder)).toEqual(['guest', 'maya']);
  });

  it('forgets a person whose entry is older than the stale window, at the window and not before', () => {
    const occupancy = new Occupancy(AREAS, [], 16 * HOUR);
    occupancy.apply(granted(T0, 'in', 'alice'));
    expect(occupancy.count('floor', T0 + 16 * HOUR - 1)).toBe(1);
    expect(occupancy.count('floor', T0 + 16 * HOUR)).toBe(0);
  });

  it('starts afresh after an evacuation ends', () => {
    const occupancy = new Occupancy(AREAS, [], 16 * HOUR);
    occupancy.apply(granted(T0, 'in', 'alice'));
    occupancy.apply(event('muster.ended', T0 + 1000, { data: { evacuation: 'x', resetOccupancy: true } }));
    expect(occupancy.count('floor', T0 + 2000)).toBe(0);
  });
});

describe('mustering lists', () => {
  it('lists each person once with every area they are in and their last read', () => {
    const occupancy = new Occupancy(AREAS, [], 16 * HOUR);
    occupancy.apply(granted(T0, 'in', 'bob'));
    occupancy.apply(granted(T0 + 1000, 'in', 'alice'));
    occupancy.apply(granted(T0 + 2000, 'lab', 'alice'));
    const list = musterList(occupancy.snapshot(T0 + 3000), (id) => id.toUpperCase());
    expect(list).toEqual([
      { cardholder: 'alice', name: 'ALICE', areas: ['floor', 'lab'], lastSeenAt: new Date(T0 + 2000).toISOString(), lastSeenDoor: 'lab', safe: null },
      { cardholder: 'bob', name: 'BOB', areas: ['floor'], lastSeenAt: new Date(T0).toISOString(), lastSeenDoor: 'in', safe: null },
    ]);
  });

  it('replays an evacuation from the journal: started, marked safe, ended', () => {
    const people = [
      { cardholder: 'alice', name: 'Alice', areas: ['floor'], lastSeenAt: new Date(T0).toISOString(), lastSeenDoor: 'in', safe: null },
      { cardholder: 'bob', name: 'Bob', areas: ['floor', 'lab'], lastSeenAt: new Date(T0).toISOString(), lastSeenDoor: 'lab', safe: null },
    ];
    const [evacuation] = replayEvacuations([
      event('muster.started', T0, { data: { evacuation: 'ev1', trigger: { kind: 'fire-alarm', device: 'panel' }, people } }),
      event('muster.marked_safe', T0 + 60_000, { cardholder: 'bob', data: { evacuation: 'ev1', via: 'reader', by: 'bob', point: 'car-park' } }),
      event('muster.marked_safe', T0 + 61_000, { cardholder: 'zed', data: { evacuation: 'ev1', via: 'reader', by: 'zed' } }),
    ]);
    expect(evacuation?.people[1]?.safe).toEqual({ at: new Date(T0 + 60_000).toISOString(), by: 'bob', via: 'reader', point: 'car-park' });
    expect(summary(evacuation!)).toEqual({ total: 2, safe: 1, missing: 1, byArea: [{ area: 'floor', total: 2, missing: 1 }, { area: 'lab', total: 1, missing: 0 }] });
    expect(evacuation?.endedAt).toBeNull();
  });
});
