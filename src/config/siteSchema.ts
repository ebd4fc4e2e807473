import { Type, type Static } from '@sinclair/typebox';
import { Id, Strict, Text } from './common.js';

/**
 * Site data: what facilities admins edit. Imported into SQLite on first start and by
 * `guardpost import`; the store is the source of truth afterwards.
 */

export const DEVICE_KINDS = ['reader', 'strike', 'panic-button', 'door-contact', 'exit-button', 'camera'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

const DateTime = Type.String({ dateTime: true, expected: 'an ISO-8601 date-time' });

export const SiteInfoSchema = Strict({
  id: Id(),
  name: Text(),
  /** IANA zone; schedules are evaluated in it. Checked with Intl after the schema. */
  timezone: Text(),
  /** [ACC-DURESS] a PIN whose last digit is this much higher (mod 10) is the duress PIN. */
  duressPinOffset: Type.Optional(Type.Integer({ minimum: 1, maximum: 9 })),
});

export const DeviceSchema = Strict({
  id: Id(),
  name: Type.Optional(Text()),
  kind: Type.Union([
    Type.Literal('reader'), Type.Literal('strike'), Type.Literal('panic-button'),
    Type.Literal('door-contact'), Type.Literal('exit-button'), Type.Literal('camera'),
  ]),
  driver: Type.Literal('json', { default: 'json' }),
  location: Type.Optional(Text()),
  /** MQTT login for the embedded broker. Never echoed: it may be a plaintext password by mistake. */
  passwordHash: Type.Optional(
    Type.String({ pattern: '^\\$argon2', expected: 'an argon2 hash starting with "$argon2"', secret: true }),
  ),
});

export const DoorSchema = Strict({
  id: Id(),
  name: Text(),
  reader: Id(),
  strike: Id(),
  unlockMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 5000 }),
  mode: Type.Union(
    [Type.Literal('card'), Type.Literal('card-and-pin'), Type.Literal('card-or-pin'), Type.Literal('scheduled-unlock'), Type.Literal('locked')],
    { default: 'card' },
  ),
  /** Groups that still pass when the door is locked or under lockdown. */
  overrideGroups: Type.Optional(Type.Array(Id())),
  /** scheduled-unlock: when the door may stand open, and whose badge releases it. */
  unlockSchedule: Type.Optional(Id()),
  firstPersonInGroups: Type.Optional(Type.Array(Id())),
  /** Two different cardholders within this many seconds open the door. */
  twoPersonSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 600 })),
});

export const GroupSchema = Strict({
  id: Id(),
  name: Text(),
  doors: Type.Array(Id(), { default: [] }),
  accessLevels: Type.Optional(Type.Array(Id())),
});

const ClockTime = Type.String({ pattern: '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$', expected: 'a local time HH:MM (00:00 to 24:00)' });
const Weekday = Type.Union(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((day) => Type.Literal(day)));
const LocalDate = Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', expected: 'a date YYYY-MM-DD' });

export const ScheduleSchema = Strict({
  id: Id(),
  name: Text(),
  /** Wall-clock intervals in the site's zone; `to` not after `from` runs past midnight. */
  intervals: Type.Array(Strict({ days: Type.Array(Weekday, { minItems: 1 }), from: ClockTime, to: ClockTime }), { default: [] }),
  /** Holiday calendars: on their dates only `holidayIntervals` apply (none = closed all day). */
  holidays: Type.Array(Id(), { default: [] }),
  holidayIntervals: Type.Array(Strict({ from: ClockTime, to: ClockTime }), { default: [] }),
});

export const HolidayCalendarSchema = Strict({ id: Id(), name: Text(), dates: Type.Array(LocalDate, { default: [] }) });

export const DoorGroupSchema = Strict({ id: Id(), name: Text(), doors: Type.Array(Id(), { default: [] }) });

export const AccessLevelSchema = Strict({
  id: Id(),
  name: Text(),
  doors: Type.Array(Id(), { default: [] }),
  doorGroups: Type.Array(Id(), { default: [] }),
  /** Omitted: at any time. */
  schedule: Type.Optional(Id()),
});

export const ThreatLevelSchema = Strict({
  id: Id(),
  name: Text(),
  /** Groups still allowed at doors not listed below; omitted = no restriction there. */
  allowedGroups: Type.Optional(Type.Array(Id())),
  doors: Type.Array(Strict({ door: Type.Optional(Id()), doorGroup: Type.Optional(Id()), groups: Type.Array(Id()) }), { default: [] }),
});

export const AreaSchema = Strict({
  id: Id(),
  name: Text(),
  entryDoors: Type.Array(Id(), { default: [] }),
  exitDoors: Type.Array(Id(), { default: [] }),
  passback: Type.Union([Type.Literal('off'), Type.Literal('soft'), Type.Literal('hard')], { default: 'off' }),
  /** After this long a missed badge is forgiven; omitted = only an admin forgives. */
  forgiveAfterMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_080 })),
});

