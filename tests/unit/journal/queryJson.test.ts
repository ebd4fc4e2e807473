import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventTypes, type EventType } from '../../../src/journal/events.js';
import { Journal } from '../../../src/journal/journal.js';
import { useTempDatabase } from '../../support/tempDatabase.js';

const temp = useTempDatabase();

const types = Object.keys(EventTypes) as EventType[];
const id = fc.option(fc.stringMatching(/^[a-z0-9-]{1,12}$/), { nil: undefined });
// Any JSON data an event can carry: unicode, quotes, control characters, nesting, numbers.
const data = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 });

describe('Journal.queryJson (the events page computed afresh)', () => {
  it('gives exactly JSON.stringify of the events query() returns, for any events and filters', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ type: fc.constantFrom(...types), door: id, device: id, cardholder: id, reason: fc.option(fc.string(), { nil: undefined }), data }), { minLength: 0, maxLength: 20 }),
        fc.integer({ min: 1, max: 25 }),
        fc.option(fc.constantFrom('access', 'door.forced', 'device'), { nil: undefined }),
        (inputs, limit, type) => {
          temp.db.exec('DELETE FROM events');
          let clockMs = Date.parse('2026-11-23T22:00:00.000Z');
          const journal = new Journal(temp.db, 'hq', () => (clockMs += 7));
          for (const input of inputs) journal.append(input);
          for (const query of [{ limit }, { limit, type }, { limit, afterSeq: 0 }]) expect(journal.queryJson(query)).toBe(JSON.stringify(journal.query(query)));
        },
      ),
      { numRuns: 150 },
    );
  });
});
