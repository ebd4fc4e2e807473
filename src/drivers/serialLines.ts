import { bad, LineSplitter, type StreamCodec, type StreamDecoder } from './stream.js';
import type { DecodeResult } from './types.js';

/** Lines longer than this are refused; no credential or alarm line comes near it. */
const MAX_LINE_CHARS = 128;

/** By default a line is one card number of 1 to 20 digits (keyboard-wedge and USB-serial readers). */
export const DEFAULT_LINE_PATTERN = '^\\s*([0-9]{1,20})\\s*$';

/**
 * A generic line reader: one credential per line. `linePattern` (a device setting) is a regular
 * expression whose first capture group is the card number, e.g. `^CARD:([0-9]+)$`.
 */
export class CardLineDecoder implements StreamDecoder {
  private readonly lines = new LineSplitter(MAX_LINE_CHARS);
  private readonly pattern: RegExp;

  constructor(pattern: string = DEFAULT_LINE_PATTERN) {
    this.pattern = new RegExp(pattern);
  }

  push(bytes: Uint8Array): DecodeResult[] {
    const results: DecodeResult[] = [];
    this.lines.push(
      bytes,
      (line) => {
        const card = this.pattern.exec(line)?.[1];
        if (card === undefined) results.push(bad('bad_frame', 'line does not match the reader\'s pattern'));
        else if (!/^[0-9]{1,20}$/.test(card)) results.push(bad('bad_field', 'card: expected 1 to 20 decimal digits'));
        else results.push({ ok: true, signal: { type: 'card', card } });
      },
      () => results.push(bad('too_large', `line longer than ${MAX_LINE_CHARS} characters`)),
    );
    return results;
  }
}

/**
 * A serial alarm input (an alarm panel's or a panic-button interface's serial output), one
 * keyword per line: PANIC/ALARM (pressed), RESTORE/NORMAL (released), TAMPER, TAMPER RESTORE, HEARTBEAT.
 */
export class AlarmLineDecoder implements StreamDecoder {
  private readonly lines = new LineSplitter(MAX_LINE_CHARS);

  push(bytes: Uint8Array): DecodeResult[] {
    const results: DecodeResult[] = [];
    this.lines.push(
      bytes,
      (line) => {
        switch (line.trim().toUpperCase()) {
          case 'PANIC':
          case 'ALARM':
            return void results.push({ ok: true, signal: { type: 'button', state: 'pressed' } });
          case 'RESTORE':
          case 'NORMAL':
            return void results.push({ ok: true, signal: { type: 'button', state: 'released' } });
          case 'TAMPER':
            return void results.push({ ok: true, signal: { type: 'tamper', state: 'tampered' } });
          case 'TAMPER RESTORE':
            return void results.push({ ok: true, signal: { type: 'tamper', state: 'normal' } });
          case 'HEARTBEAT':
            return void results.push({ ok: true, signal: { type: 'heartbeat' } });
          default:
            return void results.push(bad('bad_frame', 'expected PANIC, ALARM, RESTORE, NORMAL, TAMPER, TAMPER RESTORE or HEARTBEAT'));
        }
      },
      () => results.push(bad('too_large', `line longer than ${MAX_LINE_CHARS} characters`)),
    );
    return results;
  }
}

export const cardLineCodec: StreamCodec = {
  id: 'serial-lines',
  description: 'generic line reader: one card number per line, matched by the device\'s linePattern',
  createDecoder: (options) => new CardLineDecoder(options?.linePattern),
  encode: () => null,
};

export const alarmLineCodec: StreamCodec = {
  id: 'serial-alarm',
  description: 'serial panic/alarm input: PANIC, RESTORE, TAMPER … one keyword per line',
  createDecoder: () => new AlarmLineDecoder(),
  encode: () => null,
};
