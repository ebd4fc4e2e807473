import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { GuardpostError } from '../../src/errors.js';
import { checkConfigFile, loadConfigFile, parseConfig } from '../../src/config/load.js';

const repo = path.resolve(import.meta.dirname, '../..');
const demoConfig = path.join(repo, 'config/demo.yaml');

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'gp-config-'));
}

function writeFile(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

function problemsOf(raw: unknown): string[] {
  const result = parseConfig(raw);
  return result.ok ? [] : result.problems;
}

function thrown(fn: () => unknown): GuardpostError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GuardpostError) return error;
    throw error;
  }
  throw new Error('expected a GuardpostError');
}

describe('parseConfig', () => {
  it('fills every default into an empty config', () => {
    const result = parseConfig({});
    expect(result).toEqual({
      ok: true,
      config: {
        version: 1,
        demo: false,
        stateDir: './var',
        log: { level: 'info' },
        mqtt: { mode: 'embedded', prefix: 'guardpost', host: '0.0.0.0', port: 1883, clientId: 'guardpost-guardpost', operators: [], productBridges: [], limits: { maxPacketBytes: 65_536, connectTimeoutMs: 10_000, maxClients: 512, connectionsPerAddressPerMinute: 120, failedLoginsPerAddress: 10, maxSubscriptionsPerClient: 32, maxTopicBytes: 512, maxTopicLevels: 16, maxQueuedPerClient: 64 }, plain: true },
        http: { host: '127.0.0.1', port: 8080, rateLimits: { readPerMinute: 3_000, writePerMinute: 300, exportPerMinute: 30 } },
        journal: { retentionDays: 0, maxEvents: 0, pruneIntervalMs: 3_600_000 },
        forwarders: [],
        backup: { dir: 'backups', intervalMinutes: 1_440, keep: 7 },
        homeAssistant: { enabled: false, discoveryPrefix: 'homeassistant', armAwayLevel: 'lockdown' },
      },
    });
  });

  it('treats a section left empty in YAML as not set', () => {
    const result = parseConfig({ mqtt: null, http: { port: null } });
    expect(result.ok && result.config.mqtt.port).toBe(1883);
    expect(result.ok && result.config.http.port).toBe(8080);
  });

  it('accepts an external broker with a url and derives the client id from the prefix', () => {
    const result = parseConfig({ mqtt: { mode: 'external', url: 'mqtts://broker:8883', prefix: 'floor-2' } });
    expect(result.ok && result.config.mqtt).toMatchObject({ url: 'mqtts://broker:8883', clientId: 'guardpost-floor-2' });
  });

  it('names the key and shows the value when a port is a string', () => {
    expect(problemsOf({ http: { port: 'abc' } })).toEqual(['http.port: expected integer, got string "abc"']);
  });

  it('reports a wrong boolean with its type and value', () => {
    expect(problemsOf({ demo: 3 })).toEqual(['demo: expected boolean, got number 3']);
  });

  it('reports a section of the wrong type once, without looking inside it', () => {
    expect(problemsOf({ log: 'debug', mqtt: [1] })).toEqual([
      'log: expected object, got string "debug"',
      'mqtt: expected object, got array',
    ]);
  });

  it('reports a port above the maximum', () => {
    expect(problemsOf({ mqtt: { port: 70000 } })).toEqual(['mqtt.port: expected integer ≤ 65535, got 70000']);
  });

  it('reports a port that is not a whole number as a type problem only', () => {
    expect(problemsOf({ mqtt: { port: -1.5 } })).toEqual(['mqtt.port: expected integer, got number -1.5']);
  });

  it('names an unknown key by its own path and lists the allowed keys', () => {
    expect(problemsOf({ mqtt: { prot: 1883 } })).toEqual([
      'mqtt.prot: unknown key (allowed: mode, prefix, host, port, url, username, password, clientId, operators, productBridges, limits, plain, tls, websocket)',
    ]);
  });

  it('reports an unknown enum value in one line', () => {
    expect(problemsOf({ mqtt: { mode: 'cloud' } })).toEqual(['mqtt.mode: expected one of embedded, external, got "cloud"']);
    expect(problemsOf({ log: { level: 'verbose' } })).toEqual([
      'log.level: expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
    ]);
  });

  it('reports a topic prefix that is not an id', () => {
    expect(problemsOf({ mqtt: { prefix: 'Main Door' } })).toEqual([
      'mqtt.prefix: expected an id of lowercase letters, digits and dashes, got "Main Door"',
    ]);
  });

  it('requires a url when the broker is external', () => {
    expect(problemsOf({ mqtt: { mode: 'external' } })).toEqual(['mqtt.url: required when mqtt.mode is external']);
  });

  it('rejects a broker url with another scheme', () => {
    expect(problemsOf({ mqtt: { mode: 'external', url: 'http://broker' } })).toEqual([
      'mqtt.url: expected a URL starting with mqtt://, mqtts://, ws:// or wss://, got "http://broker"',
    ]);
  });

  it('rejects external-broker settings when the embedded broker would silently be used', () => {
    expect(problemsOf({ mqtt: { url: 'mqtt://broker:1883' } })).toEqual(['mqtt.url: only used when mqtt.mode is external']);
  });

  it('never shows the broker password in a message', () => {
    expect(problemsOf({ mqtt: { mode: 'external', url: 'mqtt://b', password: 123456 } })).toEqual([
      'mqtt.password: expected string, got number',
    ]);
  });

  it('reports all problems at once, one line per key', () => {
    expect(problemsOf({ demo: 'yes', mqtt: { port: 'x', mode: 'cloud', prot: 1 }, http: { port: 99999 }, extra: true })).toEqual([
      'demo: expected boolean, got string "yes"',
      'mqtt.port: expected integer, got string "x"',
      'mqtt.mode: expected one of embedded, external, got "cloud"',
      'mqtt.prot: unknown key (allowed: mode, prefix, host, port, url, username, password, clientId, operators, productBridges, limits, plain, tls, websocket)',
      'http.port: expected integer ≤ 65535, got 99999',
      'extra: unknown key (allowed: version, demo, stateDir, siteFile, log, mqtt, http, journal, forwarders, serial, gpio, backup, homeAssistant)',
    ]);
  });

  it('reports a top-level value that is not a mapping', () => {
    expect(problemsOf('demo')).toEqual(['expected object, got string "demo"']);
  });
});

