import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { codecs, driverExists, productCodecs, streamCodecs } from '../../../src/drivers/index.js';
import { frigateEventRequest } from '../../../src/drivers/products.js';
import { relayAction } from '../../../src/drivers/gpioRelay.js';
import { switchSignal } from '../../../src/drivers/gpioSwitch.js';
import type { DecodeResult, DeviceCommand } from '../../../src/drivers/types.js';
import { WiegandFramer } from '../../../src/drivers/wiegand.js';
import { OsdpFrameDecoder } from '../../../src/drivers/osdp/frame.js';
import { encodeFeedback, replySignal } from '../../../src/drivers/osdp/messages.js';
import { DEVICE_KINDS } from '../../../src/config/siteSchema.js';
import { repoRoot } from '../../support/gateway.js';

/** One raw input and what it must decode to: an MQTT payload, serial bytes (hex or text), a GPIO level or Wiegand pulses. */
interface InputFixture {
  payload?: string;
  hex?: string;
  text?: string;
  kind?: string;
  active?: boolean;
  pulses?: string;
  topic?: string;
  availability?: 'online' | 'offline';
  /** A supervised loop's state (eol-loop). */
  loop?: 'normal' | 'active' | 'cut' | 'short';
  none?: boolean;
  signal?: unknown;
  error?: string;
}

interface Profile {
  id: string;
  name: string;
  codec: string;
  kinds: string[];
  transport: 'mqtt' | 'serial' | 'gpio';
  topics?: Record<string, string>;
  fixtures: {
    inputs?: InputFixture[];
    commands?: { command: DeviceCommand; payload?: string; hex?: string; topic?: string }[];
    relay?: { kind: string; command: DeviceCommand; action: unknown }[];
    /** Commands sent over HTTP (Frigate's event-create): the camera entry and the request it makes. */
    http?: { camera: { url: string; camera: string; label: string; durationS: number }; subLabel: string; method: string; url: string; body: unknown }[];
  };
}

const dir = path.join(repoRoot, 'devices');
const profiles = fs
  .readdirSync(dir)
  .filter((file) => file.endsWith('.yaml'))
  .map((file) => ({ file, profile: parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Profile }));

/** Feeds one fixture to the profile's driver and returns the one result it must produce. */
function decodeFixture(profile: Profile, fixture: InputFixture): DecodeResult | undefined {
  const message = codecs.get(profile.codec);
  if (message !== undefined) return message.decode(Buffer.from(fixture.payload ?? ''));
  const stream = streamCodecs.get(profile.codec);
  if (stream !== undefined) {
    const bytes = fixture.hex !== undefined ? Buffer.from(fixture.hex.replace(/\s+/g, ''), 'hex') : Buffer.from(fixture.text ?? '', 'latin1');
    const results = stream.createDecoder().push(bytes);
    expect(results, `${fixture.hex ?? fixture.text} gives exactly one result`).toHaveLength(1);
    return results[0];
  }
  if (profile.codec === 'osdp') {
    const [first] = new OsdpFrameDecoder().push(Buffer.from((fixture.hex ?? '').replace(/\s+/g, ''), 'hex'));
    if (first === undefined || !first.ok) return first === undefined ? undefined : { ok: false, error: { code: first.code, message: first.message } };
    const signal = replySignal(first.packet.code, first.packet.data);
    return signal === undefined || 'error' in signal ? undefined : { ok: true, signal };
  }
  if (profile.codec === 'gpio-input') return { ok: true, signal: switchSignal(fixture.kind ?? '', fixture.active === true) };
  if (profile.codec === 'gpio-wiegand') {
    const framer = new WiegandFramer();
    for (const bit of fixture.pulses ?? '') framer.pulse(bit === '1' ? 1 : 0);
    return framer.end();
  }
  return undefined;
}

