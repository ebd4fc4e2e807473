import { decodeJsonInput, encodeJsonCommand } from './json.js';
import type { DecodeResult, DeviceCommand } from './types.js';

export type { BadInput, BadInputCode, DecodeResult, DeviceCommand, DeviceSignal } from './types.js';

/** A codec turns one device's wire payloads into signals and commands into payloads. */
export interface Codec {
  readonly id: string;
  readonly description: string;
  decode(payload: Uint8Array): DecodeResult;
  encode(command: DeviceCommand): string;
}

/** Every codec a device profile (devices/*.yaml) may name. */
export const codecs: ReadonlyMap<string, Codec> = new Map([
  ['json', { id: 'json', description: 'guardpost native JSON topics (DESIGN.md, MQTT conventions)', decode: decodeJsonInput, encode: encodeJsonCommand }],
]);
