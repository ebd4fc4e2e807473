import { CardIndex } from '../access/cardIndex.js';
import type { EscortRule } from '../access/types.js';
import type { CardholderRulesRepository } from '../store/accessRules.js';
import type { CardholdersRepository } from '../store/cardholders.js';

/**
 * The two halves of a full read of the people [ACC-INDEX], each fit to run on its own thread with
 * its own connection: the cardholders (status, groups, PINs, escort rules) and the credentials.
 * Both read batches that SQLite assembles into one byte string each (see
 * `CardholdersRepository.scanHolderBatches`) and parse them here without a JS value per column.
 * `CardIndex.merge` then joins the halves. The caller holds each half's read transaction.
 */

/** Rows per batch: large enough that per-batch costs vanish, small enough to stay a few hundred KB. */
export const BATCH_ROWS = 4096;
/** Arena bytes per id before the read knows (site ids are up to 64 characters, most ~8–16). */
const ID_BYTES_ESTIMATE = 16;
/** A card digest's length (SEC-CARD-DIGEST). */
const DIGEST_BYTES = 16;
const COLON = 0x3a;
const SEMICOLON = 0x3b;

/** A batch that does not parse, or holds fewer rows than SQLite counted: the read is refused, never half used. */
class MalformedBatch extends Error {}

/** Runs a batch's parse; a batch that does not parse is named by its table in the error. */
function inBatch(table: string, parse: () => void): void {
  try {
    parse();
  } catch (error) {
    if (error instanceof MalformedBatch) throw new MalformedBatch(`a batch of ${table} rows does not parse: ${error.message}`);
    throw error;
  }
}

/** Hex digit value, or -1. */
function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

/**
 * Reads one batch's bytes in place: fields are found as byte ranges (`start`, `size`) and only
 * turned into strings where the index needs one (escort lookups, ids that are not ASCII).
 */
class BatchReader {
  at = 0;
  /** The last field's range (see `field`). */
  start = 0;
  size = 0;
  constructor(readonly bytes: Buffer) {}

  get done(): boolean {
    return this.at >= this.bytes.length;
  }

  /** `<byte length>:<bytes>`: sets `start`/`size`; returns whether every byte is ASCII (one character each). */
  field(): boolean {
    this.rawField();
    const end = this.start + this.size;
    for (let i = this.start; i < end; i++) if ((this.bytes[i] ?? 0) >= 0x80) return false;
    return true;
  }

  /** `<byte length>:<bytes>` of any bytes (a digest): sets `start`/`size`. */
  rawField(): void {
    const { bytes } = this;
    let size = 0;
    let at = this.at;
    for (let byte = bytes[at] ?? -1; byte !== COLON; byte = bytes[++at] ?? -1) {
      if (byte < 0x30 || byte > 0x39) throw new MalformedBatch(`expected a length at byte ${at}`);
      size = size * 10 + byte - 0x30;
    }
    this.start = at + 1;
    this.size = size;
    this.at = this.start + size;
    if (this.at > bytes.length) throw new MalformedBatch(`a field runs past the batch at byte ${this.start}`);
  }

  /** The last field as text, decoded as SQLite stored it (UTF-8). */
  text(): string {
    return this.bytes.toString('utf8', this.start, this.start + this.size);
  }

  /** Whether the next field is `<byte length>:` (a digit), as opposed to a terminator. */
  atDigit(): boolean {
    const byte = this.bytes[this.at] ?? -1;
    return byte >= 0x30 && byte <= 0x39;
  }

  byte(): number {
    const byte = this.bytes[this.at++];
    if (byte === undefined) throw new MalformedBatch('the batch ended inside a row');
    return byte;
  }

  expect(byte: number): void {
    if (this.byte() !== byte) throw new MalformedBatch(`expected "${String.fromCharCode(byte)}" at byte ${this.at - 1}`);
  }

  /** Hex digits up to `;` decoded into `into` (grown when short), the `;` consumed; returns the byte count. */
  hex(into: { buffer: Uint8Array }): number {
    const { bytes } = this;
    const start = this.at;
    let end = start;
    while (end < bytes.length && bytes[end] !== SEMICOLON) end++;
    if (end >= bytes.length) throw new MalformedBatch('a digest runs past the batch');
    this.at = end + 1;
    const size = (end - start) >> 1;
    if ((end - start) % 2 !== 0) throw new MalformedBatch(`odd hex digits at byte ${start}`);
    if (into.buffer.length < size) into.buffer = new Uint8Array(size);
    const out = into.buffer;
    for (let i = 0; i < size; i++) {
      const high = hexValue(bytes[start + 2 * i] ?? 0);
      const low = hexValue(bytes[start + 2 * i + 1] ?? 0);
      if (high < 0 || low < 0) throw new MalformedBatch(`not a hex digit at byte ${start + 2 * i}`);
      out[i] = (high << 4) | low;
    }
    return size;
  }

