import type { CameraTriggerEvent } from '../config/siteSchema.js';
import { frigateEventRequest } from '../drivers/products.js';
import type { DeviceCommand } from '../drivers/types.js';
import type { Journal, JournalEvent } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { CameraRecord } from '../store/index.js';
import { digestAuthorization } from './httpAuth.js';

export interface CameraTriggerDeps {
  readonly journal: Journal;
  readonly logger: Logger;
  readonly command: (deviceId: string, command: DeviceCommand, onSent?: (error?: Error) => void) => void;
  /** Zones a door belongs to. */
  readonly zonesOfDoor: (doorId: string) => readonly string[];
  readonly fetch?: typeof fetch;
  /** Attempts per trigger, and the pause before the second (doubling after). */
  readonly attempts?: number;
  readonly retryDelayMs?: number;
  readonly timeoutMs?: number;
}

export interface Trigger {
  readonly reason: CameraTriggerEvent;
  readonly door: string | null;
  readonly zone: string | null;
  readonly alarm: string | null;
  readonly drill: boolean;
  readonly event: JournalEvent;
}

/** Which trigger, if any, a journalled event is. */
export function triggerOf(event: JournalEvent): Trigger | undefined {
  const data = event.data;
  const base = { door: event.door, zone: typeof data.zone === 'string' ? data.zone : null, alarm: typeof data.alarm === 'string' ? data.alarm : null, drill: data.drill === true, event };
  switch (event.type) {
    case 'alarm.raised':
      // A tamper alarm fires only cameras set `on: [tamper]`: a pried reader is not a panic.
      return data.kind === 'duress' ? { ...base, reason: 'duress' } : data.kind === 'tamper' ? { ...base, reason: 'tamper' } : { ...base, reason: 'panic' };
    case 'door.forced':
      return { ...base, reason: 'forced' };
    case 'door.held':
      return { ...base, reason: 'held' };
    case 'access.watchlist':
      return { ...base, reason: 'watchlist' };
    default:
      // A watch-list match is flagged on the event by whoever decides it (access rules, visitors).
      return data.watchlist === true && !event.type.startsWith('camera.') ? { ...base, reason: 'watchlist' } : undefined;
  }
}

/**
 * Fires the cameras bound to an event's door or zone, off the critical path: the journal tells us
 * after the fact, requests retry briefly, and each outcome is journalled.
 */
export class CameraTriggers {
  private cameras: readonly CameraRecord[] = [];

  constructor(private readonly deps: CameraTriggerDeps) {}

  load(cameras: readonly CameraRecord[]): void {
    this.cameras = cameras;
  }

  /** Journal listener: never throws, never waits. */
  onEvent(event: JournalEvent): void {
    const trigger = triggerOf(event);
    if (trigger === undefined) return;
    const zones = new Set(trigger.door === null ? [] : this.deps.zonesOfDoor(trigger.door));
    if (trigger.zone !== null) zones.add(trigger.zone);
    for (const camera of this.cameras) {
      if (!camera.on.includes(trigger.reason)) continue;
      const bound = (trigger.door !== null && camera.doors.includes(trigger.door)) || camera.zones.some((zone) => zones.has(zone));
      if (!bound) continue;
      // Deferred so the event that caused it is fully recorded (and its transaction committed) first.
      setImmediate(() => {
        this.fire(camera, trigger).catch((error: unknown) => this.deps.logger.error({ err: error, camera: camera.id }, 'camera trigger crashed'));
      });
    }
  }

  async fire(camera: CameraRecord, trigger: Trigger): Promise<void> {
    const attempts = this.deps.attempts ?? 3;
    let delayMs = this.deps.retryDelayMs ?? 250;
    let lastError = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const detail = await this.send(camera, trigger);
        this.record('camera.triggered', camera, trigger, { attempts: attempt, ...detail });
        return;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
        if (attempt < attempts) {
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          delayMs *= 2;
        }
      }
    }
    this.deps.logger.warn({ camera: camera.id, reason: trigger.reason, error: lastError }, 'camera trigger failed');
    this.record('camera.failed', camera, trigger, { attempts, error: lastError.slice(0, 300) });
  }

  private record(type: 'camera.triggered' | 'camera.failed', camera: CameraRecord, trigger: Trigger, extra: Record<string, unknown>): void {
    this.deps.journal.append({
      type,
      door: trigger.door,
      device: camera.device ?? null,
      reason: trigger.reason,
      data: { camera: camera.id, kind: camera.kind, alarm: trigger.alarm, zone: trigger.zone, drill: trigger.drill, cause: trigger.event.id, ...extra },
    });
  }

  private async send(camera: CameraRecord, trigger: Trigger): Promise<Record<string, unknown>> {
    switch (camera.kind) {
      case 'mqtt': {
        const device = camera.device;
        if (device === undefined) throw new Error('no device to send the trigger to');
        await new Promise<void>((resolve, reject) => {
          this.deps.command(device, { type: 'camera', action: 'trigger', reason: trigger.reason }, (error) => (error === undefined ? resolve() : reject(error)));
        });
        return {};
      }
      case 'frigate': {
        // The request is the Frigate profile's command (devices/frigate-nvr.yaml checks it).
        const request = frigateEventRequest(base(camera), camera.camera ?? camera.id, camera.label, trigger.door ?? trigger.zone ?? trigger.reason, camera.durationS);
        return this.request(camera, request.url, request.method, request.body);
      }
      case 'axis': {
        const url = `${base(camera)}/axis-cgi/virtualinput/activate.cgi?schemaversion=1&port=${camera.port}`;
        return this.request(camera, url, 'GET', undefined);
      }
      case 'http':
        return this.request(camera, camera.url ?? '', camera.method, {
          reason: trigger.reason,
          door: trigger.door,
          zone: trigger.zone,
          alarm: trigger.alarm,
          drill: trigger.drill,
          event: trigger.event.id,
          time: trigger.event.time,
          durationS: camera.durationS,
        });
      default: {
        const unreachable: never = camera.kind;
        throw new Error(`unknown camera kind ${String(unreachable)}`);
      }
    }
  }

  private async request(camera: CameraRecord, rawUrl: string, method: string, body: unknown): Promise<Record<string, unknown>> {
    const url = new URL(rawUrl);
    const headers: Record<string, string> = {};
    // Credentials may be written in the URL; fetch refuses them there, so they move to a header.
    const credentials = url.username !== '' || url.password !== '' ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } : undefined;
    url.username = '';
    url.password = '';
    if (credentials !== undefined) headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const send = async (): Promise<Response> => {
      const answer = await (this.deps.fetch ?? fetch)(url, {
        method,
        headers,
        body: body === undefined || method === 'GET' ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.deps.timeoutMs ?? 2_000),
      });
      // Drain the body so the connection is released.
      await answer.arrayBuffer().catch(() => undefined);
      return answer;
    };
    let response = await send();
    const challenge = response.headers.get('www-authenticate');
    if (response.status === 401 && credentials !== undefined && challenge !== null) {
      const digest = digestAuthorization(challenge, method, `${url.pathname}${url.search}`, credentials.username, credentials.password);
      if (digest !== undefined) {
        headers.authorization = digest;
        response = await send();
      }
    }
    if (!response.ok) throw new Error(`${camera.kind} answered ${response.status} ${response.statusText}`);
    return { status: response.status };
  }
}

function base(camera: CameraRecord): string {
  return (camera.url ?? '').replace(/\/+$/, '');
}
