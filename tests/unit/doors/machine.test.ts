import { describe, expect, it } from 'vitest';
import { INITIAL_DOOR_STATE, lockState, stepDoor, type DoorConfig, type DoorEffect, type DoorInput, type DoorState } from '../../../src/doors/machine.js';

const config: DoorConfig = { id: 'main-entrance', unlockMs: 5_000, failMode: 'fail-safe', heldOpenMs: 30_000, preAlarmMs: 10_000, rexUnlocks: true };
const closedDoor: DoorState = { ...INITIAL_DOOR_STATE, position: 'closed' };

/** Runs inputs at given times; returns the final state and every effect in order. */
function run(steps: [number, DoorInput][], start: DoorState = closedDoor, cfg: DoorConfig = config): { state: DoorState; effects: DoorEffect[] } {
  let state = start;
  const effects: DoorEffect[] = [];
  for (const [atMs, input] of steps) {
    const step = stepDoor(cfg, state, input, atMs);
    state = step.state;
    effects.push(...step.effects);
  }
  return { state, effects };
}
const events = (effects: DoorEffect[]) => effects.flatMap((effect) => (effect.kind === 'event' ? [effect.type] : []));
const buzzers = (effects: DoorEffect[]) => effects.flatMap((effect) => (effect.kind === 'buzzer' ? [effect.pattern] : []));
const strikes = (effects: DoorEffect[]) => effects.flatMap((effect) => (effect.kind === 'strike' ? [effect.action] : []));
const lastTimer = (effects: DoorEffect[]) => effects.filter((effect) => effect.kind === 'timer').at(-1);

