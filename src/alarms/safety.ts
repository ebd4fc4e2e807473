import type { DeviceCommand } from '../drivers/types.js';
import type { Actor } from '../doors/actor.js';
import { LockdownService } from '../doors/lockdown.js';
import type { DoorService } from '../doors/service.js';
import type { Timers } from '../doors/timers.js';
import type { Clock, Journal } from '../journal/index.js';
import type { Logger } from '../logger.js';
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

  constructor(private readonly deps: SafetyDeps) {
    this.lockdown = new LockdownService({
      store: deps.store,
      journal: deps.journal,
      clock: deps.clock,
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
      apply: (level, actor, reason) => {
        this.lockdown.setThreatLockdowns(threatLockdowns(level), actor, reason);
        this.publishConditions();
      },
    });
    this.alarms = new AlarmService({
      ...deps,
      onRaised: (alarm) => this.onRaised(alarm),
      onSettled: (alarm) => this.sound(alarm, false),
    });
    this.cameras = new CameraTriggers({ ...deps, zonesOfDoor: (doorId) => this.zonesOfDoor.get(doorId) ?? [] });
    this.supervision = new Supervision(deps);
  }

  start(): void {
    this.load();
    this.deps.journal.onAppend((event) => this.cameras.onEvent(event));
    this.lockdown.start();
    this.threat.start();
    this.alarms.start();
  }

  stop(): void {
    this.alarms.stop();
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
    this.cameras.load(store.safety.listCameras());
    this.supervision.load(store.safety.supervision());
  }

  private onRaised(alarm: Alarm): void {
    this.sound(alarm, true);
    const button = alarm.source.device === null ? undefined : this.panicButtons.get(alarm.source.device);
    if (button?.lockdown === true && button.zoneId !== null) {
      this.lockdown.lock({ scope: 'zone', zone: button.zoneId }, { via: 'button', by: button.deviceId }, `alarm ${alarm.id}`, 'panic');
    }
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

  private publishConditions(): void {
    this.deps.setConditions(this.threat.current().level, this.lockdown.doors());
  }
}
