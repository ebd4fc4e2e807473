import { forwarderProblems } from './forwardersSchema.js';
import { mqttListenerProblems } from './mqttListeners.js';
import { homeAssistantProblems } from './homeAssistantSchema.js';
import { ConfigSchema, type GatewayConfig } from './schema.js';
import { SiteDataSchema, type SiteData } from './siteSchema.js';
import { siteProblems } from './siteRules.js';
import { formatProblem, isPlainObject, onePerKey, validate, type Problem } from './validate.js';

/** Problems are `<key path>: <message>` lines; loaders prefix the file name. */
export type ConfigParseResult = { ok: true; config: GatewayConfig } | { ok: false; problems: string[] };
export type SiteParseResult = { ok: true; site: SiteData } | { ok: false; problems: string[] };

export function parseConfig(raw: unknown): ConfigParseResult {
  const { value, problems } = validate(ConfigSchema, raw);
  problems.push(...mqttModeProblems(value));
  problems.push(...forwarderProblems(value));
  problems.push(...productBridgeProblems(value));
  problems.push(...mqttListenerProblems(value));
  problems.push(...homeAssistantProblems(value));
  if (problems.length > 0) return { ok: false, problems: onePerKey(problems).map(formatProblem) };
  const config = value as GatewayConfig;
  config.mqtt.clientId ??= `guardpost-${config.mqtt.prefix}`;
  return { ok: true, config };
}

/** Checked even when other keys are bad: it's cheap and saves the user a second round. */
function mqttModeProblems(config: unknown): Problem[] {
  const mqtt = isPlainObject(config) ? config.mqtt : undefined;
  if (!isPlainObject(mqtt)) return [];
  if (mqtt.mode === 'external') {
    return mqtt.url === undefined ? [{ path: 'mqtt.url', message: 'required when mqtt.mode is external' }] : [];
  }
  // Catches a broker URL written without `mode: external`, which would silently start the embedded broker.
  return (['url', 'username', 'password', 'clientId'] as const)
    .filter((key) => mqtt[key] !== undefined)
    .map((key) => ({ path: `mqtt.${key}`, message: 'only used when mqtt.mode is external' }));
}

/** A product bridge's login must be its own, and its prefix must stay clear of guardpost's topics. */
function productBridgeProblems(config: unknown): Problem[] {
  const mqtt = isPlainObject(config) ? config.mqtt : undefined;
  if (!isPlainObject(mqtt) || !Array.isArray(mqtt.productBridges)) return [];
  const problems: Problem[] = [];
  if (mqtt.mode === 'external' && mqtt.productBridges.length > 0) problems.push({ path: 'mqtt.productBridges', message: 'only used by the embedded broker (mqtt.mode embedded); an external broker has its own ACLs' });
  const logins = new Map<string, string>();
  (Array.isArray(mqtt.operators) ? mqtt.operators : []).forEach((operator, i) => {
    if (isPlainObject(operator) && typeof operator.username === 'string') logins.set(operator.username, `mqtt.operators[${i}]`);
  });
  const ownPrefix = typeof mqtt.prefix === 'string' ? mqtt.prefix : 'guardpost';
  mqtt.productBridges.forEach((bridge, i) => {
    if (!isPlainObject(bridge) || typeof bridge.username !== 'string') return;
    const other = logins.get(bridge.username);
    if (other !== undefined) problems.push({ path: `mqtt.productBridges[${i}].username`, message: `"${bridge.username}" is already the login of ${other}` });
    else logins.set(bridge.username, `mqtt.productBridges[${i}]`);
    const prefix = typeof bridge.prefix === 'string' ? bridge.prefix : typeof bridge.product === 'string' ? bridge.product : '';
    if (prefix === ownPrefix || prefix.startsWith(`${ownPrefix}/`)) problems.push({ path: `mqtt.productBridges[${i}].prefix`, message: `"${prefix}" is guardpost's own topic prefix; a product bridge needs its own` });
  });
  return problems;
}

export function parseSiteData(raw: unknown): SiteParseResult {
  const pre: Problem[] = [];
  const { value, problems } = validate(SiteDataSchema, normaliseSiteInput(raw, pre));
  problems.unshift(...pre);
  if (problems.length > 0) return { ok: false, problems: onePerKey(problems).map(formatProblem) };
  const site = value as SiteData;
  for (const holder of site.cardholders) {
    holder.credentials.forEach((cred, i) => {
      cred.id ??= `${holder.id}-card-${i + 1}`;
      // One canonical form so the store can compare times as strings.
      if (cred.validFrom !== undefined) cred.validFrom = new Date(cred.validFrom).toISOString();
      if (cred.validUntil !== undefined) cred.validUntil = new Date(cred.validUntil).toISOString();
    });
  }
  const semantic = siteProblems(site);
  if (semantic.length > 0) return { ok: false, problems: onePerKey(semantic).map(formatProblem) };
  return { ok: true, site };
}

/**
 * YAML may hand us card numbers as numbers and timestamps as Dates (YAML 1.1 parsers):
 * turn both into the strings the schema expects. Copies what it changes.
 */
function normaliseSiteInput(raw: unknown, problems: Problem[]): unknown {
  if (!isPlainObject(raw) || !Array.isArray(raw.cardholders)) return raw;
  const cardholders = raw.cardholders.map((holder: unknown, i) => {
    if (!isPlainObject(holder) || !Array.isArray(holder.credentials)) return holder;
    const credentials = holder.credentials.map((cred: unknown, j) => {
      if (!isPlainObject(cred)) return cred;
      const out = { ...cred };
      if (typeof out.card === 'number' || typeof out.card === 'bigint') {
        if (typeof out.card === 'number' && Number.isInteger(out.card) && !Number.isSafeInteger(out.card)) {
          // Precision is already lost: 12345678901234567890 arrives as 12345678901234567000.
          problems.push({ path: `cardholders[${i}].credentials[${j}].card`, message: 'card number too long to be read as a number; quote it' });
          out.card = '0';
        } else out.card = String(out.card);
      }
      for (const key of ['validFrom', 'validUntil'] as const) {
        const v = out[key];
        if (v instanceof Date) out[key] = Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
      }
      return out;
    });
    return { ...holder, credentials };
  });
  return { ...raw, cardholders };
}
