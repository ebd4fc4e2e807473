import { Type, type Static } from '@sinclair/typebox';
import { Id, Strict, Text } from './common.js';
import { ThreatRulesSchema } from './threatRulesSchema.js';

/**
 * Site data: what facilities admins edit. Imported into SQLite on first start and by
 * `guardpost import`; the store is the source of truth afterwards.
 */

export const DEVICE_KINDS = ['reader', 'strike', 'panic-button', 'door-contact', 'exit-button', 'camera', 'fire-alarm', 'tamper-switch', 'threat-button'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

/** Codec names a device may use (src/drivers/index.ts registers each; a unit test keeps them in step). */
export const DEVICE_DRIVERS = ['json', 'rdm6300', 'wiegand-line', 'serial-lines', 'serial-alarm', 'osdp', 'gpio-input', 'gpio-relay', 'gpio-wiegand', 'esp-rfid', 'zigbee2mqtt', 'tasmota', 'shelly-gen2', 'axis-camera', 'esphome-binary', 'frigate', 'eol-loop'] as const;
export type DeviceDriver = (typeof DEVICE_DRIVERS)[number];

/** Which transport carries each driver's bytes; 'mqtt-product' is MQTT on the product's own topics. */
export const DRIVER_TRANSPORTS: Readonly<Record<DeviceDriver, 'mqtt' | 'mqtt-product' | 'serial' | 'gpio'>> = {
  json: 'mqtt',
  rdm6300: 'serial',
  'wiegand-line': 'serial',
  'serial-lines': 'serial',
  'serial-alarm': 'serial',
  osdp: 'serial',
  'gpio-input': 'gpio',
  'gpio-relay': 'gpio',
  'gpio-wiegand': 'gpio',
  'esp-rfid': 'mqtt-product',
  zigbee2mqtt: 'mqtt-product',
  tasmota: 'mqtt-product',
  'shelly-gen2': 'mqtt-product',
  'axis-camera': 'mqtt-product',
  'esphome-binary': 'mqtt-product',
  frigate: 'mqtt-product',
  'eol-loop': 'mqtt-product',
};

/** The device kinds each driver can serve. */
export const DRIVER_KINDS: Readonly<Record<DeviceDriver, readonly DeviceKind[]>> = {
  json: DEVICE_KINDS,
  rdm6300: ['reader'],
  'wiegand-line': ['reader'],
  'serial-lines': ['reader'],
  'serial-alarm': ['panic-button'],
  osdp: ['reader'],
  'gpio-input': ['panic-button', 'door-contact', 'exit-button', 'fire-alarm', 'tamper-switch', 'threat-button'],
  'gpio-relay': ['strike', 'camera'],
  'gpio-wiegand': ['reader'],
  'esp-rfid': ['reader'],
  zigbee2mqtt: ['panic-button', 'exit-button', 'door-contact', 'threat-button'],
  tasmota: ['strike'],
  'shelly-gen2': ['strike'],
  'axis-camera': ['camera'],
  'esphome-binary': ['panic-button', 'exit-button', 'door-contact', 'threat-button'],
  frigate: ['camera'],
  'eol-loop': ['panic-button', 'exit-button', 'door-contact', 'fire-alarm'],
};

const DateTime = Type.String({ dateTime: true, expected: 'an ISO-8601 date-time' });

export const SiteInfoSchema = Strict({
  id: Id(),
  name: Text(),
  /** IANA zone; schedules are evaluated in it. Checked with Intl after the schema. */
  timezone: Text(),
  /** [ACC-DURESS] a PIN whose last digit is this much higher (mod 10) is the duress PIN. */
  duressPinOffset: Type.Optional(Type.Integer({ minimum: 1, maximum: 9 })),
  /** [ACC-CARD-FORMAT] how readers send card numbers unless a reader says otherwise; default decimal. */
  cardFormat: Type.Optional(Type.Union([Type.Literal('decimal'), Type.Literal('hex')])),
});

export const DeviceSchema = Strict({
  id: Id(),
  name: Type.Optional(Text()),
  kind: Type.Union([
    Type.Literal('reader'), Type.Literal('strike'), Type.Literal('panic-button'),
    Type.Literal('door-contact'), Type.Literal('exit-button'), Type.Literal('camera'),
    Type.Literal('fire-alarm'),
    /** An enclosure's tamper switch: closed while the lid is on; opening it raises a tamper alarm. */
    Type.Literal('tamper-switch'),
    /** A button or key switch that raises the site's threat level (threatLevels[].buttons). */
    Type.Literal('threat-button'),
  ]),
  driver: Type.Union(DEVICE_DRIVERS.map((name) => Type.Literal(name)), { default: 'json' }),
  location: Type.Optional(Text()),
  /** MQTT login for the embedded broker. Never echoed: it may be a plaintext password by mistake. */
  passwordHash: Type.Optional(
    Type.String({ pattern: '^\\$argon2', expected: 'an argon2 hash starting with "$argon2"', secret: true }),
  ),
  /** A device silent (no heartbeat, no input, not online) for this long is in trouble. */
  supervisionMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 86_400_000 })),
  // Binding to a transport other than guardpost's own MQTT topics (src/site/deviceBindings.ts).
  /** Serial bus id from the config file's serial.buses (serial drivers). */
  bus: Type.Optional(Id()),
  /** OSDP peripheral address on its bus (multi-drop). */
  address: Type.Optional(Type.Integer({ minimum: 0, maximum: 126 })),
  /** GPIO header pin as a BCM number (gpio-input, gpio-relay). */
  pin: Type.Optional(Type.Integer({ minimum: 0, maximum: 53 })),
  /**
   * gpio-input supervision: the sensor's tamper loop (normally closed, in the same cable as the
   * alarm pair) on its own GPIO input, BCM number. Open = cable cut or cover off: trouble.
   */
  tamperPin: Type.Optional(Type.Integer({ minimum: 0, maximum: 53 })),
  /** Wiegand reader wired to two GPIO inputs (gpio-wiegand), BCM numbers. */
  wiegandPins: Type.Optional(Strict({ data0: Type.Integer({ minimum: 0, maximum: 53 }), data1: Type.Integer({ minimum: 0, maximum: 53 }) })),
  /** Input or output is active when the line is low (pull-up wiring). Default false. */
  activeLow: Type.Optional(Type.Boolean()),
  /** A GPIO input must hold a new level this long before it counts. Default 20 ms. */
  debounceMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
  /** OSDP Secure Channel: `on` (default) when the reader supports it, `enforce` refuses plain text and raises tamper, `off`. */
  secureChannel: Type.Optional(Type.Union([Type.Literal('off'), Type.Literal('on'), Type.Literal('enforce')])),
  /**
   * The reader's OSDP Secure Channel base key (SCBK), 32 hex digits; absent = the install-mode key
   * SCBK-D. Stored sealed (`gpenc1:…`, see store/osdpKeys.ts); an export carries the sealed form.
   */
  osdpKey: Type.Optional(Type.String({ pattern: '^([0-9a-fA-F]{32}|gpenc1:[A-Za-z0-9_-]{59})$', expected: '32 hex digits (an AES-128 key), or a key sealed by guardpost (gpenc1:…)', secret: true })),
  /** Install mode: a reader still on SCBK-D is given osdpKey over Secure Channel. Turn it off once the reader is online. */
  osdpInstall: Type.Optional(Type.Boolean()),
  /** Generic line reader: a regular expression whose first capture group is the card number. */
  linePattern: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  /** [ACC-CARD-FORMAT] a reader's card numbers: `decimal` digits or a `hex` UID; default the site's cardFormat. */
  cardFormat: Type.Optional(Type.Union([Type.Literal('decimal'), Type.Literal('hex')])),
  /** The product's own name for the device in its MQTT topics (a zigbee2mqtt friendly name, a Tasmota topic). */
  topic: Type.Optional(Type.String({ pattern: '^[^#+$/][^#+]{0,199}$', expected: 'an MQTT topic level without wildcards, not starting with "$" or "/"' })),
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
  /** Door-position switch (a door-contact device); without one the door cannot report forced or held. */
  contact: Type.Optional(Id()),
  /** Request-to-exit (an exit-button device). */
  exit: Type.Optional(Id()),
  /** Fail-safe doors unlock on power loss and on a fire alarm; fail-secure doors stay locked. */
  failMode: Type.Union([Type.Literal('fail-secure'), Type.Literal('fail-safe')], { default: 'fail-secure' }),
  heldOpenMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 30_000 }),
  /** How long before door.held the reader's pre-alarm buzzer sounds. */
  preAlarmMs: Type.Integer({ minimum: 0, maximum: 600_000, default: 10_000 }),
  /** Whether a REX press also pulses the strike (it always masks the door-position switch). */
  rexUnlocks: Type.Boolean({ default: true }),
});

