import type { Actor } from '../doors/actor.js';
import type { LockdownTarget } from '../doors/lockdown.js';
import type { DoorService } from '../doors/service.js';
import { GuardpostError, isGuardpostError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { MqttTransport } from '../transports/mqtt.js';
import type { Safety } from './safety.js';
import { alarmView } from './service.js';

export interface BridgeDeps {
  readonly transport: MqttTransport;
  readonly prefix: string;
  readonly safety: Safety;
  readonly doors: DoorService;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

type Request = Readonly<Record<string, unknown>>;
type Handler = (request: Request, actor: Actor) => unknown;

const MAX_REQUEST_BYTES = 16 * 1024;

/**
 * Door, alarm, drill and threat-level commands over MQTT: `<prefix>/bridge/request/<verb>` →
 * `<prefix>/bridge/response/<verb>` as `{status, data, error, transaction}`. The embedded broker
 * only takes requests from configured operators whose `by` is their own login [SAFE-AUDIT].
 */
export class SafetyBridge {
  private readonly handlers: ReadonlyMap<string, Handler>;

  constructor(private readonly deps: BridgeDeps) {
    deps.metrics.define('guardpost_bridge_requests_total', 'MQTT bridge requests by verb and status');
    const { safety, doors } = deps;
    this.handlers = new Map<string, Handler>([
      ['door/unlock', (request, actor) => {
        const door = doorId(request, doors);
        doors.unlock(door, actor, optionalText(request, 'reason'));
        return doors.snapshot(door);
      }],
      ['door/lockdown', (request, actor) => ({ lockdown: safety.lockdown.lock(target(request, doors), actor, optionalText(request, 'reason')), lockedDownDoors: [...safety.lockdown.doors()].sort() })],
      ['door/release', (request, actor) => ({ released: safety.lockdown.release(target(request, doors), actor, optionalText(request, 'reason')), lockedDownDoors: [...safety.lockdown.doors()].sort() })],
      ['alarm/raise', (request, actor) => {
        const zone = optionalText(request, 'zone');
        if (zone !== null && !safety.zoneIds().includes(zone)) throw new GuardpostError('GP_ERR_BAD_REQUEST', `zone: no zone "${zone}"`);
        const door = optionalText(request, 'door');
        if (door !== null && !doors.has(door)) throw new GuardpostError('GP_ERR_BAD_REQUEST', `door: no door "${door}"`);
        return alarmView(safety.softwarePanic(actor, { zone, door, location: optionalText(request, 'location'), silent: request.silent === true }).alarm);
      }],
      ['alarm/acknowledge', (request, actor) => alarmView(safety.alarms.acknowledge(requiredText(request, 'alarm'), actor, optionalText(request, 'note') ?? ''))],
      ['alarm/clear', (request, actor) => alarmView(safety.alarms.clear(requiredText(request, 'alarm'), actor, requiredText(request, 'resolution')))],
      ['threat-level/set', (request, actor) => {
        safety.threat.set(requiredText(request, 'level'), actor, optionalText(request, 'reason'));
        return safety.threat.current();
      }],
      // An external system (a call-monitoring system flagging a threatening caller) raises the level but never lowers it.
      ['threat-level/raise', (request, actor) => {
        const changed = safety.raiseThreatLevel(requiredText(request, 'level'), actor, optionalText(request, 'reason'));
        return { ...safety.threat.current(), changed };
      }],
      ['drill/start', (request, actor) => {
        const durationMs = request.durationMs;
        if (typeof durationMs !== 'number' || !Number.isInteger(durationMs) || durationMs < 60_000 || durationMs > 86_400_000) {
          throw new GuardpostError('GP_ERR_BAD_REQUEST', 'durationMs: expected an integer from 60000 to 86400000');
        }
        const drill = safety.alarms.startDrill(actor, durationMs);
        return { running: true, until: new Date(drill.untilMs).toISOString() };
      }],
      ['drill/stop', (_request, actor) => {
        safety.alarms.endDrill(actor);
        return { running: false };
      }],
    ]);
  }

  async start(): Promise<void> {
    await this.deps.transport.subscribe(`${this.deps.prefix}/bridge/request/#`, (topic, payload) => this.onRequest(topic, payload));
  }

  private onRequest(topic: string, payload: Buffer): void {
    const verb = topic.slice(`${this.deps.prefix}/bridge/request/`.length);
    let transaction: unknown = null;
    let status: 'ok' | 'error' = 'ok';
    let data: unknown = null;
    let error: { code: string; message: string } | null = null;
    try {
      const request = parse(payload);
      transaction = request.transaction ?? null;
      const handler = this.handlers.get(verb);
      if (handler === undefined) throw new GuardpostError('GP_ERR_NOT_FOUND', `unknown request "${verb.slice(0, 100)}" (known: ${[...this.handlers.keys()].join(', ')})`);
      const by = request.by;
      if (by !== undefined && (typeof by !== 'string' || by.length === 0 || by.length > 64)) throw new GuardpostError('GP_ERR_BAD_REQUEST', 'by: expected who is asking, 1 to 64 characters');
      data = handler(request, { via: 'mqtt', by: typeof by === 'string' ? by : null }) ?? null;
    } catch (caught) {
      status = 'error';
      error = isGuardpostError(caught) ? { code: caught.code, message: caught.message } : { code: 'GP_ERR_INTERNAL', message: 'internal error' };
      if (!isGuardpostError(caught)) this.deps.logger.error({ err: caught, verb }, 'bridge request failed');
      else this.deps.logger.warn({ verb, code: caught.code }, `bridge request refused: ${caught.message}`);
    }
    this.deps.metrics.increment('guardpost_bridge_requests_total', { verb: this.handlers.has(verb) ? verb : 'unknown', status });
    this.deps.transport.publish(`${this.deps.prefix}/bridge/response/${this.handlers.has(verb) ? verb : 'error'}`, JSON.stringify({ status, data, error, transaction }), { qos: 1 });
  }
}

function parse(payload: Buffer): Request {
  if (payload.byteLength > MAX_REQUEST_BYTES) throw new GuardpostError('GP_ERR_BAD_REQUEST', `request larger than ${MAX_REQUEST_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new GuardpostError('GP_ERR_BAD_REQUEST', 'request is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new GuardpostError('GP_ERR_BAD_REQUEST', 'request: expected a JSON object');
  return value as Request;
}

function optionalText(request: Request, key: string): string | null {
  const value = request[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length === 0 || value.length > 2000) throw new GuardpostError('GP_ERR_BAD_REQUEST', `${key}: expected text of 1 to 2000 characters`);
  return value;
}

function requiredText(request: Request, key: string): string {
  const value = optionalText(request, key);
  if (value === null) throw new GuardpostError('GP_ERR_BAD_REQUEST', `${key}: required`);
  return value;
}

function doorId(request: Request, doors: DoorService): string {
  const door = requiredText(request, 'door');
  if (!doors.has(door)) throw new GuardpostError('GP_ERR_NOT_FOUND', `no door "${door}"`);
  return door;
}

/** `{door}`, `{zone}` or `{site: true}`. */
function target(request: Request, doors: DoorService): LockdownTarget {
  if (request.site === true) return { scope: 'site' };
  if (request.zone !== undefined) return { scope: 'zone', zone: requiredText(request, 'zone') };
  if (request.door !== undefined) return { scope: 'door', door: doorId(request, doors) };
  throw new GuardpostError('GP_ERR_BAD_REQUEST', 'expected one of door, zone or site: true');
}