describe('the door state machine', () => {
  it('[DOOR-FORCED] reports a door opened without a grant or REX as forced, with the reader sounding', () => {
    const { state, effects } = run([[1_000, { type: 'contact', state: 'open' }]]);
    expect(events(effects)).toEqual(['door.forced']);
    expect(buzzers(effects)).toEqual(['alarm']);
    expect(state.alarm).toBe('forced');
  });

  it('lets a door open within the unlock time after a grant without any alarm', () => {
    const { state, effects } = run([[0, { type: 'granted' }], [4_000, { type: 'contact', state: 'open' }]]);
    expect(events(effects)).toEqual([]);
    expect(state).toMatchObject({ position: 'open', openedBy: 'grant', alarm: 'none' });
  });

  it('calls an opening after the unlock time has run out forced', () => {
    const { effects } = run([[0, { type: 'granted' }], [5_001, { type: 'contact', state: 'open' }]]);
    expect(events(effects)).toEqual(['door.forced']);
  });

  it('[DOOR-HELD] sounds the pre-alarm before heldOpenMs, then reports door.held, then door.closed when it shuts', () => {
    const opened = run([[0, { type: 'granted' }], [1_000, { type: 'contact', state: 'open' }]]);
    // First when the unlock pulse ends (the published state relocks), then at the pre-alarm.
    expect(lastTimer(opened.effects)).toEqual({ kind: 'timer', atMs: 5_000 });
    const relocked = run([[5_000, { type: 'timer' }]], opened.state);
    expect(lastTimer(relocked.effects)).toEqual({ kind: 'timer', atMs: 1_000 + 30_000 - 10_000 });
    const pre = run([[21_000, { type: 'timer' }]], relocked.state);
    expect(buzzers(pre.effects)).toEqual(['alarm']);
    expect(events(pre.effects)).toEqual([]);
    expect(pre.state.alarm).toBe('prealarm');
    expect(lastTimer(pre.effects)).toEqual({ kind: 'timer', atMs: 31_000 });
    const held = run([[31_000, { type: 'timer' }]], pre.state);
    expect(events(held.effects)).toEqual(['door.held']);
    const shut = run([[40_000, { type: 'contact', state: 'closed' }]], held.state);
    expect(events(shut.effects)).toEqual(['door.closed']);
    expect(shut.effects).toContainEqual({ kind: 'event', type: 'door.closed', data: { after: 'held', openMs: 39_000 } });
    expect(buzzers(shut.effects)).toEqual(['off']);
    expect(shut.state.alarm).toBe('none');
  });

  it('closes quietly when the door shuts before the pre-alarm', () => {
    const { effects, state } = run([[0, { type: 'granted' }], [1_000, { type: 'contact', state: 'open' }], [3_000, { type: 'contact', state: 'closed' }]]);
    expect(events(effects)).toEqual([]);
    expect(buzzers(effects)).toEqual([]);
    expect(lastTimer(effects)).toEqual({ kind: 'timer', atMs: null });
    // Relock on close, so a second person cannot follow on the same pulse.
    expect(strikes(effects)).toEqual(['lock']);
    expect(state.position).toBe('closed');
  });

  it('[SAFE-EGRESS] pulses the strike on REX and masks the door-position switch, even in lockdown', () => {
    const { effects, state } = run([[0, { type: 'lockdown', on: true }], [10, { type: 'exit' }], [500, { type: 'contact', state: 'open' }]]);
    expect(strikes(effects)).toEqual(['pulse']);
    expect(events(effects)).toEqual([]);
    expect(state).toMatchObject({ openedBy: 'exit', alarm: 'none', lockdown: true });
  });

  it('masks the door-position switch on REX without pulsing when REX is not wired to unlock', () => {
    const { effects } = run([[0, { type: 'exit' }], [500, { type: 'contact', state: 'open' }]], closedDoor, { ...config, rexUnlocks: false });
    expect(strikes(effects)).toEqual([]);
    expect(events(effects)).toEqual([]);
  });

  it('journals who asked for a momentary unlock and pulses the strike', () => {
    const { effects, state } = run([[0, { type: 'unlock', actor: { via: 'api', by: 'sam-security' } }]]);
    expect(strikes(effects)).toEqual(['pulse']);
    expect(effects).toContainEqual({ kind: 'event', type: 'door.unlocked', data: { via: 'api', by: 'sam-security', durationMs: 5_000 } });
    expect(lockState(config, state, 1_000)).toBe('unlocked');
    expect(lockState(config, state, 5_000)).toBe('locked');
  });

  it('[SAFE-FIRE] releases a fail-safe door on a fire alarm during lockdown, and openings are then no alarm', () => {
    const { effects, state } = run([[0, { type: 'lockdown', on: true }], [10, { type: 'fire', active: true }], [20, { type: 'contact', state: 'open' }], [100_000, { type: 'timer' }]]);
    expect(strikes(effects)).toEqual(['unlock']);
    expect(events(effects)).toEqual(['door.released']);
    expect(lockState(config, state, 100_000)).toBe('released');
    const cleared = run([[200_000, { type: 'fire', active: false }]], state);
    expect(strikes(cleared.effects)).toEqual(['lock']);
    expect(events(cleared.effects)).toEqual(['door.secured']);
    // Left open after the release: the held-open allowance starts now.
    expect(lastTimer(cleared.effects)).toEqual({ kind: 'timer', atMs: 200_000 + 20_000 });
  });

  it('keeps a fail-secure door locked on a fire alarm', () => {
    const { effects } = run([[0, { type: 'fire', active: true }], [10, { type: 'contact', state: 'open' }]], closedDoor, { ...config, failMode: 'fail-secure' });
    expect(strikes(effects)).toEqual([]);
    expect(events(effects)).toEqual(['door.forced']);
  });

  it('reports a door forced again after it shut, each time', () => {
    const { effects } = run([[0, { type: 'contact', state: 'open' }], [1_000, { type: 'contact', state: 'closed' }], [2_000, { type: 'contact', state: 'open' }]]);
    expect(events(effects)).toEqual(['door.forced', 'door.closed', 'door.forced']);
  });

  it('does not call a door found open at start forced, but times it as held open', () => {
    const { effects, state } = run([[0, { type: 'contact', state: 'open' }], [20_000, { type: 'timer' }], [30_000, { type: 'timer' }]], INITIAL_DOOR_STATE);
    expect(events(effects)).toEqual(['door.held']);
    expect(state.alarm).toBe('held');
  });

  it('ignores a repeated contact report of the same position', () => {
    const { effects } = run([[0, { type: 'contact', state: 'open' }], [1_000, { type: 'contact', state: 'open' }]]);
    expect(events(effects)).toEqual(['door.forced']);
  });
});

