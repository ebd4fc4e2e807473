import { bad, type StreamCodec, type StreamDecoder } from './stream.js';
import type { DecodeResult } from './types.js';

/**
 * RDM6300 / EM4100 125 kHz readers (9600 8N1): each read is
 * STX, 10 ASCII hex digits (version byte + 32-bit tag id), 2 ASCII hex digits of checksum
 * (XOR of the five data bytes), ETX. The card number is the 32-bit tag id in decimal, which is
 * what is printed on EM4100 cards ("0012345678" style, leading zeros dropped).
 */
export const RDM6300_FRAME_BYTES = 14;
const STX = 0x02;
const ETX = 0x03;

export class Rdm6300Decoder implements StreamDecoder {
  private frame: number[] = [];
  private inFrame = false;

  push(bytes: Uint8Array): DecodeResult[] {
    const results: DecodeResult[] = [];
    let skipped = 0;
    for (const byte of bytes) {
      if (byte === STX) {
        // A new STX inside a frame means the previous one was cut short (line noise, a dropped byte).
        if (this.inFrame) results.push(bad('bad_frame', `RDM6300 frame cut short after ${this.frame.length} bytes`));
        this.frame = [STX];
        this.inFrame = true;
        continue;
      }
      if (!this.inFrame) {
        skipped++;
        continue;
      }
      this.frame.push(byte);
      if (byte === ETX || this.frame.length === RDM6300_FRAME_BYTES) {
        results.push(decodeFrame(this.frame));
        this.frame = [];
        this.inFrame = false;
      }
    }
    if (skipped > 0) results.unshift(bad('bad_frame', `${skipped} bytes outside an RDM6300 frame`));
    return results;
  }
}

function decodeFrame(frame: readonly number[]): DecodeResult {
  if (frame.length !== RDM6300_FRAME_BYTES || frame[RDM6300_FRAME_BYTES - 1] !== ETX) {
    return bad('bad_frame', `RDM6300 frame of ${frame.length} bytes, expected ${RDM6300_FRAME_BYTES} ending in ETX`);
  }
  const hex = String.fromCharCode(...frame.slice(1, 13));
  if (!/^[0-9A-Fa-f]{12}$/.test(hex)) return bad('bad_frame', 'RDM6300 frame: expected 12 hex digits between STX and ETX');
  const values = Array.from({ length: 6 }, (_, i) => Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16));
  const checksum = values.slice(0, 5).reduce((xor, value) => xor ^ value, 0);
  if (checksum !== values[5]) return bad('bad_checksum', 'RDM6300 frame: checksum does not match');
  return { ok: true, signal: { type: 'card', card: String(Number.parseInt(hex.slice(2, 10), 16)) } };
}

/** Builds a frame as the reader sends it (tests, simulators, benchmarks). */
export function encodeRdm6300Frame(version: number, tagId: number): Buffer {
  const data = [version & 0xff, (tagId >>> 24) & 0xff, (tagId >>> 16) & 0xff, (tagId >>> 8) & 0xff, tagId & 0xff];
  const checksum = data.reduce((xor, value) => xor ^ value, 0);
  const hex = [...data, checksum].map((value) => value.toString(16).toUpperCase().padStart(2, '0')).join('');
  return Buffer.concat([Buffer.from([STX]), Buffer.from(hex, 'latin1'), Buffer.from([ETX])]);
}

export const rdm6300Codec: StreamCodec = {
  id: 'rdm6300',
  description: 'RDM6300 / EM4100 125 kHz serial reader (STX, 10 hex, checksum, ETX); read only',
  createDecoder: () => new Rdm6300Decoder(),
  encode: () => null,
};
