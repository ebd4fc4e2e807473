import { Type, type Static } from '@sinclair/typebox';
import { Id, Strict, Text } from './common.js';

/**
 * Site data: what facilities admins edit. Imported into SQLite on first start and by
 * `guardpost import`; the store is the source of truth afterwards.
 */

export const DEVICE_KINDS = ['reader', 'strike', 'panic-button', 'door-contact', 'exit-button', 'camera'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

/** Codec names a device may use (src/drivers/index.ts registers each; a unit test keeps them in step). */
export const DEVICE_DRIVERS = ['json', 'rdm6300', 'wiegand-line', 'serial-lines', 'serial-alarm', 'osdp', 'gpio-input', 'gpio-relay', 'gpio-wiegand', 'esp-rfid', 'zigbee2mqtt', 'tasmota', 'shelly-gen2', 'axis-camera', 'esphome-binary'] as const;
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
};

/** The device kinds each driver can serve. */
export const DRIVER_KINDS: Readonly<Record<DeviceDriver, readonly DeviceKind[]>> = {
  json: DEVICE_KINDS,
  rdm6300: ['reader'],
  'wiegand-line': ['reader'],
  'serial-lines': ['reader'],
  'serial-alarm': ['panic-button'],
  osdp: ['reader'],
  'gpio-input': ['panic-button', 'door-contact', 'exit-button'],
  'gpio-relay': ['strike', 'camera'],
  'gpio-wiegand': ['reader'],
  'esp-rfid': ['reader'],
  zigbee2mqtt: ['panic-button', 'exit-button', 'door-contact'],
  tasmota: ['strike'],
  'shelly-gen2': ['strike'],
  'axis-camera': ['camera'],
  'esphome-binary': ['panic-button', 'exit-button', 'door-contact'],
};

const DateTime = Type.String({ dateTime: true, expected: 'an ISO-8601 date-time' });

export const SiteInfoSchema = Strict({
  id: Id(),
  name: Text(),
  /** IANA zone; schedules are evaluated in it. Checked with Intl after the schema. */
  timezone: Text(),
});

export const DeviceSchema = Strict({
  id: Id(),
  name: Type.Optional(Text()),
  kind: Type.Union([
    Type.Literal('reader'), Type.Literal('strike'), Type.Literal('panic-button'),
    Type.Literal('door-contact'), Type.Literal('exit-button'), Type.Literal('camera'),
  ]),
  driver: Type.Union(DEVICE_DRIVERS.map((name) => Type.Literal(name)), { default: 'json' }),
  location: Type.Optional(Text()),
  /** MQTT login for the embedded broker. Never echoed: it may be a plaintext password by mistake. */
  passwordHash: Type.Optional(
    Type.String({ pattern: '^\\$argon2', expected: 'an argon2 hash starting with "$argon2"', secret: true }),
  ),
  // Binding to a transport other than guardpost's own MQTT topics (src/site/deviceBindings.ts).
  /** Serial bus id from the config file's serial.buses (serial drivers). */
  bus: Type.Optional(Id()),
  /** OSDP peripheral address on its bus (multi-drop). */
  address: Type.Optional(Type.Integer({ minimum: 0, maximum: 126 })),
  /** GPIO header pin as a BCM number (gpio-input, gpio-relay). */
  pin: Type.Optional(Type.Integer({ minimum: 0, maximum: 53 })),
  /** Wiegand reader wired to two GPIO inputs (gpio-wiegand), BCM numbers. */
  wiegandPins: Type.Optional(Strict({ data0: Type.Integer({ minimum: 0, maximum: 53 }), data1: Type.Integer({ minimum: 0, maximum: 53 }) })),
  /** Input or output is active when the line is low (pull-up wiring). Default false. */
  activeLow: Type.Optional(Type.Boolean()),
  /** A GPIO input must hold a new level this long before it counts. Default 20 ms. */
  debounceMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
  /** OSDP Secure Channel: `on` (default) when the reader supports it, `enforce` refuses plain text and raises tamper, `off`. */
  secureChannel: Type.Optional(Type.Union([Type.Literal('off'), Type.Literal('on'), Type.Literal('enforce')])),
  /** The reader's OSDP Secure Channel base key (SCBK), 32 hex digits; absent = the install-mode key SCBK-D. */
  osdpKey: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{32}$', expected: '32 hex digits (an AES-128 key)', secret: true })),
  /** Install mode: a reader still on SCBK-D is given osdpKey over Secure Channel. Turn it off once the reader is online. */
  osdpInstall: Type.Optional(Type.Boolean()),
  /** Generic line reader: a regular expression whose first capture group is the card number. */
  linePattern: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  /** The product's own name for the device in its MQTT topics (a zigbee2mqtt friendly name, a Tasmota topic). */
  topic: Type.Optional(Type.String({ pattern: '^[^#+$/][^#+]{0,199}$', expected: 'an MQTT topic level without wildcards, not starting with "$" or "/"' })),
});

export const DoorSchema = Strict({
  id: Id(),
  name: Text(),
  reader: Id(),
  strike: Id(),
  unlockMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 5000 }),
  mode: Type.Union([Type.Literal('card'), Type.Literal('locked')], { default: 'card' }),
});

export const GroupSchema = Strict({
  id: Id(),
  name: Text(),
  doors: Type.Array(Id(), { default: [] }),
});

export const CredentialSchema = Strict({
  /** Decimal digits kept as a string: leading zeros matter to readers. */
  card: Type.String({ pattern: '^[0-9]{1,20}$', expected: '1 to 20 decimal digits' }),
  /** Defaults to <cardholderId>-card-<index+1>. */
  id: Type.Optional(Id()),
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('lost')], { default: 'active' }),
  validFrom: Type.Optional(DateTime),
  validUntil: Type.Optional(DateTime),
});

export const CardholderSchema = Strict({
  id: Id(),
  name: Text(),
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended')], { default: 'active' }),
  groups: Type.Array(Id(), { default: [] }),
  credentials: Type.Array(CredentialSchema, { default: [] }),
});

export const SiteDataSchema = Strict({
  site: SiteInfoSchema,
  devices: Type.Array(DeviceSchema, { default: [] }),
  doors: Type.Array(DoorSchema, { default: [] }),
  groups: Type.Array(GroupSchema, { default: [] }),
  cardholders: Type.Array(CardholderSchema, { default: [] }),
});

export type SiteInfo = Static<typeof SiteInfoSchema>;
export type SiteDevice = Static<typeof DeviceSchema>;
export type SiteDoor = Static<typeof DoorSchema>;
export type SiteGroup = Static<typeof GroupSchema>;
/** After parsing, every credential has an id; validFrom/validUntil are normalised to UTC ISO strings. */
export type SiteCredential = Static<typeof CredentialSchema> & { id: string };
export type SiteCardholder = Omit<Static<typeof CardholderSchema>, 'credentials'> & { credentials: SiteCredential[] };
export type SiteData = Omit<Static<typeof SiteDataSchema>, 'cardholders'> & { cardholders: SiteCardholder[] };

/** Where a device is wired when it is not on guardpost's own MQTT topics (stored as JSON). */
export type DeviceBinding = {
  -readonly [K in 'bus' | 'address' | 'pin' | 'wiegandPins' | 'activeLow' | 'debounceMs' | 'topic' | 'linePattern' | 'secureChannel' | 'osdpKey' | 'osdpInstall']?: SiteDevice[K];
};
export const BINDING_FIELDS = ['bus', 'address', 'pin', 'wiegandPins', 'activeLow', 'debounceMs', 'topic', 'linePattern', 'secureChannel', 'osdpKey', 'osdpInstall'] as const;
