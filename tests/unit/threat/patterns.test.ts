import { describe, expect, it } from 'vitest';
import { threatRulesOf } from '../../../src/config/threatRulesSchema.js';
import { PatternEngine, type Observation } from '../../../src/threat/patterns.js';

const T0 = Date.parse('2026-03-02T09:00:00Z');
let n = 0;
const id = (): string => `e${++n}`;
const denied = (atMs: number, door: string, extra: Partial<Extract<Observation, { kind: 'denied' }>> = {}): Observation => ({ kind: 'denied', atMs, eventId: id(), door, device: `${door}-reader`, cardholder: 'mallory', credential: 'mallory-card-1', reason: 'not_in_group', ...extra });
const granted = (atMs: number, door: string, cardholder = 'alice'): Observation => ({ kind: 'granted', atMs, eventId: id(), door, device: `${door}-reader`, cardholder, credential: `${cardholder}-card-1` });

const doors = (doorId: string) => (doorId === 'nocontact' ? { unlockMs: 5000, hasContact: false } : { unlockMs: 5000, hasContact: true });
const engine = (rules: unknown): PatternEngine => new PatternEngine(threatRulesOf(rules), doors);

describe('[THR-DENIED-READS] repeated refusals at one door', () => {
  const rules = { deniedReads: { count: 3, withinSeconds: 60, severity: 'critical' } };

  it('fires on the third refusal within the window, not on the second', () => {
    const patterns = engine(rules);
    expect(patterns.observe(denied(T0, 'front'))).toEqual([]);
    expect(patterns.observe(denied(T0 + 20_000, 'front'))).toEqual([]);
    const [finding] = patterns.observe(denied(T0 + 59_000, 'front'));
    expect(finding).toMatchObject({ type: 'access.suspicious', pattern: 'denied_reads', severity: 'critical', alarm: true, door: 'front', data: { count: 3, withinSeconds: 60 } });
    expect((finding?.data.events as string[]).length).toBe(3);
  });

  it('does not fire when the refusals are spread wider than the window', () => {
    const patterns = engine(rules);
    patterns.observe(denied(T0, 'front'));
    patterns.observe(denied(T0 + 30_000, 'front'));
    expect(patterns.observe(denied(T0 + 60_000, 'front'))).toEqual([]);
  });

  it('counts each door on its own and ignores waits for a PIN or an escort', () => {
    const patterns = engine(rules);
    patterns.observe(denied(T0, 'front'));
    patterns.observe(denied(T0 + 1000, 'back'));
    patterns.observe(denied(T0 + 2000, 'front', { reason: 'pin_required' }));
    patterns.observe(denied(T0 + 3000, 'front', { reason: 'escort_required' }));
    expect(patterns.observe(denied(T0 + 4000, 'back'))).toEqual([]);
  });

  it('fires once per burst: the next refusal starts a new count', () => {
    const patterns = engine(rules);
    for (let i = 0; i < 3; i++) patterns.observe(denied(T0 + i * 1000, 'front'));
    expect(patterns.observe(denied(T0 + 4000, 'front'))).toEqual([]);
  });
});

describe('[THR-WRONG-PINS] repeated wrong PINs for one credential', () => {
  const rules = { wrongPins: { count: 3, withinSeconds: 300, alarm: true } };

  it('fires on the third wrong PIN of one credential across doors, with the default severity', () => {
    const patterns = engine(rules);
    expect(patterns.observe(denied(T0, 'vault', { reason: 'pin_invalid' }))).toEqual([]);
    expect(patterns.observe(denied(T0 + 60_000, 'lab', { reason: 'pin_invalid' }))).toEqual([]);
    const [finding] = patterns.observe(denied(T0 + 120_000, 'vault', { reason: 'pin_invalid' }));
    expect(finding).toMatchObject({ type: 'access.suspicious', pattern: 'wrong_pins', severity: 'high', alarm: true, data: { credential: 'mallory-card-1', doors: ['vault', 'lab'] } });
  });

  it('does not fire for two wrong PINs, or for wrong PINs of different credentials', () => {
    const patterns = engine(rules);
    patterns.observe(denied(T0, 'vault', { reason: 'pin_invalid' }));
    patterns.observe(denied(T0 + 1000, 'vault', { reason: 'pin_invalid', credential: 'bob-card-1', cardholder: 'bob' }));
    expect(patterns.observe(denied(T0 + 2000, 'vault', { reason: 'not_in_group' }))).toEqual([]);
    expect(patterns.observe(denied(T0 + 3000, 'vault', { reason: 'pin_invalid', credential: 'carol-card-1', cardholder: 'carol' }))).toEqual([]);
  });
});

describe('[THR-FORCED-AFTER-DENIED] a door forced after a refused read', () => {
  const rules = { forcedAfterDenied: { withinSeconds: 30 } };

  it('fires when the door is forced within the window of a refusal there, naming who was refused', () => {
    const patterns = engine(rules);
    patterns.observe(denied(T0, 'front'));
    const [finding] = patterns.observe({ kind: 'forced', atMs: T0 + 30_000, eventId: 'forced-1', door: 'front' });
    expect(finding).toMatchObject({ type: 'threat.forced_after_denied', severity: 'critical', door: 'front', cardholder: 'mallory', data: { cause: 'forced-1', afterMs: 30_000 } });
  });

  it('does not fire a moment after the window, or at another door', () => {
    const patterns = engine(rules);
    patterns.observe(denied(T0, 'front'));
    expect(patterns.observe({ kind: 'forced', atMs: T0 + 5000, eventId: 'f', door: 'back' })).toEqual([]);
    expect(patterns.observe({ kind: 'forced', atMs: T0 + 30_001, eventId: 'f', door: 'front' })).toEqual([]);
  });
});

