import { bad, LineSplitter, type StreamCodec, type StreamDecoder } from './stream.js';
import type { DecodeResult } from './types.js';

/**
 * Wiegand through a serial bridge (a microcontroller timing D0/D1 and printing each frame):
 * one frame per line as `<bit count>:<bits>`, e.g. `26:10000000100000000111110011`.
 * The bits go on whole (parity included); the site's credential formats decode them.
 */
export const WIEGAND_MIN_BITS = 4;
export const WIEGAND_MAX_BITS = 128;
const LINE = /^\s*(\d{1,3})\s*:\s*([01]+)\s*$/;

export class WiegandLineDecoder implements StreamDecoder {
  private readonly lines = new LineSplitter(WIEGAND_MAX_BITS + 8);

  push(bytes: Uint8Array): DecodeResult[] {
    const results: DecodeResult[] = [];
    this.lines.push(
      bytes,
      (line) => results.push(decodeLine(line)),
      () => results.push(bad('too_large', `Wiegand line longer than ${WIEGAND_MAX_BITS + 8} characters`)),
    );
    return results;
  }
}

function decodeLine(line: string): DecodeResult {
  const match = LINE.exec(line);
  if (match === null) return bad('bad_frame', 'Wiegand line: expected "<bit count>:<bits>"');
  const count = Number(match[1]);
  const bits = match[2] ?? '';
  if (bits.length !== count) return bad('bad_frame', `Wiegand line: announces ${count} bits, carries ${bits.length}`);
  if (count < WIEGAND_MIN_BITS || count > WIEGAND_MAX_BITS) return bad('bad_frame', `Wiegand line: ${count} bits, expected ${WIEGAND_MIN_BITS} to ${WIEGAND_MAX_BITS}`);
  return { ok: true, signal: { type: 'wiegand', bits } };
}

export const wiegandLineCodec: StreamCodec = {
  id: 'wiegand-line',
  description: 'Wiegand frames from a serial bridge, one "<bit count>:<bits>" line each; read only',
  createDecoder: () => new WiegandLineDecoder(),
  encode: () => null,
};
