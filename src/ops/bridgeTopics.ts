import os from 'node:os';
import type { Journal, JournalEvent } from '../journal/index.js';
import { logTap, type LogLine } from '../logger.js';
import type { SiteRuntime } from '../site/runtime.js';
import type { MqttTransport } from '../transports/mqtt.js';

/**
 * The bridge topics in zigbee2mqtt's manner, beside `guardpost/bridge/state` and the request /
 * response pairs: `bridge/info` (retained: what runs here), `bridge/devices` (retained: the
 * site's devices, republished when site data changes), `bridge/event` (devices coming and going,
 * site changes) and `bridge/logging` (warnings and errors, as they are logged).
 */
export interface BridgeTopicsDeps {
  readonly transport: MqttTransport;
  readonly journal: Journal;
  readonly runtime: SiteRuntime;
  readonly prefix: string;
  readonly info: () => Record<string, unknown>;
}

export type BridgeEventType = 'device_online' | 'device_offline' | 'device_tamper' | 'site_changed';

const PINO_LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'error' };

export class BridgeTopics {
  private unsubscribe: (() => void)[] = [];

  constructor(private readonly deps: BridgeTopicsDeps) {}

  start(): void {
    this.publishInfo();
    this.publishDevices();
    this.unsubscribe.push(this.deps.journal.onAppend((event) => this.onEvent(event)));
    this.unsubscribe.push(logTap.listen((line) => this.onLog(line)));
  }

  stop(): void {
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
  }

  private topic(name: string): string {
    return `${this.deps.prefix}/bridge/${name}`;
  }

  publishInfo(): void {
    const info = { ...this.deps.info(), gateway: os.hostname() };
    this.deps.transport.publish(this.topic('info'), JSON.stringify(info), { qos: 1, retain: true });
  }

  publishDevices(): void {
    const { site } = this.deps.runtime;
    const doorsOf = new Map<string, string[]>();
    for (const door of site.doors.values()) {
      for (const deviceId of [door.readerDeviceId, door.strikeDeviceId]) if (deviceId !== null) doorsOf.set(deviceId, [...(doorsOf.get(deviceId) ?? []), door.id]);
    }
    const devices = [...site.devices.values()].map((device) => ({
      id: device.id,
      friendly_name: device.name ?? device.id,
      kind: device.kind,
      driver: device.driver,
      location: device.location ?? null,
      doors: doorsOf.get(device.id) ?? [],
    }));
    this.deps.transport.publish(this.topic('devices'), JSON.stringify(devices), { qos: 1, retain: true });
  }

  private event(type: BridgeEventType, data: Record<string, unknown>): void {
    this.deps.transport.publish(this.topic('event'), JSON.stringify({ type, data }), { qos: 1 });
  }

  private onEvent(event: JournalEvent): void {
    switch (event.type) {
      case 'device.online':
        return this.event('device_online', { id: event.device });
      case 'device.offline':
        return this.event('device_offline', { id: event.device, detail: event.data.detail ?? null });
      case 'device.tamper':
        return this.event('device_tamper', { id: event.device });
      case 'config.changed':
        this.event('site_changed', { by: event.data.by ?? null, what: event.data.what ?? null });
        return this.publishDevices();
      default:
        return;
    }
  }

  private onLog(line: LogLine): void {
    const { level, msg, time, ...rest } = line;
    // A failed publish of a log line must not log its way into another one.
    if (rest.topic === this.topic('logging')) return;
    const message = typeof msg === 'string' ? msg : '';
    this.deps.transport.publish(
      this.topic('logging'),
      JSON.stringify({ level: PINO_LEVELS[level] ?? 'error', message, module: typeof rest.module === 'string' ? rest.module : null, time: typeof time === 'number' ? new Date(time).toISOString() : null }),
      { qos: 0 },
    );
  }
}
