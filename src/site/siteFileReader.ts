import fs from 'node:fs';
import { GuardpostError } from '../errors.js';
import { parseYamlText } from '../config/yamlFile.js';

/** One cardholder of a site file, unvalidated, and where it is (for error messages). */
export interface ImportedPerson {
  readonly raw: unknown;
  /** `cardholders[12]`, or in a file `line 120, cardholders[12]`. */
  readonly where: string;
}

/** A site file read as its rules (everything but the people, parsed) and its people (read one at a time). */
export interface SiteFileContent {
  readonly rules: Record<string, unknown>;
  /** Iterable more than once: each iteration reads the file again. */
  readonly people: Iterable<ImportedPerson>;
  /** How many people the file holds (counted while the rules were read). */
  readonly peopleCount: number;
}

const CHUNK_BYTES = 1 << 20;

/** The file's lines with their 1-based numbers, read 1 MB at a time from `start` to `end` (bytes). */
function* fileLines(fd: number, start = 0, end = Number.POSITIVE_INFINITY, firstLine = 1): Generator<{ text: string; line: number; offset: number; next: number }> {
  const buffer = Buffer.alloc(CHUNK_BYTES);
  let carry = Buffer.alloc(0);
  let position = start;
  let line = firstLine;
  let lineStart = start;
  for (;;) {
    const want = Math.min(CHUNK_BYTES, end - position);
    const read = want <= 0 ? 0 : fs.readSync(fd, buffer, 0, want, position);
    if (read === 0) break;
    position += read;
    let chunk = carry.length === 0 ? buffer.subarray(0, read) : Buffer.concat([carry, buffer.subarray(0, read)]);
    let from = 0;
    for (let newline = chunk.indexOf(10, from); newline !== -1; newline = chunk.indexOf(10, from)) {
      const text = chunk.toString('utf8', from, newline > from && chunk[newline - 1] === 13 ? newline - 1 : newline);
      const next = lineStart + newline + 1 - from;
      yield { text, line: line++, offset: lineStart, next };
      lineStart = next;
      from = newline + 1;
    }
    // Copied: the read buffer is reused for the next chunk.
    carry = Buffer.from(chunk.subarray(from));
    chunk = Buffer.alloc(0);
  }
  if (carry.length > 0) yield { text: carry.toString('utf8').replace(/\r$/, ''), line, offset: lineStart, next: lineStart + carry.length };
}

const TOP_KEY = /^([A-Za-z_][A-Za-z0-9_]*)[ \t]*:(?:[ \t]+(.*))?$/;
const ITEM = /^( *)- |^( *)-$/;

/**
 * Reads a site file without ever holding its people [SITE-IMPORT]. A first pass keeps every
 * top-level section but `cardholders` (parsed with the file's line numbers kept: the people's
 * lines read as blank) and notes where the cardholders' block sequence lies; the people are then
 * read from there, one sequence item at a time, each parsed alone. Anything else (a flow
 * sequence `cardholders: [...]`, JSON, several documents) is read whole, as before: fine for the
 * small files people write by hand, not for a panel's export.
 */
