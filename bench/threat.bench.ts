/**
 * Threat management's cost per journal event (issue 12), against a floor measured in the same run.
 * Run with `npm run bench -- threat` or `npx tsx bench/threat.bench.ts [--events N] [--doors N] [--people N]`.
 *
 * - Pattern rules: every rule on (refusals, wrong PINs, forced after refusal, travel over door
 *   positions, granted-not-opened), fed a mix of reads (70% granted, 25% refused, 5% wrong PINs)
 *   and door openings across the doors and people; each observe() timed alone (hrtime).
 * - Occupancy: the same reads applied to per-area occupancy, as at a restart's replay.
 * - The floor: one Map.get and one Map.set per event on a map of the same people, timed alike.
 *
 * Nothing here sits on the badge path (it runs a turn after the journal append); the figure to
 * watch is that a busy floor's events cost microseconds, not that they beat the floor.
 * Exits 0 whatever the figures: a benchmark is never a CI gate.
 */
import { parseArgs } from 'node:util';
import { threatRulesOf } from '../src/config/threatRulesSchema.js';
import type { JournalEvent } from '../src/journal/index.js';
import { Occupancy } from '../src/threat/occupancy.js';
import { PatternEngine, type Observation } from '../src/threat/patterns.js';
import { latencyTable, summarise } from './support.js';

const { values } = parseArgs({ options: { events: { type: 'string', default: '200000' }, doors: { type: 'string', default: '200' }, people: { type: 'string', default: '10000' } } });
const eventCount = Number(values.events);
const doorCount = Number(values.doors);
const peopleCount = Number(values.people);

const doors = Array.from({ length: doorCount }, (_, i) => `door-${i}`);
const people = Array.from({ length: peopleCount }, (_, i) => `person-${i}`);
const rules = threatRulesOf({
  deniedReads: { count: 5, withinSeconds: 60 },
  wrongPins: { count: 3, withinSeconds: 300 },
  forcedAfterDenied: { withinSeconds: 60 },
  watchlistPresented: {},
  impossibleTravel: { walkingSpeedMps: 2 },
  grantedNotOpened: { graceSeconds: 5 },
  doorPositions: doors.map((door, i) => ({ door, x: (i % 20) * 15, y: Math.floor(i / 20) * 15 })),
});
const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T;

// A busy floor: one read every 50 ms on average.
const startMs = Date.parse('2026-03-02T08:00:00Z');
const observations: Observation[] = [];
for (let i = 0; i < eventCount; i++) {
  const atMs = startMs + i * 50;
  const door = pick(doors);
  const cardholder = pick(people);
  const roll = Math.random();
  const base = { atMs, eventId: `e${i}`, door, device: `${door}-reader`, cardholder, credential: `${cardholder}-card` };
  if (roll < 0.7) observations.push({ kind: 'granted', ...base });
  else if (roll < 0.95) observations.push({ kind: 'denied', ...base, reason: 'not_in_group' });
  else observations.push({ kind: 'denied', ...base, reason: 'pin_invalid' });
  if (roll < 0.6) observations.push({ kind: 'opened', atMs: atMs + 1000, door });
}

function time(run: (observation: Observation, index: number) => void): bigint[] {
  const samples: bigint[] = [];
  observations.forEach((observation, index) => {
    const t0 = process.hrtime.bigint();
    run(observation, index);
    samples.push(process.hrtime.bigint() - t0);
  });
  return samples;
}

const floorMap = new Map<string, number>();
const floor = summarise(time((observation) => {
  const key = 'cardholder' in observation ? (observation.cardholder ?? '') : observation.door;
  floorMap.set(key, (floorMap.get(key) ?? 0) + 1);
}));

const engine = new PatternEngine(rules, () => ({ unlockMs: 5000, hasContact: true }));
let findings = 0;
let lastDueCheck = startMs;
const patterns = summarise(time((observation) => {
  findings += engine.observe(observation).length;
  if (observation.atMs - lastDueCheck >= 1000) {
    findings += engine.due(observation.atMs).length;
    lastDueCheck = observation.atMs;
  }
}));

const areas = Array.from({ length: 10 }, (_, a) => ({ id: `area-${a}`, name: `Area ${a}`, entryDoors: doors.filter((_, i) => i % 20 === a), exitDoors: doors.filter((_, i) => i % 20 === a + 10), passback: 'off' as const }));
const occupancy = new Occupancy(areas, [], 16 * 3_600_000);
const asEvents: JournalEvent[] = observations.map((observation, i) => ({
  id: `e${i}`, seq: i + 1, time: new Date(observation.atMs).toISOString(), type: observation.kind === 'granted' ? 'access.granted' : observation.kind === 'opened' ? 'door.closed' : 'access.denied',
  severity: 'info', site: 'bench', door: observation.door, device: null, cardholder: 'cardholder' in observation ? observation.cardholder : null, reason: null, data: {},
}));
const occupancySamples: bigint[] = [];
for (const event of asEvents) {
  const t0 = process.hrtime.bigint();
  occupancy.apply(event);
  occupancySamples.push(process.hrtime.bigint() - t0);
}
const occupied = occupancy.snapshot(startMs + eventCount * 50).reduce((sum, area) => sum + area.count, 0);

console.log(`${observations.length} observations over ${doorCount} doors and ${peopleCount} people; ${findings} findings; ${occupied} people inside at the end\n`);
console.log(latencyTable([
  ['floor (Map.get + set)', floor],
  ['pattern rules observe()', patterns],
  ['occupancy apply()', summarise(occupancySamples)],
]));
console.log(`\nratio to floor (p50): patterns ${(patterns.p50 / floor.p50).toFixed(1)}`);
