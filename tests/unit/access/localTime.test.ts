import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { localTimeAt } from '../../../src/access/localTime.js';

/** The reference: Intl asked directly for this very instant. */
function fromIntl(zone: string, epochMs: number) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', weekday: 'short' })
      .formatToParts(epochMs)
      .map((part) => [part.type, part.value]),
  );
  const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(parts.weekday ?? '') + 1;
  return { date: `${parts.year}-${parts.month}-${parts.day}`, weekday, minute: Number(parts.hour) * 60 + Number(parts.minute) };
}

describe('localTimeAt', () => {
  const zones = ['Europe/London', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Pacific/Chatham', 'America/St_Johns', 'UTC'];

  it('agrees with Intl at any instant in zones with hour, half-hour and quarter-hour offsets and DST', () => {
    fc.assert(
      fc.property(fc.constantFrom(...zones), fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2040-01-01T00:00:00Z') }), (zone, epochMs) => {
        expect(localTimeAt(zone, epochMs)).toEqual(fromIntl(zone, epochMs));
      }),
      { numRuns: 3_000 },
    );
  });

  it.each([
    ['Europe/London', '2025-03-30T00:59:59Z', { date: '2025-03-30', minute: 59 }],
    ['Europe/London', '2025-03-30T01:00:00Z', { date: '2025-03-30', minute: 120 }],
    ['Europe/London', '2025-10-26T00:59:00Z', { date: '2025-10-26', minute: 119 }],
    ['Europe/London', '2025-10-26T01:00:00Z', { date: '2025-10-26', minute: 60 }],
    ['America/New_York', '2025-03-09T06:59:00Z', { date: '2025-03-09', minute: 119 }],
    ['America/New_York', '2025-03-09T07:00:00Z', { date: '2025-03-09', minute: 180 }],
    ['Australia/Lord_Howe', '2025-04-05T14:59:00Z', { date: '2025-04-06', minute: 119 }],
    ['Australia/Lord_Howe', '2025-04-05T15:00:00Z', { date: '2025-04-06', minute: 90 }],
  ])('reads the wall clock in %s at %s on either side of a DST change', (zone, iso, expected) => {
    expect(localTimeAt(zone, Date.parse(iso))).toMatchObject(expected);
  });

  it('throws a RangeError for a zone Intl does not know', () => {
    expect(() => localTimeAt('Mars/Olympus_Mons', 0)).toThrow(RangeError);
  });
});
