import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, GuardpostError, isGuardpostError } from '../../src/errors.js';

const docsFile = path.resolve(import.meta.dirname, '../../docs/errors.md');
const docs = fs.readFileSync(docsFile, 'utf8');

/** The `### GP_ERR_…` headings of docs/errors.md, in order. */
const documented = [...docs.matchAll(/^###\s+(GP_ERR_[A-Z0-9_]+)\s*$/gm)].map((match) => match[1]!);

/** The paragraph under one heading, up to the next heading. */
function sectionOf(code: string): string {
  const start = docs.indexOf(`### ${code}\n`);
  if (start === -1) return '';
  const rest = docs.slice(start + `### ${code}\n`.length);
  const end = rest.search(/^#{1,3}\s/m);
  return (end === -1 ? rest : rest.slice(0, end)).trim();
}

describe('the error catalogue', () => {
  it('spells every code the same as its key, so a code read in a log can be searched for', () => {
    for (const [key, value] of Object.entries(ErrorCodes)) expect(value).toBe(key);
  });

  it('names every code GP_ERR_ in upper case', () => {
    for (const code of Object.keys(ErrorCodes)) expect(code).toMatch(/^GP_ERR_[A-Z0-9_]+$/);
  });

  it('documents every code under its own heading in docs/errors.md', () => {
    const missing = Object.keys(ErrorCodes).filter((code) => !documented.includes(code));
    expect(missing, `add a "### <code>" section to docs/errors.md for each of these`).toEqual([]);
  });

  it('documents no code that no longer exists', () => {
    const stale = documented.filter((code) => !(code in ErrorCodes));
    expect(stale, `remove these sections from docs/errors.md`).toEqual([]);
  });

  it('documents each code once', () => {
    expect(new Set(documented).size).toBe(documented.length);
  });

  it('says under each heading what the code means and what to do', () => {
    for (const code of Object.keys(ErrorCodes)) {
      const text = sectionOf(code);
      expect(text.length, `${code} has an empty section`).toBeGreaterThan(40);
      expect(text, `${code} should end in a full sentence`).toMatch(/[.)`]$/);
    }
  });

  it('mentions no GP_ERR_ code in its text that is not in the catalogue', () => {
    const mentioned = new Set([...docs.matchAll(/GP_ERR_[A-Z0-9_]+/g)].map((match) => match[0]));
    const unknown = [...mentioned].filter((code) => !(code in ErrorCodes));
    expect(unknown).toEqual([]);
  });
});

describe('GuardpostError', () => {
  it('carries its code, message and detail lines', () => {
    const error = new GuardpostError('GP_ERR_CONFIG_INVALID', 'config.yaml: 2 problems', ['config.yaml: http.port: expected an integer', 'config.yaml: mqtt.mode: expected one of embedded, external']);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('GuardpostError');
    expect(error.code).toBe(ErrorCodes.GP_ERR_CONFIG_INVALID);
    expect(error.message).toBe('config.yaml: 2 problems');
    expect(error.details).toHaveLength(2);
  });

  it('has no detail lines unless given some', () => {
    expect(new GuardpostError('GP_ERR_USAGE', 'unknown command').details).toEqual([]);
  });

  it('is told apart from other errors', () => {
    expect(isGuardpostError(new GuardpostError('GP_ERR_STORE', 'x'))).toBe(true);
    expect(isGuardpostError(new Error('x'))).toBe(false);
    expect(isGuardpostError({ code: 'GP_ERR_STORE', message: 'x' })).toBe(false);
    expect(isGuardpostError(undefined)).toBe(false);
  });
});
