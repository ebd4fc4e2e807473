import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { Id, Strict, Text } from './common.js';

/**
 * Site data for threat management (issue 12): suspicious-pattern rules with their thresholds and
 * severity, door positions for travel times, visitors, muster points and area capacities.
 * A rule that is absent is off. See docs/threat-management.md.
 */

const Severity = Type.Union(['info', 'low', 'medium', 'high', 'critical'].map((name) => Type.Literal(name)), { expected: 'info, low, medium, high or critical' });
const Seconds = (maximum: number) => Type.Integer({ minimum: 1, maximum });
const ClockTime = Type.String({ pattern: '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$', expected: 'a local time HH:MM (00:00 to 24:00)' });

/** N events within T seconds. */
const Repeated = (defaultSeverity: string) =>
  Strict({
    count: Type.Integer({ minimum: 2, maximum: 1000 }),
    withinSeconds: Seconds(86_400),
    severity: Type.Union(Severity.anyOf, { default: defaultSeverity }),
    /** Also raise an `access.suspicious` alarm for security to acknowledge. */
    alarm: Type.Boolean({ default: true }),
  });

export const ThreatRulesSchema = Strict(
  {
    /** N denied reads at one door within T. */
    deniedReads: Type.Optional(Repeated('high')),
    /** N wrong PINs for one credential within T. */
    wrongPins: Type.Optional(Repeated('high')),
    /** A door forced within T of a refused read at it. */
    forcedAfterDenied: Type.Optional(Strict({ withinSeconds: Seconds(3600), severity: Type.Union(Severity.anyOf, { default: 'critical' }) })),
    /** A watch-listed credential or person presented at any reader. */
    watchlistPresented: Type.Optional(Strict({ severity: Type.Union(Severity.anyOf, { default: 'high' }) })),
    /**
     * One card at two doors faster than a person can walk between them: the distance between the
     * doors' positions at `walkingSpeedMps`, or `doorPairs` minimum seconds where given.
     */
    impossibleTravel: Type.Optional(
      Strict({
        walkingSpeedMps: Type.Number({ exclusiveMinimum: 0, maximum: 20, default: 2 }),
        doorPairs: Type.Array(Strict({ from: Id(), to: Id(), minSeconds: Seconds(86_400) }), { default: [] }),
        severity: Type.Union(Severity.anyOf, { default: 'high' }),
      }),
    ),
    /** Granted, but the door's contact never reported it open within the unlock time plus grace (a card passed back?). */
    grantedNotOpened: Type.Optional(Strict({ graceSeconds: Type.Integer({ minimum: 0, maximum: 600, default: 5 }), severity: Type.Union(Severity.anyOf, { default: 'medium' }) })),
    /** Door positions in metres on the floor plan (for impossibleTravel). */
    doorPositions: Type.Array(Strict({ door: Id(), x: Type.Number(), y: Type.Number() }), { default: [] }),
    /** Temporary visitor credentials. */
    visitors: Type.Optional(
      Strict({
        /** The group whose doors and access levels a visitor's credential opens. */
        group: Id(),
        /** Escorted visitors open a door only with one of these groups within the window (the escort rule). */
        escortGroups: Type.Array(Id(), { default: [] }),
        escortWithinSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 30 }),
        /** Local time the site closes: a visitor still inside then is an event; credentials end then. */
        closingTime: Type.Union([ClockTime], { default: '18:00' }),
        /** Visitor card numbers are issued from this range. */
        cardRange: Strict({ from: Type.Integer({ minimum: 0 }), to: Type.Integer({ minimum: 0 }) }, { default: { from: 900_000_000, to: 999_999_999 } }),
      }),
    ),
    /** Readers at muster points: a badge there marks its holder safe during an evacuation. */
    musterPoints: Type.Array(Strict({ reader: Id(), name: Text() }), { default: [] }),
    /** Optional capacity per area (entry and exit readers): entry refused above it, and an event. */
    maxOccupancy: Type.Array(Strict({ area: Id(), max: Type.Integer({ minimum: 1, maximum: 1_000_000 }) }), { default: [] }),
    /** A person whose last entry is older than this is no longer counted inside (a missed exit badge). */
    occupancyStaleHours: Type.Integer({ minimum: 1, maximum: 168, default: 16 }),
  },
  { default: {} },
);

export type ThreatRules = Static<typeof ThreatRulesSchema>;

/** The rules with every default filled in; absent (older site data) = all rules off. */
export function threatRulesOf(raw: unknown): ThreatRules {
  const rules = Value.Default(ThreatRulesSchema, structuredClone(raw ?? {})) as ThreatRules;
  return rules;
}
