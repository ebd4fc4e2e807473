import type { BuzzerPattern, DeviceCommand, DeviceSignal, LedColor } from '../types.js';

/** Command codes (ACU → PD) and reply codes (PD → ACU), OSDP v2.2 section 6 and 7. */
export const Command = { POLL: 0x60, ID: 0x61, CAP: 0x62, LSTAT: 0x64, OUT: 0x68, LED: 0x69, BUZ: 0x6a, KEYSET: 0x75, CHLNG: 0x76, SCRYPT: 0x77 } as const;
export const Reply = { ACK: 0x40, NAK: 0x41, PDID: 0x45, PDCAP: 0x46, LSTATR: 0x48, RAW: 0x50, FMT: 0x51, KEYPAD: 0x53, CCRYPT: 0x76, RMAC_I: 0x78, BUSY: 0x79 } as const;

export const NAK_REASONS: Readonly<Record<number, string>> = {
  0x00: 'no error',
  0x01: 'message check character error',
  0x02: 'command length error',
  0x03: 'unknown command code',
  0x04: 'unexpected sequence number',
  0x05: 'unsupported security block',
  0x06: 'encrypted communication required',
  0x07: 'biometric type not supported',
  0x08: 'biometric format not supported',
  0x09: 'unable to process command record',
};

const LED_COLORS: Readonly<Record<LedColor, number>> = { off: 0, red: 1, green: 2, amber: 3 };

/** Units of 100 ms, as OSDP times LEDs and buzzers, clamped to what the field holds. */
const tenths = (ms: number, max: number): number => Math.max(1, Math.min(max, Math.round(ms / 100)));

/**
 * The osdp_LED or osdp_BUZ for a feedback command, or null when OSDP has no such output
 * (strikes are separate devices; camera triggers are not a reader's business).
 */
export function encodeFeedback(command: DeviceCommand): { code: number; data: Uint8Array } | null {
  switch (command.type) {
    case 'led': {
      const color = LED_COLORS[command.color];
      const timer = tenths(command.durationMs, 0xffff);
      // Reader 0, LED 0; temporary: set (2), steady on for the timer, then back to the permanent state (NOP).
      return { code: Command.LED, data: Uint8Array.of(0, 0, 2, 1, 0, color, color, timer & 0xff, timer >> 8, 0, 0, 0, 0, 0) };
    }
    case 'buzzer':
      return { code: Command.BUZ, data: buzzerData(command.pattern) };
    case 'strike':
    case 'camera':
      return null;
    default: {
      const unreachable: never = command;
      return unreachable;
    }
  }
}

function buzzerData(pattern: BuzzerPattern): Uint8Array {
  // reader, tone (1 off, 2 default), on time, off time (100 ms units), count (0 = until told otherwise)
  switch (pattern) {
    case 'grant':
      return Uint8Array.of(0, 2, 2, 0, 1);
    case 'deny':
      return Uint8Array.of(0, 2, 1, 1, 3);
    case 'alarm':
      return Uint8Array.of(0, 2, 5, 5, 0);
    case 'off':
      return Uint8Array.of(0, 1, 0, 0, 0);
    default: {
      const unreachable: never = pattern;
      return unreachable;
    }
  }
}

/** osdp_RAW card data as a bit string, MSB of the first byte first. */
export function rawBits(data: Uint8Array): string | { error: string } {
  if (data.length < 4) return { error: `osdp_RAW of ${data.length} bytes, expected at least 4` };
  const bitCount = data[2]! | (data[3]! << 8);
  const bytes = data.subarray(4);
  if (bitCount === 0 || Math.ceil(bitCount / 8) !== bytes.length) return { error: `osdp_RAW announces ${bitCount} bits in ${bytes.length} bytes` };
  let bits = '';
  for (const byte of bytes) bits += byte.toString(2).padStart(8, '0');
  return bits.slice(0, bitCount);
}

/** osdp_FMT card data: ASCII characters as the reader formatted them. */
export function formattedCard(data: Uint8Array): string | { error: string } {
  if (data.length < 3) return { error: `osdp_FMT of ${data.length} bytes, expected at least 3` };
  const count = data[2]!;
  if (data.length !== 3 + count) return { error: `osdp_FMT announces ${count} characters, carries ${data.length - 3}` };
  const text = String.fromCharCode(...data.subarray(3));
  return /^[0-9]{1,20}$/.test(text) ? text : { error: 'osdp_FMT card data: expected 1 to 20 decimal digits' };
}

/** osdp_KEYPAD digits as characters ('0'–'9', '*', '#'). */
export function keypadKeys(data: Uint8Array): string | { error: string } {
  if (data.length < 2) return { error: `osdp_KEYPAD of ${data.length} bytes, expected at least 2` };
  const count = data[1]!;
  if (data.length !== 2 + count) return { error: `osdp_KEYPAD announces ${count} keys, carries ${data.length - 2}` };
  const keys = String.fromCharCode(...data.subarray(2)).replace(/\x7f/g, '*').replace(/\x0d/g, '#');
  return /^[0-9*#]*$/.test(keys) ? keys : { error: 'osdp_KEYPAD: unexpected key code' };
}

export interface PdIdentity {
  readonly vendor: string;
  readonly model: number;
  readonly version: number;
  readonly serial: number;
  readonly firmware: string;
}

export function pdIdentity(data: Uint8Array): PdIdentity | { error: string } {
  if (data.length !== 12) return { error: `osdp_PDID of ${data.length} bytes, expected 12` };
  const hex = (byte: number): string => byte.toString(16).padStart(2, '0');
  return {
    vendor: `${hex(data[0]!)}${hex(data[1]!)}${hex(data[2]!)}`,
    model: data[3]!,
    version: data[4]!,
    serial: (data[5]! | (data[6]! << 8) | (data[7]! << 16) | (data[8]! << 24)) >>> 0,
    firmware: `${data[9]}.${data[10]}.${data[11]}`,
  };
}

/**
 * The signal a card or status reply carries by itself (keypad digits need the ACU's per-reader
 * buffer; see acu.ts). Undefined for replies that carry no signal (ACK, PDID, …).
 */
export function replySignal(code: number, data: Uint8Array): DeviceSignal | { error: string } | undefined {
  switch (code) {
    case Reply.RAW: {
      const bits = rawBits(data);
      return typeof bits === 'string' ? { type: 'wiegand', bits } : bits;
    }
    case Reply.FMT: {
      const card = formattedCard(data);
      return typeof card === 'string' ? { type: 'card', card } : card;
    }
    case Reply.LSTATR:
      if (data.length < 2) return { error: `osdp_LSTATR of ${data.length} bytes, expected 2` };
      return { type: 'tamper', state: data[0] === 0 ? 'normal' : 'tampered' };
    default:
      return undefined;
  }
}
