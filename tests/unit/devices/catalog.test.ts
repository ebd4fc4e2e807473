import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { codecs } from '../../../src/drivers/index.js';
import type { DeviceCommand } from '../../../src/drivers/types.js';
import { DEVICE_KINDS } from '../../../src/config/siteSchema.js';
import { repoRoot } from '../../support/gateway.js';

interface Profile {
  id: string;
  name: string;
  codec: string;
  kinds: string[];
  fixtures: {
    inputs: { payload: string; signal?: unknown; error?: string }[];
    commands?: { command: DeviceCommand; payload: string }[];
  };
}

const dir = path.join(repoRoot, 'devices');
const profiles = fs
  .readdirSync(dir)
  .filter((file) => file.endsWith('.yaml'))
  .map((file) => ({ file, profile: parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Profile }));

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
    const codec = codecs.get(profile.codec);

    it('names a codec that exists and device kinds the site knows', () => {
      expect(codec, `codec "${profile.codec}"`).toBeDefined();
      for (const kind of profile.kinds) expect(DEVICE_KINDS).toContain(kind);
    });

    it('decodes every input fixture to the signal or error it promises', () => {
      expect(profile.fixtures.inputs.length).toBeGreaterThan(0);
      for (const fixture of profile.fixtures.inputs) {
        const result = codec!.decode(Buffer.from(fixture.payload));
        if (fixture.error !== undefined) expect(result).toMatchObject({ ok: false, error: { code: fixture.error } });
        else expect(result).toEqual({ ok: true, signal: fixture.signal });
      }
    });

    it('encodes every command fixture to the exact payload', () => {
      for (const fixture of profile.fixtures.commands ?? []) expect(codec!.encode(fixture.command)).toBe(fixture.payload);
    });
  });
});
