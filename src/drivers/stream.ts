import type { DecodeResult, DeviceCommand } from './types.js';

/**
 * A codec for a byte stream (a serial port): bytes arrive in arbitrary chunks, so decoding
 * keeps framing state per port. A decoder never throws: bad bytes become bad-input results
 * and it resynchronises on the next frame start.
 */
export interface StreamDecoder {
  push(bytes: Uint8Array): DecodeResult[];
}

export interface StreamCodec {
  readonly id: string;
  readonly description: string;
  /** Per-device settings a decoder may take (the generic line reader's pattern). */
  createDecoder(options?: { readonly linePattern?: string }): StreamDecoder;
  /** The bytes for a command, or null when this device has no such output (e.g. an RDM6300 has no LED). */
  encode(command: DeviceCommand): Uint8Array | null;
}

export const bad = (code: 'bad_frame' | 'bad_checksum' | 'too_large' | 'bad_field', message: string): DecodeResult => ({ ok: false, error: { code, message } });

/**
 * Splits a text stream into lines (LF, CR or CRLF), refusing over-long lines without keeping
 * them: a line protocol's decoder sees each complete line once.
 */
export class LineSplitter {
  private buffer = '';
  private overflowing = false;

  constructor(private readonly maxLineChars: number) {}

  push(bytes: Uint8Array, onLine: (line: string) => void, onOverflow: () => void): void {
    // latin1 keeps one char per byte, so a non-ASCII byte is simply a character the pattern refuses.
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    for (const char of text) {
      if (char === '\n' || char === '\r') {
        if (this.overflowing) this.overflowing = false;
        else if (this.buffer.length > 0) onLine(this.buffer);
        this.buffer = '';
        continue;
      }
      if (this.overflowing) continue;
      this.buffer += char;
      if (this.buffer.length > this.maxLineChars) {
        this.buffer = '';
        this.overflowing = true;
        onOverflow();
      }
    }
  }
}
