import { isPlainObject } from './validate.js';

/**
 * The config file is versioned (`version:` at the top). An older file is migrated in memory,
 * one step at a time, each step saying what it changed and what to write instead; the file
 * itself is never rewritten (it is the admin's, often kept in git). A newer file is refused.
 */
export const CONFIG_VERSION = 1;

export interface ConfigMigration {
  readonly from: number;
  readonly to: number;
  /** What files of version `from` look like, in words. */
  readonly what: string;
  /** What the admin should change in the file so the step is no longer needed. */
  readonly change: string;
  migrate(raw: Record<string, unknown>): Record<string, unknown>;
}

export const configMigrations: readonly ConfigMigration[] = [
  {
    from: 0,
    to: 1,
    what: 'no "version:" key (written before config files were versioned)',
    change: 'add "version: 1" as the first line',
    // The layout did not change: version 1 is the first layout that names itself.
    migrate: (raw) => ({ ...raw, version: 1 }),
  },
];

export type VersionedConfig = { readonly ok: true; readonly raw: unknown; readonly notices: readonly string[] } | { readonly ok: false; readonly problem: string };

export function migrateConfig(raw: unknown, steps: readonly ConfigMigration[] = configMigrations, current: number = CONFIG_VERSION): VersionedConfig {
  if (!isPlainObject(raw)) return { ok: true, raw, notices: [] }; // parseConfig says what is wrong
  const declared = raw.version;
  if (declared !== undefined && (typeof declared !== 'number' || !Number.isInteger(declared) || declared < 1)) {
    return { ok: false, problem: `version: expected an integer from 1 to ${current}, got ${JSON.stringify(declared)}` };
  }
  let version = declared ?? 0;
  if (version > current) {
    return { ok: false, problem: `version: ${version} is newer than this guardpost reads (${current}); upgrade guardpost, or write the file for version ${current}` };
  }
  let config: Record<string, unknown> = raw;
  const notices: string[] = [];
  const changes: string[] = [];
  while (version < current) {
    const step = steps.find((candidate) => candidate.from === version);
    if (step === undefined) return { ok: false, problem: `version: ${version} is too old to migrate (no step from it); rewrite the file for version ${current} (see config/example.yaml)` };
    config = step.migrate(config);
    notices.push(`version ${step.from} → ${step.to}: ${step.what}; to update the file, ${step.change}`);
    changes.push(step.change);
    version = step.to;
  }
  if (notices.length > 0) notices.push(`the file was read as version ${current} in memory and left unchanged`);
  return { ok: true, raw: config, notices };
}
