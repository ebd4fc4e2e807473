import { decodeJsonInput, encodeJsonCommand } from './json.js';
import { productCodecs } from './products.js';
import { rdm6300Codec } from './rdm6300.js';
import { alarmLineCodec, cardLineCodec } from './serialLines.js';
import type { StreamCodec } from './stream.js';
import type { DecodeResult, DeviceCommand } from './types.js';
import { wiegandLineCodec } from './wiegandLine.js';

export type { BadInput, BadInputCode, DecodeResult, DeviceCommand, DeviceSignal } from './types.js';
export type { StreamCodec, StreamDecoder } from './stream.js';
export { productCodecs, productTopic, type ProductCodec, type ProductDecode } from './products.js';

/** A codec turns one device's wire payloads into signals and commands into payloads. */
export interface Codec {
  readonly id: string;
  readonly description: string;
  decode(payload: Uint8Array): DecodeResult;
  encode(command: DeviceCommand): string;
}

/** Every message codec (one MQTT payload = one signal) a device profile (devices/*.yaml) may name. */
export const codecs: ReadonlyMap<string, Codec> = new Map([
  ['json', { id: 'json', description: 'guardpost native JSON topics (DESIGN.md, MQTT conventions)', decode: decodeJsonInput, encode: encodeJsonCommand }],
]);

/** Byte-stream codecs for serial devices; framing state lives in each port's decoder. */
export const streamCodecs: ReadonlyMap<string, StreamCodec> = new Map([
  [rdm6300Codec.id, rdm6300Codec],
  [wiegandLineCodec.id, wiegandLineCodec],
  [cardLineCodec.id, cardLineCodec],
  [alarmLineCodec.id, alarmLineCodec],
]);

/** Drivers that work on GPIO lines rather than bytes (src/site/deviceBindings.ts runs them). */
export const pinDrivers: ReadonlyMap<string, { readonly id: string; readonly description: string }> = new Map([
  ['gpio-input', { id: 'gpio-input', description: 'a switch on one GPIO input: panic, exit or fire button, door contact; debounced' }],
  ['gpio-relay', { id: 'gpio-relay', description: 'a relay on one GPIO output: strike or camera trigger line' }],
  ['gpio-wiegand', { id: 'gpio-wiegand', description: 'a Wiegand reader on two GPIO inputs (DATA0, DATA1); framing only' }],
]);

/** Protocols that run a whole serial bus (polling, addressing) rather than decode one device's bytes. */
export const busProtocols: ReadonlyMap<string, { readonly id: string; readonly description: string }> = new Map([
  ['osdp', { id: 'osdp', description: 'OSDP v2.2 control panel (ACU) on an RS-485 bus: poll, ID/CAP, card data, keypad, LED and buzzer' }],
]);

/** True when some registry knows the driver name. */
export function driverExists(name: string): boolean {
  return codecs.has(name) || streamCodecs.has(name) || pinDrivers.has(name) || busProtocols.has(name) || productCodecs.has(name);
}
