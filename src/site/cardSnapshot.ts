import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CardIndex } from '../access/cardIndex.js';
import type { IndexArray, IndexImage } from '../access/keyTable.js';

/**
 * The card index as one file beside the database, so a panel of millions starts by reading it
 * instead of millions of rows [ACC-INDEX]. It is only a cache: the database stays the truth. A
 * snapshot is used only when it carries the database's identity and its checksum holds; it is
 * stamped with the people generation it reflects (bumped by triggers on every people write, by
 * any process), and the people changed since are re-read from the change log
 * (site/peopleChanges.ts). Written at stop, and in the background after people changes.
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

/** Where each part of an image goes in the file: after the magic, each part 8-byte aligned. */
interface Layout {
  readonly parts: Header['parts'][number][];
  /** The file's bytes up to the trailer, in order; `hashed` marks a part's bytes (not padding). */
  readonly pieces: readonly { readonly bytes: Uint8Array; readonly hashed: boolean }[];
}

function layoutOf(image: IndexImage): Layout {
  const parts: Header['parts'][number][] = [];
  const pieces: { bytes: Uint8Array; hashed: boolean }[] = [{ bytes: new Uint8Array(Buffer.from(MAGIC, 'latin1')), hashed: false }];
  let offset = MAGIC.length;
  for (const [name, array] of image.arrays) {
    // Every part starts 8-byte aligned, so it can be read back as a view without a copy.
    if (offset % 8 !== 0) {
      pieces.push({ bytes: new Uint8Array(8 - (offset % 8)), hashed: false });
      offset += 8 - (offset % 8);
    }
    parts.push({ name, type: array.constructor.name as TypeName, offset, length: array.length });
    pieces.push({ bytes: bytesOf(array), hashed: true });
    offset += array.byteLength;
  }
  return { parts, pieces };
}

function trailerOf(header: Header): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.byteLength);
  return Buffer.concat([json, length]);
}

