import type { DeviceCommand } from '../drivers/types.js';
import type { Actor } from '../doors/actor.js';
import { LockdownService } from '../doors/lockdown.js';
import type { DoorService } from '../doors/service.js';
import type { Timers } from '../doors/timers.js';
import type { Clock, Journal } from '../journal/index.js';
import type { JournalEvent } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { DeviceRecord, PanicButtonRecord, Store } from '../store/index.js';
import { CameraTriggers } from './cameras.js';
import type { Alarm } from './lifecycle.js';
import { AlarmService, type AlarmView } from './service.js';
import { Supervision } from './supervision.js';
import { ThreatService, threatLockdowns } from './threat.js';

export interface SafetyDeps {
  readonly store: Store;
  readonly journal: Journal;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly doors: DoorService;
  readonly command: (deviceId: string, command: DeviceCommand, onSent?: (error?: Error) => void) => void;
  readonly publishAlarm: (alarmId: string, view: AlarmView | null) => void;
  /** Publishes the live threat level and lockdowns to the access path. */
  readonly setConditions: (threatLevel: string, lockedDownDoors: ReadonlySet<string>) => void;
  readonly devices: () => ReadonlyMap<string, DeviceRecord>;
  /** Door id → its reader, for local sounders. */
  readonly readerOf: (doorId: string) => string | null;
  readonly fetch?: typeof fetch;
}

/**
 * Alarms, lockdowns, threat level, camera triggers and supervision, wired together. The site
 * runtime feeds it device signals; the API and MQTT bridge call its services.
 */
export class Safety {
  readonly alarms: AlarmService;
  readonly lockdown: LockdownService;
  readonly threat: ThreatService;
  readonly cameras: CameraTriggers;
  readonly supervision: Supervision;
  private zones = new Map<string, readonly string[]>();
  private zonesOfDoor = new Map<string, string[]>();
  private panicButtons = new Map<string, PanicButtonRecord>();
  /** threat-button device → the level its press raises the site to. */
  private threatButtons = new Map<string, string>();
  /** Devices whose tamper input is active now (the alarm outlives this: security must acknowledge). */
  private readonly tampered = new Set<string>();

  constructor(private readonly deps: SafetyDeps) {
    this.lockdown = new LockdownService({
      store: deps.store,
      journal: deps.journal,
      clock: deps.clock,
      timers: deps.timers,
      logger: deps.logger,
      zones: () => this.zones,
      doors: () => deps.doors.ids(),
      onChange: (doors) => {
        deps.doors.setLockdown(doors);
        this.publishConditions();
      },
    });
    this.threat = new ThreatService({
      store: deps.store,
      journal: deps.journal,
      clock: deps.clock,
      timers: deps.timers,
      logger: deps.logger,
      apply: (level, actor, reason) => {
        this.lockdown.setThreatLockdowns(threatLockdowns(level), actor, reason);
        this.publishConditions();
      },
    });
    this.alarms = new AlarmService({
      ...deps,
      onRaised: (alarm) => this.onRaised(alarm),
      onSettled: (alarm) => {
        this.sound(alarm, false);
        // Once security has cleared a tamper alarm, a device still (or again) reporting tamper raises a new one.
        if (alarm.kind === 'tamper' && alarm.state === 'cleared' && alarm.source.device !== null) this.tampered.delete(alarm.source.device);
      },
    });
    this.cameras = new CameraTriggers({ ...deps, zonesOfDoor: (doorId) => this.zonesOfDoor.get(doorId) ?? [] });
    this.supervision = new Supervision(deps);
    deps.metrics.define('guardpost_alarms_total', 'Alarms raised, by kind and whether in a drill');
    deps.metrics.define('guardpost_door_alarms_total', 'Doors forced or held open, by door and type');
    deps.metrics.define('guardpost_camera_triggers_total', 'Camera triggers by camera and outcome');
    deps.metrics.define('guardpost_device_trouble_total', 'Supervised devices that went silent, by device');
  }