describe('the device profile catalogue (devices/*.yaml)', () => {
  it('has at least one profile', () => {
    expect(profiles.length).toBeGreaterThan(0);
  });

  it('names each profile file after its unique id', () => {
    const ids = profiles.map(({ profile }) => profile.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { file, profile } of profiles) expect(file).toBe(`${profile.id}.yaml`);
  });

  describe.each(profiles)('$file', ({ profile }) => {
    it('names a codec that exists, a transport, and device kinds the site knows', () => {
      expect(driverExists(profile.codec), `codec "${profile.codec}"`).toBe(true);
      expect(['mqtt', 'serial', 'gpio']).toContain(profile.transport);
      for (const kind of profile.kinds) expect(DEVICE_KINDS).toContain(kind);
    });

    it('ships at least one fixture', () => {
      const { inputs = [], commands = [], relay = [], http = [] } = profile.fixtures;
      expect(inputs.length + commands.length + relay.length + http.length).toBeGreaterThan(0);
    });

    const product = productCodecs.get(profile.codec);
    it('names exactly the topics its codec uses', () => {
      if (product !== undefined) expect(profile.topics).toEqual(Object.fromEntries(Object.keys(profile.topics ?? {}).map((name) => [name, product.topics[name]])));
      if (product !== undefined) for (const name of [...product.fromDevice, ...product.toDevice]) expect(Object.keys(profile.topics ?? {})).toContain(name);
    });

    it('decodes every input fixture to the signal or error it promises', () => {
      for (const fixture of profile.fixtures.inputs ?? []) {
        if (product !== undefined) {
          const decoded = product.decode(fixture.topic ?? '', Buffer.from(fixture.payload ?? ''), fixture.kind);
          if (fixture.error !== undefined) expect(decoded).toMatchObject({ kind: 'bad', error: { code: fixture.error } });
          else if (fixture.availability !== undefined) expect(decoded).toEqual({ kind: 'availability', state: fixture.availability });
          else if (fixture.none === true) expect(decoded).toEqual({ kind: 'none' });
          else if (fixture.loop !== undefined) expect(decoded).toEqual({ kind: 'loop', state: fixture.loop });
          else expect(decoded).toEqual({ kind: 'signal', signal: fixture.signal });
          continue;
        }
        const result = decodeFixture(profile, fixture);
        if (fixture.error !== undefined) expect(result).toMatchObject({ ok: false, error: { code: fixture.error } });
        else expect(result).toEqual({ ok: true, signal: fixture.signal });
      }
    });

    it('encodes every command fixture to the exact payload', () => {
      for (const fixture of profile.fixtures.commands ?? []) {
        const stream = streamCodecs.get(profile.codec);
        if (product !== undefined) {
          expect(product.encode(fixture.command)).toEqual({ topicName: fixture.topic, payload: fixture.payload });
        } else if (profile.codec === 'osdp') {
          const message = encodeFeedback(fixture.command);
          expect(Buffer.from(message === null ? [] : [message.code, ...message.data]).toString('hex')).toBe((fixture.hex ?? '').replace(/\s+/g, '').toLowerCase());
        } else if (stream !== undefined) expect(Buffer.from(stream.encode(fixture.command) ?? []).toString('hex')).toBe((fixture.hex ?? '').replace(/\s+/g, '').toLowerCase());
        else expect(codecs.get(profile.codec)!.encode(fixture.command)).toBe(fixture.payload);
      }
    });

    it('builds every HTTP command fixture\'s exact request', () => {
      for (const fixture of profile.fixtures.http ?? []) {
        expect(profile.codec, 'HTTP commands are Frigate\'s event-create').toBe('frigate');
        const { url, camera, label, durationS } = fixture.camera;
        expect(frigateEventRequest(url, camera, label, fixture.subLabel, durationS)).toEqual({ method: fixture.method, url: fixture.url, body: fixture.body });
      }
    });

    it('drives a relay as every relay fixture promises', () => {
      for (const fixture of profile.fixtures.relay ?? []) expect(relayAction(fixture.kind, fixture.command)).toEqual(fixture.action);
    });
  });
});
