/** The site as `decide()` sees it: plain data, indexed in memory. No I/O lives here. */

/** `expired` is set by an admin; a card past its validUntil is expired whatever its status says. */
export type CredentialStatus = 'active' | 'suspended' | 'lost' | 'expired';
export type CardholderStatus = 'active' | 'suspended';
/**
 * How a door takes credentials. `scheduled-unlock` is a card door that doors/ holds unlocked
 * during its unlock schedule once a first-person-in group member has badged; `locked` opens only
 * for its override groups.
 */
export const DOOR_MODES = ['card', 'card-and-pin', 'card-or-pin', 'scheduled-unlock', 'locked'] as const;
export type DoorMode = (typeof DOOR_MODES)[number];

export interface Credential {
  readonly id: string;
  readonly cardholderId: string;
  /** `card`: a raw number as readers send it; `wiegand`: a facility code + number in a format. */
  readonly kind: 'card' | 'wiegand';
  /**
   * Index key [SEC-CARD-DIGEST]: the keyed digest (CardDigester) of the canonical decimal digits
   * of a card or of `<format>:<facility>:<number>` for Wiegand; never the number itself.
   */
  readonly digest: string;
  readonly status: CredentialStatus;
  readonly validFromMs: number | null;
  readonly validUntilMs: number | null;
}

/** A visitor opens a door only with an escort of one of these groups close in time [ACC-ESCORT]. */
export interface EscortRule {
  readonly groupIds: readonly string[];
  readonly windowMs: number;
}

export interface Cardholder {
  readonly id: string;
  readonly name: string;
  readonly status: CardholderStatus;
  readonly groupIds: readonly string[];
  /** Keyed hash of the PIN (see site/pins); never the PIN. */
  readonly pinDigest?: Uint8Array | null;
  /** Keyed hash of an alternate duress PIN, if the cardholder has one. */
  readonly duressPinDigest?: Uint8Array | null;
  readonly escort?: EscortRule | null;
}

/** A door a group reaches, and when: `null` in `scheduleIds` means always. */
export interface Group {
  readonly id: string;
  readonly name: string;
  /** Doors this group reaches at any time (the group's own door list). */
  readonly doorIds: readonly string[];
  readonly accessLevelIds?: readonly string[];
}

export interface AccessDoor {
  readonly id: string;
  readonly mode: DoorMode;
  /** Groups that still pass a `locked` door or a door under lockdown. */
  readonly overrideGroupIds?: readonly string[];
  /** For `scheduled-unlock`: when the door may stand unlocked. */
  readonly unlockScheduleId?: string | null;
  /** For `scheduled-unlock`: whose badge releases the door once the schedule has started. */
  readonly firstPersonInGroupIds?: readonly string[];
  /** Two different valid cardholders within this many ms [ACC-TWO-PERSON]; null = off. */
  readonly twoPersonWindowMs?: number | null;
}

/** Minutes after local midnight; `endMinute <= startMinute` spans midnight into the next day. */
export interface WeeklyInterval {
  /** ISO weekdays 1 (Monday) … 7 (Sunday). */
  readonly days: readonly number[];
  readonly startMinute: number;
  readonly endMinute: number;
}

export interface DayInterval {
  readonly startMinute: number;
  readonly endMinute: number;
}

export interface Schedule {
  readonly id: string;
  readonly intervals: readonly WeeklyInterval[];
  /** On a date in any of these calendars only `holidayIntervals` apply (empty = closed). */
  readonly holidayCalendarIds: readonly string[];
  readonly holidayIntervals: readonly DayInterval[];
}

export interface HolidayCalendar {
  readonly id: string;
  /** Local dates, `YYYY-MM-DD`. */
  readonly dates: readonly string[];
}

/** Doors (door groups already expanded) × a schedule; `scheduleId` null = always. */
export interface AccessLevel {
  readonly id: string;
  readonly doorIds: readonly string[];
  readonly scheduleId: string | null;
}