/** The rename is on disk only once the directory is: fsync it too (a power cut otherwise may keep the old name). */
function syncDirectoryOf(file: string): void {
  const fd = fs.openSync(path.dirname(file), 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes atomically (temp file, fsync, rename), readable by the owner only like the rest of the state. Blocks: for stop only. */
export function writeCardSnapshot(file: string, cards: CardIndex, stamp: SnapshotStamp): void {
  const image = cards.toImage();
  const { parts, pieces } = layoutOf(image);
  const temp = `${file}.tmp`;
  const fd = fs.openSync(temp, 'w', 0o600);
  try {
    const hash = createHash('sha256');
    const write = (bytes: Uint8Array): void => {
      let done = 0;
      while (done < bytes.byteLength) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done);
    };
    for (const piece of pieces) {
      if (piece.hashed) hash.update(piece.bytes);
      write(piece.bytes);
    }
    write(trailerOf({ version: FORMAT_VERSION, stamp, parts, scalars: image.scalars, sha256: hash.digest('hex') }));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
  syncDirectoryOf(file);
}

/** Bytes copied per turn of the event loop: well under a millisecond each, so decisions never wait on a copy. */
const COPY_CHUNK_BYTES = 4 << 20;

// Plain JavaScript evaluated in the worker (as store/checkpointer.ts does), so it runs the same from dist/ and under tests.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
let fd = null, hash = null, temp = null;
const write = (bytes) => { let done = 0; while (done < bytes.byteLength) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done); };
const discard = () => { if (fd !== null) { try { fs.closeSync(fd); } catch {} fd = null; } if (temp !== null) { try { fs.unlinkSync(temp); } catch {} } };
parentPort.on('message', (message) => {
  try {
    if (message.type === 'open') { temp = message.temp; fd = fs.openSync(temp, 'w', 0o600); hash = crypto.createHash('sha256'); }
    else if (message.type === 'bytes') { const bytes = new Uint8Array(message.buffer); if (message.hashed) hash.update(bytes); write(bytes); }
    else if (message.type === 'finish') {
      const json = Buffer.from(JSON.stringify({ ...message.header, sha256: hash.digest('hex') }), 'utf8');
      const length = Buffer.alloc(4); length.writeUInt32LE(json.byteLength);
      write(json); write(length); fs.fsyncSync(fd); fs.closeSync(fd); fd = null;
      parentPort.postMessage({ type: 'written' });
      return;
    }
    else if (message.type === 'abort') { discard(); parentPort.postMessage({ type: 'aborted' }); return; }
    parentPort.postMessage({ type: 'ack' });
  } catch (error) { discard(); parentPort.postMessage({ type: 'error', message: String(error && error.message || error) }); }
});
`;

export type BackgroundWrite = { readonly ok: true; readonly bytes: number } | { readonly ok: false; readonly reason: string; readonly changed: boolean };

/**
 * Writes a snapshot without blocking decisions [ACC-INDEX]: the index's arrays are copied a chunk
 * per turn of the event loop and handed to a worker thread that hashes and writes them (temp
 * file, fsync). If the index changes during the copy (`changeCount` moves) the write is abandoned
 * (`changed: true`): a snapshot is one consistent state or nothing. `commit()` is asked on the
 * main thread, after the file is on disk, whether to rename it into place (false once stopped).
 */
export function writeCardSnapshotInBackground(file: string, cards: CardIndex, stamp: SnapshotStamp, commit: () => boolean): { readonly done: Promise<BackgroundWrite>; cancel(): void } {
  const changeCount = cards.changeCount;
  const image = cards.toImage();
  const { parts, pieces } = layoutOf(image);
  const header = { version: FORMAT_VERSION, stamp, parts, scalars: image.scalars };
  const temp = `${file}.${process.pid}.background.tmp`;
  const worker = new Worker(WORKER_SOURCE, { eval: true });
  worker.unref();
  let cancelled = false;
  let piece = 0;
  let at = 0;
  let bytes = 0;
  const done = new Promise<BackgroundWrite>((resolve) => {
    let settled = false;
    const finish = (result: BackgroundWrite): void => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      resolve(result);
    };
    const abort = (reason: string, changed: boolean): void => {
      worker.removeAllListeners('message');
      worker.once('message', () => finish({ ok: false, reason, changed }));
      worker.postMessage({ type: 'abort' });
    };
    const next = (): void => {
      if (cancelled) return abort('cancelled', false);
      if (cards.changeCount !== changeCount) return abort('the card index changed while it was copied', true);
      const current = pieces[piece];
      if (current === undefined) return void worker.postMessage({ type: 'finish', header });
      // A copy the worker owns (transferred, not shared): the live arrays keep changing after this turn.
      const end = Math.min(current.bytes.byteLength, at + COPY_CHUNK_BYTES);
      // A copy with a buffer of its own (a Buffer's slice would be a view, maybe of Node's shared pool).
      const chunk = new Uint8Array(current.bytes.subarray(at, end));
      bytes += chunk.byteLength;
      at = end;
      if (at >= current.bytes.byteLength) {
        piece++;
        at = 0;
      }
      worker.postMessage({ type: 'bytes', buffer: chunk.buffer, hashed: current.hashed }, [chunk.buffer]);
    };
    worker.on('message', (message: { type: string; message?: string }) => {
      switch (message.type) {
        case 'ack':
          // The next chunk on a later turn: a badge read waiting in the queue goes first.
          setImmediate(next);
          return;
        case 'written':
          if (cancelled || !commit()) {
            fs.rmSync(temp, { force: true });
            return finish({ ok: false, reason: 'cancelled', changed: false });
          }
          try {
            fs.renameSync(temp, file);
            syncDirectoryOf(file);
          } catch (error) {
            fs.rmSync(temp, { force: true });
            return finish({ ok: false, reason: (error as Error).message, changed: false });
          }
          return finish({ ok: true, bytes: bytes + 4 });
        case 'error':
          return finish({ ok: false, reason: message.message ?? 'the snapshot worker failed', changed: false });
        default:
          return;
      }
    });
    worker.once('error', (error) => finish({ ok: false, reason: error.message, changed: false }));
    worker.once('exit', () => {
      fs.rmSync(temp, { force: true });
      finish({ ok: false, reason: 'the snapshot worker exited', changed: false });
    });
    worker.postMessage({ type: 'open', temp });
  });
  return {
    done,
    cancel: () => {
      cancelled = true;
    },
  };
}

/** The snapshot's image if it matches `stamp` and is whole; otherwise why not (the caller reads the database). */
export function readCardSnapshot(file: string, check: (stamp: SnapshotStamp) => string | null): { ok: true; image: IndexImage; stamp: SnapshotStamp } | { ok: false; reason: string } {
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
    if (typeof header.stamp?.databaseId !== 'string' || !Number.isSafeInteger(header.stamp.generation)) return { ok: false, reason: 'snapshot without a stamp' };
    const refused = check(header.stamp);
    if (refused !== null) return { ok: false, reason: refused };
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
    return { ok: true, image: { arrays, scalars: header.scalars }, stamp: header.stamp };
  } catch (error) {
    return { ok: false, reason: `unreadable snapshot: ${(error as Error).message}` };
  }
}
