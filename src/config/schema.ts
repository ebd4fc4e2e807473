import { Type, type Static } from '@sinclair/typebox';
import { Id, Port, Strict, Text } from './common.js';
import { ForwarderSchema } from './forwardersSchema.js';
import { CONFIG_VERSION } from './configVersions.js';
import { MqttTlsSchema, MqttWebSocketSchema } from './mqttListeners.js';
import { HomeAssistantSchema } from './homeAssistantSchema.js';

/**
 * The gateway config file: process and hardware settings only (site data lives in SQLite).
 * Defaulted keys are declared required and filled in by the validator before checking, so
 * Static<> already has them non-optional.
 */

export const LogLevelSchema = Type.Union(
  [
    Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'),
    Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent'),
  ],
  { default: 'info' },
);

export const MqttUrl = Type.String({
  pattern: '^(mqtt|mqtts|ws|wss)://\\S+$',
  expected: 'a URL starting with mqtt://, mqtts://, ws:// or wss://',
});

export const SerialBusSchema = Strict({
  id: Id(),
  /** e.g. /dev/ttyUSB0 or a stable /dev/serial/by-id/... link. */
  path: Text(),
  baudRate: Type.Integer({ minimum: 300, maximum: 921_600, default: 9600 }),
  dataBits: Type.Union([Type.Literal(7), Type.Literal(8)], { default: 8 }),
  parity: Type.Union([Type.Literal('none'), Type.Literal('even'), Type.Literal('odd')], { default: 'none' }),
  stopBits: Type.Union([Type.Literal(1), Type.Literal(2)], { default: 1 }),
  /** RS-485 half duplex: the driver lets one request be on the wire at a time (OSDP). */
  rs485: Type.Boolean({ default: false }),
  /** With rs485, a port refusing the kernel's RS-485 mode (TIOCSRS485) is not used; false runs it plain (auto-direction adapters). */
  rs485Required: Type.Boolean({ default: true }),
  /** Reopen backoff after the port disappears: doubles from min to max. */
  reopenMinMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 250 }),
  reopenMaxMs: Type.Integer({ minimum: 10, maximum: 600_000, default: 5_000 }),
});

export const GpioSchema = Strict({
  /**
   * The gpiochip label whose lines are the header's BCM numbers; default: the first chip whose
   * label is a Raspberry Pi header controller (pinctrl-bcm2711, pinctrl-bcm2835, pinctrl-rp1).
   */
  chipLabel: Type.Optional(Text()),
  /** The sysfs GPIO class directory (tests point it elsewhere). */
  sysfsRoot: Text({ default: '/sys/class/gpio' }),
});