/** A named site threat level and who still passes while it is current [ACC-THREAT]. */
export interface ThreatLevel {
  readonly id: string;
  /** Groups still allowed at doors not listed in `doors`; null = no restriction there. */
  readonly allowedGroupIds: readonly string[] | null;
  /** Per-door allowed groups, overriding `allowedGroupIds`. */
  readonly doors: Readonly<Record<string, readonly string[]>>;
}

export type PassbackMode = 'off' | 'soft' | 'hard';

/** An anti-passback area: entry doors lead in, exit doors lead out [ACC-PASSBACK]. */
export interface Area {
  readonly id: string;
  readonly entryDoorIds: readonly string[];
  readonly exitDoorIds: readonly string[];
  readonly passback: PassbackMode;
  /** After this long a missed badge is forgiven; null = only an admin forgives. */
  readonly forgiveAfterMs: number | null;
}

/** Flagged by security: denied everywhere [ACC-WATCHLIST]. Values are the reason shown to security. */
export interface WatchList {
  readonly cardholders: ReadonlyMap<string, string>;
  readonly credentials: ReadonlyMap<string, string>;
}

/** Plain lists, as the store or a test holds them; `buildAccessState` indexes them. */
export interface AccessData {
  readonly timezone?: string;
  readonly credentials: readonly Credential[];
  readonly cardholders: readonly Cardholder[];
  readonly groups: readonly Group[];
  readonly doors: readonly AccessDoor[];
  readonly schedules?: readonly Schedule[];
  readonly holidayCalendars?: readonly HolidayCalendar[];
  readonly accessLevels?: readonly AccessLevel[];
  readonly threatLevels?: readonly ThreatLevel[];
  readonly areas?: readonly Area[];
  readonly watchList?: { readonly cardholders?: Readonly<Record<string, string>>; readonly credentials?: Readonly<Record<string, string>> };
}

/** Compiled schedule: day bitmasks and holiday dates as a set, for a few comparisons per read. */
export interface CompiledSchedule {
  readonly id: string;
  readonly intervals: readonly { readonly daysMask: number; readonly startMinute: number; readonly endMinute: number }[];
  readonly holidayDates: ReadonlySet<string>;
  readonly holidayIntervals: readonly DayInterval[];
}

/** A cardholder as decide() reads it: the name stays in the store. */
export type IndexedCardholder = Omit<Cardholder, 'name'>;

/** Credentials by index key (see `credentialKey`); a Map satisfies it, and so does the compact CardIndex. */
export interface CredentialLookup {
  get(key: string): Credential | undefined;
}

export interface CardholderLookup {
  get(id: string): IndexedCardholder | undefined;
  has(id: string): boolean;
}

/** PIN-only entry: the one cardholder holding this keyed digest, if exactly one does. */
export interface PinLookup {
  holderOf(digest: Uint8Array): string | undefined;
}

/** Everything decide() reads, built once from the store and swapped when site data changes. */
export interface AccessState {
  readonly credentialsByCard: CredentialLookup;
  readonly cardholders: CardholderLookup;
  readonly groups: ReadonlyMap<string, Group>;
  readonly doors: ReadonlyMap<string, AccessDoor>;
  /** IANA zone schedules are evaluated in; UTC when absent. */
  readonly timezone?: string;
  readonly schedules?: ReadonlyMap<string, CompiledSchedule>;
  /** group → door → schedule ids (null = always): access levels folded in, built once. */
  readonly groupDoorSchedules?: ReadonlyMap<string, ReadonlyMap<string, readonly (string | null)[]>>;
  readonly threatLevels?: ReadonlyMap<string, ThreatLevel>;
  readonly areaByDoor?: ReadonlyMap<string, { readonly area: Area; readonly direction: 'entry' | 'exit' }>;
  readonly watchList?: WatchList;
  /** PIN digest → cardholder, for PIN-only entry; PINs shared by two people are left out. */
  readonly pinIndex?: PinLookup;
  /** Groups any visitor may be escorted by: only their badges are remembered as escorts. */
  readonly escortGroupIds?: ReadonlySet<string>;
}

/**
 * Live conditions that doors/ and alarms/ own and change at run time; decide() reads them and
 * never changes them. Rebuilt (not mutated) on every change so a decision sees one consistent set.
 */
