import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseSiteData } from '../../../src/config/load.js';

function site(threatRules: unknown): Record<string, unknown> {
  return {
    site: { id: 'hq', name: 'HQ', timezone: 'Europe/London' },
    devices: [
      { id: 'front-reader', kind: 'reader' },
      { id: 'front-strike', kind: 'strike' },
      { id: 'muster-reader', kind: 'reader' },
    ],
    doors: [{ id: 'front', name: 'Front', reader: 'front-reader', strike: 'front-strike' }],
    groups: [{ id: 'visitors', name: 'Visitors', doors: ['front'] }],
    areas: [{ id: 'floor', name: 'Floor', entryDoors: ['front'] }],
    threatRules,
  };
}
const problemsOf = (threatRules: unknown): string[] => {
  const result = parseSiteData(site(threatRules));
  return result.ok ? [] : result.problems;
};

describe('threatRules in site data', () => {
  it('accepts a complete section and fills in defaults', () => {
    const result = parseSiteData(
      site({
        deniedReads: { count: 5, withinSeconds: 60 },
        doorPositions: [{ door: 'front', x: 0, y: 0 }],
        visitors: { group: 'visitors' },
        musterPoints: [{ reader: 'muster-reader', name: 'Car park' }],
        maxOccupancy: [{ area: 'floor', max: 50 }],
      }),
    );
    if (!result.ok) expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.site.threatRules).toMatchObject({ deniedReads: { count: 5, withinSeconds: 60, severity: 'high', alarm: true }, visitors: { closingTime: '18:00', escortGroups: [] }, occupancyStaleHours: 16 });
  });

  it('names each bad reference with its path', () => {
    expect(
      problemsOf({
        doorPositions: [{ door: 'back', x: 0, y: 0 }],
        impossibleTravel: { doorPairs: [{ from: 'front', to: 'front', minSeconds: 10 }] },
        visitors: { group: 'guests', cardRange: { from: 10, to: 5 } },
        musterPoints: [{ reader: 'front-reader', name: 'Lobby' }, { reader: 'front-strike', name: 'X' }],
        maxOccupancy: [{ area: 'roof', max: 3 }],
      }),
    ).toEqual([
      'threatRules.doorPositions[0].door: unknown door "back"',
      'threatRules.impossibleTravel.doorPairs[0].to: a door pair needs two different doors',
      'threatRules.visitors.group: unknown group "guests"',
      'threatRules.visitors.cardRange.to: must be above cardRange.from',
      'threatRules.musterPoints[0].reader: reader "front-reader" already opens a door; a muster point needs its own reader',
      'threatRules.musterPoints[1].reader: device "front-strike" is a strike, expected a reader',
      'threatRules.maxOccupancy[0].area: unknown area "roof"',
    ]);
  });

  it('refuses a threshold below two and an unknown severity', () => {
    expect(problemsOf({ deniedReads: { count: 1, withinSeconds: 60, severity: 'urgent' } })).toEqual([
      'threatRules.deniedReads.count: expected integer ≥ 2, got 1',
      expect.stringContaining('threatRules.deniedReads.severity'),
    ]);
  });

  it('needs door positions or door pairs for the travel rule', () => {
    expect(problemsOf({ impossibleTravel: {} })).toEqual(['threatRules.impossibleTravel: needs doorPairs or the positions of at least two doors (threatRules.doorPositions)']);
  });

  it('accepts the example of docs/threat-management.md', () => {
    const docs = fs.readFileSync(path.resolve(import.meta.dirname, '../../../docs/threat-management.md'), 'utf8');
    const example = parseYaml(/```yaml\n([\s\S]*?)```/.exec(docs)?.[1] ?? '') as Record<string, unknown>;
    const doors = ['main-entrance', 'meeting-rooms', 'floor-in', 'floor-out', 'warehouse', 'server-room'];
    const result = parseSiteData({
      site: { id: 'cc', name: 'Contact centre', timezone: 'Europe/London' },
      devices: [...doors.flatMap((door) => [{ id: `${door}-reader`, kind: 'reader' }, { id: `${door}-strike`, kind: 'strike' }]), { id: 'car-park-muster-reader', kind: 'reader' }],
      doors: doors.map((door) => ({ id: door, name: door, reader: `${door}-reader`, strike: `${door}-strike` })),
      ...example,
    });
    expect(result.ok ? [] : result.problems).toEqual([]);
  });
});