export function readSiteFile(file: string): SiteFileContent {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    throw new GuardpostError('GP_ERR_CONFIG_READ', `cannot read site file ${file}: ${(error as Error).message}`);
  }
  let closed = false;
  const close = () => {
    if (!closed) fs.closeSync(fd);
    closed = true;
  };
  try {
    const rulesText: string[] = [];
    // The people's lines are left out of the rules' text; `atRulesLine` and `lines` map its line numbers back to the file's.
    let section: { start: number; end: number; firstLine: number; indent: number | null; count: number; lines: number; atRulesLine: number } | null = null;
    let inPeople = false;
    let whole = false;
    for (const { text, line, next } of fileLines(fd)) {
      if (inPeople && section !== null) {
        const blank = text.trim() === '' || text.trimStart().startsWith('#');
        const item = ITEM.exec(text);
        if (!blank && section.indent === null) {
          // The first item sets the sequence's indentation.
          if (item === null) whole = true;
          else section.indent = (item[1] ?? item[2] ?? '').length;
        }
        const ended = !blank && section.indent !== null && !text.startsWith(' ') && !(section.indent === 0 && item !== null);
        if (!ended) {
          if (item !== null && (item[1] ?? item[2] ?? '').length === section.indent) section.count++;
          section.end = next;
          section.lines++;
          continue;
        }
        inPeople = false;
      }
      const key = TOP_KEY.exec(text);
      if (key !== null && key[1] === 'cardholders' && (key[2] === undefined || key[2].trimStart().startsWith('#'))) {
        if (section !== null) whole = true; // twice: let the parser say so
        section = { start: next, end: next, firstLine: line + 1, indent: null, count: 0, lines: 0, atRulesLine: rulesText.length + 1 };
        inPeople = true;
        rulesText.push('');
        continue;
      }
      if (text === '---' && line > 1) whole = true;
      if (line === 1 && text.trimStart().startsWith('{')) whole = true;
      rulesText.push(text);
    }
    if (whole || section === null) {
      close();
      return wholeFile(file, fs.readFileSync(file, 'utf8'));
    }
    const gap = section;
    const rules = parseYamlText(file, rulesText.join('\n'), (line) => (line > gap.atRulesLine ? line + gap.lines : line));
    if (rules === null || typeof rules !== 'object' || Array.isArray(rules)) {
      close();
      return wholeFile(file, fs.readFileSync(file, 'utf8'));
    }
    const people = section;
    close();
    return {
      rules: rules as Record<string, unknown>,
      peopleCount: people.count,
      // Read again for each pass (an import checks, then writes): a file opened anew each time.
      people: {
        *[Symbol.iterator]() {
          let own: number;
          try {
            own = fs.openSync(file, 'r');
          } catch (error) {
            throw new GuardpostError('GP_ERR_CONFIG_READ', `cannot read site file ${file}: ${(error as Error).message}`);
          }
          try {
            yield* sequenceItems(file, fileLines(own, people.start, people.end, people.firstLine), people.indent ?? 0);
          } finally {
            fs.closeSync(own);
          }
        },
      },
    };
  } catch (error) {
    close();
    throw error;
  }
}

/** A file read and parsed whole; its people are its `cardholders` list. */
function wholeFile(file: string, text: string): SiteFileContent {
  const raw = parseYamlText(file, text);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { rules: raw as Record<string, unknown>, people: [], peopleCount: 0 };
  const { cardholders, ...rules } = raw as Record<string, unknown>;
  if (cardholders !== undefined && !Array.isArray(cardholders)) return { rules: raw as Record<string, unknown>, people: [], peopleCount: 0 };
  const list = (cardholders ?? []) as unknown[];
  return { rules, peopleCount: list.length, people: list.map((person, i) => ({ raw: person, where: `cardholders[${i}]` })) };
}


/** The block sequence's items, one parsed document each (the fast reader below, else yaml). */
function* sequenceItems(file: string, lines: Iterable<{ text: string; line: number }>, indent: number): Generator<ImportedPerson> {
  let item: string[] = [];
  let itemLine = 0;
  let index = 0;
  const done = (): ImportedPerson => {
    const text = item.join('\n');
    const fast = fastYamlItem(item, indent);
    const raw = fast !== undefined ? fast : (parseYamlText(file, text, (line) => line + itemLine - 1) as unknown[] | null)?.[0];
    return { raw, where: `line ${itemLine}, cardholders[${index++}]` };
  };
  for (const { text, line } of lines) {
    if (text.startsWith(`${' '.repeat(indent)}-`) && ITEM.test(text) && (ITEM.exec(text)![1] ?? ITEM.exec(text)![2] ?? '').length === indent) {
      if (item.length > 0) yield done();
      item = [text];
      itemLine = line;
    } else if (item.length > 0) item.push(text);
    else if (text.trim() !== '' && !text.trimStart().startsWith('#')) throw new GuardpostError('GP_ERR_CONFIG_READ', `${file}: line ${line}: expected a cardholder ("- id: …")`);
  }
  if (item.length > 0) yield done();
}

// ---- A reader for the block YAML that exports write [SITE-IMPORT] ----
// yaml's parser costs ~90 µs a cardholder (3 minutes at 2,000,000 people). An exported
// cardholder is block maps and sequences of plain or simply double-quoted scalars: read here,
// with the core schema's types; anything else (comments, block scalars, flow collections other
// than [] and {}, anchors, tags, escapes, lines folded) makes this return undefined and yaml
// reads the item. A property test holds the two equal.

