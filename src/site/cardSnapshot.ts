import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { CardIndex } from '../access/cardIndex.js';
import type { IndexArray, IndexImage } from '../access/keyTable.js';

/**
 * The card index as one file beside the database, so a panel of millions starts by reading it
 * instead of millions of rows [ACC-INDEX]. It is only a cache: the database stays the truth. A
 * snapshot is used only when it carries the database's identity and the people generation the
 * database is at (bumped by triggers on every people write, by any process) and its checksum
 * holds; otherwise the index is read from the database and the snapshot written afresh.
 */

export const CARD_SNAPSHOT_FILE = 'card-index.snapshot';
const MAGIC = 'GPCARDS1';
const FORMAT_VERSION = 1;

/** What a snapshot must match to be used. */
export interface SnapshotStamp {
  /** A random id of the database (kept in its meta table): a snapshot of another database never matches. */
  readonly databaseId: string;
  /** The people generation the index reflects. */
  readonly generation: number;
}

const TYPES = { Uint8Array, Uint16Array, Uint32Array, Int32Array, Float64Array } as const;
type TypeName = keyof typeof TYPES;

interface Header {
  readonly version: number;
  readonly stamp: SnapshotStamp;
  readonly parts: readonly { readonly name: string; readonly type: TypeName; readonly offset: number; readonly length: number }[];
  readonly scalars: Record<string, unknown>;
  readonly sha256: string;
}

const bytesOf = (array: IndexArray): Uint8Array => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);

/** Writes atomically (temp file, fsync, rename), readable by the owner only like the rest of the state. */
export function writeCardSnapshot(file: string, cards: CardIndex, stamp: SnapshotStamp): void {
  const image = cards.toImage();
  const temp = `${file}.tmp`;
  const fd = fs.openSync(temp, 'w', 0o600);
  try {
    const hash = createHash('sha256');
    let offset = 0;
    const write = (bytes: Uint8Array): void => {
      let done = 0;
      while (done < bytes.byteLength) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done);
      offset += bytes.byteLength;
    };
    write(Buffer.from(MAGIC, 'latin1'));
    const parts: Header['parts'][number][] = [];
    for (const [name, array] of image.arrays) {
      // Every part starts 8-byte aligned, so it can be read back as a view without a copy.
      if (offset % 8 !== 0) write(new Uint8Array(8 - (offset % 8)));
      parts.push({ name, type: array.constructor.name as TypeName, offset, length: array.length });
      hash.update(bytesOf(array));
      write(bytesOf(array));
    }
    const header: Header = { version: FORMAT_VERSION, stamp, parts, scalars: image.scalars, sha256: hash.digest('hex') };
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    write(json);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(json.byteLength);
    write(length);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
}

/** The snapshot's image if it matches `stamp` and is whole; otherwise why not (the caller reads the database). */
export function readCardSnapshot(file: string, stamp: SnapshotStamp): { ok: true; image: IndexImage } | { ok: false; reason: string } {
  let buffer: Buffer;
  try {
    buffer = fs.readFileSync(file);
  } catch (error) {
    return { ok: false, reason: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no snapshot yet' : `cannot read the snapshot: ${(error as Error).message}` };
  }
  try {
    if (buffer.byteLength < MAGIC.length + 4 || buffer.toString('latin1', 0, MAGIC.length) !== MAGIC) return { ok: false, reason: 'not a card index snapshot' };
    const headerLength = buffer.readUInt32LE(buffer.byteLength - 4);
    const headerStart = buffer.byteLength - 4 - headerLength;
    if (headerStart < MAGIC.length) return { ok: false, reason: 'truncated snapshot' };
    const header = JSON.parse(buffer.toString('utf8', headerStart, headerStart + headerLength)) as Header;
    if (header.version !== FORMAT_VERSION) return { ok: false, reason: `snapshot format ${header.version}, expected ${FORMAT_VERSION}` };
    if (header.stamp.databaseId !== stamp.databaseId) return { ok: false, reason: 'snapshot of another database' };
    if (header.stamp.generation !== stamp.generation) return { ok: false, reason: `snapshot at people generation ${header.stamp.generation}, the database is at ${stamp.generation}` };
    const hash = createHash('sha256');
    const arrays = new Map<string, IndexArray>();
    for (const part of header.parts) {
      const type = TYPES[part.type];
      if (type === undefined) return { ok: false, reason: `snapshot part ${part.name} of unknown type` };
      const byteLength = part.length * type.BYTES_PER_ELEMENT;
      if (part.offset < MAGIC.length || part.offset + byteLength > headerStart) return { ok: false, reason: `snapshot part ${part.name} out of bounds` };
      const bytes = buffer.subarray(part.offset, part.offset + byteLength);
      hash.update(bytes);
      // A view when aligned (the file buffer is), a copy otherwise.
      const aligned = (buffer.byteOffset + part.offset) % type.BYTES_PER_ELEMENT === 0;
      const backing = buffer.buffer as ArrayBuffer;
      arrays.set(part.name, aligned ? new type(backing, buffer.byteOffset + part.offset, part.length) : new type(backing.slice(bytes.byteOffset, bytes.byteOffset + byteLength)));
    }
    if (hash.digest('hex') !== header.sha256) return { ok: false, reason: 'snapshot checksum mismatch' };
    return { ok: true, image: { arrays, scalars: header.scalars } };
  } catch (error) {
    return { ok: false, reason: `unreadable snapshot: ${(error as Error).message}` };
  }
}