  start(): void {
    this.load();
    this.deps.journal.onAppend((event) => {
      this.count(event);
      this.onDuress(event);
      this.cameras.onEvent(event);
    });
    this.lockdown.start();
    this.threat.start();
    this.alarms.start();
  }

  stop(): void {
    this.alarms.stop();
    this.lockdown.stop();
    this.threat.stop();
    this.supervision.stop();
  }

  /** Re-reads site data (zones, buttons, cameras, settings) after a change. */
  reload(): void {
    this.load();
    this.lockdown.reload();
    this.threat.reload();
    this.alarms.reload();
  }

  zoneIds(): string[] {
    return [...this.zones.keys()];
  }

  /** A panic button was pressed: an alarm at once [SAFE-PANIC]. */
  panic(device: DeviceRecord): Alarm {
    const button = this.panicButtons.get(device.id);
    return this.alarms.raise({
      kind: 'panic',
      source: { device: device.id, door: null, zone: button?.zoneId ?? null, location: device.location },
      sourceKey: `device:${device.id}`,
      silent: button?.silent ?? false,
      actor: { via: 'button', by: device.id },
    }).alarm;
  }

  /** A software panic button (an agent's desk, the console). */
  softwarePanic(actor: Actor, where: { zone: string | null; door: string | null; location: string | null; silent: boolean }): { alarm: Alarm; repeated: boolean } {
    return this.alarms.raise({
      kind: 'panic',
      source: { device: null, door: where.door, zone: where.zone, location: where.location },
      sourceKey: `software:${actor.by ?? actor.address ?? 'anonymous'}:${where.location ?? ''}`,
      silent: where.silent,
      actor,
    });
  }

  /** A duress credential at a door: a silent alarm, never a local buzzer [SAFE-DURESS]. */
  duress(doorId: string, readerDeviceId: string | null, cardholderId: string | null): Alarm {
    return this.alarms.raise({
      kind: 'duress',
      source: { device: readerDeviceId, door: doorId, zone: this.zonesOfDoor.get(doorId)?.[0] ?? null, location: null },
      sourceKey: `duress:${doorId}:${cardholderId ?? 'unknown'}`,
      silent: true,
      actor: { via: 'system', by: cardholderId },
    }).alarm;
  }

  /**
   * [SAFE-TAMPER] a tamper input (OSDP LSTATR, a tamper switch, a secure-channel downgrade): the
   * trouble is `device.tamper` on each change to tampered, and an alarm of kind `tamper` through
   * the usual lifecycle (a repeat while it is open adds to it). Restored clears the trouble
   * (`device.tamper_restored`) but never the alarm: someone must acknowledge and clear it.
   */
  tamper(device: DeviceRecord, state: 'tampered' | 'normal', doorId: string | null): Alarm | null {
    const { journal } = this.deps;
    if (state === 'normal') {
      if (this.tampered.delete(device.id)) journal.append({ type: 'device.tamper_restored', device: device.id, reason: 'tamper', data: { device: device.id, location: device.location } });
      return null;
    }
    if (this.tampered.has(device.id)) return null;
    this.tampered.add(device.id);
    journal.append({ type: 'device.tamper', device: device.id, door: doorId, reason: 'tamper', data: { device: device.id, kind: device.kind, location: device.location } });
    return this.alarms.raise({
      kind: 'tamper',
      source: { device: device.id, door: doorId, zone: doorId === null ? null : (this.zonesOfDoor.get(doorId)?.[0] ?? null), location: device.location },
      sourceKey: `tamper:${device.id}`,
      silent: false,
      actor: { via: 'system', by: device.id },
    }).alarm;
  }

  /**
   * Raises the threat level unless the site is already at it or higher; a request from a button
   * or an external system never lowers it [SAFE-THREAT]. Returns whether the level changed.
   */
  raiseThreatLevel(levelId: string, actor: Actor, reason: string | null): boolean {
    const wanted = this.threat.rank(levelId);
    if (wanted < 0) this.threat.set(levelId, actor, reason); // throws the usual "unknown threat level" error
    if (wanted <= this.threat.rank(this.threat.current().level)) return false;
    this.threat.set(levelId, actor, reason);
    return true;
  }

