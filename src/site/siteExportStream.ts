import { Readable } from 'node:stream';
import { stringify } from 'yaml';
import type { SiteData } from '../config/siteSchema.js';
import type { Store } from '../store/index.js';
import { SiteReadSnapshot, type DocumentCursor } from '../store/siteExport.js';

export type SiteExportFormat = 'json' | 'yaml';

/**
 * Cardholders per page: a page is read, serialized and handed on in one event-loop turn. JSON
 * costs ~1 µs a person, YAML (the yaml library, for anything the fast path below declines) ~50.
 */
export const EXPORT_PAGE_SIZE: Record<SiteExportFormat, number> = { json: 1_000, yaml: 250 };

/**
 * The whole site as text, in pieces: the site without its people, then the cardholders a page at
 * a time, then the collections after them, byte for byte what `JSON.stringify` / yaml's
 * `stringify` of the whole site document gives (a test holds them equal), so an export imports
 * back as before. Never holds more than one page of people [SITE-STREAM].
 */
export function* siteExportChunks(snapshot: SiteReadSnapshot, format: SiteExportFormat, pageSize = EXPORT_PAGE_SIZE[format]): Generator<{ text: string; cardholders: number }> {
  const rules = snapshot.withoutCardholders();
  const keys = Object.keys(rules) as (keyof SiteData)[];
  const at = keys.indexOf('cardholders');
  const part = (from: number, to: number): Record<string, unknown> => Object.fromEntries(keys.slice(from, to).map((key) => [key, rules[key]]));
  const head = part(0, at);
  const tail = part(at + 1, keys.length);
  const hasTail = Object.keys(tail).length > 0;
  let cursor: DocumentCursor | null = null;
  let first = true;
  if (format === 'json') {
    yield { text: `${JSON.stringify(head).slice(0, -1)},"cardholders":[`, cardholders: 0 };
  } else {
    yield { text: stringify(head), cardholders: 0 };
  }
  for (;;) {
    const page = snapshot.cardholderPage(cursor, pageSize);
    if (page.json.length === 0) break;
    cursor = page.next;
    let text: string;
    if (format === 'json') {
      // The stored text is what JSON.stringify made of the document: written as it is.
      text = `${first ? '' : ','}${page.json.join(',')}`;
    } else {
      text = `${first ? 'cardholders:\n' : ''}${page.json.map((json) => yamlSequenceItem(JSON.parse(json) as Record<string, unknown>)).join('')}`;
    }
    first = false;
    yield { text, cardholders: page.json.length };
  }
  if (format === 'json') {
    yield { text: hasTail ? `],${JSON.stringify(tail).slice(1)}` : ']}', cardholders: 0 };
  } else {
    yield { text: `${first ? 'cardholders: []\n' : ''}${hasTail ? stringify(tail) : ''}`, cardholders: 0 };
  }
}

/** How far an export got: people and bytes handed to the response so far. */
export interface SiteExportProgress {
  readonly cardholders: number;
  readonly bytes: number;
}

/**
 * The export as a byte stream with back-pressure: the next page is read only when whoever reads
 * the stream (the HTTP response through its pipe, which waits for 'drain' whenever the socket
 * refuses more) asks for it, and each page in its own event-loop turn (setImmediate), so badges
 * are decided between pages. Emits 'waiting' (SiteExportProgress) when the reader stopped taking
 * pages: a slow client holds at most the stream's highWaterMark and one page here.
 * The read snapshot (its own connection and read transaction) closes with the stream, also when
 * the client goes away mid-export.
 */
export class SiteExportStream extends Readable {
  private readonly snapshot: SiteReadSnapshot;
  private readonly chunks: Generator<{ text: string; cardholders: number }>;
  private scheduled = false;
  private cardholders = 0;
  private bytes = 0;

  constructor(store: Store, format: SiteExportFormat, options: { readonly pageSize?: number; readonly highWaterMark?: number } = {}) {
    super({ highWaterMark: options.highWaterMark ?? 256 * 1024 });
    this.snapshot = new SiteReadSnapshot(store);
    this.chunks = siteExportChunks(this.snapshot, format, options.pageSize);
  }

  /** How many cardholders the export holds (as of its snapshot). */
  get total(): number {
    return this.snapshot.cardholderCount();
  }

  get progress(): SiteExportProgress {
    return { cardholders: this.cardholders, bytes: this.bytes };
  }

  override _read(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.produce());
  }

  private produce(): void {
    this.scheduled = false;
    if (this.destroyed) return;
    let step: IteratorResult<{ text: string; cardholders: number }>;
    try {
      step = this.chunks.next();
    } catch (error) {
      this.destroy(error as Error);
      return;
    }
    if (step.done === true) {
      this.snapshot.close();
      this.push(null);
      return;
    }
    const chunk = Buffer.from(step.value.text, 'utf8');
    this.cardholders += step.value.cardholders;
    this.bytes += chunk.length;
    if (!this.push(chunk)) this.emit('waiting', this.progress);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    try {
      this.snapshot.close();
    } finally {
      callback(error);
    }
  }
}

