import { v7 as uuidv7 } from 'uuid';
import type { Actor } from '../doors/actor.js';
import { actorData } from '../doors/machine.js';
import type { Timers } from '../doors/timers.js';
import { GuardpostError } from '../errors.js';
import type { Clock, Journal } from '../journal/index.js';
import { WhenUnlocked } from '../journal/whenUnlocked.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/index.js';
import { acknowledge, alarmEventData, clear, escalate, raise, type Alarm, type AlarmKind, type AlarmNote, type AlarmSource, type EscalationStep, type Transition } from './lifecycle.js';

export interface AlarmServiceDeps {
  readonly store: Store;
  readonly journal: Journal;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly timers: Timers;
  /** Retained on `<prefix>/alarms/<alarm>` while open; null removes it. */
  readonly publishAlarm: (alarmId: string, view: AlarmView | null) => void;
  /** Called once a new alarm is durable: local sounders, lockdown, and the like. */
  readonly onRaised?: (alarm: Alarm) => void;
  /** Called when an alarm stops needing local attention (acknowledged or cleared). */
  readonly onSettled?: (alarm: Alarm) => void;
}

export interface RaiseInput {
  readonly kind: AlarmKind;
  readonly source: AlarmSource;
  readonly sourceKey: string;
  readonly silent: boolean;
  readonly actor: Actor;
}

export interface AlarmView {
  readonly id: string;
  readonly kind: AlarmKind;
  readonly state: Alarm['state'];
  readonly priority: number;
  readonly drill: boolean;
  readonly silent: boolean;
  readonly source: AlarmSource;
  readonly raisedAt: string;
  readonly raisedBy: Actor;
  readonly presses: number;
  readonly escalations: number;
  readonly nextEscalationAt: string | null;
  readonly acknowledged: NoteView | null;
  readonly cleared: NoteView | null;
}

interface NoteView {
  readonly by: string | null;
  readonly via: Actor['via'];
  readonly note: string;
  readonly at: string;
}

export interface Drill {
  readonly untilMs: number;
  readonly startedBy: Actor;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const noteView = (note: AlarmNote | null): NoteView | null => (note === null ? null : { by: note.actor.by, via: note.actor.via, note: note.note, at: iso(note.atMs) });

export function alarmView(alarm: Alarm): AlarmView {
  return {
    id: alarm.id,
    kind: alarm.kind,
    state: alarm.state,
    priority: alarm.priority,
    drill: alarm.drill,
    silent: alarm.silent,
    source: alarm.source,
    raisedAt: iso(alarm.raisedAtMs),
    raisedBy: alarm.raisedBy,
    presses: alarm.presses,
    escalations: alarm.escalations,
    nextEscalationAt: alarm.nextEscalationAtMs === null ? null : iso(alarm.nextEscalationAtMs),
    acknowledged: noteView(alarm.acknowledged),
    cleared: noteView(alarm.cleared),
  };
}

/**
 * Open alarms live in memory and in SQLite (written in the same transaction as their event), so an
 * unacknowledged alarm survives a restart and keeps escalating [SAFE-ALARM-DURABLE].
 */
export class AlarmService {
  private readonly open = new Map<string, Alarm>();
  private readonly timers = new Map<string, unknown>();
  private chain: readonly EscalationStep[] = [];
  private drill: Drill | null = null;

  /** Alarms not yet saved (another process's write lock), in their latest state [SAFE-LOCKED]. */
  private readonly unsaved: WhenUnlocked;

  constructor(private readonly deps: AlarmServiceDeps) {
    this.unsaved = new WhenUnlocked({ journal: deps.journal, timers: deps.timers, logger: deps.logger, what: 'alarm' });
  }

  /** Loads settings and the alarms still open, and resumes their escalation. */
  start(): void {
    this.reload();
    this.drill = this.deps.store.safety.condition<Drill>('drill') ?? null;
    for (const stored of this.deps.store.safety.listOpenAlarms()) {
      const alarm = JSON.parse(stored.record) as Alarm;
      this.open.set(alarm.id, alarm);
      this.deps.publishAlarm(alarm.id, alarmView(alarm));
      this.schedule(alarm);
    }
  }

  reload(): void {
    this.chain = this.deps.store.safety.alarmSettings().escalation;
  }

  stop(): void {
    for (const handle of this.timers.values()) this.deps.timers.clear(handle);
    this.timers.clear();
    this.unsaved.stop();
  }

  list(): Alarm[] {
    return [...this.open.values()];
  }

  get(id: string): Alarm | undefined {
    const open = this.open.get(id);
    if (open !== undefined) return open;
    const stored = this.deps.store.safety.getAlarm(id);
    return stored === undefined ? undefined : (JSON.parse(stored.record) as Alarm);
  }

  /** Raises an alarm at once, or adds to the open alarm of the same source. */
  raise(input: RaiseInput): { alarm: Alarm; repeated: boolean } {
    const nowMs = this.deps.clock();
    const drill = this.drill !== null && nowMs < this.drill.untilMs;
    const outcome = raise(this.open.values(), { ...input, id: uuidv7(), drill }, this.chain, nowMs);
    const { alarm } = outcome;
    this.persist(alarm, () =>
      this.deps.journal.append({
        type: outcome.repeated ? 'alarm.repeated' : 'alarm.raised',
        door: alarm.source.door,
        device: alarm.source.device,
        reason: alarm.kind,
        data: { ...alarmEventData(alarm), ...actorData(input.actor) },
      }),
    );
    if (!outcome.repeated) {
      this.schedule(alarm);
      this.safely(() => this.deps.onRaised?.(alarm), alarm, 'reacting to a new alarm');
    }
    return outcome;
  }

