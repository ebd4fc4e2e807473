import { describe, expect, it } from 'vitest';
import { acknowledge, clear, escalate, raise, type Alarm, type RaiseRequest } from '../../../src/alarms/lifecycle.js';

const chain = [
  { to: 'floor-supervisor', afterMs: 60_000 },
  { to: 'security-manager', afterMs: 120_000 },
];
const request: RaiseRequest = {
  id: 'a1',
  kind: 'panic',
  source: { device: 'reception-panic', door: null, zone: 'ground-floor', location: 'Reception desk' },
  sourceKey: 'device:reception-panic',
  silent: false,
  drill: false,
  actor: { via: 'button', by: 'reception-panic' },
};
const sam = { via: 'api', by: 'sam-security' } as const;

function raised(nowMs = 0): Alarm {
  return raise([], request, chain, nowMs).alarm;
}

describe('the alarm lifecycle', () => {
  it('raises an alarm with its first escalation due after the first step of the chain', () => {
    const alarm = raised(1_000);
    expect(alarm).toMatchObject({ id: 'a1', state: 'raised', priority: 2, presses: 1, nextEscalationAtMs: 61_000 });
  });

  it('adds a repeated press of the same button to its open alarm instead of raising another', () => {
    const first = raised(0);
    const again = raise([first], { ...request, id: 'a2' }, chain, 5_000);
    expect(again).toMatchObject({ repeated: true, alarm: { id: 'a1', presses: 2, lastPressAtMs: 5_000 } });
  });

  it('raises a new alarm for the same button once the previous one is cleared', () => {
    const done = { ...raised(0), state: 'cleared' as const };
    expect(raise([done], { ...request, id: 'a2' }, chain, 5_000)).toMatchObject({ repeated: false, alarm: { id: 'a2' } });
  });

  it('goes raised → acknowledged → cleared with who did it and their notes', () => {
    const acked = acknowledge(raised(), sam, 'on my way', 10_000);
    if (!acked.ok) throw new Error(acked.message);
    expect(acked.alarm).toMatchObject({ state: 'acknowledged', acknowledged: { actor: sam, note: 'on my way', atMs: 10_000 }, nextEscalationAtMs: null });
    const cleared = clear(acked.alarm, sam, 'caller left, police informed', 20_000);
    if (!cleared.ok) throw new Error(cleared.message);
    expect(cleared.alarm).toMatchObject({ state: 'cleared', cleared: { note: 'caller left, police informed', atMs: 20_000 } });
  });

  it('refuses to clear an alarm nobody has acknowledged, and to acknowledge one twice', () => {
    expect(clear(raised(), sam, 'x', 1)).toMatchObject({ ok: false, reason: 'not_acknowledged' });
    const acked = acknowledge(raised(), sam, '', 1);
    if (!acked.ok) throw new Error(acked.message);
    expect(acknowledge(acked.alarm, sam, '', 2)).toMatchObject({ ok: false, reason: 'already_acknowledged', message: 'alarm a1 was already acknowledged by sam-security' });
  });

  it('escalates an unacknowledged alarm step by step up the chain, raising its priority, then stops', () => {
    const alarm = raised(0);
    expect(escalate(alarm, chain, 59_999)).toBeUndefined();
    const first = escalate(alarm, chain, 60_000);
    expect(first).toMatchObject({ level: 1, step: { to: 'floor-supervisor' }, alarm: { priority: 1, escalations: 1, nextEscalationAtMs: 180_000 } });
    const second = escalate(first!.alarm, chain, 180_000);
    expect(second).toMatchObject({ level: 2, step: { to: 'security-manager' }, alarm: { priority: 1, nextEscalationAtMs: null } });
    expect(escalate(second!.alarm, chain, 10_000_000)).toBeUndefined();
  });

  it('never escalates an acknowledged alarm', () => {
    const acked = acknowledge(raised(0), sam, '', 1_000);
    if (!acked.ok) throw new Error(acked.message);
    expect(escalate(acked.alarm, chain, 1_000_000)).toBeUndefined();
  });

  it('never escalates without a chain', () => {
    expect(raise([], request, [], 0).alarm.nextEscalationAtMs).toBeNull();
  });
});
