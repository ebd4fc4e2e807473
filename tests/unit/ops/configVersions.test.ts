import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VERSION, migrateConfig, type ConfigMigration } from '../../../src/config/configVersions.js';
import { loadConfigFile } from '../../../src/config/load.js';
import { GuardpostError } from '../../../src/errors.js';
import { cli } from '../../support/cli.js';

function configFile(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-config-version-'));
  const file = path.join(dir, 'guardpost.yaml');
  fs.writeFileSync(file, text);
  return file;
}

describe('config file versions', () => {
  it('reads a file without a version key as the current version, says so, and says what to add', () => {
    const file = configFile('demo: false\nhttp:\n  port: 8081\n');
    const loaded = loadConfigFile(file, {}, {});
    expect(loaded.config.version).toBe(CONFIG_VERSION);
    expect(loaded.config.http.port).toBe(8081);
    expect(loaded.notices).toEqual([
      `${file}: version 0 → 1: no "version:" key (written before config files were versioned); to update the file, add "version: 1" as the first line`,
      `${file}: the file was read as version 1 in memory and left unchanged`,
    ]);
    expect(fs.readFileSync(file, 'utf8')).toBe('demo: false\nhttp:\n  port: 8081\n');
  });

  it('has nothing to say about a file at the current version', () => {
    expect(loadConfigFile(configFile(`version: ${CONFIG_VERSION}\n`), {}, {}).notices).toEqual([]);
  });

  it('refuses a file from a newer guardpost, naming the key and both versions', () => {
    const file = configFile(`version: ${CONFIG_VERSION + 1}\n`);
    let error: unknown;
    try {
      loadConfigFile(file, {}, {});
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(GuardpostError);
    expect((error as GuardpostError).details).toEqual([`${file}: version: ${CONFIG_VERSION + 1} is newer than this guardpost reads (${CONFIG_VERSION}); upgrade guardpost, or write the file for version ${CONFIG_VERSION}`]);
  });

  it('refuses a version that is not a positive whole number', () => {
    expect(migrateConfig({ version: 'one' })).toEqual({ ok: false, problem: `version: expected an integer from 1 to ${CONFIG_VERSION}, got "one"` });
    expect(migrateConfig({ version: 0 })).toMatchObject({ ok: false });
  });

  it('migrates one step at a time through every version, each with its own notice', () => {
    const steps: ConfigMigration[] = [
      { from: 1, to: 2, what: 'http.listen was one string', change: 'split http.listen into http.host and http.port', migrate: ({ listen, ...rest }) => ({ ...rest, version: 2, host: String(listen).split(':')[0], port: Number(String(listen).split(':')[1]) }) },
      { from: 2, to: 3, what: 'port was top-level', change: 'move host and port under http', migrate: ({ host, port, ...rest }) => ({ ...rest, version: 3, http: { host, port } }) },
    ];
    const result = migrateConfig({ version: 1, listen: '0.0.0.0:8443' }, steps, 3);
    expect(result).toEqual({
      ok: true,
      raw: { version: 3, http: { host: '0.0.0.0', port: 8443 } },
      notices: [
        'version 1 → 2: http.listen was one string; to update the file, split http.listen into http.host and http.port',
        'version 2 → 3: port was top-level; to update the file, move host and port under http',
        'the file was read as version 3 in memory and left unchanged',
      ],
    });
    expect(migrateConfig({ version: 1 }, [], 3)).toEqual({ ok: false, problem: 'version: 1 is too old to migrate (no step from it); rewrite the file for version 3 (see config/example.yaml)' });
  });

  it('check-config prints what to change for an older file and still passes it', async () => {
    const file = configFile('demo: false\n');
    const result = await cli('check-config', file);
    expect(result.code).toBe(0);
    expect(result.out).toEqual([
      `${file}: version 0 → 1: no "version:" key (written before config files were versioned); to update the file, add "version: 1" as the first line`,
      `${file}: the file was read as version 1 in memory and left unchanged`,
      `${file}: ok (read as the current version; update it as above)`,
    ]);
  });
});