export const WatchListEntrySchema = Strict({ cardholder: Type.Optional(Id()), credential: Type.Optional(Id()), reason: Text() });

const BitField = Strict({ start: Type.Integer({ minimum: 0, maximum: 127 }), length: Type.Integer({ minimum: 1, maximum: 53 }) });
export const WiegandFormatSchema = Strict({
  id: Id(),
  bits: Type.Integer({ minimum: 4, maximum: 128 }),
  facility: Type.Optional(BitField),
  card: BitField,
  parity: Type.Array(
    Strict({
      bit: Type.Integer({ minimum: 0, maximum: 127 }),
      kind: Type.Union([Type.Literal('even'), Type.Literal('odd')]),
      /** Positions covered: single bits or ranges "from-to". */
      over: Type.Array(Type.Union([Type.Integer({ minimum: 0, maximum: 127 }), Type.String({ pattern: '^[0-9]{1,3}-[0-9]{1,3}$', expected: 'a bit range like "1-12"' })])),
    }),
    { default: [] },
  ),
});

export const CredentialSchema = Strict({
  /** Decimal digits kept as a string: leading zeros matter to readers. */
  card: Type.Optional(Type.String({ pattern: '^[0-9]{1,20}$', expected: '1 to 20 decimal digits' })),
  /** A Wiegand card: format id (built-in h10301, h10304, c1000-35, or a site format), facility code, number. */
  wiegand: Type.Optional(Strict({ format: Id(), facility: Type.Integer({ minimum: 0 }), number: Type.Integer({ minimum: 0 }) })),
  /** Defaults to <cardholderId>-card-<index+1>. */
  id: Type.Optional(Id()),
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('lost'), Type.Literal('expired')], { default: 'active' }),
  validFrom: Type.Optional(DateTime),
  validUntil: Type.Optional(DateTime),
});

export const CardholderSchema = Strict({
  id: Id(),
  name: Text(),
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended')], { default: 'active' }),
  groups: Type.Array(Id(), { default: [] }),
  credentials: Type.Array(CredentialSchema, { default: [] }),
  /** Hashed on import with the site's PIN key; never stored or exported as digits. */
  pin: Type.Optional(Type.String({ pattern: '^[0-9]{4,8}$', expected: '4 to 8 digits, quoted', secret: true })),
  duressPin: Type.Optional(Type.String({ pattern: '^[0-9]{4,8}$', expected: '4 to 8 digits, quoted', secret: true })),
  /** A visitor: opens a door only with an escort of these groups within the window. */
  escort: Type.Optional(Strict({ groups: Type.Array(Id(), { minItems: 1 }), withinSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 30 }) })),
});

export const SiteDataSchema = Strict({
  site: SiteInfoSchema,
  devices: Type.Array(DeviceSchema, { default: [] }),
  doors: Type.Array(DoorSchema, { default: [] }),
  groups: Type.Array(GroupSchema, { default: [] }),
  cardholders: Type.Array(CardholderSchema, { default: [] }),
  doorGroups: Type.Array(DoorGroupSchema, { default: [] }),
  schedules: Type.Array(ScheduleSchema, { default: [] }),
  holidays: Type.Array(HolidayCalendarSchema, { default: [] }),
  accessLevels: Type.Array(AccessLevelSchema, { default: [] }),
  threatLevels: Type.Array(ThreatLevelSchema, { default: [] }),
  areas: Type.Array(AreaSchema, { default: [] }),
  watchList: Type.Array(WatchListEntrySchema, { default: [] }),
  wiegandFormats: Type.Array(WiegandFormatSchema, { default: [] }),
});

export type SiteInfo = Static<typeof SiteInfoSchema>;
export type SiteDevice = Static<typeof DeviceSchema>;
export type SiteDoor = Static<typeof DoorSchema>;
export type SiteGroup = Static<typeof GroupSchema>;
/** After parsing, every credential has an id; validFrom/validUntil are normalised to UTC ISO strings. */
export type SiteCredential = Static<typeof CredentialSchema> & { id: string };
export type SiteCardholder = Omit<Static<typeof CardholderSchema>, 'credentials'> & { credentials: SiteCredential[] };
export type SiteData = Omit<Static<typeof SiteDataSchema>, 'cardholders'> & { cardholders: SiteCardholder[] };
export type SiteSchedule = Static<typeof ScheduleSchema>;
export type SiteAccessLevel = Static<typeof AccessLevelSchema>;
export type SiteThreatLevel = Static<typeof ThreatLevelSchema>;
export type SiteArea = Static<typeof AreaSchema>;
export type SiteWiegandFormat = Static<typeof WiegandFormatSchema>;
