import { Type, type Static } from '@sinclair/typebox';
import { Id, Port, Strict, Text } from './common.js';
import { ForwarderSchema } from './forwardersSchema.js';

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

export const ConfigSchema = Strict({
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
        }),
        { default: [] },
      ),
    },
    { default: {} },
  ),
  http: Strict({ host: Text({ default: '127.0.0.1' }), port: Port({ default: 8080 }) }, { default: {} }),
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
});

type RawConfig = Static<typeof ConfigSchema>;

/** The config after defaults; clientId is always filled (guardpost-<prefix>). */
export type GatewayConfig = Omit<RawConfig, 'mqtt'> & { mqtt: RawConfig['mqtt'] & { clientId: string } };
