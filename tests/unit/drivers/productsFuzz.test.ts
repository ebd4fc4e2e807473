import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { productCodecs } from '../../../src/drivers/index.js';
import { DEOL_BANDS_OHMS, eolLoopCodec } from '../../../src/drivers/products.js';

const KINDS = ['panic-button', 'exit-button', 'door-contact', 'fire-alarm', 'reader', 'strike', 'camera'];

describe('MQTT product codecs under arbitrary payloads (fuzz)', () => {
  it('never throw, and answer every payload on every topic with one of the known outcomes', () => {
    for (const codec of productCodecs.values()) {
      fc.assert(
        fc.property(fc.constantFrom(...codec.fromDevice, 'unknown'), fc.oneof(fc.uint8Array({ maxLength: 5000 }), fc.json().map((text) => Buffer.from(text))), fc.constantFrom(...KINDS), (topic, payload, kind) => {
          const decoded = codec.decode(topic, payload, kind);
          expect(['signal', 'availability', 'none', 'bad', 'loop']).toContain(decoded.kind);
          if (decoded.kind === 'bad') expect(decoded.error.message.length).toBeGreaterThan(0);
        }),
        { numRuns: 300, seed: 7 },
      );
    }
  });

  it('bands any loop resistance into exactly one state, short → normal → active → cut as it rises [SAFE-EOL]', () => {
    const order = ['short', 'normal', 'active', 'cut'];
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e7, noNaN: true }), fc.double({ min: 0, max: 1e7, noNaN: true }), (a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        const stateOf = (ohms: number): string => {
          const decoded = eolLoopCodec.decode('state', Buffer.from(String(ohms)));
          if (decoded.kind !== 'loop') throw new Error(`${ohms} Ω decoded as ${decoded.kind}`);
          return decoded.state;
        };
        expect(order.indexOf(stateOf(low))).toBeLessThanOrEqual(order.indexOf(stateOf(high)));
      }),
      { numRuns: 500, seed: 11 },
    );
    expect(eolLoopCodec.decode('state', Buffer.from(String(DEOL_BANDS_OHMS.normalBelow - 1)))).toEqual({ kind: 'loop', state: 'normal' });
    expect(eolLoopCodec.decode('state', Buffer.from(String(DEOL_BANDS_OHMS.normalBelow)))).toEqual({ kind: 'loop', state: 'active' });
  });
});
