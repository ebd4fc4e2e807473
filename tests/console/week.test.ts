import { describe, expect, it } from 'vitest';
import { weekBlocks, type Schedule } from '../../console/src/week.js';

const schedule = (intervals: Schedule['intervals'], holidayIntervals: Schedule['holidayIntervals'] = []): Schedule => ({ id: 's', name: 'S', intervals, holidays: ['h'], holidayIntervals });

describe("the Schedules screen's week view", () => {
  it('places business hours on the weekdays named, Monday first', () => {
    const blocks = weekBlocks(schedule([{ days: ['mon', 'fri'], from: '07:00', to: '19:00' }]), new Set());
    expect(blocks).toEqual([
      { day: 0, fromMin: 420, toMin: 1140, holiday: false },
      { day: 4, fromMin: 420, toMin: 1140, holiday: false },
    ]);
  });

  it('runs an interval whose end is not after its start past midnight, Sunday night into Monday morning too', () => {
    const blocks = weekBlocks(schedule([{ days: ['sun'], from: '22:00', to: '06:00' }]), new Set());
    expect(blocks).toEqual([
      { day: 6, fromMin: 1320, toMin: 1440, holiday: false },
      { day: 0, fromMin: 0, toMin: 360, holiday: false },
    ]);
  });

  it("shows only the holiday's own hours on a holiday", () => {
    const blocks = weekBlocks(schedule([{ days: ['mon', 'tue'], from: '07:00', to: '19:00' }], [{ from: '10:00', to: '12:00' }]), new Set([1]));
    expect(blocks).toEqual([
      { day: 0, fromMin: 420, toMin: 1140, holiday: false },
      { day: 1, fromMin: 600, toMin: 720, holiday: true },
    ]);
  });
});
