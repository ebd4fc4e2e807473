import { WIEGAND_MAX_BITS, WIEGAND_MIN_BITS } from './wiegandLine.js';
import type { DecodeResult } from './types.js';

/** Quiet time after the last pulse that ends a frame (readers space bits ~2 ms apart). */
export const WIEGAND_FRAME_GAP_MS = 25;

/**
 * Wiegand bit framing from the two data lines: a pulse on DATA0 is a 0, on DATA1 a 1; a frame
 * ends after WIEGAND_FRAME_GAP_MS of quiet (the caller times that and calls end()). Only framing:
 * card formats and parity are the site's credential formats' business.
 */
export class WiegandFramer {
  private bits = '';
  private overflowed = false;

  pulse(bit: 0 | 1): void {
    if (this.bits.length >= WIEGAND_MAX_BITS) {
      this.overflowed = true;
      return;
    }
    this.bits += bit === 1 ? '1' : '0';
  }

  get pending(): boolean {
    return this.bits.length > 0 || this.overflowed;
  }

  end(): DecodeResult | undefined {
    const { bits, overflowed } = this;
    this.bits = '';
    this.overflowed = false;
    if (overflowed) return { ok: false, error: { code: 'too_large', message: `Wiegand frame longer than ${WIEGAND_MAX_BITS} bits` } };
    if (bits.length === 0) return undefined;
    if (bits.length < WIEGAND_MIN_BITS) return { ok: false, error: { code: 'bad_frame', message: `Wiegand frame of ${bits.length} bits is line noise (fewer than ${WIEGAND_MIN_BITS})` } };
    return { ok: true, signal: { type: 'wiegand', bits } };
  }
}
