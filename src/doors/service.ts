import type { DeviceCommand } from '../drivers/types.js';
import type { Clock, Journal } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { DoorHardwareRecord, DoorRecord } from '../store/index.js';
import type { Actor } from './actor.js';
import { heldStrike, INITIAL_DOOR_STATE, isReleased, isScheduledOpen, lockState, stepDoor, type DoorConfig, type DoorEffect, type DoorInput, type DoorState } from './machine.js';
import type { Timers } from './timers.js';

export interface DoorServiceDeps {
  readonly journal: Journal;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly command: (deviceId: string, command: DeviceCommand) => void;
  /** Publishes the door's state, retained, on `<prefix>/doors/<door>/state`. */
  readonly publishState: (doorId: string, state: DoorSnapshot) => void;
}

interface DoorEntry {
  readonly config: DoorConfig;
  readonly readerDeviceId: string | null;
  readonly strikeDeviceId: string | null;
  state: DoorState;
  timer: unknown;
  /** What was last published, without its time: a state is republished only when it changes. */
  published?: string;
}

/** The published state of a door (retained on MQTT and served by the API). */
export interface DoorSnapshot {
  readonly door: string;
  readonly lock: 'released' | 'unlocked' | 'locked';
  readonly position: DoorState['position'];
  readonly alarm: DoorState['alarm'];
  readonly lockdown: boolean;
  readonly fireAlarm: boolean;
  /** Standing unlocked for its unlock schedule (free access hours) right now [SAFE-SCHEDULE]. */
  readonly scheduled: boolean;
  readonly failMode: DoorConfig['failMode'];
  readonly time: string;
}

/** Runs one state machine per door and carries out its effects (commands, journal, timers, state). */
export class DoorService {
  private readonly doors = new Map<string, DoorEntry>();
  private byContact = new Map<string, string>();
  private byExit = new Map<string, string>();
  private fireAlarm = false;
  private lockedDown: ReadonlySet<string> = new Set();

  constructor(private readonly deps: DoorServiceDeps) {}

  /** (Re)binds doors to their hardware; a door keeps its live state across reloads. */
  load(doors: Iterable<DoorRecord>, hardware: readonly DoorHardwareRecord[]): void {
    const byDoor = new Map(hardware.map((record) => [record.doorId, record]));
    const seen = new Set<string>();
    this.byContact = new Map();
    this.byExit = new Map();
    for (const door of doors) {
      seen.add(door.id);
      const hw = byDoor.get(door.id);
      const config: DoorConfig = {
        id: door.id,
        unlockMs: door.unlockMs,
        failMode: hw?.failMode ?? 'fail-secure',
        heldOpenMs: hw?.heldOpenMs ?? 30_000,
        preAlarmMs: hw?.preAlarmMs ?? 10_000,
        rexUnlocks: hw?.rexUnlocks ?? true,
      };
      const previous = this.doors.get(door.id);
      this.doors.set(door.id, {
        config,
        readerDeviceId: door.readerDeviceId,
        strikeDeviceId: door.strikeDeviceId,
        state: previous?.state ?? { ...INITIAL_DOOR_STATE, lockdown: this.lockedDown.has(door.id), fireAlarm: this.fireAlarm },
        timer: previous?.timer,
      });
      if (hw?.contactDeviceId != null) this.byContact.set(hw.contactDeviceId, door.id);
      if (hw?.exitDeviceId != null) this.byExit.set(hw.exitDeviceId, door.id);
    }
    for (const [id, entry] of this.doors) {
      if (seen.has(id)) continue;
      if (entry.timer !== undefined) this.deps.timers.clear(entry.timer);
      this.doors.delete(id);
    }
  }

  /** Publishes every door's state (at start, so retained state is current). */
  publishAll(): void {
    for (const id of this.doors.keys()) this.publish(id, true);
  }

  stop(): void {
    for (const entry of this.doors.values()) if (entry.timer !== undefined) this.deps.timers.clear(entry.timer);
  }

  doorOfContact(deviceId: string): string | undefined {
    return this.byContact.get(deviceId);
  }

  doorOfExit(deviceId: string): string | undefined {
    return this.byExit.get(deviceId);
  }

  has(doorId: string): boolean {
    return this.doors.has(doorId);
  }

  ids(): string[] {
    return [...this.doors.keys()];
  }

  /** Called on the critical path right after a grant, before the door can physically open. */
  granted(doorId: string): void {
    this.input(doorId, { type: 'granted' });
  }

  contact(deviceId: string, state: 'open' | 'closed'): void {
    const doorId = this.byContact.get(deviceId);
    if (doorId !== undefined) this.input(doorId, { type: 'contact', state });
  }

  exit(deviceId: string): void {
    const doorId = this.byExit.get(deviceId);
    if (doorId !== undefined) this.input(doorId, { type: 'exit' });
  }

  unlock(doorId: string, actor: Actor, reason: string | null = null): void {
    this.input(doorId, { type: 'unlock', actor, reason });
  }

  setLockdown(doorIds: ReadonlySet<string>): void {
    this.lockedDown = doorIds;
    for (const [id, entry] of this.doors) {
      const on = doorIds.has(id);
      if (entry.state.lockdown !== on) this.input(id, { type: 'lockdown', on });
    }
  }