// ---- YAML without the library for the common cardholder [SITE-STREAM] ----
// yaml's stringify costs ~50 µs a cardholder (100 s of one core at 2,000,000 people). Cardholder
// documents are plain data (strings, numbers, booleans, arrays, objects) and almost every string
// in them is a plain scalar, so the common document is written here, in exactly the library's
// layout; any value this does not know to be plain sends the whole cardholder to the library.
// A property test compares the two on arbitrary documents.

/** The widest line written here; the library folds long plain scalars at 80 columns. */
const MAX_LINE = 76;

// What yaml's plainString() refuses as a plain scalar (indicators, ": ", " #", a trailing space or colon).
const NOT_PLAIN = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
// Plain strings the core schema would read as something else (null, booleans, numbers).
const OTHER_TYPE = [/^(?:~|[Nn]ull|NULL)?$/, /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/, /^[-+]?[0-9]+$/, /^0o[0-7]+$/, /^0x[0-9a-fA-F]+$/, /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/, /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/, /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/];
// Characters written as they are: printable ASCII, and letters, marks and digits beyond it.
const SIMPLE = /^(?:[\x20-\x7e]|[\p{L}\p{M}\p{N}])*$/u;

/** A string as yaml's stringify writes it in block context, or Declined when that is not certain. */
function yamlString(value: string): string {
  if (!SIMPLE.test(value) || /^(?:---|\.\.\.)/.test(value)) throw new Declined();
  if (!NOT_PLAIN.test(value) && !OTHER_TYPE.some((type) => type.test(value))) return value;
  // Quoted: double quotes unless the string holds one; nothing here needs an escape.
  if (value.includes('"') || value.includes('\\') || !/^[\x20-\x7e]*$/.test(value)) throw new Declined();
  return `"${value}"`;
}

class Declined extends Error {}

function scalar(value: unknown, lineStart: number): string {
  let text: string;
  if (typeof value === 'string') text = yamlString(value);
  else if (typeof value === 'number' && Number.isSafeInteger(value) && !Object.is(value, -0)) text = String(value);
  else if (typeof value === 'boolean') text = String(value);
  else if (value === null) text = 'null';
  else throw new Declined();
  if (lineStart + text.length > MAX_LINE) throw new Declined();
  return text;
}

const isMap = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `key: value` lines of a map at `indent`; the first line's prefix (a "- " or the indent) is the caller's. */
function mapLines(map: Record<string, unknown>, indent: number, out: string[], firstPrefix: string): void {
  const pad = ' '.repeat(indent);
  let first = true;
  for (const [key, value] of Object.entries(map)) {
    if (value === undefined) continue;
    if (!/^[a-zA-Z][a-zA-Z0-9]*$/.test(key)) throw new Declined();
    const prefix = first ? firstPrefix : pad;
    first = false;
    if (Array.isArray(value)) {
      if (value.length === 0) out.push(`${prefix}${key}: []\n`);
      else {
        out.push(`${prefix}${key}:\n`);
        sequenceLines(value, indent + 2, out);
      }
    } else if (isMap(value)) {
      if (Object.keys(value).length === 0) out.push(`${prefix}${key}: {}\n`);
      else {
        out.push(`${prefix}${key}:\n`);
        mapLines(value, indent + 2, out, ' '.repeat(indent + 2));
      }
    } else out.push(`${prefix}${key}: ${scalar(value, indent + key.length + 2)}\n`);
  }
  if (first) throw new Declined(); // an empty map is written `{}` on its parent's line
}

function sequenceLines(items: readonly unknown[], indent: number, out: string[]): void {
  const dash = `${' '.repeat(indent)}- `;
  for (const item of items) {
    if (isMap(item) && Object.keys(item).length > 0) mapLines(item, indent + 2, out, dash);
    else if (Array.isArray(item) || isMap(item) || item === undefined) throw new Declined();
    else out.push(`${dash}${scalar(item, indent + 2)}\n`);
  }
}

/** One cardholder as an item of the top-level `cardholders:` sequence, exactly as yaml's stringify of the whole site writes it. */
export function yamlSequenceItem(holder: Record<string, unknown>): string {
  const fast = fastYamlSequenceItem(holder);
  if (fast !== null) return fast;
  // The library's own layout, in the same place: under a top-level key, without that key's line.
  const text = stringify({ cardholders: [holder] });
  return text.slice(text.indexOf('\n') + 1);
}

/** The same, written here; null where this cannot be sure to match the library. */
export function fastYamlSequenceItem(holder: Record<string, unknown>): string | null {
  const out: string[] = [];
  try {
    sequenceLines([holder], 2, out);
    return out.join('');
  } catch (error) {
    if (error instanceof Declined) return null;
    throw error;
  }
}
