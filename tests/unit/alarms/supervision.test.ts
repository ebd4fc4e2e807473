import { describe, expect, it } from 'vitest';
import { Supervision } from '../../../src/alarms/supervision.js';
import type { EventInput, Journal } from '../../../src/journal/index.js';
import { FakeTime } from './fakeTimers.js';

function setup() {
  const time = new FakeTime();
  const events: EventInput[] = [];
  const journal = { append: (input: EventInput) => events.push(input) } as unknown as Journal;
  const supervision = new Supervision({ journal, clock: time.clock, timers: time });
  supervision.load(new Map([['reception-panic', 60_000]]));
  return { time, events, supervision };
}

describe('device supervision [SAFE-SUPERVISION]', () => {
  it('raises device.trouble once when a supervised device is silent for supervisionMs', () => {
    const { time, events } = setup();
    time.advance(59_999);
    expect(events).toEqual([]);
    time.advance(1);
    expect(events).toEqual([{ type: 'device.trouble', device: 'reception-panic', reason: 'supervision', data: { device: 'reception-panic', cause: 'silent', supervisionMs: 60_000, lastSeen: '1970-01-01T00:00:00.000Z' } }]);
    time.advance(600_000);
    expect(events).toHaveLength(1);
  });

  it('stays quiet while heartbeats keep coming', () => {
    const { time, events, supervision } = setup();
    for (let minute = 0; minute < 10; minute++) {
      time.advance(50_000);
      supervision.seen('reception-panic');
    }
    expect(events).toEqual([]);
  });

  it('clears the trouble when the device is heard again, and watches it afresh', () => {
    const { time, events, supervision } = setup();
    time.advance(60_000);
    supervision.seen('reception-panic');
    expect(events.map((event) => event.type)).toEqual(['device.trouble', 'device.trouble_cleared']);
    expect(supervision.inTrouble('reception-panic')).toBe(false);
    time.advance(60_000);
    expect(events.map((event) => event.type)).toEqual(['device.trouble', 'device.trouble_cleared', 'device.trouble']);
  });

  it('ignores devices that are not supervised', () => {
    const { time, events, supervision } = setup();
    supervision.seen('main-entrance-reader');
    time.advance(30_000);
    expect(events).toEqual([]);
  });
});
