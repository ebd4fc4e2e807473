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
export type OpenedBy = 'grant' | 'exit' | 'unlock' | 'release' | 'forced';

export interface DoorState {
  readonly position: DoorPosition;
  /** An opening until this time is authorised (grant, REX, momentary unlock). */
  readonly accessUntilMs: number;
  readonly authorisedBy: OpenedBy | null;
  readonly openedAtMs: number | null;
  readonly openedBy: OpenedBy | null;
  readonly alarm: DoorAlarm;
  readonly lockdown: boolean;
  readonly fireAlarm: boolean;
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
};

export type DoorInput =
  | { readonly type: 'granted' }
  | { readonly type: 'exit' }
  | { readonly type: 'unlock'; readonly actor: Actor; readonly reason?: string | null }
  | { readonly type: 'contact'; readonly state: 'open' | 'closed' }
  | { readonly type: 'timer' }
  | { readonly type: 'lockdown'; readonly on: boolean }
  | { readonly type: 'fire'; readonly active: boolean };

export type DoorEventType = 'door.forced' | 'door.held' | 'door.closed' | 'door.unlocked' | 'door.released' | 'door.secured';

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

export function lockState(config: DoorConfig, state: DoorState, nowMs: number): 'released' | 'unlocked' | 'locked' {
  if (isReleased(config, state)) return 'released';
  return nowMs < state.accessUntilMs ? 'unlocked' : 'locked';
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
      if (config.rexUnlocks && !isReleased(config, state)) effects.push({ kind: 'strike', action: 'pulse' });
      return authorise('exit');
    case 'unlock':
      if (!isReleased(config, state)) effects.push({ kind: 'strike', action: 'pulse' });
      effects.push({ kind: 'event', type: 'door.unlocked', data: { ...actorData(input.actor), durationMs: config.unlockMs, ...(input.reason == null ? {} : { note: input.reason }) } });
      return authorise('unlock');
    case 'contact':
      return input.state === 'open' ? opened(config, state, nowMs, effects) : closed(config, state, nowMs, effects);
    case 'timer':
      return heldCheck(config, state, nowMs, effects);
    case 'lockdown':
      return { ...state, lockdown: input.on };
    case 'fire':
      return fire(config, state, input.active, nowMs, effects);
    default: {
      const unreachable: never = input;
      return unreachable;
    }
  }
}

function opened(config: DoorConfig, state: DoorState, nowMs: number, effects: DoorEffect[]): DoorState {
  if (state.position === 'open') return state;
  if (isReleased(config, state)) return { ...state, position: 'open', openedAtMs: nowMs, openedBy: 'release', alarm: 'none' };
  if (nowMs <= state.accessUntilMs && state.authorisedBy !== null) {
    return { ...state, position: 'open', openedAtMs: nowMs, openedBy: state.authorisedBy, alarm: 'none' };
  }
  // [DOOR-FORCED] open with no grant, no REX and no release.
  effects.push({ kind: 'event', type: 'door.forced', data: { lockdown: state.lockdown } }, { kind: 'buzzer', pattern: 'alarm' });
  return { ...state, position: 'open', openedAtMs: nowMs, openedBy: 'forced', alarm: 'forced' };
}

function closed(config: DoorConfig, state: DoorState, nowMs: number, effects: DoorEffect[]): DoorState {
  if (state.position === 'closed') return state;
  // Relock on close: an unlock pulse still running would let a second person in unrecorded.
  if (state.position === 'open' && state.accessUntilMs > nowMs && !isReleased(config, state)) effects.push({ kind: 'strike', action: 'lock' });
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
  if (state.position !== 'open' || state.openedAtMs === null || isReleased(config, state)) return state;
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
  effects.push({ kind: 'strike', action: 'lock' }, { kind: 'event', type: 'door.secured', data: { reason: 'fire-alarm-cleared' } });
  // A door left open when the release ends gets the usual held-open allowance from now.
  return state.position === 'open' ? { ...next, openedAtMs: nowMs, openedBy: 'release' } : next;
}

function nextTimer(config: DoorConfig, state: DoorState, nowMs: number): number | null {
  const candidates: number[] = [];
  // The state shows "unlocked" until the pulse ends; republish then.
  if (state.accessUntilMs > nowMs) candidates.push(state.accessUntilMs);
  if (state.position === 'open' && state.openedAtMs !== null && !isReleased(config, state) && (state.alarm === 'none' || state.alarm === 'prealarm')) {
    const heldAtMs = state.openedAtMs + config.heldOpenMs;
    candidates.push(state.alarm === 'none' && config.preAlarmMs > 0 ? heldAtMs - config.preAlarmMs : heldAtMs);
  }
  return candidates.length === 0 ? null : Math.max(nowMs, Math.min(...candidates));
}

export function actorData(actor: Actor): Record<string, unknown> {
  return actor.address === undefined ? { via: actor.via, by: actor.by } : { via: actor.via, by: actor.by, address: actor.address };
}
