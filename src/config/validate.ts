import { Kind, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/**
 * Our own walker over the (small) subset of TypeBox we use, because Value.Errors reports
 * several errors per key (type + pattern, one per union member) and Value.Default turns an
 * array into an object. It applies defaults and collects at most one problem per key.
 * Value.Check runs afterwards as a safety net, so a gap here can't let bad data through.
 */

export interface Problem {
  path: string;
  message: string;
}

export function formatProblem(p: Problem): string {
  return p.path === '' ? p.message : `${p.path}: ${p.message}`;
}

export function keyPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  const part = /^[A-Za-z_$][\w$-]*$/.test(key) ? key : JSON.stringify(key);
  if (part !== key) return `${parent}[${part}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** `"abc"`, `3`, `null`, `object`: the value as a person would recognise it, kept short. */
export function show(value: unknown): string {
  if (typeof value === 'string') {
    const json = JSON.stringify(value);
    return json.length > 60 ? `${json.slice(0, 56)}…"` : json;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'date';
  return 'object';
}

/** `string "abc"`, `number 3`, `null`, `object`: the type, then the value for scalars. */
export function describe(value: unknown, secret = false): string {
  const shown = show(value);
  const type = typeof value;
  if (type === 'string' || type === 'number' || type === 'boolean' || type === 'bigint') {
    const name = type === 'bigint' ? 'number' : type;
    return secret ? name : `${name} ${shown}`;
  }
  return shown;
}

type Schema = TSchema & Record<string, unknown>;

/** Validates `value` against `schema`, appending problems; returns the value with defaults applied. */
export function check(schema: TSchema, value: unknown, path: string, problems: Problem[]): unknown {
  const s = schema as Schema;
  if (value === undefined && 'default' in s) value = structuredClone(s.default);
  const fail = (message: string): unknown => {
    problems.push({ path, message });
    return value;
  };
  const secret = s.secret === true;
  switch (s[Kind]) {
    case 'Object':
      return checkObject(s, value, path, problems);
    case 'Array': {
      if (!Array.isArray(value)) return fail(`expected array, got ${describe(value)}`);
      return value.map((item, i) => check(s.items as TSchema, item, keyPath(path, i), problems));
    }
    case 'String': {
      if (typeof value !== 'string') return fail(`expected string, got ${describe(value, secret)}`);
      const got = secret ? '' : `, got ${show(value)}`;
      if (typeof s.minLength === 'number' && value.length < s.minLength) {
        return fail(s.minLength === 1 ? 'expected a non-empty string' : `expected at least ${s.minLength} characters, got ${value.length}`);
      }
      if (typeof s.maxLength === 'number' && value.length > s.maxLength) {
        return fail(`expected at most ${s.maxLength} characters, got ${value.length}`);
      }
      const bad = (typeof s.pattern === 'string' && !new RegExp(s.pattern).test(value)) || (s.dateTime === true && !isDateTime(value));
      if (bad) return fail(`expected ${typeof s.expected === 'string' ? s.expected : `a string matching ${s.pattern}`}${got}`);
      return value;
    }
    case 'Integer':
    case 'Number': {
      const word = s[Kind] === 'Integer' ? 'integer' : 'number';
      if (typeof value !== 'number' || !Number.isFinite(value) || (word === 'integer' && !Number.isInteger(value))) {
        return fail(`expected ${word}, got ${describe(value, secret)}`);
      }
      if (typeof s.minimum === 'number' && value < s.minimum) return fail(`expected ${word} ≥ ${s.minimum}, got ${value}`);
      if (typeof s.maximum === 'number' && value > s.maximum) return fail(`expected ${word} ≤ ${s.maximum}, got ${value}`);
      return value;
    }
    case 'Boolean':
      return typeof value === 'boolean' ? value : fail(`expected boolean, got ${describe(value)}`);
    case 'Literal':
      return value === s.const ? value : fail(`expected ${String(s.const)}, got ${show(value)}`);
    case 'Union':
      return checkUnion(s, value, path, problems);
    default:
      throw new Error(`validate.ts does not handle schema kind ${String(s[Kind])}`);
  }
}

function checkObject(s: Schema, value: unknown, path: string, problems: Problem[]): unknown {
  if (!isPlainObject(value)) {
    problems.push({ path, message: `expected object, got ${describe(value)}` });
    return value;
  }
  const properties = s.properties as Record<string, TSchema>;
  const required = new Set((s.required as string[] | undefined) ?? []);
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(value)) {
    const property = Object.hasOwn(properties, key) ? properties[key] : undefined;
    if (property === undefined) {
      problems.push({ path: keyPath(path, key), message: `unknown key (allowed: ${Object.keys(properties).join(', ')})` });
      continue;
    }
    // `key:` with nothing after it (YAML null) reads as "not set", e.g. a section whose keys are all commented out.
    if (raw !== null && raw !== undefined) out[key] = check(property, raw, keyPath(path, key), problems);
  }
  for (const [key, property] of Object.entries(properties)) {
    if (key in out) continue;
    if ('default' in property) out[key] = check(property, undefined, keyPath(path, key), problems);
    else if (required.has(key)) problems.push({ path: keyPath(path, key), message: 'required' });
  }
  return out;
}

function checkUnion(s: Schema, value: unknown, path: string, problems: Problem[]): unknown {
  const members = s.anyOf as Schema[];
  if (members.every((m) => m[Kind] === 'Literal')) {
    if (members.some((m) => m.const === value)) return value;
    problems.push({ path, message: `expected one of ${members.map((m) => String(m.const)).join(', ')}, got ${show(value)}` });
    return value;
  }
  // General unions: the first member that accepts the value wins; otherwise report against the first.
  let firstProblems: Problem[] | undefined;
  for (const member of members) {
    const attempt: Problem[] = [];
    const result = check(member, value, path, attempt);
    if (attempt.length === 0) return result;
    firstProblems ??= attempt;
  }
  problems.push(...(firstProblems ?? []));
  return value;
}

/** ISO-8601 date-time with an offset, and a real calendar date (Date.parse rolls Feb 30 into March). */
export function isDateTime(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):(\d{2}))$/.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second = '0', , offH = '0', offM = '0'] = m.slice(1).map((x) => x ?? '0');
  const y = Number(year), mo = Number(month), d = Number(day);
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return (
    mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth &&
    Number(hour) <= 23 && Number(minute) <= 59 && Number(second) <= 59 &&
    Number(offH) <= 23 && Number(offM) <= 59 && !Number.isNaN(Date.parse(text))
  );
}

/** Runs the walker, then Value.Check as a safety net so the result always matches the static type. */
export function validate(schema: TSchema, value: unknown): { value: unknown; problems: Problem[] } {
  const problems: Problem[] = [];
  const out = check(schema, value, '', problems);
  if (problems.length === 0 && !Value.Check(schema, out)) {
    for (const e of Value.Errors(schema, out)) {
      const path = e.path.split('/').slice(1).reduce<string>((p, k) => keyPath(p, /^\d+$/.test(k) ? Number(k) : k), '');
      problems.push({ path, message: e.message });
    }
  }
  return { value: out, problems: onePerKey(problems) };
}

export function onePerKey(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => !seen.has(p.path) && seen.add(p.path));
}