describe('a door held unlocked by its schedule', () => {
  it('holds the strike unlocked, lets the door open without alarm for as long as it likes', () => {
    const { effects, state } = run([[0, { type: 'schedule', unlocked: true }], [10, { type: 'contact', state: 'open' }], [3_600_000, { type: 'timer' }]]);
    expect(strikes(effects)).toEqual(['unlock']);
    expect(events(effects)).toEqual(['door.unlocked_on_schedule']);
    expect(lockState(config, state, 3_600_000)).toBe('unlocked');
    expect(lastTimer(effects)).toEqual({ kind: 'timer', atMs: null });
  });

  it('[SAFE-LOCKDOWN] locks a scheduled-open door on lockdown and unlocks it again when the lockdown ends', () => {
    const { effects, state } = run([[0, { type: 'schedule', unlocked: true }], [10, { type: 'lockdown', on: true }], [20, { type: 'contact', state: 'open' }]]);
    expect(strikes(effects)).toEqual(['unlock', 'lock']);
    expect(events(effects)).toEqual(['door.unlocked_on_schedule', 'door.forced']);
    const released = run([[30, { type: 'contact', state: 'closed' }], [40, { type: 'lockdown', on: false }]], state);
    expect(strikes(released.effects)).toEqual(['unlock']);
  });

  it('locks again when the schedule ends, and the door is then supervised as usual', () => {
    const { effects } = run([[0, { type: 'schedule', unlocked: true }], [10, { type: 'schedule', unlocked: false }], [20, { type: 'contact', state: 'open' }]]);
    expect(strikes(effects)).toEqual(['unlock', 'lock']);
    expect(events(effects)).toEqual(['door.unlocked_on_schedule', 'door.relocked_on_schedule', 'door.forced']);
  });

  it('journals the schedule it follows, and that a lockdown keeps the strike locked meanwhile', () => {
    const { effects } = run([[0, { type: 'lockdown', on: true }], [10, { type: 'schedule', unlocked: true, schedule: 'office-hours', firstPersonIn: true }]]);
    expect(effects.filter((effect) => effect.kind === 'event')).toEqual([
      { kind: 'event', type: 'door.unlocked_on_schedule', data: { schedule: 'office-hours', firstPersonIn: true, strike: 'lock', lockdown: true } },
    ]);
    expect(strikes(effects)).toEqual([]);
  });

  it('gives a door standing open when the schedule ends the held-open allowance from then, not from when it opened', () => {
    const open = run([[0, { type: 'schedule', unlocked: true }], [10, { type: 'contact', state: 'open' }]]);
    const ended = run([[3_600_000, { type: 'schedule', unlocked: false, schedule: 'office-hours', why: 'closed' }]], open.state);
    expect(strikes(ended.effects)).toEqual(['lock']);
    expect(events(ended.effects)).toEqual(['door.relocked_on_schedule']);
    expect(lastTimer(ended.effects)).toEqual({ kind: 'timer', atMs: 3_600_000 + 30_000 - 10_000 });
    const held = run([[3_600_000 + 20_000, { type: 'timer' }], [3_600_000 + 30_000, { type: 'timer' }]], ended.state);
    expect(buzzers(held.effects)).toEqual(['alarm']);
    expect(events(held.effects)).toEqual(['door.held']);
  });

  it('keeps a scheduled-open fail-safe door unlocked when a fire alarm clears', () => {
    const { effects } = run([[0, { type: 'schedule', unlocked: true }], [10, { type: 'fire', active: true }], [20, { type: 'fire', active: false }]]);
    expect(strikes(effects)).toEqual(['unlock', 'unlock', 'unlock']);
  });
});