export const ConfigSchema = Strict({
  /** The layout version of this file (see src/config/configVersions.ts); older ones are migrated in memory. */
  version: Type.Integer({ minimum: 1, maximum: CONFIG_VERSION, default: CONFIG_VERSION }),
  /** Demo devices may log in with password "demo"; anonymous read-only MQTT and HTTP reads. */
  demo: Type.Boolean({ default: false }),
  /** Relative to the config file's directory. */
  stateDir: Text({ default: './var' }),
  /** Site data imported into the store on first start; relative to the config file's directory. */
  siteFile: Type.Optional(Text()),
  log: Strict({ level: LogLevelSchema }, { default: {} }),
  mqtt: Strict(
    {
      mode: Type.Union([Type.Literal('embedded'), Type.Literal('external')], { default: 'embedded' }),
      prefix: Id({ default: 'guardpost' }),
      host: Text({ default: '0.0.0.0' }),
      port: Port({ default: 1883 }),
      url: Type.Optional(MqttUrl),
      username: Type.Optional(Type.String()),
      password: Type.Optional(Type.String({ secret: true })),
      clientId: Type.Optional(Text()),
      /** People and systems that send bridge requests (guardpost/bridge/request/<verb>) to the embedded broker. */
      operators: Type.Array(
        Strict({
          username: Id(),
          passwordHash: Type.String({ pattern: '^\\$argon2', expected: 'an argon2 hash starting with "$argon2"', secret: true }),
          /** The bridge requests (verbs, e.g. threat-level/raise) this login may send; omitted = all. */
          requests: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z-]+/[a-z-]+$', expected: 'a bridge verb like "threat-level/raise"' }))),
        }),
        { default: [] },
      ),
      /**
       * Products whose one MQTT client speaks for many devices (a zigbee2mqtt instance, a Frigate
       * NVR): each logs in with its own password and may publish and subscribe under its prefix only.
       */
      productBridges: Type.Array(
        Strict({
          username: Id(),
          passwordHash: Type.String({ pattern: '^\\$argon2', expected: 'an argon2 hash starting with "$argon2"', secret: true }),
          product: Type.Union([Type.Literal('zigbee2mqtt'), Type.Literal('frigate')]),
          /** zigbee2mqtt's base_topic or Frigate's topic_prefix when not the default. */
          prefix: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$', expected: 'a topic prefix without wildcards, e.g. zigbee2mqtt' })),
        }),
        { default: [] },
      ),
      /** What the embedded broker allows one client (see src/transports/mqttGuard.ts for why). */
      limits: Strict(
        {
          maxPacketBytes: Type.Integer({ minimum: 1_024, maximum: 268_435_455, default: 65_536 }),
          connectTimeoutMs: Type.Integer({ minimum: 1_000, default: 10_000 }),
          maxClients: Type.Integer({ minimum: 1, default: 512 }),
          connectionsPerAddressPerMinute: Type.Integer({ minimum: 1, default: 120 }),
          failedLoginsPerAddress: Type.Integer({ minimum: 1, default: 10 }),
          maxSubscriptionsPerClient: Type.Integer({ minimum: 1, default: 32 }),
          maxTopicBytes: Type.Integer({ minimum: 16, maximum: 65_535, default: 512 }),
          maxTopicLevels: Type.Integer({ minimum: 2, maximum: 100, default: 16 }),
          maxQueuedPerClient: Type.Integer({ minimum: 1, default: 64 }),
        },
        { default: {} },
      ),
      /** The plain (unencrypted) listener on host:port; false turns it off once TLS is set up. */
      plain: Type.Boolean({ default: true }),
      /** MQTT over TLS for devices that support it (see src/config/mqttListeners.ts). */
      tls: Type.Optional(MqttTlsSchema),
      /** MQTT over WebSocket (ws:// or wss://) for browser and cloud clients. */
      websocket: Type.Optional(MqttWebSocketSchema),
    },
    { default: {} },
  ),
  http: Strict(
    {
      host: Text({ default: '127.0.0.1' }),
      port: Port({ default: 8080 }),
      /** Requests per minute per caller for each kind of route; 0 switches that limit off. */
      rateLimits: Strict(
        {
          readPerMinute: Type.Integer({ minimum: 0, default: 3_000 }),
          writePerMinute: Type.Integer({ minimum: 0, default: 300 }),
          exportPerMinute: Type.Integer({ minimum: 0, default: 30 }),
        },
        { default: {} },
      ),
      /** HTTPS: PEM files, relative to this config file. Without it the API speaks plain HTTP. */
      tls: Type.Optional(Strict({ certFile: Text(), keyFile: Text() })),
      /** Browsers on these origins may call the API (CORS). Off (none) by default. */
      cors: Type.Optional(Strict({ origins: Type.Array(Type.String({ pattern: '^https?://[^/\\s]+$', expected: 'an origin like https://console.example.com (no path)' }), { default: [] }) })),
    },
    { default: {} },
  ),
  /** How long the journal keeps events; never longer than it takes every enabled forwarder to deliver them. */
  journal: Strict(
    {
      retentionDays: Type.Integer({ minimum: 0, default: 0 }),
      maxEvents: Type.Integer({ minimum: 0, default: 0 }),
      pruneIntervalMs: Type.Integer({ minimum: 1_000, default: 3_600_000 }),
    },
    { default: {} },
  ),
  /** Incident-system destinations: every security event is delivered to each, from its own cursor. */
  forwarders: Type.Array(ForwarderSchema, { default: [] }),
  /** Serial buses (USB adapters, RS-485 lines) that devices in the site data name by id. */
  serial: Type.Optional(Strict({ buses: Type.Array(SerialBusSchema, { default: [] }) })),
  /** Where the GPIO header lives; see src/transports/gpio.ts for how the chip is found. */
  gpio: Type.Optional(GpioSchema),
  /**
   * Scheduled backups of the state directory (one file each: database and PIN key; see
   * docs/operations.md). The newest `keep` are kept; 0 minutes turns the schedule off.
   */
  backup: Strict(
    {
      /** Relative to the state directory. */
      dir: Text({ default: 'backups' }),
      intervalMinutes: Type.Integer({ minimum: 0, maximum: 525_600, default: 1_440 }),
      keep: Type.Integer({ minimum: 1, maximum: 1_000, default: 7 }),
    },
    { default: {} },
  ),
  /** Home Assistant MQTT discovery; off by default (see src/config/homeAssistantSchema.ts). */
  homeAssistant: HomeAssistantSchema,
});

type RawConfig = Static<typeof ConfigSchema>;

/** The config after defaults; clientId is always filled (guardpost-<prefix>). */
export type GatewayConfig = Omit<RawConfig, 'mqtt'> & { mqtt: RawConfig['mqtt'] & { clientId: string } };