  /** A number written by SQLite up to `;` (null when empty). */
  number(): number | null {
    const { bytes } = this;
    const start = this.at;
    let end = start;
    let value = 0;
    let plain = true;
    for (; end < bytes.length; end++) {
      const byte = bytes[end] ?? 0;
      if (byte === SEMICOLON) break;
      // Integers (every stored time) without a string; anything else (a REAL, text) through Number().
      if (byte >= 0x30 && byte <= 0x39 && end - start < 15) value = value * 10 + byte - 0x30;
      else plain = false;
    }
    if (end >= bytes.length) throw new MalformedBatch('a number runs past the batch');
    this.at = end + 1;
    if (end === start) return null;
    return plain ? value : Number(bytes.toString('latin1', start, end));
  }
}

/** Whether `a` starts with the `size` bytes of `b` from `start`. */
function sameBytes(a: Uint8Array, b: Uint8Array, start: number, size: number): boolean {
  for (let i = 0; i < size; i++) if (a[i] !== b[start + i]) return false;
  return true;
}

/** Group ids by their bytes (FNV-1a), so millions of memberships make no string each. */
class GroupsByBytes {
  private readonly known = new Map<number, { bytes: Uint8Array; ordinal: number }[]>();
  constructor(private readonly index: CardIndex) {}

  ordinalOf(reader: BatchReader, ascii: boolean): number {
    if (!ascii) return this.index.groupOrdinalOf(reader.text());
    const { bytes, start, size } = reader;
    let hash = 0x811c9dc5;
    for (let i = start; i < start + size; i++) hash = Math.imul(hash ^ (bytes[i] ?? 0), 0x01000193);
    const candidates = this.known.get(hash);
    if (candidates !== undefined) {
      for (const candidate of candidates) if (candidate.bytes.length === size && sameBytes(candidate.bytes, bytes, start, size)) return candidate.ordinal;
    }
    const ordinal = this.index.groupOrdinalOf(bytes.toString('latin1', start, start + size));
    const entry = { bytes: Uint8Array.from(bytes.subarray(start, start + size)), ordinal };
    if (candidates === undefined) this.known.set(hash, [entry]);
    else candidates.push(entry);
    return ordinal;
  }
}

/**
 * The cardholder half: every cardholder with groups, PINs and escort rule, no credentials.
 * Call inside a read transaction.
 */
export function readHolderPart(cardholders: CardholdersRepository, rules: CardholderRulesRepository): CardIndex {
  const counts = cardholders.countsForIndex({ cardholders: true, memberships: true });
  const part = new CardIndex({ cardholders: counts.cardholders, cardholderIdBytes: ID_BYTES_ESTIMATE * counts.cardholders, memberships: counts.memberships, credentials: 0, credentialIdBytes: 0, credentialKeyBytes: 0 });
  part.startBulkLoad();
  const escorts = new Map<string, EscortRule>(rules.listEscorts().map((escort) => [escort.cardholderId, { groupIds: escort.groupIds, windowMs: escort.windowMs }]));
  const groups = new GroupsByBytes(part);
  let groupOrdinals: Uint32Array<ArrayBuffer> = new Uint32Array(64);
  const pin = { buffer: new Uint8Array(32) };
  const duress = { buffer: new Uint8Array(32) };
  cardholders.scanHolderBatches(BATCH_ROWS, (rows, bytes) => inBatch('cardholders', () => {
    const reader = new BatchReader(bytes);
    let parsed = 0;
    while (!reader.done) {
      const asciiId = reader.field();
      const id = asciiId ? null : reader.text();
      const ordinal = id === null ? part.holderOrdinalOfBytes(bytes, reader.start, reader.size) : part.holderOrdinalOf(id);
      const escort = escorts.size === 0 ? null : (escorts.get(id ?? bytes.toString('latin1', reader.start, reader.start + reader.size)) ?? null);
      const active = reader.byte() === 0x61;
      let groupCount = 0;
      while (reader.atDigit()) {
        const ascii = reader.field();
        if (groupCount === groupOrdinals.length) groupOrdinals = grownOrdinals(groupOrdinals);
        groupOrdinals[groupCount++] = groups.ordinalOf(reader, ascii);
      }
      reader.expect(SEMICOLON);
      const pinSize = reader.hex(pin);
      const duressSize = reader.hex(duress);
      part.putHolderAt(ordinal, active, groupOrdinals, groupCount, pinSize === 0 ? null : pin.buffer.subarray(0, pinSize), duressSize === 0 ? null : duress.buffer.subarray(0, duressSize), escort);
      parsed++;
    }
    if (parsed !== rows) throw new MalformedBatch(`a batch of ${rows} cardholders held ${parsed} (a cardholder without an id?)`);
  }));
  return part;
}