  /**
   * Holds a door unlocked for its schedule (free access hours) or ends that; lockdown overrides it.
   * `detail` says which schedule, whether a first person released it, or why it is not held open.
   */
  setScheduledUnlock(doorId: string, unlocked: boolean, detail: { readonly schedule?: string | null; readonly firstPersonIn?: boolean; readonly why?: string } = {}): void {
    const entry = this.doors.get(doorId);
    if (entry !== undefined && entry.state.scheduled !== unlocked) this.input(doorId, { type: 'schedule', unlocked, ...detail });
  }

  /** Whether the door's schedule holds it unlocked right now (before lockdown). */
  scheduledUnlock(doorId: string): boolean {
    return this.doors.get(doorId)?.state.scheduled ?? false;
  }

  /**
   * [ACC-FIRST-IN] the access path sent a first person in a held `unlock`. If the door is not to
   * stand open after all (a lockdown the person overrides, a threat level that suspends free
   * access), that unlock becomes an ordinary pulse: the person gets in, the door does not stay open.
   */
  firstPersonIn(doorId: string): void {
    const entry = this.doors.get(doorId);
    if (entry === undefined || entry.strikeDeviceId === null || heldStrike(entry.config, entry.state) === 'unlock') return;
    try {
      this.deps.command(entry.strikeDeviceId, { type: 'strike', action: 'pulse', durationMs: entry.config.unlockMs });
    } catch (error) {
      this.deps.logger.error({ err: error, door: doorId }, 'turning a first-person unlock into a pulse failed');
      this.deps.journal.append({ type: 'door.command_failed', door: doorId, reason: 'strike', data: { message: String(error) } });
    }
  }

  /**
   * A strike came (back) online: a held position (schedule, fire release) is re-sent, since the
   * command that set it went at QoS 0 and may have been sent while the strike was away.
   * A locked strike needs nothing: a relay that restarts comes up locked.
   */
  strikeOnline(deviceId: string): void {
    for (const [doorId, entry] of this.doors) {
      if (entry.strikeDeviceId !== deviceId || heldStrike(entry.config, entry.state) !== 'unlock') continue;
      try {
        this.deps.command(deviceId, { type: 'strike', action: 'unlock' });
      } catch (error) {
        this.deps.logger.error({ err: error, door: doorId }, 're-sending a held unlock failed');
      }
    }
  }

  setFireAlarm(active: boolean): void {
    if (this.fireAlarm === active) return;
    this.fireAlarm = active;
    for (const id of this.doors.keys()) this.input(id, { type: 'fire', active });
  }

  snapshot(doorId: string): DoorSnapshot | undefined {
    const entry = this.doors.get(doorId);
    if (entry === undefined) return undefined;
    const nowMs = this.deps.clock();
    return {
      door: doorId,
      lock: lockState(entry.config, entry.state, nowMs),
      position: entry.state.position,
      alarm: entry.state.alarm,
      lockdown: entry.state.lockdown,
      fireAlarm: entry.state.fireAlarm && isReleased(entry.config, entry.state),
      scheduled: isScheduledOpen(entry.state),
      failMode: entry.config.failMode,
      time: new Date(nowMs).toISOString(),
    };
  }

  private input(doorId: string, input: DoorInput): void {
    const entry = this.doors.get(doorId);
    if (entry === undefined) return;
    const step = stepDoor(entry.config, entry.state, input, this.deps.clock());
    entry.state = step.state;
    for (const effect of step.effects) {
      try {
        this.run(doorId, entry, effect);
      } catch (error) {
        // One failed effect (a device without a codec, a full disk) must not stop the others.
        this.deps.logger.error({ err: error, door: doorId, effect: effect.kind }, 'carrying out a door effect failed');
        if (effect.kind !== 'event') this.deps.journal.append({ type: 'door.command_failed', door: doorId, reason: effect.kind, data: { message: String(error) } });
      }
    }
  }

  private run(doorId: string, entry: DoorEntry, effect: DoorEffect): void {
    const { deps } = this;
    switch (effect.kind) {
      case 'strike':
        if (entry.strikeDeviceId === null) return;
        deps.command(
          entry.strikeDeviceId,
          effect.action === 'pulse' ? { type: 'strike', action: 'pulse', durationMs: entry.config.unlockMs } : { type: 'strike', action: effect.action },
        );
        return;
      case 'buzzer':
        if (entry.readerDeviceId !== null) deps.command(entry.readerDeviceId, { type: 'buzzer', pattern: effect.pattern });
        return;
      case 'event':
        deps.journal.append({ type: effect.type, door: doorId, data: { door: doorId, ...effect.data } });
        return;
      case 'timer':
        if (entry.timer !== undefined) deps.timers.clear(entry.timer);
        entry.timer = undefined;
        if (effect.atMs !== null) {
          entry.timer = deps.timers.set(() => {
            entry.timer = undefined;
            this.input(doorId, { type: 'timer' });
          }, Math.max(0, effect.atMs - deps.clock()));
        }
        return;
      case 'state':
        this.publish(doorId);
        return;
      default: {
        const unreachable: never = effect;
        return unreachable;
      }
    }
  }

  private publish(doorId: string, force = false): void {
    const entry = this.doors.get(doorId);
    const snapshot = this.snapshot(doorId);
    if (entry === undefined || snapshot === undefined) return;
    const key = JSON.stringify({ ...snapshot, time: undefined });
    if (!force && entry.published === key) return;
    entry.published = key;
    this.deps.publishState(doorId, snapshot);
  }
}
