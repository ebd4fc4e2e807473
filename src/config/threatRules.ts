import type { SiteData } from './siteSchema.js';
import { threatRulesOf } from './threatRulesSchema.js';

/** Cross-references of `threatRules` (issue 12): doors, groups, readers and areas it names must exist. */
export function threatRuleProblems(site: SiteData, add: (path: string, message: string) => void): void {
  const rules = threatRulesOf(site.threatRules);
  const doors = new Set(site.doors.map((door) => door.id));
  const groups = new Set(site.groups.map((group) => group.id));
  const areas = new Set(site.areas.map((area) => area.id));
  const readers = new Map(site.devices.map((device) => [device.id, device.kind]));
  const doorReaders = new Set(site.doors.map((door) => door.reader));
  const door = (path: string, id: string): void => {
    if (!doors.has(id)) add(path, `unknown door "${id}"`);
  };
  const positioned = new Set<string>();
  rules.doorPositions.forEach((position, i) => {
    door(`threatRules.doorPositions[${i}].door`, position.door);
    if (positioned.has(position.door)) add(`threatRules.doorPositions[${i}].door`, `door "${position.door}" already has a position`);
    positioned.add(position.door);
  });
  rules.impossibleTravel?.doorPairs.forEach((pair, i) => {
    door(`threatRules.impossibleTravel.doorPairs[${i}].from`, pair.from);
    door(`threatRules.impossibleTravel.doorPairs[${i}].to`, pair.to);
    if (pair.from === pair.to) add(`threatRules.impossibleTravel.doorPairs[${i}].to`, 'a door pair needs two different doors');
  });
  if (rules.impossibleTravel !== undefined && rules.impossibleTravel.doorPairs.length === 0 && positioned.size < 2) {
    add('threatRules.impossibleTravel', 'needs doorPairs or the positions of at least two doors (threatRules.doorPositions)');
  }
  if (rules.visitors !== undefined) {
    const visitors = rules.visitors;
    if (!groups.has(visitors.group)) add('threatRules.visitors.group', `unknown group "${visitors.group}"`);
    visitors.escortGroups.forEach((id, i) => {
      if (!groups.has(id)) add(`threatRules.visitors.escortGroups[${i}]`, `unknown group "${id}"`);
    });
    if (visitors.cardRange.to <= visitors.cardRange.from) add('threatRules.visitors.cardRange.to', 'must be above cardRange.from');
  }
  const musterReaders = new Set<string>();
  rules.musterPoints.forEach((point, i) => {
    const path = `threatRules.musterPoints[${i}].reader`;
    const kind = readers.get(point.reader);
    if (kind === undefined) add(path, `unknown device "${point.reader}"`);
    else if (kind !== 'reader') add(path, `device "${point.reader}" is a ${kind}, expected a reader`);
    // A muster reader only marks people safe: it must not also open a door.
    else if (doorReaders.has(point.reader)) add(path, `reader "${point.reader}" already opens a door; a muster point needs its own reader`);
    if (musterReaders.has(point.reader)) add(path, `reader "${point.reader}" is already a muster point`);
    musterReaders.add(point.reader);
  });
  rules.maxOccupancy.forEach((limit, i) => {
    if (!areas.has(limit.area)) add(`threatRules.maxOccupancy[${i}].area`, `unknown area "${limit.area}"`);
  });
}