function grownOrdinals(array: Uint32Array): Uint32Array<ArrayBuffer> {
  const next = new Uint32Array(array.length * 2);
  next.set(array);
  return next;
}

/**
 * The credential half: credentials, their holders named by id (merged with the cardholder half
 * by `CardIndex.merge`), from batches as `CardholdersRepository.scanCredentialBatches` gives them:
 * read here, or read by the other worker and handed over.
 */
export class CredentialPart {
  readonly cards: CardIndex;
  // A holder's credentials are mostly neighbours: the last holder's id bytes and ordinal save a lookup.
  private lastHolder = new Uint8Array(64);
  private lastHolderSize = -1;
  private lastHolderOrdinal = -1;

  constructor(cardholders: CardholdersRepository) {
    const counts = cardholders.countsForIndex({ cardholders: true, credentials: true });
    this.cards = new CardIndex({
      cardholders: counts.cardholders,
      cardholderIdBytes: ID_BYTES_ESTIMATE * counts.cardholders,
      memberships: 0,
      credentials: counts.credentials,
      credentialIdBytes: ID_BYTES_ESTIMATE * counts.credentials,
      credentialKeyBytes: DIGEST_BYTES * counts.credentials,
    });
    this.cards.startBulkLoad();
  }

  /** Reads this connection's credentials (all of them, or a rowid range) into the part. */
  read(cardholders: CardholdersRepository, range: { readonly after?: number; readonly upTo?: number } = {}): void {
    cardholders.scanCredentialBatches(BATCH_ROWS, (rows, bytes) => this.add(rows, bytes), range);
  }

  /** One batch of `rows` credentials. */
  add(rows: number, bytes: Buffer): void {
    inBatch('credentials', () => this.parse(rows, bytes));
  }

  private parse(rows: number, bytes: Buffer): void {
    const part = this.cards;
    const reader = new BatchReader(bytes);
    let parsed = 0;
    while (!reader.done) {
      const asciiId = reader.field();
      const idStart = reader.start;
      const idSize = reader.size;
      const idText = asciiId ? null : reader.text();
      const asciiHolder = reader.field();
      const { start, size } = reader;
      let holder: number;
      if (!asciiHolder) {
        holder = part.holderOrdinalOf(reader.text());
        this.lastHolderSize = -1;
      } else if (size === this.lastHolderSize && sameBytes(this.lastHolder, bytes, start, size)) {
        holder = this.lastHolderOrdinal;
      } else {
        holder = part.holderOrdinalOfBytes(bytes, start, size);
        if (this.lastHolder.length < size) this.lastHolder = new Uint8Array(size);
        for (let i = 0; i < size; i++) this.lastHolder[i] = bytes[start + i] ?? 0;
        this.lastHolderSize = size;
        this.lastHolderOrdinal = holder;
      }
      const kind = reader.byte() === 0x77 ? 1 : 0;
      const status = reader.byte() - 0x30;
      reader.rawField();
      const keyStart = reader.start;
      const keySize = reader.size;
      const validFromMs = reader.number();
      const validUntilMs = reader.number();
      if (idText === null) part.putCredentialBytes(bytes, keyStart, keySize, bytes, idStart, idSize, holder, kind, status, validFromMs, validUntilMs);
      else part.putCredentialBytes(bytes, keyStart, keySize, Buffer.from(idText, 'latin1'), 0, idText.length, holder, kind, status, validFromMs, validUntilMs);
      parsed++;
    }
    if (parsed !== rows) throw new MalformedBatch(`a batch of ${rows} credentials held ${parsed} (a credential without an id or holder?)`);
  }
}

/** The credential half of everything, on this connection. Call inside a read transaction. */
export function readCredentialPart(cardholders: CardholdersRepository): CardIndex {
  const part = new CredentialPart(cardholders);
  part.read(cardholders);
  return part.cards;
}
