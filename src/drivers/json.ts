import type { BadInput, DecodeResult, DeviceCommand, DeviceSignal } from './types.js';

/** The native JSON device protocol of DESIGN.md (`guardpost/devices/<id>/input|output`). */

/** Larger payloads are refused before parsing: no legitimate signal comes near this. */
export const MAX_INPUT_BYTES = 1024;

// Decimal digits or a hex UID: the reader's cardFormat in site data says which (site/accessPath.ts).
const CARD_DIGITS = /^[0-9A-Fa-f]{1,20}$/;
const PIN_DIGITS = /^[0-9]{4,12}$/;

const bad = (code: BadInput['code'], message: string): DecodeResult => ({ ok: false, error: { code, message } });
const fatalDecoder = new TextDecoder('utf-8', { fatal: true });

function oneOf<T extends string>(record: Record<string, unknown>, field: string, allowed: readonly T[]): T | BadInput {
  const value = record[field];
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  return { code: 'bad_field', message: `${field}: expected one of ${allowed.join(', ')}` };
}

function digits(record: Record<string, unknown>, field: 'card' | 'pin', pattern: RegExp, expected: string): string | BadInput {
  let value = record[field];
  // Some firmware sends the card as a JSON number; accept it only when it is an exact integer.
  if (field === 'card' && typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) value = String(value);
  if (typeof value !== 'string') return { code: 'bad_field', message: `${field}: expected ${expected}, got ${value === undefined ? 'nothing' : typeof value}` };
  if (!pattern.test(value)) return { code: 'bad_field', message: `${field}: expected ${expected}` };
  return value;
}

const isBad = (value: unknown): value is BadInput => typeof value === 'object' && value !== null && 'code' in value;

export function decodeJsonInput(payload: Uint8Array): DecodeResult {
  if (payload.byteLength > MAX_INPUT_BYTES) return bad('too_large', `payload of ${payload.byteLength} bytes exceeds ${MAX_INPUT_BYTES}`);
  let text: string;
  try {
    text = fatalDecoder.decode(payload);
  } catch {
    return bad('not_utf8', 'payload is not UTF-8 text');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return bad('not_json', 'payload is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return bad('not_object', 'payload is not a JSON object');
  const record = parsed as Record<string, unknown>;

  let signal: DeviceSignal | BadInput;
  switch (record.type) {
    case 'card': {
      const card = digits(record, 'card', CARD_DIGITS, '1 to 20 decimal or hex digits');
      signal = isBad(card) ? card : { type: 'card', card };
      break;
    }
    case 'pin': {
      const pin = digits(record, 'pin', PIN_DIGITS, '4 to 12 decimal digits');
      signal = isBad(pin) ? pin : { type: 'pin', pin };
      break;
    }
    case 'wiegand': {
      // A raw frame from a Wiegand-to-MQTT bridge; the site's credential formats decode it [ACC-WIEGAND].
      const bits = record.bits;
      signal = typeof bits === 'string' && /^[01]{4,128}$/.test(bits) ? { type: 'wiegand', bits } : { code: 'bad_field', message: 'bits: expected 4 to 128 characters of 0 and 1' };
      break;
    }
    case 'button': {
      const state = oneOf(record, 'state', ['pressed', 'released'] as const);
      signal = isBad(state) ? state : { type: 'button', state };
      break;
    }
    case 'contact': {
      const state = oneOf(record, 'state', ['open', 'closed'] as const);
      signal = isBad(state) ? state : { type: 'contact', state };
      break;
    }
    case 'tamper': {
      const state = oneOf(record, 'state', ['tampered', 'normal'] as const);
      signal = isBad(state) ? state : { type: 'tamper', state };
      break;
    }
    case 'heartbeat':
      signal = { type: 'heartbeat' };
      break;
    default:
      return bad('unknown_type', typeof record.type === 'string' ? `type: unknown signal type "${record.type.slice(0, 32)}"` : 'type: missing');
  }
  return isBad(signal) ? { ok: false, error: signal } : { ok: true, signal };
}

export function encodeJsonCommand(command: DeviceCommand): string {
  return JSON.stringify(command);
}
