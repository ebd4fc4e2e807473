import type { BuzzerPattern } from '../drivers/types.js';
import type { Actor } from './actor.js';

/**
 * One door's state machine: pure and synchronous, time is a parameter. The runtime feeds it
 * device signals and timer ticks and carries out the effects it returns.
 */

export type FailMode = 'fail-secure' | 'fail-safe';

export interface DoorConfig {
  readonly id: string;
  readonly unlockMs: number;
  readonly failMode: FailMode;
  readonly heldOpenMs: number;
  readonly preAlarmMs: number;
  readonly rexUnlocks: boolean;
}

export type DoorPosition = 'open' | 'closed' | 'unknown';
export type DoorAlarm = 'none' | 'prealarm' | 'held' | 'forced';
export type OpenedBy = 'grant' | 'exit' | 'unlock' | 'release' | 'schedule' | 'forced';

export interface DoorState {
  readonly position: DoorPosition;
  /** An opening until this time is authorised (grant, REX, momentary unlock). */
  readonly accessUntilMs: number;
  readonly authorisedBy: OpenedBy | null;
  readonly openedAtMs: number | null;
  /** null: found open at start, cause unknown. */
  readonly openedBy: OpenedBy | null;
  readonly alarm: DoorAlarm;
  readonly lockdown: boolean;
  readonly fireAlarm: boolean;
  /** Held unlocked by a schedule (free access hours); lockdown overrides it. */
  readonly scheduled: boolean;
}

export const INITIAL_DOOR_STATE: DoorState = {
  position: 'unknown',
  accessUntilMs: 0,
  authorisedBy: null,
  openedAtMs: null,
  openedBy: null,
  alarm: 'none',
  lockdown: false,
  fireAlarm: false,
  scheduled: false,
};

export type DoorInput =
  | { readonly type: 'granted' }
  | { readonly type: 'exit' }
  | { readonly type: 'unlock'; readonly actor: Actor; readonly reason?: string | null }
  | { readonly type: 'contact'; readonly state: 'open' | 'closed' }
  | { readonly type: 'timer' }
  | { readonly type: 'lockdown'; readonly on: boolean }
  | { readonly type: 'fire'; readonly active: boolean }
  /** Its unlock schedule opened or closed (`schedule` names it; `why` says why it is not held open). */
  | { readonly type: 'schedule'; readonly unlocked: boolean; readonly schedule?: string | null; readonly firstPersonIn?: boolean; readonly why?: string };

export type DoorEventType =
  | 'door.forced' | 'door.held' | 'door.closed' | 'door.unlocked' | 'door.released' | 'door.secured'
  | 'door.unlocked_on_schedule' | 'door.relocked_on_schedule';

export type DoorEffect =
  | { readonly kind: 'strike'; readonly action: 'pulse' | 'unlock' | 'lock' }
  | { readonly kind: 'buzzer'; readonly pattern: BuzzerPattern }
  | { readonly kind: 'event'; readonly type: DoorEventType; readonly data: Readonly<Record<string, unknown>> }
  /** The one pending timer of this door: at this time send { type: 'timer' }; null cancels it. */
  | { readonly kind: 'timer'; readonly atMs: number | null }
  | { readonly kind: 'state' };

export interface DoorStep {
  readonly state: DoorState;
  readonly effects: readonly DoorEffect[];
}

/** A fail-safe door under a fire alarm stands released: unlocked, every opening authorised [SAFE-FIRE]. */
export function isReleased(config: DoorConfig, state: DoorState): boolean {
  return state.fireAlarm && config.failMode === 'fail-safe';
}

/** Held unlocked by its schedule, and not under lockdown [SAFE-LOCKDOWN]. */
export function isScheduledOpen(state: DoorState): boolean {
  return state.scheduled && !state.lockdown;
}

export function lockState(config: DoorConfig, state: DoorState, nowMs: number): 'released' | 'unlocked' | 'locked' {
  if (isReleased(config, state)) return 'released';
  return isScheduledOpen(state) || nowMs < state.accessUntilMs ? 'unlocked' : 'locked';
}

/** The strike as it should stand (held unlocked or locked), apart from momentary pulses. */
export function heldStrike(config: DoorConfig, state: DoorState): 'unlock' | 'lock' {
  return isReleased(config, state) || isScheduledOpen(state) ? 'unlock' : 'lock';
}