  /**
   * A threat button was pressed: the site goes to the button's level (never down) [SAFE-THREAT].
   * Returns false for a button no threat level names (the runtime reports it as bad input).
   */
  threatButton(device: DeviceRecord): boolean {
    const level = this.threatButtons.get(device.id);
    if (level === undefined) return false;
    const changed = this.raiseThreatLevel(level, { via: 'button', by: device.id }, device.location === null ? `button ${device.id}` : `button ${device.id} at ${device.location}`);
    if (!changed) this.deps.logger.info({ device: device.id, level }, 'threat button pressed; the site is already at that level or higher');
    return true;
  }

  /** Anything heard from a device keeps its supervision alive. */
  heardFrom(deviceId: string): void {
    this.supervision.seen(deviceId);
  }

  private load(): void {
    const { store } = this.deps;
    this.zones = new Map(store.safety.listZones().map((zone) => [zone.id, zone.doorIds]));
    this.zonesOfDoor = new Map();
    for (const [zone, doors] of this.zones) for (const door of doors) this.zonesOfDoor.set(door, [...(this.zonesOfDoor.get(door) ?? []), zone]);
    this.panicButtons = new Map(store.safety.listPanicButtons().map((button) => [button.deviceId, button]));
    this.threatButtons = new Map(store.safety.threatLevels().flatMap((level) => (level.buttons ?? []).map((device) => [device, level.id] as const)));
    this.cameras.load(store.safety.listCameras());
    this.supervision.load(store.safety.supervision());
  }

  private onRaised(alarm: Alarm): void {
    this.sound(alarm, true);
    const button = alarm.source.device === null ? undefined : this.panicButtons.get(alarm.source.device);
    if (button?.lockdown === true && button.zoneId !== null) {
      this.lockdown.lock({ scope: 'zone', zone: button.zoneId }, { via: 'button', by: button.deviceId }, `alarm ${alarm.id}`, 'panic');
    }
    // A button raises the threat level but never lowers it: a press must not undo a higher level.
    if (button?.threatLevel != null) this.raiseThreatLevel(button.threatLevel, { via: 'button', by: button.deviceId }, `alarm ${alarm.id}`);
  }

  /** Local sounders: the readers of the alarm's door or zone. Silent alarms never sound. */
  private sound(alarm: Alarm, on: boolean): void {
    if (alarm.silent) return;
    const doors = alarm.source.door !== null ? [alarm.source.door] : alarm.source.zone !== null ? (this.zones.get(alarm.source.zone) ?? []) : [];
    for (const door of doors) {
      const reader = this.deps.readerOf(door);
      if (reader !== null) this.deps.command(reader, { type: 'buzzer', pattern: on ? 'alarm' : 'off' });
    }
  }

  /** [SAFE-DURESS] the access rules journal a duress PIN as `access.duress`; it becomes a silent alarm at once. */
  private onDuress(event: JournalEvent): void {
    if (event.type !== 'access.duress' || event.door === null) return;
    try {
      this.duress(event.door, event.device, event.cardholder);
    } catch (error) {
      this.deps.logger.error({ err: error, door: event.door }, 'raising the duress alarm failed');
    }
  }

  private count(event: JournalEvent): void {
    const { metrics } = this.deps;
    switch (event.type) {
      case 'alarm.raised':
        return metrics.increment('guardpost_alarms_total', { kind: String(event.data.kind), drill: String(event.data.drill === true) });
      case 'door.forced':
      case 'door.held':
        return metrics.increment('guardpost_door_alarms_total', { door: event.door ?? 'unknown', type: event.type.slice('door.'.length) });
      case 'camera.triggered':
      case 'camera.failed':
        return metrics.increment('guardpost_camera_triggers_total', { camera: String(event.data.camera), outcome: event.type === 'camera.triggered' ? 'triggered' : 'failed' });
      case 'device.trouble':
        return metrics.increment('guardpost_device_trouble_total', { device: event.device ?? 'unknown' });
      default:
        return;
    }
  }

  private publishConditions(): void {
    this.deps.setConditions(this.threat.current().level, this.lockdown.doors());
  }
}