export const ZoneSchema = Strict({
  id: Id(),
  name: Text(),
  doors: Type.Array(Id(), { default: [] }),
});

export const CameraTriggerEvents = ['panic', 'duress', 'forced', 'held', 'watchlist', 'tamper'] as const;
export type CameraTriggerEvent = (typeof CameraTriggerEvents)[number];

export const CameraSchema = Strict({
  id: Id(),
  name: Type.Optional(Text()),
  /** mqtt: a camera command to `device`; frigate: POST /api/events/<camera>/<label>/create; axis: virtual input; http: a plain request. */
  kind: Type.Union([Type.Literal('mqtt'), Type.Literal('frigate'), Type.Literal('axis'), Type.Literal('http')]),
  device: Type.Optional(Id()),
  url: Type.Optional(Type.String({ pattern: '^https?://\\S+$', expected: 'an http:// or https:// URL' })),
  /** Frigate's camera name (defaults to the id). */
  camera: Type.Optional(Text()),
  /** Frigate's event label. */
  label: Type.String({ minLength: 1, default: 'guardpost' }),
  /** Axis virtual input port. */
  port: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
  method: Type.Union([Type.Literal('GET'), Type.Literal('POST'), Type.Literal('PUT')], { default: 'POST' }),
  durationS: Type.Integer({ minimum: 1, maximum: 3600, default: 30 }),
  doors: Type.Array(Id(), { default: [] }),
  zones: Type.Array(Id(), { default: [] }),
  on: Type.Array(
    Type.Union([Type.Literal('panic'), Type.Literal('duress'), Type.Literal('forced'), Type.Literal('held'), Type.Literal('watchlist'), Type.Literal('tamper')]),
    { default: ['panic', 'duress', 'forced'] },
  ),
});