export function stepDoor(config: DoorConfig, state: DoorState, input: DoorInput, nowMs: number): DoorStep {
  const effects: DoorEffect[] = [];
  const next = apply(config, state, input, nowMs, effects);
  effects.push({ kind: 'timer', atMs: nextTimer(config, next, nowMs) }, { kind: 'state' });
  return { state: next, effects };
}

function apply(config: DoorConfig, state: DoorState, input: DoorInput, nowMs: number, effects: DoorEffect[]): DoorState {
  const authorise = (by: OpenedBy): DoorState => ({ ...state, accessUntilMs: Math.max(state.accessUntilMs, nowMs + config.unlockMs), authorisedBy: by });
  switch (input.type) {
    case 'granted':
      return authorise('grant');
    case 'exit':
      // [SAFE-EGRESS] REX is honoured in every state, lockdown included, and masks the door-position switch.
      if (config.rexUnlocks && heldStrike(config, state) === 'lock') effects.push({ kind: 'strike', action: 'pulse' });
      return authorise('exit');
    case 'unlock':
      if (heldStrike(config, state) === 'lock') effects.push({ kind: 'strike', action: 'pulse' });
      effects.push({ kind: 'event', type: 'door.unlocked', data: { ...actorData(input.actor), durationMs: config.unlockMs, ...(input.reason == null ? {} : { note: input.reason }) } });
      return authorise('unlock');
    case 'contact':
      return input.state === 'open' ? opened(config, state, nowMs, effects) : closed(config, state, nowMs, effects);
    case 'timer':
      return heldCheck(config, state, nowMs, effects);
    case 'lockdown':
      return strikeFollows(config, state, { ...state, lockdown: input.on }, effects);
    case 'fire':
      return fire(config, state, input.active, nowMs, effects);
    case 'schedule':
      return schedule(config, state, input, nowMs, effects);
    default: {
      const unreachable: never = input;
      return unreachable;
    }
  }
}

/** Sends lock/unlock when the strike's standing position changes (schedule start/end, lockdown). */
function strikeFollows(config: DoorConfig, before: DoorState, after: DoorState, effects: DoorEffect[]): DoorState {
  const was = heldStrike(config, before);
  const now = heldStrike(config, after);
  if (was !== now) effects.push({ kind: 'strike', action: now });
  return after;
}

/**
 * [SAFE-SCHEDULE] free access hours start or end. Lockdown keeps the strike locked meanwhile (the
 * event says so); a door standing open when the schedule ends gets the held-open allowance from now.
 */
function schedule(config: DoorConfig, state: DoorState, input: Extract<DoorInput, { type: 'schedule' }>, nowMs: number, effects: DoorEffect[]): DoorState {
  if (state.scheduled === input.unlocked) return state;
  const next = strikeFollows(config, state, { ...state, scheduled: input.unlocked }, effects);
  effects.push({
    kind: 'event',
    type: input.unlocked ? 'door.unlocked_on_schedule' : 'door.relocked_on_schedule',
    data: {
      schedule: input.schedule ?? null,
      ...(input.unlocked ? { firstPersonIn: input.firstPersonIn === true } : { why: input.why ?? 'closed' }),
      strike: heldStrike(config, next),
      lockdown: state.lockdown,
    },
  });
  if (!input.unlocked && state.position === 'open' && !isReleased(config, next)) return { ...next, openedAtMs: nowMs, openedBy: 'schedule', alarm: 'none' };
  return next;
}

function opened(config: DoorConfig, state: DoorState, nowMs: number, effects: DoorEffect[]): DoorState {
  if (state.position === 'open') return state;
  if (isReleased(config, state)) return { ...state, position: 'open', openedAtMs: nowMs, openedBy: 'release', alarm: 'none' };
  if (isScheduledOpen(state)) return { ...state, position: 'open', openedAtMs: nowMs, openedBy: 'schedule', alarm: 'none' };
  // First report after a start: nobody saw it open, so it is not forced; held-open timing applies from now.
  const authorised = nowMs <= state.accessUntilMs && state.authorisedBy !== null;
  if (state.position === 'unknown' && !authorised) return { ...state, position: 'open', openedAtMs: nowMs, openedBy: null, alarm: 'none' };
  if (authorised) {
    return { ...state, position: 'open', openedAtMs: nowMs, openedBy: state.authorisedBy, alarm: 'none' };
  }
  // [DOOR-FORCED] open with no grant, no REX and no release.
  effects.push({ kind: 'event', type: 'door.forced', data: { lockdown: state.lockdown } }, { kind: 'buzzer', pattern: 'alarm' });
  return { ...state, position: 'open', openedAtMs: nowMs, openedBy: 'forced', alarm: 'forced' };
}

