import type { Actor } from '../doors/actor.js';

/**
 * The alarm lifecycle, pure: raised → acknowledged → cleared, with escalation of an alarm nobody
 * acknowledges. Time is a parameter; the service persists, journals and schedules.
 */

/** `tamper`: a reader or enclosure opened, or a reader's secure channel downgraded [SAFE-TAMPER]. */
export type AlarmKind = 'panic' | 'duress' | 'tamper' | 'suspicious' | 'watchlist';
export type AlarmState = 'raised' | 'acknowledged' | 'cleared';

export interface AlarmSource {
  /** The panic button, reader or other device that raised it; null for a software button. */
  readonly device: string | null;
  readonly door: string | null;
  readonly zone: string | null;
  readonly location: string | null;
}

export interface EscalationStep {
  readonly to: string;
  readonly afterMs: number;
}

export interface AlarmNote {
  readonly actor: Actor;
  readonly note: string;
  readonly atMs: number;
}

export interface Alarm {
  readonly id: string;
  readonly kind: AlarmKind;
  readonly state: AlarmState;
  readonly source: AlarmSource;
  /** Presses of the same button while this alarm is open add to it rather than raising another. */
  readonly sourceKey: string;
  /** 1 is the most urgent; each escalation raises it by one. */
  readonly priority: number;
  readonly silent: boolean;
  readonly drill: boolean;
  readonly raisedBy: Actor;
  readonly raisedAtMs: number;
  readonly presses: number;
  readonly lastPressAtMs: number;
  /** Escalation steps taken so far. */
  readonly escalations: number;
  readonly nextEscalationAtMs: number | null;
  readonly acknowledged: AlarmNote | null;
  readonly cleared: AlarmNote | null;
}

export const DEFAULT_PRIORITY = 2;
export const TOP_PRIORITY = 1;

export interface RaiseRequest {
  readonly id: string;
  readonly kind: AlarmKind;
  readonly source: AlarmSource;
  readonly sourceKey: string;
  readonly silent: boolean;
  readonly drill: boolean;
  readonly actor: Actor;
}

export type RaiseOutcome = { readonly repeated: false; readonly alarm: Alarm } | { readonly repeated: true; readonly alarm: Alarm };

/** Raises a new alarm, or adds a press to the open alarm of the same source. */
export function raise(open: Iterable<Alarm>, request: RaiseRequest, chain: readonly EscalationStep[], nowMs: number): RaiseOutcome {
  for (const alarm of open) {
    if (alarm.state !== 'cleared' && alarm.sourceKey === request.sourceKey && alarm.kind === request.kind) {
      return { repeated: true, alarm: { ...alarm, presses: alarm.presses + 1, lastPressAtMs: nowMs } };
    }
  }
  return {
    repeated: false,
    alarm: {
      id: request.id,
      kind: request.kind,
      state: 'raised',
      source: request.source,
      sourceKey: request.sourceKey,
      priority: DEFAULT_PRIORITY,
      silent: request.silent,
      drill: request.drill,
      raisedBy: request.actor,
      raisedAtMs: nowMs,
      presses: 1,
      lastPressAtMs: nowMs,
      escalations: 0,
      nextEscalationAtMs: chain[0] === undefined ? null : nowMs + chain[0].afterMs,
      acknowledged: null,
      cleared: null,
    },
  };
}

export type Transition = { readonly ok: true; readonly alarm: Alarm } | { readonly ok: false; readonly reason: 'not_open' | 'not_acknowledged' | 'already_acknowledged'; readonly message: string };

export function acknowledge(alarm: Alarm, actor: Actor, note: string, nowMs: number): Transition {
  if (alarm.state === 'cleared') return { ok: false, reason: 'not_open', message: `alarm ${alarm.id} is already cleared` };
  if (alarm.state === 'acknowledged') return { ok: false, reason: 'already_acknowledged', message: `alarm ${alarm.id} was already acknowledged by ${alarm.acknowledged?.actor.by ?? 'someone'}` };
  return { ok: true, alarm: { ...alarm, state: 'acknowledged', acknowledged: { actor, note, atMs: nowMs }, nextEscalationAtMs: null } };
}

/** Clearing needs an acknowledgement first: someone must have owned the alarm before closing it. */
export function clear(alarm: Alarm, actor: Actor, resolution: string, nowMs: number): Transition {
  if (alarm.state === 'cleared') return { ok: false, reason: 'not_open', message: `alarm ${alarm.id} is already cleared` };
  if (alarm.state === 'raised') return { ok: false, reason: 'not_acknowledged', message: `alarm ${alarm.id} must be acknowledged before it is cleared` };
  return { ok: true, alarm: { ...alarm, state: 'cleared', cleared: { actor, note: resolution, atMs: nowMs }, nextEscalationAtMs: null } };
}

export interface Escalation {
  readonly alarm: Alarm;
  readonly step: EscalationStep;
  readonly level: number;
}

/** Escalates an alarm still unacknowledged when its time comes; undefined when nothing is due. */
export function escalate(alarm: Alarm, chain: readonly EscalationStep[], nowMs: number): Escalation | undefined {
  if (alarm.state !== 'raised' || alarm.nextEscalationAtMs === null || nowMs < alarm.nextEscalationAtMs) return undefined;
  const step = chain[alarm.escalations];
  if (step === undefined) return undefined;
  const level = alarm.escalations + 1;
  const following = chain[level];
  return {
    step,
    level,
    alarm: {
      ...alarm,
      escalations: level,
      priority: Math.max(TOP_PRIORITY, alarm.priority - 1),
      nextEscalationAtMs: following === undefined ? null : nowMs + following.afterMs,
    },
  };
}

/** What every alarm event carries, so forwarders can prioritise and deduplicate by alarm id. */
export function alarmEventData(alarm: Alarm): Record<string, unknown> {
  return {
    alarm: alarm.id,
    kind: alarm.kind,
    state: alarm.state,
    priority: alarm.priority,
    drill: alarm.drill,
    silent: alarm.silent,
    device: alarm.source.device,
    door: alarm.source.door,
    zone: alarm.source.zone,
    location: alarm.source.location,
    presses: alarm.presses,
  };
}