  acknowledge(id: string, actor: Actor, note: string): Alarm {
    const alarm = this.apply(id, (found) => acknowledge(found, actor, note, this.deps.clock()));
    this.persist(alarm, () =>
      this.deps.journal.append({ type: 'alarm.acknowledged', door: alarm.source.door, device: alarm.source.device, reason: alarm.kind, data: { ...alarmEventData(alarm), ...actorData(actor), note } }),
    );
    this.unschedule(id);
    this.safely(() => this.deps.onSettled?.(alarm), alarm, 'settling an acknowledged alarm');
    return alarm;
  }

  clear(id: string, actor: Actor, resolution: string): Alarm {
    const alarm = this.apply(id, (found) => clear(found, actor, resolution, this.deps.clock()));
    this.persist(alarm, () =>
      this.deps.journal.append({ type: 'alarm.cleared', door: alarm.source.door, device: alarm.source.device, reason: alarm.kind, data: { ...alarmEventData(alarm), ...actorData(actor), resolution } }),
    );
    this.unschedule(id);
    this.safely(() => this.deps.onSettled?.(alarm), alarm, 'settling a cleared alarm');
    return alarm;
  }

  currentDrill(): Drill | null {
    return this.drill !== null && this.deps.clock() < this.drill.untilMs ? this.drill : null;
  }

  /** Alarms raised until the drill ends are marked `drill` end to end. */
  startDrill(actor: Actor, durationMs: number): Drill {
    const drill: Drill = { untilMs: this.deps.clock() + durationMs, startedBy: actor };
    this.deps.journal.durableTransaction(() => {
      this.deps.store.safety.setCondition('drill', drill);
      this.deps.journal.append({ type: 'alarm.drill_started', data: { until: iso(drill.untilMs), durationMs, ...actorData(actor) } });
    });
    this.drill = drill;
    return drill;
  }

  endDrill(actor: Actor): void {
    if (this.currentDrill() === null) throw new GuardpostError('GP_ERR_CONFLICT', 'no drill is running');
    this.deps.journal.durableTransaction(() => {
      this.deps.store.safety.setCondition('drill', null);
      this.deps.journal.append({ type: 'alarm.drill_ended', data: actorData(actor) });
    });
    this.drill = null;
  }

  private apply(id: string, transition: (alarm: Alarm) => Transition): Alarm {
    const found = this.get(id);
    if (found === undefined) throw new GuardpostError('GP_ERR_NOT_FOUND', `no alarm "${id}"`);
    const result = transition(found);
    if (!result.ok) throw new GuardpostError('GP_ERR_CONFLICT', result.message);
    return result.alarm;
  }

  /**
   * Saves the alarm and journals its event in one transaction, then updates memory and MQTT.
   * [SAFE-LOCKED] When another process holds the database's write lock (waited for briefly, never
   * the connection's 5 s), the alarm goes on all the same: in memory, on MQTT, to cameras and
   * sirens; its event waits in the journal's memory queue (in order, forwarded once written) and
   * its row is saved from a timer when the lock goes. A panic is never lost to a busy database.
   */
  private persist(alarm: Alarm, journal: () => void): void {
    this.unsaved.save(alarm.id, () => this.save(alarm), journal);
    if (alarm.state === 'cleared') this.open.delete(alarm.id);
    else this.open.set(alarm.id, alarm);
    this.deps.publishAlarm(alarm.id, alarm.state === 'cleared' ? null : alarmView(alarm));
  }

  private save(alarm: Alarm): void {
    this.deps.store.safety.saveAlarm({ id: alarm.id, state: alarm.state, raisedMs: alarm.raisedAtMs, record: JSON.stringify(alarm) });
  }

  private schedule(alarm: Alarm): void {
    this.unschedule(alarm.id);
    if (alarm.state !== 'raised' || alarm.nextEscalationAtMs === null) return;
    const delayMs = Math.max(0, alarm.nextEscalationAtMs - this.deps.clock());
    this.timers.set(
      alarm.id,
      this.deps.timers.set(() => {
        this.timers.delete(alarm.id);
        this.escalateNow(alarm.id);
      }, delayMs),
    );
  }

  private unschedule(id: string): void {
    const handle = this.timers.get(id);
    if (handle !== undefined) this.deps.timers.clear(handle);
    this.timers.delete(id);
  }

  private escalateNow(id: string): void {
    const current = this.open.get(id);
    if (current === undefined) return;
    const escalation = escalate(current, this.chain, this.deps.clock());
    if (escalation === undefined) {
      // Not due yet (a clock that moved) or the chain changed: look again when it says.
      this.schedule(current);
      return;
    }
    const { alarm, step, level } = escalation;
    try {
      this.persist(alarm, () =>
        this.deps.journal.append({
          type: 'alarm.escalated',
          door: alarm.source.door,
          device: alarm.source.device,
          reason: alarm.kind,
          data: { ...alarmEventData(alarm), level, to: step.to, unacknowledgedMs: this.deps.clock() - alarm.raisedAtMs },
        }),
      );
    } catch (error) {
      this.deps.logger.error({ err: error, alarm: id }, 'escalating an alarm failed; retrying');
      this.timers.set(id, this.deps.timers.set(() => this.escalateNow(id), 1_000));
      return;
    }
    this.schedule(alarm);
  }

  private safely(action: () => void, alarm: Alarm, what: string): void {
    try {
      action();
    } catch (error) {
      this.deps.logger.error({ err: error, alarm: alarm.id }, `${what} failed`);
    }
  }
}