export interface SiteConditions {
  /** Id of the current site threat level; 'normal' unless raised. */
  readonly threatLevel: string;
  /** Doors under lockdown right now, whether per door, per zone or site-wide. */
  readonly lockedDownDoors: ReadonlySet<string>;
  /** [THR-CAPACITY] entry doors of areas at their maximum occupancy (threat management counts them): entry refused. */
  readonly fullAreaEntryDoors?: ReadonlySet<string>;
}

export const NORMAL_CONDITIONS: SiteConditions = { threatLevel: 'normal', lockedDownDoors: new Set() };

/** A PIN as the access path hands it over: keyed digests only, never the digits. */
export interface PresentedPin {
  readonly digest: Uint8Array;
  /** Digest of the PIN with the site's duress offset taken back off its last digit; null = no offset. */
  readonly undoOffsetDigest: Uint8Array | null;
}

/** A card as its index key (the access path digests what the reader sent; decide() never sees a number). */
export type PresentedCredential = { readonly kind: 'card'; readonly digest: string } | { readonly kind: 'pin' };

export interface AccessRequest {
  readonly doorId: string;
  readonly credential: PresentedCredential;
  readonly pin?: PresentedPin;
}

/** Reason codes are a contract: they appear in events, the API and the incident system. */
export const ReasonCodes = [
  'granted',
  'unknown_door',
  'door_locked',
  'door_lockdown',
  'unknown_credential',
  'unreadable_credential',
  'watchlist',
  'credential_suspended',
  'credential_lost',
  'credential_not_yet_valid',
  'credential_expired',
  'cardholder_suspended',
  'pin_required',
  'pin_invalid',
  'pin_not_accepted',
  'threat_level',
  'not_in_group',
  'outside_schedule',
  'escort_required',
  'two_person_waiting',
  'passback',
  'area_full',
  'error',
] as const;
export type ReasonCode = (typeof ReasonCodes)[number];

/** Reason codes only the runtime assigns (decide() never returns them). */
export const RuntimeReasonCodes: readonly ReasonCode[] = ['error', 'unreadable_credential'];

export interface DecisionFlags {
  /** The duress PIN was used: grant as normal, raise a silent alarm [ACC-DURESS]. */
  readonly duress: boolean;
  /** A watch-listed credential or person: raise a high-severity event [ACC-WATCHLIST]. */
  readonly watchlist: boolean;
  /** Soft anti-passback: granted despite a passback violation [ACC-PASSBACK]. */
  readonly passback: boolean;
  /** This grant releases a scheduled-unlock door for the rest of its schedule [ACC-FIRST-IN]. */
  readonly firstPersonIn: boolean;
  /** This grant is an escort's and lets this waiting visitor in too [ACC-ESCORT]. */
  readonly escortedVisitorId: string | null;
}

export const NO_FLAGS: DecisionFlags = { duress: false, watchlist: false, passback: false, firstPersonIn: false, escortedVisitorId: null };

/** What a decision changes in the rule state; the runtime applies them (see ruleState.ts). */
export type RuleEffect =
  | { readonly kind: 'presence'; readonly areaId: string; readonly cardholderId: string; readonly inside: boolean; readonly atMs: number }
  | { readonly kind: 'two-person-wait'; readonly doorId: string; readonly cardholderId: string; readonly atMs: number }
  | { readonly kind: 'two-person-done'; readonly doorId: string }
  | { readonly kind: 'escort-seen'; readonly doorId: string; readonly cardholderId: string; readonly atMs: number }
  | { readonly kind: 'visitor-wait'; readonly doorId: string; readonly cardholderId: string; readonly atMs: number }
  | { readonly kind: 'visitor-done'; readonly doorId: string }
  | { readonly kind: 'door-released'; readonly doorId: string; readonly windowKey: string };

export interface Decision {
  readonly granted: boolean;
  readonly reason: ReasonCode;
  readonly doorId: string;
  readonly cardholderId: string | null;
  readonly credentialId: string | null;
  readonly flags: DecisionFlags;
  readonly effects: readonly RuleEffect[];
}
