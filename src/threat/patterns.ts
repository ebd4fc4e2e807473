import type { ThreatRules } from '../config/threatRulesSchema.js';
import type { EventType, JournalEvent, Severity } from '../journal/index.js';

/**
 * Suspicious-pattern rules over the live event stream, pure: observations in, findings out, time
 * a parameter. The glue (threat/service.ts) feeds it journal events after the fact, off the
 * critical path, and journals what it finds.
 */

/** What the rules look at, taken from journal events (and door contacts). */
export type Observation =
  | { readonly kind: 'denied'; readonly atMs: number; readonly eventId: string; readonly door: string | null; readonly device: string | null; readonly cardholder: string | null; readonly credential: string | null; readonly reason: string }
  | { readonly kind: 'granted'; readonly atMs: number; readonly eventId: string; readonly door: string | null; readonly device: string | null; readonly cardholder: string | null; readonly credential: string | null }
  | { readonly kind: 'forced'; readonly atMs: number; readonly eventId: string; readonly door: string }
  | { readonly kind: 'watchlist'; readonly atMs: number; readonly eventId: string; readonly door: string | null; readonly device: string | null; readonly cardholder: string | null; readonly credential: string | null; readonly watchReason: string | null }
  | { readonly kind: 'opened'; readonly atMs: number; readonly door: string };

export type PatternId = 'denied_reads' | 'wrong_pins' | 'forced_after_denied' | 'watchlist_presented' | 'impossible_travel' | 'granted_not_opened';

export interface Finding {
  readonly pattern: PatternId;
  readonly type: Extract<EventType, 'access.suspicious' | 'threat.forced_after_denied' | 'threat.watchlist_presented' | 'threat.impossible_travel' | 'threat.granted_not_opened'>;
  readonly severity: Severity;
  /** Raise an `access.suspicious` alarm too. */
  readonly alarm: boolean;
  readonly door: string | null;
  readonly device: string | null;
  readonly cardholder: string | null;
  readonly data: Readonly<Record<string, unknown>>;
}

/** Denials that are a wait for something else (a PIN, a second person, an escort), not a refusal. */
const WAITING_REASONS = new Set(['pin_required', 'two_person_waiting', 'escort_required']);

export type PatternRules = Pick<ThreatRules, 'deniedReads' | 'wrongPins' | 'forcedAfterDenied' | 'watchlistPresented' | 'impossibleTravel' | 'grantedNotOpened' | 'doorPositions'>;

export interface DoorFacts {
  /** The door's unlock time: a grant not followed by an opening within it (plus grace) was never used. */
  readonly unlockMs: number;
  /** Only doors with a door-position contact can tell whether they opened. */
  readonly hasContact: boolean;
}

interface PendingGrant {
  readonly dueMs: number;
  readonly grantedAtMs: number;
  readonly eventId: string;
  readonly device: string | null;
  readonly cardholder: string | null;
  readonly credential: string | null;
}

interface LastRead {
  readonly door: string;
  readonly atMs: number;
  readonly eventId: string;
}

export class PatternEngine {
  private readonly deniedAtDoor = new Map<string, { atMs: number; eventId: string; cardholder: string | null }[]>();
  private readonly wrongPinsOf = new Map<string, { atMs: number; eventId: string; door: string | null }[]>();
  private readonly lastDenied = new Map<string, { atMs: number; eventId: string; cardholder: string | null; device: string | null }>();
  private readonly lastRead = new Map<string, LastRead>();
  private readonly pending = new Map<string, PendingGrant[]>();
  private readonly positions: ReadonlyMap<string, { x: number; y: number }>;
  private readonly pairs: ReadonlyMap<string, number>;

  constructor(
    private readonly rules: PatternRules,
    private readonly doorFacts: (doorId: string) => DoorFacts | undefined,
  ) {
    this.positions = new Map(rules.doorPositions.map((position) => [position.door, { x: position.x, y: position.y }]));
    this.pairs = new Map((rules.impossibleTravel?.doorPairs ?? []).flatMap((pair) => [[`${pair.from}|${pair.to}`, pair.minSeconds] as const, [`${pair.to}|${pair.from}`, pair.minSeconds] as const]));
  }

  /**
   * `replay`: an event journalled before a restart, looked at again to restore the counts. Its
   * findings were journalled then; a replayed grant expects no opening (openings are not journalled).
   */
  observe(observation: Observation, replay = false): Finding[] {
    switch (observation.kind) {
      case 'denied':
        return [...this.onDenied(observation), ...this.travel(observation)];
      case 'granted':
        if (!replay) this.expectOpening(observation);
        return this.travel(observation);
      case 'forced':
        return this.onForced(observation);
      case 'watchlist':
        return this.onWatchlist(observation);
      case 'opened':
        this.pending.delete(observation.door);
        return [];
      default: {
        const unreachable: never = observation;
        return unreachable;
      }
    }
  }

