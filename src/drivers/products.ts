import type { BadInput, DeviceCommand, DeviceSignal } from './types.js';

/**
 * Codecs for MQTT products people already own, each on the product's own topics. A codec names
 * its topics as templates over the device's `topic` (the name the product uses for it, e.g. a
 * zigbee2mqtt friendly name); devices/*.yaml profiles repeat them and the catalogue test keeps
 * the two equal. The embedded broker lets such a device publish and subscribe exactly these.
 */
export type ProductDecode =
  | { readonly kind: 'signal'; readonly signal: DeviceSignal }
  | { readonly kind: 'availability'; readonly state: 'online' | 'offline' }
  /** A message the product sends that means nothing to guardpost (e.g. a battery report). */
  | { readonly kind: 'none' }
  /** A supervised (end-of-line) input's loop: normal, active, or a wiring fault (cut = open circuit, short). */
  | { readonly kind: 'loop'; readonly state: LoopState }
  | { readonly kind: 'bad'; readonly error: BadInput };

export interface ProductCodec {
  readonly id: string;
  readonly description: string;
  /** Topic templates by name; `{topic}` is the device's topic. */
  readonly topics: Readonly<Record<string, string>>;
  /** Topic names the device publishes on (the gateway subscribes) and those it receives commands on. */
  readonly fromDevice: readonly string[];
  readonly toDevice: readonly string[];
  /** `deviceKind` lets one product serve as a button or a door contact (ESPHome binary sensors). */
  decode(topicName: string, payload: Uint8Array, deviceKind?: string): ProductDecode;
  /** Null when the product has no such output. */
  encode(command: DeviceCommand): { readonly topicName: string; readonly payload: string } | null;
}

export type LoopState = 'normal' | 'active' | 'cut' | 'short';

const MAX_PAYLOAD_BYTES = 4096;
const bad = (code: BadInput['code'], message: string): ProductDecode => ({ kind: 'bad', error: { code, message } });
const fatalDecoder = new TextDecoder('utf-8', { fatal: true });

