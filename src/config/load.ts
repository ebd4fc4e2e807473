import path from 'node:path';
import { GuardpostError } from '../errors.js';
import { MqttUrl, type GatewayConfig } from './schema.js';
import type { SiteData } from './siteSchema.js';
import { Port } from './common.js';
import { parseConfig, parseSiteData } from './parse.js';
import { migrateConfig } from './configVersions.js';
import { readYamlFile } from './yamlFile.js';
import { check, formatProblem, isPlainObject, type Problem } from './validate.js';

export { parseConfig, parseSiteData } from './parse.js';

export interface ConfigOverrides {
  /** Relative to process.cwd(), like any command-line path. */
  stateDir?: string;
  httpPort?: number;
  mqttPort?: number;
}

export interface LoadedConfig {
  /** Effective settings; config.stateDir and config.siteFile are absolute here too. */
  config: GatewayConfig;
  file: string;
  dir: string;
  siteFile?: string;
  stateDir: string;
  /** What was migrated from an older config version and what to change in the file. */
  notices: readonly string[];
}

/** Precedence: flags, then GUARDPOST_* environment variables, then the file, then defaults. */
export function loadConfigFile(file: string, overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const read = readYamlFile(file, 'config') ?? {}; // an empty file is a config of defaults
  const versioned = migrateConfig(read);
  const raw = versioned.ok ? versioned.raw : read;
  const { values, problems: overrideProblems } = readOverrides(overrides, env);
  const result = parseConfig(applyOverrides(raw, values));
  const problems = [
    ...overrideProblems.map(formatProblem),
    ...(versioned.ok ? [] : [`${file}: ${versioned.problem}`]),
    ...(result.ok ? [] : result.problems.filter((p) => versioned.ok || !p.startsWith('version:')).map((p) => `${file}: ${p}`)),
  ];
  if (!result.ok || problems.length > 0) {
    throw new GuardpostError('GP_ERR_CONFIG_INVALID', `${file}: ${count(problems.length)}`, problems);
  }
  const config = result.config;
  const absolute = path.resolve(file);
  const dir = path.dirname(absolute);
  const stateDir = values.stateDir !== undefined ? path.resolve(values.stateDir) : path.resolve(dir, config.stateDir);
  const siteFile = config.siteFile === undefined ? undefined : path.resolve(dir, config.siteFile);
  config.stateDir = stateDir;
  config.siteFile = siteFile;
  const notices = versioned.ok ? versioned.notices.map((notice) => `${file}: ${notice}`) : [];
  return { config, file: absolute, dir, stateDir, notices, ...(siteFile === undefined ? {} : { siteFile }) };
}

export function loadSiteFile(file: string): SiteData {
  const result = parseSiteData(readYamlFile(file, 'site') ?? {});
  if (!result.ok) {
    const lines = result.problems.map((p) => `${file}: ${p}`);
    throw new GuardpostError('GP_ERR_SITE_INVALID', `${file}: ${count(lines.length)}`, lines);
  }
  return result.site;
}

/** Every problem of the config file and of the site file it names; [] when both are fine. */
export function checkConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const lines: string[] = [];
  let siteFile: unknown;
  try {
    siteFile = loadConfigFile(file, {}, env).config.siteFile;
  } catch (error) {
    lines.push(...errorLines(error));
    // Still check the site file when the config has problems elsewhere.
    try {
      const raw = readYamlFile(file, 'config');
      if (isPlainObject(raw) && typeof raw.siteFile === 'string') siteFile = path.resolve(path.dirname(file), raw.siteFile);
    } catch {
      // already reported
    }
  }
  if (typeof siteFile === 'string') {
    // Shown relative to where the user is, like the config path they typed.
    const shown = path.relative(process.cwd(), siteFile) || siteFile;
    try {
      loadSiteFile(shown.startsWith('..') ? siteFile : shown);
    } catch (error) {
      lines.push(...errorLines(error));
    }
  }
  return lines;
}

function errorLines(error: unknown): string[] {
  if (error instanceof GuardpostError) return error.details.length > 0 ? [...error.details] : [error.message];
  throw error;
}

function count(n: number): string {
  return n === 1 ? '1 problem' : `${n} problems`;
}

interface OverrideValues {
  stateDir?: string;
  httpPort?: number;
  mqttPort?: number;
  mqttUrl?: string;
}

/** Validates flags and environment variables; a problem names the flag or variable, not the file. */
function readOverrides(flags: ConfigOverrides, env: NodeJS.ProcessEnv): { values: OverrideValues; problems: Problem[] } {
  const problems: Problem[] = [];
  const fromEnv = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  const port = (name: string, value: unknown): number | undefined => {
    if (value === undefined) return undefined;
    const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    const before = problems.length;
    check(Port(), n, name, problems);
    return problems.length === before ? (n as number) : undefined;
  };
  const httpPort = port('--http-port', flags.httpPort) ?? port('GUARDPOST_HTTP_PORT', fromEnv('GUARDPOST_HTTP_PORT'));
  const mqttPort = port('--mqtt-port', flags.mqttPort) ?? port('GUARDPOST_MQTT_PORT', fromEnv('GUARDPOST_MQTT_PORT'));
  const mqttUrl = fromEnv('GUARDPOST_MQTT_URL');
  if (mqttUrl !== undefined) check(MqttUrl, mqttUrl, 'GUARDPOST_MQTT_URL', problems);
  const stateDir = flags.stateDir ?? fromEnv('GUARDPOST_STATE_DIR');
  return {
    values: { stateDir, httpPort, mqttPort, mqttUrl: problems.some((p) => p.path === 'GUARDPOST_MQTT_URL') ? undefined : mqttUrl },
    problems,
  };
}

/** Writes override values into the raw file contents so the schema's rules (e.g. url required) see them. */
function applyOverrides(raw: unknown, values: OverrideValues): unknown {
  if (!isPlainObject(raw)) return raw;
  const out = { ...raw };
  const section = (key: string, patch: Record<string, unknown>) => {
    if (Object.keys(patch).length === 0) return;
    const current = out[key] ?? {};
    if (isPlainObject(current)) out[key] = { ...current, ...patch }; // otherwise the file's own error is reported
  };
  section('http', values.httpPort === undefined ? {} : { port: values.httpPort });
  section('mqtt', {
    ...(values.mqttPort === undefined ? {} : { port: values.mqttPort }),
    // A broker URL from the environment means "use that broker".
    ...(values.mqttUrl === undefined ? {} : { url: values.mqttUrl, mode: 'external' }),
  });
  return out;
}