  /** Grants whose door never opened by now [THR-NOT-OPENED]. */
  due(nowMs: number): Finding[] {
    const rule = this.rules.grantedNotOpened;
    const findings: Finding[] = [];
    if (rule === undefined) return findings;
    for (const [door, grants] of this.pending) {
      const overdue = grants.filter((grant) => grant.dueMs <= nowMs);
      if (overdue.length === 0) continue;
      const rest = grants.filter((grant) => grant.dueMs > nowMs);
      if (rest.length === 0) this.pending.delete(door);
      else this.pending.set(door, rest);
      for (const grant of overdue) {
        findings.push({
          pattern: 'granted_not_opened',
          type: 'threat.granted_not_opened',
          severity: rule.severity as Severity,
          alarm: false,
          door,
          device: grant.device,
          cardholder: grant.cardholder,
          data: { pattern: 'granted_not_opened', cause: grant.eventId, credential: grant.credential, grantedAt: new Date(grant.grantedAtMs).toISOString(), waitedMs: nowMs - grant.grantedAtMs },
        });
      }
    }
    return findings;
  }

  /** How far back a restart must replay the journal to restore every count (at most a day). */
  memoryMs(): number {
    const rules = this.rules;
    let seconds = Math.max(rules.deniedReads?.withinSeconds ?? 0, rules.wrongPins?.withinSeconds ?? 0, rules.forcedAfterDenied?.withinSeconds ?? 0);
    const travel = rules.impossibleTravel;
    if (travel !== undefined) {
      for (const pair of travel.doorPairs) seconds = Math.max(seconds, pair.minSeconds);
      const positions = [...this.positions.values()];
      const xs = positions.map((p) => p.x);
      const ys = positions.map((p) => p.y);
      if (positions.length > 1) seconds = Math.max(seconds, Math.hypot(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)) / travel.walkingSpeedMps);
    }
    return Math.min(Math.ceil(seconds) * 1000, 86_400_000);
  }

  /** When due() next has something to say; null = nothing pending. */
  nextDueMs(): number | null {
    let next: number | null = null;
    for (const grants of this.pending.values()) for (const grant of grants) if (next === null || grant.dueMs < next) next = grant.dueMs;
    return next;
  }

  private onDenied(denied: Extract<Observation, { kind: 'denied' }>): Finding[] {
    if (WAITING_REASONS.has(denied.reason)) return [];
    const findings: Finding[] = [];
    if (denied.door !== null) {
      this.lastDenied.set(denied.door, { atMs: denied.atMs, eventId: denied.eventId, cardholder: denied.cardholder, device: denied.device });
      const rule = this.rules.deniedReads;
      // [THR-DENIED-READS] N refusals at one door within T, whoever presented them.
      if (rule !== undefined) {
        const window = within(this.deniedAtDoor.get(denied.door) ?? [], denied.atMs - rule.withinSeconds * 1000);
        window.push({ atMs: denied.atMs, eventId: denied.eventId, cardholder: denied.cardholder });
        if (window.length >= rule.count) {
          this.deniedAtDoor.delete(denied.door);
          findings.push({
            pattern: 'denied_reads',
            type: 'access.suspicious',
            severity: rule.severity as Severity,
            alarm: rule.alarm,
            door: denied.door,
            device: denied.device,
            cardholder: denied.cardholder,
            data: { pattern: 'denied_reads', count: window.length, withinSeconds: rule.withinSeconds, events: window.map((entry) => entry.eventId), cardholders: [...new Set(window.map((entry) => entry.cardholder).filter((id) => id !== null))] },
          });
        } else this.deniedAtDoor.set(denied.door, window);
      }
    }
    const pinRule = this.rules.wrongPins;
    const credentialKey = denied.credential ?? denied.cardholder;
    // [THR-WRONG-PINS] N wrong PINs for one credential within T, at any doors.
    if (pinRule !== undefined && denied.reason === 'pin_invalid' && credentialKey !== null) {
      const window = within(this.wrongPinsOf.get(credentialKey) ?? [], denied.atMs - pinRule.withinSeconds * 1000);
      window.push({ atMs: denied.atMs, eventId: denied.eventId, door: denied.door });
      if (window.length >= pinRule.count) {
        this.wrongPinsOf.delete(credentialKey);
        findings.push({
          pattern: 'wrong_pins',
          type: 'access.suspicious',
          severity: pinRule.severity as Severity,
          alarm: pinRule.alarm,
          door: denied.door,
          device: denied.device,
          cardholder: denied.cardholder,
          data: { pattern: 'wrong_pins', count: window.length, withinSeconds: pinRule.withinSeconds, credential: denied.credential, doors: [...new Set(window.map((entry) => entry.door))], events: window.map((entry) => entry.eventId) },
        });
      } else this.wrongPinsOf.set(credentialKey, window);
    }
    return findings;
  }

  private onForced(forced: Extract<Observation, { kind: 'forced' }>): Finding[] {
    const rule = this.rules.forcedAfterDenied;
    const denied = this.lastDenied.get(forced.door);
    // [THR-FORCED-AFTER-DENIED] someone refused at the door, then the door forced.
    if (rule === undefined || denied === undefined || forced.atMs - denied.atMs > rule.withinSeconds * 1000 || forced.atMs < denied.atMs) return [];
    this.lastDenied.delete(forced.door);
    return [
      {
        pattern: 'forced_after_denied',
        type: 'threat.forced_after_denied',
        severity: rule.severity as Severity,
        alarm: false,
        door: forced.door,
        device: denied.device,
        cardholder: denied.cardholder,
        data: { pattern: 'forced_after_denied', cause: forced.eventId, denied: denied.eventId, afterMs: forced.atMs - denied.atMs },
      },
    ];
  }

  private onWatchlist(seen: Extract<Observation, { kind: 'watchlist' }>): Finding[] {
    const rule = this.rules.watchlistPresented;
    if (rule === undefined) return [];
    // [THR-WATCHLIST] the site's severity for a watch-listed card, wherever it was shown.
    return [
      {
        pattern: 'watchlist_presented',
        type: 'threat.watchlist_presented',
        severity: rule.severity as Severity,
        alarm: false,
        door: seen.door,
        device: seen.device,
        cardholder: seen.cardholder,
        data: { pattern: 'watchlist_presented', cause: seen.eventId, credential: seen.credential, watchReason: seen.watchReason },
      },
    ];
  }

  private travel(read: Extract<Observation, { kind: 'denied' | 'granted' }>): Finding[] {
    const rule = this.rules.impossibleTravel;
    const who = read.cardholder ?? read.credential;
    if (rule === undefined || who === null || read.door === null) return [];
    const previous = this.lastRead.get(who);
    this.lastRead.set(who, { door: read.door, atMs: read.atMs, eventId: read.eventId });
    if (previous === undefined || previous.door === read.door) return [];
    const minSeconds = this.minTravelSeconds(previous.door, read.door, rule.walkingSpeedMps);
    const elapsedMs = read.atMs - previous.atMs;
    // [THR-TRAVEL] a clock that stepped back is not travel; unknown distances are never a finding.
    if (minSeconds === null || elapsedMs < 0 || elapsedMs >= minSeconds * 1000) return [];
    return [
      {
        pattern: 'impossible_travel',
        type: 'threat.impossible_travel',
        severity: rule.severity as Severity,
        alarm: false,
        door: read.door,
        device: read.device,
        cardholder: read.cardholder,
        data: { pattern: 'impossible_travel', credential: read.credential, from: previous.door, to: read.door, elapsedMs, minSeconds: Math.round(minSeconds * 10) / 10, events: [previous.eventId, read.eventId] },
      },
    ];
  }

  private minTravelSeconds(from: string, to: string, walkingSpeedMps: number): number | null {
    const pair = this.pairs.get(`${from}|${to}`);
    if (pair !== undefined) return pair;
    const a = this.positions.get(from);
    const b = this.positions.get(to);
    if (a === undefined || b === undefined) return null;
    return Math.hypot(a.x - b.x, a.y - b.y) / walkingSpeedMps;
  }

  private expectOpening(granted: Extract<Observation, { kind: 'granted' }>): void {
    const rule = this.rules.grantedNotOpened;
    if (rule === undefined || granted.door === null) return;
    const facts = this.doorFacts(granted.door);
    if (facts === undefined || !facts.hasContact) return;
    const grants = this.pending.get(granted.door) ?? [];
    grants.push({ dueMs: granted.atMs + facts.unlockMs + rule.graceSeconds * 1000, grantedAtMs: granted.atMs, eventId: granted.eventId, device: granted.device, cardholder: granted.cardholder, credential: granted.credential });
    this.pending.set(granted.door, grants);
  }
}

function within<T extends { atMs: number }>(entries: T[], sinceMs: number): T[] {
  return entries.filter((entry) => entry.atMs > sinceMs);
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** The observation a journal event is to the pattern rules, if any. */
export function observationOf(event: JournalEvent): Observation | undefined {
  const atMs = Date.parse(event.time);
  const common = { atMs, eventId: event.id, door: event.door, device: event.device, cardholder: event.cardholder, credential: text(event.data.credential) };
  switch (event.type) {
    case 'access.denied':
      return { kind: 'denied', ...common, reason: event.reason ?? '' };
    case 'access.granted':
      return { kind: 'granted', ...common };
    case 'access.watchlist':
      return { kind: 'watchlist', ...common, watchReason: text(event.data.watchReason) };
    case 'door.forced':
      return event.door === null ? undefined : { kind: 'forced', atMs, eventId: event.id, door: event.door };
    default:
      return undefined;
  }
}