function text(payload: Uint8Array): string | ProductDecode {
  if (payload.byteLength > MAX_PAYLOAD_BYTES) return bad('too_large', `payload of ${payload.byteLength} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  try {
    return fatalDecoder.decode(payload);
  } catch {
    return bad('not_utf8', 'payload is not UTF-8 text');
  }
}

function object(payload: Uint8Array): Record<string, unknown> | ProductDecode {
  const body = text(payload);
  if (typeof body !== 'string') return body;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return bad('not_json', 'payload is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return bad('not_object', 'payload is not a JSON object');
  return parsed as Record<string, unknown>;
}

const isDecode = (value: unknown): value is ProductDecode => typeof value === 'object' && value !== null && 'kind' in value && typeof (value as { kind: unknown }).kind === 'string' && ['signal', 'availability', 'none', 'bad', 'loop'].includes((value as { kind: string }).kind);

function onlineWord(body: string): ProductDecode {
  const word = body.trim().toLowerCase();
  if (word === 'online' || word === 'true') return { kind: 'availability', state: 'online' };
  if (word === 'offline' || word === 'false') return { kind: 'availability', state: 'offline' };
  return bad('bad_field', 'availability: expected online or offline');
}

/** esp-rfid (ESP8266 RFID reader firmware): card reads on `<topic>/send` with the UID in hex. */
export const espRfidCodec: ProductCodec = {
  id: 'esp-rfid',
  description: 'esp-rfid reader firmware: {"type":"access","uid":"<hex>"} on <topic>/send; read only',
  topics: { send: '{topic}/send' },
  fromDevice: ['send'],
  toDevice: [],
  decode(_topicName, payload) {
    const record = object(payload);
    if (isDecode(record)) return record;
    switch (record.type) {
      case 'access': {
        const uid = record.uid;
        // The UID as the card's number in decimal, as printed on most 13.56 MHz cards' sleeves.
        if (typeof uid !== 'string' || !/^[0-9a-fA-F]{2,16}$/.test(uid)) return bad('bad_field', 'uid: expected 2 to 16 hex digits');
        return { kind: 'signal', signal: { type: 'card', card: BigInt(`0x${uid}`).toString(10) } };
      }
      case 'heartbeat':
        return { kind: 'signal', signal: { type: 'heartbeat' } };
      case 'boot':
        return { kind: 'availability', state: 'online' };
      default:
        return { kind: 'none' };
    }
  },
  encode: () => null,
};

const Z2M_PRESS_ACTIONS = new Set(['single', 'double', 'triple', 'long', 'hold', 'press', 'on', 'emergency', 'panic']);

/** A zigbee2mqtt button (panic, exit) or contact sensor on `zigbee2mqtt/<friendly name>`. */
export const zigbee2mqttCodec: ProductCodec = {
  id: 'zigbee2mqtt',
  description: 'zigbee2mqtt device state on zigbee2mqtt/<friendly name>: action → button, contact → door contact, tamper',
  topics: { state: 'zigbee2mqtt/{topic}', availability: 'zigbee2mqtt/{topic}/availability' },
  fromDevice: ['state', 'availability'],
  toDevice: [],
  decode(topicName, payload) {
    if (topicName === 'availability') {
      const body = text(payload);
      if (typeof body !== 'string') return body;
      // zigbee2mqtt ≥ 1.32 sends {"state":"online"}; older versions the bare word.
      if (body.trim().startsWith('{')) {
        const record = object(payload);
        if (isDecode(record)) return record;
        return typeof record.state === 'string' ? onlineWord(record.state) : bad('bad_field', 'state: expected online or offline');
      }
      return onlineWord(body);
    }
    const record = object(payload);
    if (isDecode(record)) return record;
    if (typeof record.action === 'string' && record.action !== '') {
      return Z2M_PRESS_ACTIONS.has(record.action) ? { kind: 'signal', signal: { type: 'button', state: 'pressed' } } : record.action === 'release' ? { kind: 'signal', signal: { type: 'button', state: 'released' } } : { kind: 'none' };
    }
    // zigbee2mqtt: contact true = magnet present = door closed.
    if (typeof record.contact === 'boolean') return { kind: 'signal', signal: { type: 'contact', state: record.contact ? 'closed' : 'open' } };
    if (record.tamper === true) return { kind: 'signal', signal: { type: 'tamper', state: 'tampered' } };
    return { kind: 'none' };
  },
  encode: () => null,
};

/** Tasmota relay as a strike: the pulse runs on the device (Backlog with Delay), so a lost link cannot hold a door open. */
export const tasmotaCodec: ProductCodec = {
  id: 'tasmota',
  description: 'Tasmota relay as a strike: cmnd/<topic>/Backlog and cmnd/<topic>/POWER; availability on tele/<topic>/LWT',
  topics: { backlog: 'cmnd/{topic}/Backlog', power: 'cmnd/{topic}/POWER', lwt: 'tele/{topic}/LWT', state: 'stat/{topic}/POWER' },
  fromDevice: ['lwt', 'state'],
  toDevice: ['backlog', 'power'],
  decode(topicName, payload) {
    const body = text(payload);
    if (typeof body !== 'string') return body;
    if (topicName === 'lwt') return onlineWord(body);
    return /^(ON|OFF)$/i.test(body.trim()) ? { kind: 'none' } : bad('bad_field', 'POWER: expected ON or OFF');
  },
  encode(command) {
    if (command.type !== 'strike') return null;
    if (command.action === 'pulse') return { topicName: 'backlog', payload: `POWER ON; DELAY ${Math.max(1, Math.round(command.durationMs / 100))}; POWER OFF` };
    return { topicName: 'power', payload: command.action === 'unlock' ? 'ON' : 'OFF' };
  },
};

/** Shelly Gen2/Gen3 (Plus, Pro) relay as a strike over MQTT RPC; the timer runs on the device. */
export const shellyGen2Codec: ProductCodec = {
  id: 'shelly-gen2',
  description: 'Shelly Plus/Pro relay as a strike: Switch.Set RPC on <topic>/rpc with toggle_after; availability on <topic>/online',
  topics: { rpc: '{topic}/rpc', online: '{topic}/online' },
  fromDevice: ['online'],
  toDevice: ['rpc'],
  decode(_topicName, payload) {
    const body = text(payload);
    return typeof body !== 'string' ? body : onlineWord(body);
  },
  encode(command) {
    if (command.type !== 'strike') return null;
    const params = command.action === 'pulse' ? { id: 0, on: true, toggle_after: Math.max(0.1, command.durationMs / 1000) } : { id: 0, on: command.action === 'unlock' };
    return { topicName: 'rpc', payload: JSON.stringify({ id: 1, src: 'guardpost', method: 'Switch.Set', params }) };
  },
};

/** An Axis camera's MQTT event subscription: an action rule on the camera records or sends a clip. */
export const axisCameraCodec: ProductCodec = {
  id: 'axis-camera',
  description: 'Axis camera trigger: a JSON message on <topic>/trigger that an MQTT action rule on the camera subscribes to',
  topics: { trigger: '{topic}/trigger' },
  fromDevice: [],
  toDevice: ['trigger'],
  decode: () => ({ kind: 'none' }),
  encode(command) {
    if (command.type !== 'camera') return null;
    return { topicName: 'trigger', payload: JSON.stringify({ action: command.action, reason: command.reason, source: 'guardpost' }) };
  },
};

/**
 * An ESPHome binary sensor (`<node>/binary_sensor/<object id>/state`, ON/OFF) as a button or a
 * door contact. Home Assistant's door class means ON = open; for a button ON = pressed.
 */
export const esphomeBinaryCodec: ProductCodec = {
  id: 'esphome-binary',
  description: 'ESPHome binary sensor: ON/OFF on <node>/binary_sensor/<object id>/state; a button or a door contact (ON = open)',
  topics: { state: '{topic}/state' },
  fromDevice: ['state'],
  toDevice: [],
  decode(_topicName, payload, deviceKind) {
    const body = text(payload);
    if (typeof body !== 'string') return body;
    const word = body.trim().toUpperCase();
    if (word !== 'ON' && word !== 'OFF') return bad('bad_field', 'state: expected ON or OFF');
    if (deviceKind === 'door-contact') return { kind: 'signal', signal: { type: 'contact', state: word === 'ON' ? 'open' : 'closed' } };
    return { kind: 'signal', signal: { type: 'button', state: word === 'ON' ? 'pressed' : 'released' } };
  },
  encode: () => null,
};

const FRIGATE_EVENT_TYPES = new Set(['new', 'update', 'end']);

/**
 * A Frigate NVR (`topic` = its MQTT topic_prefix, default `frigate`): `<prefix>/available` is the
 * NVR's availability, so security staff see when the cameras stop recording. Tracked-object
 * messages on `<prefix>/events` are checked and counted when malformed, but are no access signal
 * (guardpost has none for "person seen"). Its command is HTTP, not MQTT: a `cameras:` entry of
 * kind `frigate` creates an event (and so a recording) with `frigateEventRequest` below.
 */
export const frigateCodec: ProductCodec = {
  id: 'frigate',
  description: 'Frigate NVR: availability on <prefix>/available, tracked objects on <prefix>/events; triggered over HTTP (POST /api/events/<camera>/<label>/create)',
  topics: { available: '{topic}/available', events: '{topic}/events' },
  fromDevice: ['available', 'events'],
  toDevice: [],
  decode(topicName, payload) {
    if (topicName === 'available') {
      const body = text(payload);
      return typeof body !== 'string' ? body : onlineWord(body);
    }
    const record = object(payload);
    if (isDecode(record)) return record;
    if (typeof record.type !== 'string' || !FRIGATE_EVENT_TYPES.has(record.type)) return bad('bad_field', 'type: expected new, update or end');
    const after = record.after;
    if (typeof after !== 'object' || after === null || typeof (after as { camera?: unknown }).camera !== 'string') return bad('bad_field', 'after.camera: expected the camera name');
    return { kind: 'none' };
  },
  encode: () => null,
};

/** The HTTP request that makes Frigate create an event (and keep its recording) on `camera`. */
export function frigateEventRequest(baseUrl: string, camera: string, label: string, subLabel: string, durationS: number): { readonly method: 'POST'; readonly url: string; readonly body: Record<string, unknown> } {
  return {
    method: 'POST',
    url: `${baseUrl.replace(/\/+$/, '')}/api/events/${encodeURIComponent(camera)}/${encodeURIComponent(label)}/create`,
    body: { sub_label: subLabel, duration: durationS, include_recording: true, draw: {} },
  };
}

/**
 * Double end-of-line (DEOL) resistance bands, ohms, for the common 2k2 + 2k2 wiring: the EOL
 * resistor at the sensor in series with the loop, an alarm resistor across the (normally closed)
 * contact. Normal 2k2, active 4k4, short ≈ 0, cut = open circuit. Bands split halfway (log scale).
 */
export const DEOL_BANDS_OHMS = { shortBelow: 1_100, normalBelow: 3_300, activeBelow: 8_800 } as const;
const LOOP_WORDS: Readonly<Record<string, LoopState>> = {
  normal: 'normal', ok: 'normal', secure: 'normal',
  active: 'active', alarm: 'active',
  cut: 'cut', open: 'cut', open_circuit: 'cut',
  short: 'short', short_circuit: 'short',
};

/**
 * A supervised input that reports its loop (an ESPHome node with a `resistance` sensor over the
 * loop, or a text sensor / any device saying normal, active, cut or short) on `<topic>/state`.
 */
export const eolLoopCodec: ProductCodec = {
  id: 'eol-loop',
  description: 'Supervised end-of-line input: loop resistance in ohms (2k2/2k2 DEOL) or a word (normal, active, cut, short) on <topic>/state',
  topics: { state: '{topic}/state' },
  fromDevice: ['state'],
  toDevice: [],
  decode(_topicName, payload) {
    const body = text(payload);
    if (typeof body !== 'string') return body;
    const word = body.trim().toLowerCase();
    const named = LOOP_WORDS[word];
    if (named !== undefined) return { kind: 'loop', state: named };
    // ESPHome's resistance sensor: a number; "nan" or "inf" when the ADC reads the rail (open loop).
    if (word === 'inf' || word === 'infinity') return { kind: 'loop', state: 'cut' };
    const ohms = Number(word);
    if (word === '' || !Number.isFinite(ohms) || ohms < 0) return bad('bad_field', 'state: expected the loop resistance in ohms or normal, active, cut or short');
    const { shortBelow, normalBelow, activeBelow } = DEOL_BANDS_OHMS;
    return { kind: 'loop', state: ohms < shortBelow ? 'short' : ohms < normalBelow ? 'normal' : ohms < activeBelow ? 'active' : 'cut' };
  },
  encode: () => null,
};

export const productCodecs: ReadonlyMap<string, ProductCodec> = new Map(
  [espRfidCodec, zigbee2mqttCodec, tasmotaCodec, shellyGen2Codec, axisCameraCodec, esphomeBinaryCodec, frigateCodec, eolLoopCodec].map((codec) => [codec.id, codec]),
);

/** A template filled with the device's topic. */
export function productTopic(codec: ProductCodec, topicName: string, deviceTopic: string): string {
  return (codec.topics[topicName] ?? '').replaceAll('{topic}', deviceTopic);
}