function closed(config: DoorConfig, state: DoorState, nowMs: number, effects: DoorEffect[]): DoorState {
  if (state.position === 'closed') return state;
  // Relock on close: an unlock pulse still running would let a second person in unrecorded.
  if (state.position === 'open' && state.accessUntilMs > nowMs && heldStrike(config, state) === 'lock') effects.push({ kind: 'strike', action: 'lock' });
  if (state.alarm !== 'none') {
    effects.push(
      { kind: 'event', type: 'door.closed', data: { after: state.alarm, openMs: state.openedAtMs === null ? null : nowMs - state.openedAtMs } },
      { kind: 'buzzer', pattern: 'off' },
    );
  }
  // Closing ends the authorised opening: the next opening needs its own grant or REX.
  return { ...state, position: 'closed', openedAtMs: null, openedBy: null, alarm: 'none', accessUntilMs: Math.min(state.accessUntilMs, nowMs), authorisedBy: null };
}

function heldCheck(config: DoorConfig, state: DoorState, nowMs: number, effects: DoorEffect[]): DoorState {
  if (state.position !== 'open' || state.openedAtMs === null || isReleased(config, state) || isScheduledOpen(state)) return state;
  if (state.alarm === 'forced' || state.alarm === 'held') return state;
  const heldAtMs = state.openedAtMs + config.heldOpenMs;
  if (nowMs >= heldAtMs) {
    // [DOOR-HELD] open longer than heldOpenMs after an authorised opening.
    effects.push({ kind: 'event', type: 'door.held', data: { heldOpenMs: config.heldOpenMs, openedBy: state.openedBy } });
    if (state.alarm !== 'prealarm') effects.push({ kind: 'buzzer', pattern: 'alarm' });
    return { ...state, alarm: 'held' };
  }
  if (state.alarm === 'none' && config.preAlarmMs > 0 && nowMs >= heldAtMs - config.preAlarmMs) {
    effects.push({ kind: 'buzzer', pattern: 'alarm' });
    return { ...state, alarm: 'prealarm' };
  }
  return state;
}

function fire(config: DoorConfig, state: DoorState, active: boolean, nowMs: number, effects: DoorEffect[]): DoorState {
  if (state.fireAlarm === active) return state;
  const next = { ...state, fireAlarm: active };
  if (config.failMode !== 'fail-safe') return next;
  if (active) {
    // [SAFE-FIRE] a fire alarm releases every fail-safe door, lockdown or not.
    effects.push({ kind: 'strike', action: 'unlock' }, { kind: 'event', type: 'door.released', data: { reason: 'fire-alarm', lockdown: state.lockdown } });
    if (state.alarm !== 'none') effects.push({ kind: 'buzzer', pattern: 'off' });
    return { ...next, alarm: 'none', openedBy: state.position === 'open' ? 'release' : state.openedBy };
  }
  effects.push({ kind: 'strike', action: heldStrike(config, next) }, { kind: 'event', type: 'door.secured', data: { reason: 'fire-alarm-cleared' } });
  // A door left open when the release ends gets the usual held-open allowance from now.
  return state.position === 'open' ? { ...next, openedAtMs: nowMs, openedBy: 'release' } : next;
}

function nextTimer(config: DoorConfig, state: DoorState, nowMs: number): number | null {
  const candidates: number[] = [];
  // The state shows "unlocked" until the pulse ends; republish then.
  if (state.accessUntilMs > nowMs) candidates.push(state.accessUntilMs);
  if (state.position === 'open' && state.openedAtMs !== null && !isReleased(config, state) && !isScheduledOpen(state) && (state.alarm === 'none' || state.alarm === 'prealarm')) {
    const heldAtMs = state.openedAtMs + config.heldOpenMs;
    candidates.push(state.alarm === 'none' && config.preAlarmMs > 0 ? heldAtMs - config.preAlarmMs : heldAtMs);
  }
  return candidates.length === 0 ? null : Math.max(nowMs, Math.min(...candidates));
}

export function actorData(actor: Actor): Record<string, unknown> {
  return actor.address === undefined ? { via: actor.via, by: actor.by } : { via: actor.via, by: actor.by, address: actor.address };
}