const CORE_NULL = /^(?:~|[Nn]ull|NULL)?$/;
const CORE_TRUE = /^(?:[Tt]rue|TRUE)$/;
const CORE_FALSE = /^(?:[Ff]alse|FALSE)$/;
const CORE_INT = /^[-+]?[0-9]+$/;
const CORE_OTHER_NUMBER = [/^0o[0-7]+$/, /^0x[0-9a-fA-F]+$/, /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/, /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/, /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/];
// Plain scalars this reader takes: no indicator first, no ": " or " #", nothing yaml treats specially.
const PLAIN_SCALAR = /^[^\s\-?:,[\]{}#&*!|>'"%@`](?:[^:#\t]|:(?=\S)|(?<=\S)#)*$/;
const KEY_LINE = /^([A-Za-z][A-Za-z0-9]*):(?: (.*))?$/;

// Tabs, control characters, byte-order marks, lone surrogates: yaml has rules for each.
const UNUSUAL = /[\t\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]|[\ud800-\udfff]/u;

class Unsure extends Error {}

function scalarValue(text: string, key?: string): unknown {
  if (text.startsWith('"')) {
    if (!/^"[^"\\]*"$/.test(text)) throw new Unsure();
    return text.slice(1, -1);
  }
  if (text === '[]') return [];
  if (text === '{}') return {};
  if (!PLAIN_SCALAR.test(text) || text.endsWith(' ') || /\s#/.test(text)) throw new Unsure();
  if (CORE_NULL.test(text)) return null;
  if (CORE_TRUE.test(text)) return true;
  if (CORE_FALSE.test(text)) return false;
  if (CORE_INT.test(text)) {
    // A card number stays as written, as config/yamlFile.ts keeps it.
    if (key === 'card') return text;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || /^[-+]?0\d/.test(text) || text.startsWith('+') || Object.is(value, -0)) throw new Unsure();
    return value;
  }
  if (CORE_OTHER_NUMBER.some((pattern) => pattern.test(text))) throw new Unsure();
  return text;
}

/** One sequence item's lines (the first starts with `- ` at `indent`), or undefined when unsure. */
export function fastYamlItem(lines: readonly string[], indent: number): unknown {
  // Trailing blank lines belong to nobody; anything else unusual sends the item to yaml.
  let end = lines.length;
  while (end > 0 && lines[end - 1]!.trim() === '') end--;
  let at = 0;
  const lineAt = () => lines[at]!;

  /** Value lines after a `key:` line: a nested map or sequence, indented deeper than `parent`. */
  const nested = (parent: number): unknown => {
    if (at >= end) throw new Unsure();
    const text = lineAt();
    const depth = text.length - text.trimStart().length;
    if (depth < parent) throw new Unsure();
    // A sequence under a key may sit at the key's own indentation (yaml's default is +2).
    if (text.startsWith('- ', depth) || text.trimEnd() === `${' '.repeat(depth)}-`) return sequence(depth);
    if (depth <= parent) throw new Unsure();
    return map(depth, null);
  };

  const map = (depth: number, first: string | null): Record<string, unknown> => {
    const result: Record<string, unknown> = {};
    let line: string | null = first;
    for (;;) {
      if (line === null) {
        if (at >= end) break;
        const text = lineAt();
        const own = text.length - text.trimStart().length;
        if (own < depth) break;
        if (own > depth) throw new Unsure();
        if (text.startsWith('-', depth)) break;
        line = text.slice(depth);
      }
      at++;
      const key = KEY_LINE.exec(line);
      if (key === null || Object.hasOwn(result, key[1]!) || key[1] === '__proto__') throw new Unsure();
      result[key[1]!] = key[2] === undefined || key[2] === '' ? nested(depth) : scalarValue(key[2], key[1]);
      line = null;
    }
    return result;
  };

  const sequence = (depth: number): unknown[] => {
    const result: unknown[] = [];
    while (at < end) {
      const text = lineAt();
      const own = text.length - text.trimStart().length;
      if (own < depth || !text.startsWith('-', depth)) {
        if (own > depth) throw new Unsure();
        break;
      }
      if (own !== depth) throw new Unsure();
      const rest = text.slice(depth + 1);
      if (rest === '') throw new Unsure();
      if (!rest.startsWith(' ')) throw new Unsure();
      const body = rest.slice(1);
      if (KEY_LINE.test(body)) result.push(map(depth + 2, body));
      else {
        at++;
        result.push(scalarValue(body));
      }
    }
    return result;
  };

  try {
    for (let i = 0; i < end; i++) if (UNUSUAL.test(lines[i]!) || lines[i]!.trimStart().startsWith('#')) throw new Unsure();
    const items = sequence(indent);
    if (at !== end || items.length !== 1) throw new Unsure();
    return items[0];
  } catch (error) {
    if (error instanceof Unsure) return undefined;
    throw error;
  }
}
