import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventJson, lazyEventFromRow } from '../../../src/journal/eventJson.js';
import { fromRow, type EventRow } from '../../../src/journal/journal.js';
import { cloudEventJson, toCloudEvent } from '../../../src/forwarders/cloudEvents.js';

const text = fc.string({ unit: 'grapheme-composite', maxLength: 30 });
const optionalText = fc.option(text, { nil: null });
const rows = fc.record({
  seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  id: fc.uuid(),
  time_ms: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  type: fc.constantFrom('access.granted', 'alarm.raised', 'door.forced', 'device.bad_input'),
  severity: fc.constantFrom('info', 'low', 'medium', 'high', 'critical'),
  site: text,
  door: optionalText,
  device: optionalText,
  cardholder: optionalText,
  reason: optionalText,
  // Stored the way the journal stores it: JSON.stringify of the event's data.
  data: fc.dictionary(text, fc.jsonValue({ maxDepth: 3 })).map((data) => JSON.stringify(data)),
}) as fc.Arbitrary<EventRow>;

describe('serialising forwarded events from their stored JSON', () => {
  it('gives exactly what JSON.stringify gives for the parsed event and its CloudEvent', () => {
    fc.assert(
      fc.property(rows, (row) => {
        const lazy = lazyEventFromRow(row);
        const eager = fromRow(row);
        expect(eventJson(lazy)).toBe(JSON.stringify(eager));
        expect(cloudEventJson(lazy, { site: 'demo', gateway: 'floor-3' })).toBe(JSON.stringify(toCloudEvent(eager, { site: 'demo', gateway: 'floor-3' })));
        // Code that does read the data sees the same values.
        expect(lazy).toEqual(eager);
        expect(JSON.stringify(lazy)).toBe(JSON.stringify(eager));
      }),
      { numRuns: 500 },
    );
  });
});
