import { Type, type Static } from '@sinclair/typebox';
import { Id, Strict, Text } from './common.js';
import type { Problem } from './validate.js';
import { isPlainObject } from './validate.js';

/** Severities in rising order; the same list as the journal's (config imports nothing of ours). */
const SeverityLiterals = ['info', 'low', 'medium', 'high', 'critical'] as const;

/**
 * `forwarders:` in the gateway config: the incident-system destinations every security event is
 * delivered to, each from its own durable cursor. Secrets are marked so they never appear in errors.
 */
export const ForwarderSchema = Strict({
  id: Id(),
  kind: Type.Union([Type.Literal('webhook'), Type.Literal('mqtt'), Type.Literal('pagerduty'), Type.Literal('syslog')]),
  /** A disabled destination keeps its cursor but no longer holds journal retention back. */
  enabled: Type.Boolean({ default: true }),
  /** webhook: http(s)://…; mqtt: mqtt(s)://…; pagerduty: the Events API base (https://events.pagerduty.com); syslog: tcp:// or tls://host:port. */
  url: Text(),
  /** webhook: the Standard Webhooks signing secret (`whsec_<base64>` or any text). */
  secret: Type.Optional(Type.String({ minLength: 1, secret: true })),
  /** pagerduty: the integration's routing key. */
  routingKey: Type.Optional(Type.String({ minLength: 1, secret: true })),
  /** mqtt: login at the central broker. */
  username: Type.Optional(Type.String()),
  password: Type.Optional(Type.String({ secret: true })),
  /** syslog over tls://: a CA certificate (PEM) to trust besides the system's, for a private SIEM CA. */
  caFile: Type.Optional(Text()),
  /** mqtt: the gateway's name in `guardpost/<site>/<gateway>/events/<type>`. */
  gateway: Type.Optional(Id()),
  filter: Strict(
    {
      /** Empty = every type. `alarm` or `alarm.*` matches every alarm type; `access.denied` one type. */
      types: Type.Array(Type.String({ pattern: '^[a-z_]+(\\.([a-z_]+|\\*))?$', expected: 'an event type such as access.denied, alarm or alarm.*' }), { default: [] }),
      minSeverity: Type.Union(SeverityLiterals.map((s) => Type.Literal(s)), { default: 'info' }),
    },
    { default: {} },
  ),
  /** Events per request (webhook batches; 1 = one event per POST). */
  batchSize: Type.Integer({ minimum: 1, maximum: 1000, default: 1 }),
  timeoutMs: Type.Integer({ minimum: 100, maximum: 300_000, default: 10_000 }),
  /** Retry backoff: doubles from initialBackoffMs up to maxBackoffMs, with full jitter. */
  initialBackoffMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 1_000 }),
  maxBackoffMs: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 300_000 }),
  /** After failing this long, a `forwarder.failing` event is journalled (and forwarded elsewhere). */
  failingAfterMs: Type.Integer({ minimum: 0, default: 60_000 }),
});

export type ForwarderConfig = Static<typeof ForwarderSchema>;

const URL_SCHEMES: Record<ForwarderConfig['kind'], readonly string[]> = {
  webhook: ['http:', 'https:'],
  mqtt: ['mqtt:', 'mqtts:', 'ws:', 'wss:'],
  pagerduty: ['http:', 'https:'],
  syslog: ['tcp:', 'tls:'],
};

/** What the schema cannot say: unique ids, the URL scheme per kind, the keys each kind needs. */
export function forwarderProblems(config: unknown): Problem[] {
  const list = isPlainObject(config) ? config.forwarders : undefined;
  if (!Array.isArray(list)) return [];
  const problems: Problem[] = [];
  const seen = new Set<string>();
  list.forEach((item: unknown, i) => {
    if (!isPlainObject(item)) return;
    const at = `forwarders[${i}]`;
    if (typeof item.id === 'string') {
      if (seen.has(item.id)) problems.push({ path: `${at}.id`, message: `duplicate forwarder id "${item.id}"` });
      seen.add(item.id);
    }
    const kind = item.kind as ForwarderConfig['kind'];
    const schemes = URL_SCHEMES[kind] as readonly string[] | undefined;
    if (schemes !== undefined && typeof item.url === 'string') {
      let protocol: string | undefined;
      try {
        protocol = new URL(item.url).protocol;
      } catch {
        protocol = undefined;
      }
      // The URL may hold credentials: name the scheme, never echo the URL.
      if (protocol === undefined) problems.push({ path: `${at}.url`, message: `expected a URL (${schemes.map((s) => `${s}//…`).join(', ')})` });
      else if (!schemes.includes(protocol)) problems.push({ path: `${at}.url`, message: `a ${kind} forwarder needs ${schemes.map((s) => `${s}//…`).join(' or ')}, got ${protocol}//…` });
    }
    if (kind === 'webhook' && item.secret === undefined) problems.push({ path: `${at}.secret`, message: 'required for a webhook: receivers verify the signature' });
    if (kind === 'pagerduty' && item.routingKey === undefined) problems.push({ path: `${at}.routingKey`, message: 'required for pagerduty' });
    if (kind !== 'webhook' && typeof item.batchSize === 'number' && item.batchSize !== 1) {
      problems.push({ path: `${at}.batchSize`, message: `only webhooks send batches; a ${kind} forwarder sends one event per message` });
    }
    if (typeof item.initialBackoffMs === 'number' && typeof item.maxBackoffMs === 'number' && item.maxBackoffMs < item.initialBackoffMs) {
      problems.push({ path: `${at}.maxBackoffMs`, message: `must be ≥ initialBackoffMs (${item.initialBackoffMs})` });
    }
  });
  return problems;
}
