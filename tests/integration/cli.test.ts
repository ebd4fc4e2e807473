import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import argon2 from 'argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPasswordCommand } from '../../src/cli/hashPassword.js';
import { Store } from '../../src/store/index.js';
import { cli, finished, spawnGuardpost } from '../support/cli.js';
import { demoConfigFile, demoSiteFile, startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';

function writeConfig(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('guardpost simulate badge', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('prints the granted decision it observed as one JSON line and exits 0', async () => {
    const result = await cli('simulate', 'badge', '--reader', 'main-entrance-reader', '--card', '1001', '--url', gw.mqttUrl, '--config', demoConfigFile);
    expect(result.err).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.out).toHaveLength(1);
    expect(JSON.parse(result.out[0]!)).toMatchObject({ granted: true, reason: 'granted', door: 'main-entrance', reader: 'main-entrance-reader', cardholder: 'alice-adams', card: '***1' });
  });

  it('prints a refusal with its reason and still exits 0', async () => {
    const result = await cli('simulate', 'badge', '--reader', 'server-room-reader', '--card', '1001', '--url', gw.mqttUrl, '--config', demoConfigFile);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out[0]!)).toMatchObject({ granted: false, reason: 'not_in_group', door: 'server-room' });
  });

  it('explains that it cannot connect when no gateway listens', async () => {
    const result = await cli('simulate', 'badge', '--reader', 'main-entrance-reader', '--card', '1001', '--url', 'mqtt://127.0.0.1:1', '--config', demoConfigFile, '--timeout-ms', '2000');
    expect(result.code).toBe(1);
    expect(result.err[0]).toMatch(/^guardpost: cannot connect to mqtt:\/\/127\.0\.0\.1:1/);
  });

  it('refuses a card number with letters before connecting', async () => {
    const result = await cli('simulate', 'badge', '--reader', 'main-entrance-reader', '--card', '10a1');
    expect(result.code).toBe(2);
    expect(result.err[0]).toBe('guardpost: --card: expected 1 to 20 decimal digits, got "10a1"');
  });
});

describe('guardpost check-config', () => {
  it('accepts the demo config and its site file', async () => {
    const result = await cli('check-config', demoConfigFile);
    expect(result).toMatchObject({ code: 0, err: [] });
    expect(result.out[0]).toMatch(/: ok$/);
  });

  it('reports one line per problem in the config and in the site file it names, with the key path', async () => {
    const dir = tempDir();
    const site = fs.readFileSync(demoSiteFile, 'utf8').replace('unlockMs: 3000', 'unlockMs: 50');
    writeConfig(dir, 'site.yaml', site);
    const file = writeConfig(dir, 'bad.yaml', 'demo: yes-please\nsiteFile: site.yaml\nhttp:\n  port: 70000\nmqtt:\n  prot: 1883\n');
    const result = await cli('check-config', file);
    expect(result.code).toBe(1);
    expect(result.err).toHaveLength(4);
    expect(result.err.some((line) => line.endsWith('demo: expected boolean, got string "yes-please"'))).toBe(true);
    expect(result.err.some((line) => line.endsWith('http.port: expected integer ≤ 65535, got 70000'))).toBe(true);
    expect(result.err.some((line) => line.includes('mqtt.prot: unknown key'))).toBe(true);
    expect(result.err.some((line) => line.endsWith('doors[1].unlockMs: expected integer ≥ 100, got 50'))).toBe(true);
  });
});

describe('guardpost start', () => {
  it('exits non-zero with one clear line per problem and no stack trace when the config is wrong', async () => {
    const dir = tempDir();
    const site = fs.readFileSync(demoSiteFile, 'utf8').replace('unlockMs: 3000', 'unlockMs: 50');
    writeConfig(dir, 'site.yaml', site);
    const file = writeConfig(dir, 'bad.yaml', `siteFile: site.yaml\nstateDir: ${JSON.stringify(path.join(dir, 'state'))}\n`);
    const result = await finished(spawnGuardpost(['start', '--config', file, '--http-port', '0', '--mqtt-port', '0']));
    expect(result.code).not.toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toContain(`${path.join(dir, 'site.yaml')}: doors[1].unlockMs: expected integer ≥ 100, got 50`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(path.join(dir, 'state'))).toBe(false);
  });

  it('names the wrong key of the config file itself', async () => {
    const dir = tempDir();
    const file = writeConfig(dir, 'bad.yaml', 'mqtt:\n  mode: cloud\n');
    const result = await finished(spawnGuardpost(['start', '--config', file]));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('mqtt.mode: expected one of embedded, external, got "cloud"');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('starts the demo, logs where it listens, and stops cleanly on SIGTERM', async () => {
    const stateDir = tempDir();
    const child = spawnGuardpost(['start', '--config', demoConfigFile, '--state-dir', stateDir, '--http-port', '0', '--mqtt-port', '0']);
    const done = finished(child);
    const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
      let buffer = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        for (const text of buffer.split('\n')) {
          if (!text.includes('guardpost is running')) continue;
          resolve(JSON.parse(text) as Record<string, unknown>);
        }
      });
      child.once('exit', (code) => reject(new Error(`guardpost exited early with ${code}`)));
    });
    expect(line.mqtt).toMatch(/^mqtt:\/\/0\.0\.0\.0:\d+$/);
    expect(line.http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const httpUrl = String(line.http);
    expect(await (await fetch(`${httpUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(0);
    expect(fs.existsSync(path.join(stateDir, 'guardpost.db'))).toBe(true);
  });
});

describe('guardpost hash-password', () => {
  it('prints an argon2id hash of the password read from stdin that verifies', async () => {
    const out: string[] = [];
    const code = await hashPasswordCommand({ out: (line) => out.push(line), err: () => undefined }, Readable.from(['door-secret-2\n']));
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^\$argon2id\$/);
    expect(await argon2.verify(out[0]!, 'door-secret-2')).toBe(true);
  });
});

describe('guardpost user add', () => {
  it('creates an admin from a password on stdin, after which a production start succeeds and the admin can log in', async () => {
    const dir = tempDir();
    const stateDir = path.join(dir, 'state');
    const file = writeConfig(dir, 'prod.yaml', `demo: false\nsiteFile: ${JSON.stringify(demoSiteFile)}\nstateDir: state\n`);

    const refused = await finished(spawnGuardpost(['start', '--config', file, '--http-port', '0', '--mqtt-port', '0']));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('no admin user: create one with `guardpost user add NAME --role admin`');

    const child = spawnGuardpost(['user', 'add', 'erin-admin', '--role', 'admin', '--config', file], {}, 'pipe');
    child.stdin?.end('erin-strong-password\n');
    const added = await finished(child);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain('user erin-admin (admin) created');

    const store = Store.open(stateDir);
    try {
      expect(store.users.get('erin-admin')).toMatchObject({ role: 'admin' });
      expect(store.audit.list({ limit: 10 })[0]).toMatchObject({ actor: 'cli', source: 'cli', action: 'user.created', target: 'erin-admin' });
    } finally {
      store.close();
    }
  });

  it('refuses a password shorter than twelve characters', async () => {
    const dir = tempDir();
    const file = writeConfig(dir, 'prod.yaml', `demo: false\nsiteFile: ${JSON.stringify(demoSiteFile)}\nstateDir: state\n`);
    const child = spawnGuardpost(['user', 'add', 'erin-admin', '--role', 'admin', '--config', file], {}, 'pipe');
    child.stdin?.end('short\n');
    const result = await finished(child);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('guardpost: password: must be at least 12 characters');
  });
});