export const PanicButtonSchema = Strict({
  device: Id(),
  zone: Type.Optional(Id()),
  /** Lock the button's zone down when it is pressed. */
  lockdown: Type.Boolean({ default: false }),
  /** No local sounders or reader buzzers (a hold-up button). */
  silent: Type.Boolean({ default: false }),
  /** Also raise the site to this threat level (never lowers it). */
  threatLevel: Type.Optional(Id()),
});

export const EscalationStepSchema = Strict({
  /** Who the escalation goes to (a role, rota or person the incident system knows). */
  to: Text(),
  afterMs: Type.Integer({ minimum: 1000, maximum: 86_400_000 }),
});

export const AlarmSettingsSchema = Strict(
  {
    /** Each step escalates an alarm still unacknowledged that long after the previous step. */
    escalation: Type.Array(EscalationStepSchema, { default: [] }),
  },
  { default: {} },
);

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
  /** Raising the site to this level locks these zones (or the whole site) down. */
  lockdownZones: Type.Array(Id(), { default: [] }),
  lockdownSite: Type.Boolean({ default: false }),
  /** threat-button devices whose press raises the site to this level (a press never lowers it). */
  buttons: Type.Optional(Type.Array(Id())),
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
  /**
   * [SEC-CARD-DIGEST] How a card is kept and exported: its keyed digest (made with the site's card
   * key, see SECURITY.md) instead of `card` or `wiegand`, with the masked form people see.
   */
  cardDigest: Type.Optional(Type.String({ pattern: '^gpcd1:[0-9a-f]{8}:[0-9a-f]{32}$', expected: 'a card digest gpcd1:<key id>:<32 hex digits>, as an export writes it' })),
  wiegandDigest: Type.Optional(Type.String({ pattern: '^gpcd1:[0-9a-f]{8}:[0-9a-f]{32}$', expected: 'a card digest gpcd1:<key id>:<32 hex digits>, as an export writes it' })),
  masked: Type.Optional(Type.String({ pattern: '^[a-z0-9:*-]{1,64}$', expected: 'the masked card number, e.g. ********42' })),
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
  zones: Type.Array(ZoneSchema, { default: [] }),
  cameras: Type.Array(CameraSchema, { default: [] }),
  panicButtons: Type.Array(PanicButtonSchema, { default: [] }),
  alarms: AlarmSettingsSchema,
  /** Suspicious patterns, visitors, mustering, capacities (issue 12). */
  threatRules: Type.Optional(ThreatRulesSchema),
});

export type SiteInfo = Static<typeof SiteInfoSchema>;
export type SiteDevice = Static<typeof DeviceSchema>;
export type SiteDoor = Static<typeof DoorSchema>;
export type SiteGroup = Static<typeof GroupSchema>;
export type SiteZone = Static<typeof ZoneSchema>;
export type SiteCamera = Static<typeof CameraSchema>;
export type SitePanicButton = Static<typeof PanicButtonSchema>;
export type SiteAlarmSettings = Static<typeof AlarmSettingsSchema>;
export type SiteThreatLevel = Static<typeof ThreatLevelSchema>;
/** After parsing, every credential has an id; validFrom/validUntil are normalised to UTC ISO strings. */
export type SiteCredential = Static<typeof CredentialSchema> & { id: string };
export type SiteCardholder = Omit<Static<typeof CardholderSchema>, 'credentials'> & { credentials: SiteCredential[] };
export type SiteData = Omit<Static<typeof SiteDataSchema>, 'cardholders'> & { cardholders: SiteCardholder[] };
export type SiteSchedule = Static<typeof ScheduleSchema>;
export type SiteAccessLevel = Static<typeof AccessLevelSchema>;
export type SiteArea = Static<typeof AreaSchema>;
export type SiteWiegandFormat = Static<typeof WiegandFormatSchema>;

/** Where a device is wired when it is not on guardpost's own MQTT topics (stored as JSON). */
export type DeviceBinding = {
  -readonly [K in 'bus' | 'address' | 'pin' | 'wiegandPins' | 'activeLow' | 'debounceMs' | 'topic' | 'linePattern' | 'secureChannel' | 'osdpKey' | 'osdpInstall' | 'tamperPin']?: SiteDevice[K];
};
export const BINDING_FIELDS = ['bus', 'address', 'pin', 'wiegandPins', 'activeLow', 'debounceMs', 'topic', 'linePattern', 'secureChannel', 'osdpKey', 'osdpInstall', 'tamperPin'] as const;
