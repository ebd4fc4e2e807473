import { describe, expect, it } from 'vitest';
import { decodeJsonInput, encodeJsonCommand, MAX_INPUT_BYTES } from '../../../src/drivers/json.js';
import type { BadInputCode, DecodeResult, DeviceCommand, DeviceSignal } from '../../../src/drivers/types.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const decode = (value: unknown): DecodeResult => decodeJsonInput(utf8(typeof value === 'string' ? value : JSON.stringify(value)));

function signalOf(value: unknown): DeviceSignal {
  const result = decode(value);
  if (!result.ok) throw new Error(`expected a signal, got ${result.error.code}: ${result.error.message}`);
  return result.signal;
}

function refusalOf(value: unknown | Uint8Array): { code: BadInputCode; message: string } {
  const result = value instanceof Uint8Array ? decodeJsonInput(value) : decode(value);
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.signal)}`);
  return result.error;
}

describe('decodeJsonInput: valid signals', () => {
  it('reads a card swipe with the card number as a string of digits', () => {
    expect(signalOf({ type: 'card', card: '12345678' })).toEqual({ type: 'card', card: '12345678' });
  });

  it('keeps the leading zeros of a card number sent as a string', () => {
    expect(signalOf({ type: 'card', card: '0012345678' })).toEqual({ type: 'card', card: '0012345678' });
  });

  it('accepts card numbers from 1 up to 20 digits', () => {
    expect(signalOf({ type: 'card', card: '7' })).toEqual({ type: 'card', card: '7' });
    expect(signalOf({ type: 'card', card: '1'.repeat(20) })).toEqual({ type: 'card', card: '1'.repeat(20) });
  });

  it('passes a hex UID through as sent: the reader\'s cardFormat in site data says how to read it', () => {
    expect(signalOf({ type: 'card', card: '04A1b2C3' })).toEqual({ type: 'card', card: '04A1b2C3' });
  });

  it('reads a PIN entry', () => {
    expect(signalOf({ type: 'pin', pin: '1234' })).toEqual({ type: 'pin', pin: '1234' });
    expect(signalOf({ type: 'pin', pin: '123456789012' })).toEqual({ type: 'pin', pin: '123456789012' });
  });

  it('reads a button being pressed and released', () => {
    expect(signalOf({ type: 'button', state: 'pressed' })).toEqual({ type: 'button', state: 'pressed' });
    expect(signalOf({ type: 'button', state: 'released' })).toEqual({ type: 'button', state: 'released' });
  });

  it('reads a door contact opening and closing', () => {
    expect(signalOf({ type: 'contact', state: 'open' })).toEqual({ type: 'contact', state: 'open' });
    expect(signalOf({ type: 'contact', state: 'closed' })).toEqual({ type: 'contact', state: 'closed' });
  });

  it('reads a tamper switch tripping and returning to normal', () => {
    expect(signalOf({ type: 'tamper', state: 'tampered' })).toEqual({ type: 'tamper', state: 'tampered' });
    expect(signalOf({ type: 'tamper', state: 'normal' })).toEqual({ type: 'tamper', state: 'normal' });
  });

  it('reads a heartbeat', () => {
    expect(signalOf({ type: 'heartbeat' })).toEqual({ type: 'heartbeat' });
  });

  it('ignores extra fields firmware adds, and passes none of them on', () => {
    expect(signalOf({ type: 'card', card: '42', rssi: -60, firmware: '1.2.3' })).toEqual({ type: 'card', card: '42' });
  });

  it('accepts surrounding whitespace and a payload exactly at the size limit', () => {
    expect(signalOf('  {"type":"heartbeat"}\n')).toEqual({ type: 'heartbeat' });
    const base = '{"type":"heartbeat"}';
    const padded = base + ' '.repeat(MAX_INPUT_BYTES - base.length);
    expect(utf8(padded).byteLength).toBe(MAX_INPUT_BYTES);
    expect(signalOf(padded)).toEqual({ type: 'heartbeat' });
  });
});

describe('decodeJsonInput: a card sent as a JSON number', () => {
  it('accepts a card number sent as a JSON integer and returns it as digits', () => {
    expect(signalOf('{"type":"card","card":12345678}')).toEqual({ type: 'card', card: '12345678' });
    expect(signalOf('{"type":"card","card":0}')).toEqual({ type: 'card', card: '0' });
  });

  it('accepts the largest safe integer', () => {
    expect(signalOf(`{"type":"card","card":${Number.MAX_SAFE_INTEGER}}`)).toEqual({ type: 'card', card: String(Number.MAX_SAFE_INTEGER) });
  });

  it('refuses a card number too big to be an exact JSON integer rather than guess its digits', () => {
    const error = refusalOf('{"type":"card","card":12345678901234567890}');
    expect(error.code).toBe('bad_field');
    expect(error.message).toMatch(/^card: /);
  });

  it('refuses a card sent as a fraction or a negative number', () => {
    expect(refusalOf('{"type":"card","card":1234.5}')).toMatchObject({ code: 'bad_field', message: expect.stringMatching(/^card: /) });
    expect(refusalOf('{"type":"card","card":-1234}')).toMatchObject({ code: 'bad_field', message: expect.stringMatching(/^card: /) });
  });

  it('does not accept a PIN as a JSON number, which would lose its leading zeros', () => {
    expect(refusalOf('{"type":"pin","pin":1234}')).toMatchObject({ code: 'bad_field', message: expect.stringMatching(/^pin: /) });
  });
});

describe('decodeJsonInput: bad input', () => {
  it('refuses a payload over the size limit as too_large, before reading it', () => {
    const error = refusalOf(new Uint8Array(MAX_INPUT_BYTES + 1).fill(0x20));
    expect(error.code).toBe('too_large');
    expect(error.message).toContain(String(MAX_INPUT_BYTES + 1));
    expect(error.message).toContain(String(MAX_INPUT_BYTES));
  });

  it('refuses bytes that are not UTF-8 as not_utf8', () => {
    expect(refusalOf(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))).toEqual({ code: 'not_utf8', message: 'payload is not UTF-8 text' });
  });

  it('refuses text that is not JSON as not_json', () => {
    expect(refusalOf('card=12345678')).toEqual({ code: 'not_json', message: 'payload is not JSON' });
    expect(refusalOf(new Uint8Array())).toMatchObject({ code: 'not_json' });
  });

  it('refuses JSON that is not an object as not_object', () => {
    for (const payload of ['[]', '"card"', '42', 'null', 'true', '[{"type":"heartbeat"}]']) {
      expect(refusalOf(payload)).toEqual({ code: 'not_object', message: 'payload is not a JSON object' });
    }
  });

  it('refuses an object without a type as unknown_type, saying the type is missing', () => {
    expect(refusalOf({ card: '12345678' })).toEqual({ code: 'unknown_type', message: 'type: missing' });
    expect(refusalOf({ type: 7 })).toEqual({ code: 'unknown_type', message: 'type: missing' });
  });

  it('refuses a signal type it does not know as unknown_type, naming the type', () => {
    expect(refusalOf({ type: 'doorbell' })).toEqual({ code: 'unknown_type', message: 'type: unknown signal type "doorbell"' });
  });

  it('shortens a very long unknown type in its message', () => {
    const error = refusalOf({ type: 'x'.repeat(500) });
    expect(error.code).toBe('unknown_type');
    expect(error.message.length).toBeLessThan(100);
  });

  it('refuses a card read without a card number, naming the field', () => {
    expect(refusalOf({ type: 'card' })).toEqual({ code: 'bad_field', message: 'card: expected 1 to 20 decimal or hex digits, got nothing' });
  });

  it('refuses a card number with letters beyond hex, spaces or too many digits, naming the field', () => {
    for (const card of ['12XY5678', ' 12345678', '', '1'.repeat(21), '１２３４']) {
      expect(refusalOf({ type: 'card', card })).toEqual({ code: 'bad_field', message: 'card: expected 1 to 20 decimal or hex digits' });
    }
  });

  it('refuses a card number of the wrong JSON type, naming the field and the type', () => {
    expect(refusalOf({ type: 'card', card: true })).toEqual({ code: 'bad_field', message: 'card: expected 1 to 20 decimal or hex digits, got boolean' });
    expect(refusalOf({ type: 'card', card: ['123'] })).toEqual({ code: 'bad_field', message: 'card: expected 1 to 20 decimal or hex digits, got object' });
  });

  it('refuses a PIN that is too short, too long or not digits, naming the field', () => {
    for (const pin of ['123', '1234567890123', '12a4']) {
      expect(refusalOf({ type: 'pin', pin })).toEqual({ code: 'bad_field', message: 'pin: expected 4 to 12 decimal digits' });
    }
    expect(refusalOf({ type: 'pin' })).toMatchObject({ code: 'bad_field', message: expect.stringMatching(/^pin: /) });
  });

  it('refuses a button, contact or tamper state it does not know, naming the field and the allowed values', () => {
    expect(refusalOf({ type: 'button', state: 'held' })).toEqual({ code: 'bad_field', message: 'state: expected one of pressed, released' });
    expect(refusalOf({ type: 'contact', state: 'ajar' })).toEqual({ code: 'bad_field', message: 'state: expected one of open, closed' });
    expect(refusalOf({ type: 'tamper' })).toEqual({ code: 'bad_field', message: 'state: expected one of tampered, normal' });
    expect(refusalOf({ type: 'contact', state: 1 })).toMatchObject({ code: 'bad_field', message: expect.stringMatching(/^state: /) });
  });

  it('never repeats the raw card text in the message for a bad card', () => {
    const secrets = ['1234567890123456789012345', '98765432X', '0000111122223333 ', '12345678.5', '4111111111111111111111'];
    for (const card of secrets) {
      const error = refusalOf({ type: 'card', card });
      expect(error.code).toBe('bad_field');
      expect(error.message).not.toContain(card.trim());
      expect(error.message).not.toMatch(/\d{5,}/);
    }
    const big = refusalOf('{"type":"card","card":98765432109876543210}');
    expect(big.message).not.toMatch(/\d{5,}/);
  });

  it('never repeats the raw PIN in the message for a bad PIN', () => {
    const error = refusalOf({ type: 'pin', pin: '9876543210987' });
    expect(error.message).not.toContain('9876543210987');
  });
});

describe('encodeJsonCommand', () => {
  const roundTrip = (command: DeviceCommand): unknown => JSON.parse(encodeJsonCommand(command));

  it('writes a strike pulse as the JSON the device expects', () => {
    expect(roundTrip({ type: 'strike', action: 'pulse', durationMs: 5000 })).toEqual({ type: 'strike', action: 'pulse', durationMs: 5000 });
    expect(encodeJsonCommand({ type: 'strike', action: 'pulse', durationMs: 5000 })).toBe('{"type":"strike","action":"pulse","durationMs":5000}');
  });

  it('writes strike lock and unlock, LED, buzzer and camera commands', () => {
    const commands: DeviceCommand[] = [
      { type: 'strike', action: 'lock' },
      { type: 'strike', action: 'unlock' },
      { type: 'led', color: 'green', durationMs: 2000 },
      { type: 'led', color: 'off', durationMs: 0 },
      { type: 'buzzer', pattern: 'deny' },
      { type: 'camera', action: 'trigger', reason: 'panic' },
    ];
    for (const command of commands) expect(roundTrip(command)).toEqual(command);
  });

  it('produces one line of UTF-8 JSON, safe to publish as one MQTT payload', () => {
    const text = encodeJsonCommand({ type: 'camera', action: 'trigger', reason: 'line one\nline "two" – ünïcode' });
    expect(text).not.toContain('\n');
    expect(roundTrip({ type: 'camera', action: 'trigger', reason: 'line one\nline "two" – ünïcode' })).toEqual({
      type: 'camera',
      action: 'trigger',
      reason: 'line one\nline "two" – ünïcode',
    });
  });
});