describe('loadConfigFile', () => {
  it('loads the demo config with paths resolved against the config directory', () => {
    const loaded = loadConfigFile(demoConfig, {}, {});
    expect(loaded.config.demo).toBe(true);
    expect(loaded.config.mqtt).toMatchObject({ mode: 'embedded', port: 1883 });
    expect(loaded.config.http).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(loaded.file).toBe(demoConfig);
    expect(loaded.dir).toBe(path.join(repo, 'config'));
    expect(loaded.stateDir).toBe(path.join(repo, 'var'));
    expect(loaded.siteFile).toBe(path.join(repo, 'config/demo-site.yaml'));
    expect(loaded.config.stateDir).toBe(loaded.stateDir);
  });

  it('loads the production example', () => {
    const loaded = loadConfigFile(path.join(repo, 'config/example.yaml'), {}, {});
    expect(loaded.config.demo).toBe(false);
    expect(loaded.stateDir).toBe('/var/lib/guardpost');
    expect(loaded.siteFile).toBeUndefined();
  });

  it('resolves relative paths against the config file, not the working directory', () => {
    const dir = tempDir();
    const file = writeFile(dir, 'etc/gp.yaml', 'stateDir: state\nsiteFile: ../sites/site.yaml\n');
    const loaded = loadConfigFile(path.relative(process.cwd(), file), {}, {});
    expect(loaded.file).toBe(file);
    expect(loaded.stateDir).toBe(path.join(dir, 'etc/state'));
    expect(loaded.siteFile).toBe(path.join(dir, 'sites/site.yaml'));
  });

  it('treats an empty file as a config of defaults', () => {
    const file = writeFile(tempDir(), 'empty.yaml', '# nothing yet\n');
    const loaded = loadConfigFile(file, {}, {});
    expect(loaded.config.http.port).toBe(8080);
    expect(loaded.stateDir).toBe(path.join(path.dirname(file), 'var'));
  });

  it('lets flags override the file, with the state directory relative to the working directory', () => {
    const file = writeFile(tempDir(), 'gp.yaml', 'stateDir: /srv/gp\nhttp: { port: 8080 }\nmqtt: { port: 1883 }\n');
    const loaded = loadConfigFile(file, { stateDir: 'tmp-state', httpPort: 0, mqttPort: 18830 }, {});
    expect(loaded.stateDir).toBe(path.resolve('tmp-state'));
    expect(loaded.config.http.port).toBe(0);
    expect(loaded.config.mqtt.port).toBe(18830);
  });

  it('lets environment variables override the file and flags override the environment', () => {
    const file = writeFile(tempDir(), 'gp.yaml', 'http: { port: 8080 }\n');
    const env = { GUARDPOST_HTTP_PORT: '9090', GUARDPOST_MQTT_PORT: '2883', GUARDPOST_STATE_DIR: '/tmp/gp-env-state' };
    const fromEnv = loadConfigFile(file, {}, env);
    expect(fromEnv.config.http.port).toBe(9090);
    expect(fromEnv.config.mqtt.port).toBe(2883);
    expect(fromEnv.stateDir).toBe('/tmp/gp-env-state');
    const fromFlags = loadConfigFile(file, { httpPort: 7070, stateDir: '/tmp/gp-flag-state' }, env);
    expect(fromFlags.config.http.port).toBe(7070);
    expect(fromFlags.stateDir).toBe('/tmp/gp-flag-state');
  });

  it('reads the environment from process.env by default', () => {
    const file = writeFile(tempDir(), 'gp.yaml', '{}\n');
    process.env.GUARDPOST_HTTP_PORT = '9191';
    try {
      expect(loadConfigFile(file).config.http.port).toBe(9191);
    } finally {
      delete process.env.GUARDPOST_HTTP_PORT;
    }
  });

  it('switches to an external broker when GUARDPOST_MQTT_URL is set', () => {
    const file = writeFile(tempDir(), 'gp.yaml', 'mqtt: { prefix: lab }\n');
    const loaded = loadConfigFile(file, {}, { GUARDPOST_MQTT_URL: 'mqtt://broker:1883' });
    expect(loaded.config.mqtt).toMatchObject({ mode: 'external', url: 'mqtt://broker:1883', clientId: 'guardpost-lab' });
  });

  it('names the environment variable when its value is bad', () => {
    const file = writeFile(tempDir(), 'gp.yaml', '{}\n');
    const error = thrown(() => loadConfigFile(file, {}, { GUARDPOST_HTTP_PORT: 'abc', GUARDPOST_MQTT_URL: 'tcp://x' }));
    expect(error.code).toBe('GP_ERR_CONFIG_INVALID');
    expect(error.details).toEqual([
      'GUARDPOST_HTTP_PORT: expected integer, got string "abc"',
      'GUARDPOST_MQTT_URL: expected a URL starting with mqtt://, mqtts://, ws:// or wss://, got "tcp://x"',
    ]);
  });

  it('names the flag when an override port is out of range', () => {
    const file = writeFile(tempDir(), 'gp.yaml', '{}\n');
    expect(thrown(() => loadConfigFile(file, { mqttPort: 70000 }, {})).details).toEqual([
      '--mqtt-port: expected integer ≤ 65535, got 70000',
    ]);
  });

  it('reports every problem of the file at once, each prefixed with the path as given', () => {
    const dir = tempDir();
    writeFile(dir, 'bad.yaml', 'demo: 3\nmqtt:\n  prot: 1883\nhttp:\n  port: "abc"\n');
    const file = path.join(path.relative(process.cwd(), dir), 'bad.yaml');
    const error = thrown(() => loadConfigFile(file, {}, {}));
    expect(error.code).toBe('GP_ERR_CONFIG_INVALID');
    expect(error.message).toBe(`${file}: 3 problems`);
    expect(error.details).toEqual([
      `${file}: demo: expected boolean, got number 3`,
      `${file}: mqtt.prot: unknown key (allowed: mode, prefix, host, port, url, username, password, clientId, operators, productBridges, limits, plain, tls, websocket)`,
      `${file}: http.port: expected integer, got string "abc"`,
    ]);
  });

  it('names the line and column of a YAML syntax error', () => {
    const file = writeFile(tempDir(), 'syntax.yaml', 'demo: true\nmqtt:\n  port: 1883\n  host: [0.0.0.0\nhttp: {}\n');
    const error = thrown(() => loadConfigFile(file, {}, {}));
    expect(error.code).toBe('GP_ERR_CONFIG_READ');
    expect(error.message).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}: line \\d+, column \\d+: \\S`));
    expect(error.message).not.toContain('\n');
  });

  it('reports a key written twice as a YAML error with its position', () => {
    const file = writeFile(tempDir(), 'dup.yaml', 'demo: true\ndemo: false\n');
    expect(thrown(() => loadConfigFile(file, {}, {})).message).toBe(`${file}: line 2, column 1: Map keys must be unique`);
  });

  it('reports a missing file with the path as given and no stack trace', () => {
    const error = thrown(() => loadConfigFile('no/such/guardpost.yaml', {}, {}));
    expect(error.code).toBe('GP_ERR_CONFIG_READ');
    expect(error.message).toBe('cannot read config file no/such/guardpost.yaml: no such file');
  });
});

describe('checkConfigFile', () => {
  it('finds nothing wrong with the demo config and its site file', () => {
    expect(checkConfigFile(demoConfig, {})).toEqual([]);
  });

  it('reports the problems of the config and of the site file it names together', () => {
    const dir = tempDir();
    const file = writeFile(dir, 'gp.yaml', 'siteFile: site.yaml\nhttp: { port: -1 }\n');
    writeFile(dir, 'site.yaml', 'site: { id: demo, name: Demo, timezone: Mars/Base }\n');
    const lines = checkConfigFile(file, {});
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(`${file}: http.port: expected integer ≥ 0, got -1`);
    expect(lines[1]).toMatch(/site\.yaml: site\.timezone: unknown IANA time zone "Mars\/Base"$/);
  });

  it('reports a site file that does not exist', () => {
    const dir = tempDir();
    const file = writeFile(dir, 'gp.yaml', 'siteFile: missing-site.yaml\n');
    const lines = checkConfigFile(file, {});
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^cannot read site file .*missing-site\.yaml: no such file$/);
  });

  it('returns the read error of a missing config file as a line', () => {
    expect(checkConfigFile('nope.yaml', {})).toEqual(['cannot read config file nope.yaml: no such file']);
  });
});