describe('[THR-WATCHLIST] a watch-listed credential presented', () => {
  it('fires with the severity the site set, carrying the watch reason', () => {
    const patterns = engine({ watchlistPresented: { severity: 'critical' } });
    const [finding] = patterns.observe({ kind: 'watchlist', atMs: T0, eventId: 'w1', door: 'front', device: 'front-reader', cardholder: 'mallory', credential: 'm1', watchReason: 'banned' });
    expect(finding).toMatchObject({ type: 'threat.watchlist_presented', severity: 'critical', cardholder: 'mallory', data: { cause: 'w1', watchReason: 'banned' } });
  });

  it('stays quiet when the rule is not configured', () => {
    expect(engine({}).observe({ kind: 'watchlist', atMs: T0, eventId: 'w1', door: 'front', device: null, cardholder: 'mallory', credential: null, watchReason: null })).toEqual([]);
  });
});

describe('[THR-TRAVEL] one card at two doors too far apart in too little time', () => {
  // front (0,0) to warehouse (200,0): 100 s at 2 m/s; the lab pair is set to 60 s.
  const rules = { impossibleTravel: { doorPairs: [{ from: 'front', to: 'lab', minSeconds: 60 }] }, doorPositions: [{ door: 'front', x: 0, y: 0 }, { door: 'warehouse', x: 200, y: 0 }] };

  it('fires when the second read comes sooner than walking the distance takes', () => {
    const patterns = engine(rules);
    patterns.observe(granted(T0, 'front'));
    const [finding] = patterns.observe(granted(T0 + 99_000, 'warehouse'));
    expect(finding).toMatchObject({ type: 'threat.impossible_travel', cardholder: 'alice', data: { from: 'front', to: 'warehouse', elapsedMs: 99_000, minSeconds: 100 } });
  });

  it('does not fire at exactly the walking time', () => {
    const patterns = engine(rules);
    patterns.observe(granted(T0, 'front'));
    expect(patterns.observe(granted(T0 + 100_000, 'warehouse'))).toEqual([]);
  });

  it('uses the door-pair table in both directions, for refused reads too', () => {
    const patterns = engine(rules);
    patterns.observe(granted(T0, 'lab', 'mallory'));
    expect(patterns.observe(denied(T0 + 59_000, 'front'))).toMatchObject([{ type: 'threat.impossible_travel', data: { from: 'lab', to: 'front', minSeconds: 60 } }]);
    patterns.observe(granted(T0 + 200_000, 'lab', 'bob'));
    expect(patterns.observe(granted(T0 + 260_000, 'front', 'bob'))).toEqual([]);
  });

  it('never fires between doors whose distance it does not know', () => {
    const patterns = engine(rules);
    patterns.observe(granted(T0, 'front'));
    expect(patterns.observe(granted(T0 + 1000, 'back'))).toEqual([]);
  });
});

describe('[THR-NOT-OPENED] granted but never opened', () => {
  const rules = { grantedNotOpened: { graceSeconds: 5 } };

  it('fires once the unlock time and the grace have passed without the door opening, and not a moment before', () => {
    const patterns = engine(rules);
    patterns.observe(granted(T0, 'front'));
    expect(patterns.nextDueMs()).toBe(T0 + 10_000);
    expect(patterns.due(T0 + 9_999)).toEqual([]);
    expect(patterns.due(T0 + 10_000)).toMatchObject([{ type: 'threat.granted_not_opened', severity: 'medium', door: 'front', cardholder: 'alice', data: { waitedMs: 10_000 } }]);
    expect(patterns.due(T0 + 20_000)).toEqual([]);
    expect(patterns.nextDueMs()).toBeNull();
  });

  it('is satisfied by the door opening, and ignores doors without a contact', () => {
    const patterns = engine(rules);
    patterns.observe(granted(T0, 'front'));
    patterns.observe(granted(T0, 'nocontact'));
    patterns.observe({ kind: 'opened', atMs: T0 + 2000, door: 'front' });
    expect(patterns.due(T0 + 60_000)).toEqual([]);
  });
});

describe('restoring counts after a restart', () => {
  it('counts replayed refusals, and a replayed grant expects no opening', () => {
    const patterns = engine({ deniedReads: { count: 3, withinSeconds: 60 }, grantedNotOpened: { graceSeconds: 5 } });
    patterns.observe(denied(T0, 'front'), true);
    patterns.observe(denied(T0 + 1000, 'front'), true);
    patterns.observe(granted(T0 + 2000, 'front'), true);
    expect(patterns.nextDueMs()).toBeNull();
    expect(patterns.observe(denied(T0 + 3000, 'front'))).toMatchObject([{ pattern: 'denied_reads' }]);
  });

  it('remembers as far back as its longest rule, at most a day', () => {
    expect(engine({ deniedReads: { count: 3, withinSeconds: 60 }, wrongPins: { count: 3, withinSeconds: 300 } }).memoryMs()).toBe(300_000);
    expect(engine({ impossibleTravel: { walkingSpeedMps: 2 }, doorPositions: [{ door: 'a', x: 0, y: 0 }, { door: 'b', x: 300, y: 400 }] }).memoryMs()).toBe(250_000);
    expect(engine({ impossibleTravel: { doorPairs: [{ from: 'a', to: 'b', minSeconds: 86_400 }] }, forcedAfterDenied: { withinSeconds: 10 } }).memoryMs()).toBe(86_400_000);
    expect(engine({}).memoryMs()).toBe(0);
  });
});
