import os from 'node:os';
import type { ForwarderConfig } from '../config/forwardersSchema.js';
import { GuardpostError } from '../errors.js';
import { Outbox, type Journal } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { DeliveryLoop, type ForwarderStatus } from './loop.js';
import type { Destination, Origin } from './types.js';
import { MqttUplinkDestination } from './mqttUplink.js';
import { PagerDutyDestination } from './pagerduty.js';
import { SyslogDestination } from './syslog.js';
import { WebhookDestination } from './webhook.js';

export type { ForwarderStatus } from './loop.js';

export interface ResendResult {
  readonly forwarder: string;
  /** The first event that will be sent again (after retention, possibly later than asked). */
  readonly fromSeq: number;
  /** Where the cursor was. */
  readonly previousCursorSeq: number;
  /** How many journalled events are now queued again for this destination. */
  readonly events: number;
}

export interface ForwardersDeps {
  readonly configs: readonly ForwarderConfig[];
  readonly journal: Journal;
  readonly site: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: () => number;
  /** Leave the loops idle until `start()` (the gateway starts them once everything else is up). */
  readonly deferStart?: boolean;
}

/** All configured destinations, each with its own loop and cursor. */
export interface Forwarders {
  statuses(): ForwarderStatus[];
  status(id: string): ForwarderStatus | undefined;
  /** Resolves once the destination has dealt with every event journalled so far. */
  caughtUp(id: string): Promise<void>;
  /** Every event up to this seq is dealt with by every enabled destination: retention may drop it. */
  deliveredSeq(): number;
  /**
   * Moves a destination's cursor back so it gets every journalled event from `fromSeq` on again.
   * Call inside the transaction that audits it. Refuses to move a cursor forward (that would skip).
   */
  resend(id: string, from: { fromSeq: number } | { fromTimeMs: number }): ResendResult;
  /** Starts the delivery loops (only needed with `deferStart`; calling it again does nothing). */
  start(): void;
  stop(): Promise<void>;
}

/** The gateway's name in CloudEvents sources and uplink topics: the host name, as an id. */
export function defaultGatewayName(): string {
  const name = os.hostname().toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return name === '' ? 'gateway' : name.slice(0, 64);
}

export function createDestination(config: ForwarderConfig, origin: Origin, clock: () => number, logger: Logger): Destination {
  switch (config.kind) {
    case 'webhook':
      return new WebhookDestination(config, origin, clock);
    case 'mqtt':
      return new MqttUplinkDestination(config, origin, logger);
    case 'pagerduty':
      return new PagerDutyDestination(config, origin, clock);
    case 'syslog':
      return new SyslogDestination(config, origin, logger);
    default: {
      const never: never = config.kind;
      throw new GuardpostError('GP_ERR_CONFIG_INVALID', `forwarders: unknown kind ${String(never)}`);
    }
  }
}

/** PagerDuty pages people: unless told otherwise it gets alarm-class events only, never badge traffic. */
export function effectiveConfig(config: ForwarderConfig): ForwarderConfig {
  if (config.kind !== 'pagerduty' || config.filter.types.length > 0) return config;
  return { ...config, filter: { ...config.filter, types: ['alarm', 'door.forced', 'access.duress'] } };
}

export function startForwarders(deps: ForwardersDeps): Forwarders {
  const outbox = new Outbox(deps.journal.db);
  for (const name of ['delivered', 'rejected', 'failures'] as const) {
    deps.metrics.define(`guardpost_forwarder_${name}_total`, `Events ${name === 'failures' ? 'delivery attempts failed (to be retried)' : name} per forwarder destination`);
  }
  const loops = new Map<string, DeliveryLoop>();
  const disabled = deps.configs.filter((config) => !config.enabled);
  for (const config of deps.configs) {
    if (!config.enabled) continue;
    const origin: Origin = { site: deps.site, gateway: config.gateway ?? defaultGatewayName() };
    const logger = deps.logger.child({ module: 'forwarders' });
    const destination = createDestination(config, origin, deps.clock, logger);
    const loop = new DeliveryLoop(destination, effectiveConfig(config), {
      outbox,
      append: (input) => deps.journal.append(input),
      logger,
      metrics: deps.metrics,
      clock: deps.clock,
    });
    loops.set(config.id, loop);
  }
  const unsubscribe = deps.journal.onAppend((event) => {
    for (const loop of loops.values()) loop.notify(event);
  });
  let started = false;
  const start = (): void => {
    if (started) return;
    started = true;
    for (const loop of loops.values()) loop.start();
  };
  if (deps.deferStart !== true) start();

  const disabledStatus = (config: ForwarderConfig): ForwarderStatus => {
    const cursor = outbox.cursor(config.id);
    const lag = outbox.lag(cursor.lastSeq);
    return {
      id: config.id,
      kind: config.kind,
      enabled: false,
      state: 'disabled',
      cursorSeq: cursor.lastSeq,
      lagEvents: lag.events,
      lagSeconds: lag.oldestMs === null ? 0 : Math.max(0, Math.round((deps.clock() - lag.oldestMs) / 1000)),
      lastSuccess: null,
      lastError: null,
      failingSince: null,
      delivered: 0,
      rejected: 0,
    };
  };

  const statuses = (): ForwarderStatus[] => [...[...loops.values()].map((loop) => loop.status()), ...disabled.map(disabledStatus)];
  return {
    start,
    statuses,
    status: (id) => statuses().find((status) => status.id === id),
    deliveredSeq: () => Math.min(...[...loops.values()].map((loop) => loop.cursorSeq)),
    resend: (id, from) => {
      const loop = loops.get(id);
      if (loop === undefined) {
        if (disabled.some((config) => config.id === id)) throw new GuardpostError('GP_ERR_CONFLICT', `forwarder ${id} is disabled in the config; enable it to resend`);
        throw new GuardpostError('GP_ERR_NOT_FOUND', `no forwarder ${id} in the config`);
      }
      const db = deps.journal.db;
      const previous = loop.cursorSeq;
      const asked =
        'fromSeq' in from
          ? from.fromSeq
          : db.prepare<[number], { seq: number | null }>('SELECT MIN(seq) AS seq FROM events WHERE time_ms >= ?').get(from.fromTimeMs)?.seq ?? null;
      if (asked === null) throw new GuardpostError('GP_ERR_BAD_REQUEST', `fromTime: no event was journalled at or after ${new Date((from as { fromTimeMs: number }).fromTimeMs).toISOString()}`);
      if (asked > previous + 1) {
        throw new GuardpostError('GP_ERR_BAD_REQUEST', `fromSeq: ${asked} is after what ${id} has been sent (up to seq ${previous}); resend only goes back, it never skips events`);
      }
      // Retention may have dropped the oldest events: resend what the journal still has.
      const oldest = db.prepare<[], { seq: number | null }>('SELECT MIN(seq) AS seq FROM events').get()?.seq ?? asked;
      const fromSeq = Math.max(asked, oldest);
      loop.rewind(fromSeq - 1);
      return { forwarder: id, fromSeq, previousCursorSeq: previous, events: outbox.lag(fromSeq - 1).events };
    },
    caughtUp: (id) => {
      const loop = loops.get(id);
      if (loop === undefined) return Promise.reject(new GuardpostError('GP_ERR_NOT_FOUND', `no running forwarder ${id}`));
      return loop.caughtUp();
    },
    stop: async () => {
      unsubscribe();
      await Promise.all([...loops.values()].map((loop) => loop.stop()));
    },
  };
}
