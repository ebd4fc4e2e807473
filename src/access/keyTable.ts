/**
 * Compact building blocks for panel-scale indexes (millions of cardholders and credentials):
 * strings kept as bytes in one arena and found through an open-addressing hash table of int32
 * slots, instead of one JS string and one Map entry each. A key costs its length plus ~14 bytes,
 * off the V8 heap, so the garbage collector never walks it. Pure data structures: no I/O.
 */

const EMPTY = -1;
const DELETED = -2;
/** Keys longer than this, or with a character above U+00FF, live in a plain Map (never from validated site data). */
const MAX_ARENA_KEY = 0xffff;

/** FNV-1a over UTF-16 code units; the arena holds one byte per code unit, so both agree. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

function hashBytes(bytes: Uint8Array, start: number, length: number): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < start + length; i++) hash = Math.imul(hash ^ (bytes[i] ?? 0), 0x01000193);
  return hash >>> 0;
}

function fitsArena(text: string): boolean {
  if (text.length > MAX_ARENA_KEY) return false;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false;
  return true;
}

export type IndexArray = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

/**
 * A compact index as named typed arrays plus a little JSON: what a snapshot file holds, so a
 * panel-scale index loads by reading one file instead of millions of rows [ACC-INDEX].
 */
export interface IndexImage {
  readonly arrays: Map<string, IndexArray>;
  readonly scalars: Record<string, unknown>;
}

/** An arena larger than this keeps a free tail of 1/16 through compaction and snapshots. */
const LARGE_ARENA = 1 << 20;
/** A large arena's length with its free tail. */
export function withFreeTail(used: number): number {
  return used + (used > LARGE_ARENA ? used >> 4 : 0);
}

/** Past this many elements an array grows by 1/8, not by half: see `grown`. */
const LARGE_ARRAY = 1 << 22;

/**
 * Grows a typed array to at least `needed` elements, keeping its contents: 1.5× steps, but 1/8
 * steps for large ones, since a panel-scale index loaded from a snapshot is exactly full and its
 * first edit would otherwise add half of a 100 MB arena to the process's memory [ACC-INDEX].
 */
export function grown<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(array: T, needed: number, fill?: number): T {
  if (needed <= array.length) return array;
  const next = new (array.constructor as new (length: number) => T)(Math.max(needed, Math.ceil(array.length * (array.length > LARGE_ARRAY ? 1.125 : 1.5)), 16));
  next.set(array);
  if (fill !== undefined) next.fill(fill, array.length);
  return next;
}

/**
 * Byte strings by ordinal: `set(ordinal, text)` appends to an arena; replaced or cleared strings
 * leave garbage that `compact()` reclaims. Holds one-byte characters only (callers check).
 */
export class ByteStrings {
  private bytes: Uint8Array;
  private used = 0;
  private start: Uint32Array;
  private length: Uint16Array;
  private garbage = 0;
  private arenaView: Buffer | undefined;

  /** Sized for a bulk load up front: growing by copies would leave garbage arrays behind. */
  constructor(expectedOrdinals = 16, expectedBytes = 1024) {
    this.bytes = new Uint8Array(Math.max(16, withFreeTail(expectedBytes)));
    this.start = new Uint32Array(Math.max(16, expectedOrdinals));
    this.length = new Uint16Array(Math.max(16, expectedOrdinals));
  }

  set(ordinal: number, text: string | Uint8Array): void {
    this.ensureOrdinal(ordinal);
    this.garbage += this.length[ordinal] ?? 0;
    const size = text.length;
    this.bytes = grown(this.bytes, this.used + size);
    if (typeof text === 'string') for (let i = 0; i < size; i++) this.bytes[this.used + i] = text.charCodeAt(i);
    else this.bytes.set(text, this.used);
    this.start[ordinal] = this.used;
    this.length[ordinal] = size;
    this.used += size;
    if (this.garbage > 4096 && this.garbage * 2 > this.used) this.compact();
  }

  /** `set` from a range of bytes (each byte one character), for bulk loads that never make a string. */
  setBytes(ordinal: number, source: Uint8Array, start: number, size: number): void {
    if (ordinal >= this.start.length || ordinal >= this.length.length) this.ensureOrdinal(ordinal);
    this.garbage += this.length[ordinal] ?? 0;
    if (this.used + size > this.bytes.length) this.bytes = grown(this.bytes, this.used + size);
    const bytes = this.bytes;
    // A loop, not set(subarray): ids and digests are a few bytes, and a view per key costs more.
    for (let i = 0; i < size; i++) bytes[this.used + i] = source[start + i] ?? 0;
    this.start[ordinal] = this.used;
    this.length[ordinal] = size;
    this.used += size;
    if (this.garbage > 4096 && this.garbage * 2 > this.used) this.compact();
  }

  equalsBytes(ordinal: number, source: Uint8Array, from: number, size: number): boolean {
    if ((this.length[ordinal] ?? 0) !== size) return false;
    const start = this.start[ordinal] ?? 0;
    const bytes = this.bytes;
    for (let i = 0; i < size; i++) if (bytes[start + i] !== source[from + i]) return false;
    return true;
  }

  clear(ordinal: number): void {
    if (ordinal >= this.length.length) return;
    this.garbage += this.length[ordinal] ?? 0;
    this.length[ordinal] = 0;
  }

  text(ordinal: number): string {
    const start = this.start[ordinal] ?? 0;
    const end = start + (this.length[ordinal] ?? 0);
    // Decoded straight from the arena through one Buffer made per arena, not a view per lookup.
    return this.arena().toString('latin1', start, end);
  }

  /** A Buffer over the arena, made once per arena (not per lookup). */
  private arena(): Buffer {
    if (this.arenaView === undefined || this.arenaView.buffer !== this.bytes.buffer) this.arenaView = Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    return this.arenaView;
  }

  view(ordinal: number): Uint8Array {
    const start = this.start[ordinal] ?? 0;
    return this.bytes.subarray(start, start + (this.length[ordinal] ?? 0));
  }

  sizeOf(ordinal: number): number {
    return this.length[ordinal] ?? 0;
  }

  equals(ordinal: number, text: string): boolean {
    const size = this.length[ordinal] ?? 0;
    if (size !== text.length) return false;
    const start = this.start[ordinal] ?? 0;
    for (let i = 0; i < size; i++) if (this.bytes[start + i] !== text.charCodeAt(i)) return false;
    return true;
  }

  hash(ordinal: number): number {
    return hashBytes(this.bytes, this.start[ordinal] ?? 0, this.length[ordinal] ?? 0);
  }

  /** Bytes held, for memory reports. */
  get byteSize(): number {
    return this.bytes.byteLength + this.start.byteLength + this.length.byteLength;
  }

  /** Shrinks the arena to what is live (after a bulk load, or once half of it is garbage). */
  compact(): void {
    // Not worth a copy (and the garbage array it leaves) for a little slack.
    if (this.garbage === 0 && this.bytes.length <= this.used + (this.used >> 3) + 16) return;
    // A large arena keeps 1/16 free (and its snapshot keeps it too): the first edits after a load
    // then append in place instead of copying a 100 MB arena beside the snapshot's buffer.
    const next = new Uint8Array(Math.max(16, withFreeTail(this.used - this.garbage)));
    let at = 0;
    for (let ordinal = 0; ordinal < this.length.length; ordinal++) {
      const size = this.length[ordinal] ?? 0;
      if (size === 0) continue;
      const start = this.start[ordinal] ?? 0;
      next.set(this.bytes.subarray(start, start + size), at);
      this.start[ordinal] = at;
      at += size;
    }
    this.bytes = next;
    this.used = at;
    this.garbage = 0;
  }

  saveTo(image: IndexImage, prefix: string): void {
    image.arrays.set(`${prefix}.bytes`, this.bytes.subarray(0, Math.min(this.bytes.length, withFreeTail(this.used))));
    image.arrays.set(`${prefix}.start`, this.start);
    image.arrays.set(`${prefix}.length`, this.length);
    image.scalars[`${prefix}.garbage`] = this.garbage;
    image.scalars[`${prefix}.used`] = this.used;
  }

  loadFrom(image: IndexImage, prefix: string): void {
    this.bytes = arrayOf(image, `${prefix}.bytes`, Uint8Array);
    // Snapshots before the free tail was kept have no `used`: their arena is exactly full.
    const used = image.scalars[`${prefix}.used`];
    if (used !== undefined && (typeof used !== 'number' || !Number.isSafeInteger(used) || used < 0 || used > this.bytes.length)) throw new Error(`snapshot value ${prefix}.used is out of range`);
    this.used = used ?? this.bytes.length;
    this.start = arrayOf(image, `${prefix}.start`, Uint32Array);
    this.length = arrayOf(image, `${prefix}.length`, Uint16Array);
    this.garbage = numberOf(image, `${prefix}.garbage`);
  }

  private ensureOrdinal(ordinal: number): void {
    this.start = grown(this.start, ordinal + 1);
    this.length = grown(this.length, ordinal + 1);
  }
}

/**
 * String key → small integer ordinal, with the keys in a `ByteStrings` arena and an open-addressing
 * table (linear probing, tombstones) of int32 slots. Freed ordinals are reused, so arrays indexed
 * by ordinal stay dense across edits.
 */
export class KeyTable {
  private readonly keys: ByteStrings;
  private slots: Int32Array;
  private mask: number;
  /** Slots holding a key or a tombstone. */
  private occupied = 0;
  private live = 0;
  private next = 0;
  private free: number[] = [];
  /**
   * Each ordinal's hash, kept only while a bulk load builds the table (`trackHashes`): a probe
   * then compares a key's bytes only when the hashes agree, instead of fetching the bytes of every
   * key it passes (a cache miss each, millions of times at panel scale). Not part of an image.
   */
  private hashes: Uint32Array | null = null;
  /** Keys the arena cannot hold (see MAX_ARENA_KEY). */
  private readonly odd = new Map<string, number>();
  private readonly oddKeys = new Map<number, string>();

  constructor(expected = 16, expectedKeyBytes = 16 * expected) {
    this.keys = new ByteStrings(expected, expectedKeyBytes);
    let capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    this.slots = new Int32Array(capacity).fill(EMPTY);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.live + this.odd.size;
  }

  /** One past the highest ordinal handed out: arrays indexed by ordinal need this length. */
  get ordinalLimit(): number {
    return this.next;
  }

  find(key: string): number {
    if (!fitsArena(key)) return this.odd.get(key) ?? -1;
    const slots = this.slots;
    let at = hashString(key) & this.mask;
    for (;;) {
      const ordinal = slots[at] ?? EMPTY;
      if (ordinal === EMPTY) return -1;
      if (ordinal !== DELETED && this.keys.equals(ordinal, key)) return ordinal;
      at = (at + 1) & this.mask;
    }
  }

  /** The key's ordinal, adding the key if it is new. One probe sequence and one hash: bulk loads call this millions of times. */
  add(key: string): number {
    if (!fitsArena(key)) {
      const known = this.odd.get(key);
      if (known !== undefined) return known;
      const ordinal = this.free.pop() ?? this.next++;
      this.odd.set(key, ordinal);
      this.oddKeys.set(ordinal, key);
      return ordinal;
    }
    const hash = hashString(key);
    const slots = this.slots;
    const hashes = this.hashes;
    let at = hash & this.mask;
    let tombstone = -1;
    for (;;) {
      const found = slots[at] ?? EMPTY;
      if (found === EMPTY) break;
      if (found === DELETED) {
        if (tombstone === -1) tombstone = at;
      } else if ((hashes === null || hashes[found] === hash) && this.keys.equals(found, key)) return found;
      at = (at + 1) & this.mask;
    }
    const ordinal = this.free.pop() ?? this.next++;
    this.keys.set(ordinal, key);
    this.settle(ordinal, hash, at, tombstone);
    return ordinal;
  }

  /** Puts a new key's ordinal in the slot its probe ended at (the first tombstone met, else the empty slot), growing the table first if it is too full. */
  private settle(ordinal: number, hash: number, at: number, tombstone: number): void {
    this.rememberHash(ordinal, hash);
    this.live++;
    if ((this.occupied + 1) * 10 > this.slots.length * 7) {
      this.rehash(this.live);
      this.place(ordinal, hash);
    } else if (tombstone !== -1) {
      this.slots[tombstone] = ordinal;
    } else {
      this.slots[at] = ordinal;
      this.occupied++;
    }
  }

  /**
   * `add` of the key whose characters are these bytes (one byte each, as latin1 reads them),
   * without making a string: bulk loads add millions of keys [ACC-INDEX]. Same hash, same table.
   */
  addBytes(source: Uint8Array, start: number, size: number): number {
    if (size > MAX_ARENA_KEY) return this.add(Buffer.from(source.buffer, source.byteOffset + start, size).toString('latin1'));
    const hash = hashBytes(source, start, size);
    const slots = this.slots;
    const hashes = this.hashes;
    let at = hash & this.mask;
    let tombstone = -1;
    for (;;) {
      const found = slots[at] ?? EMPTY;
      if (found === EMPTY) break;
      if (found === DELETED) {
        if (tombstone === -1) tombstone = at;
      } else if ((hashes === null || hashes[found] === hash) && this.keys.equalsBytes(found, source, start, size)) return found;
      at = (at + 1) & this.mask;
    }
    const ordinal = this.free.pop() ?? this.next++;
    this.keys.setBytes(ordinal, source, start, size);
    this.settle(ordinal, hash, at, tombstone);
    return ordinal;
  }

  /** Keeps each ordinal's hash from now on, for a bulk load (see `hashes`); `forgetHashes` ends it. */
  trackHashes(expected: number): void {
    this.hashes = new Uint32Array(Math.max(16, expected, this.next));
    for (let ordinal = 0; ordinal < this.next; ordinal++) this.hashes[ordinal] = this.keys.hash(ordinal);
  }

  forgetHashes(): void {
    this.hashes = null;
  }

  private rememberHash(ordinal: number, hash: number): void {
    if (this.hashes === null) return;
    if (ordinal >= this.hashes.length) this.hashes = grown(this.hashes, ordinal + 1);
    this.hashes[ordinal] = hash;
  }

  /** Forgets a key; its ordinal may be handed out again. */
  remove(key: string): number {
    const odd = this.odd.get(key);
    if (odd !== undefined) {
      this.odd.delete(key);
      this.oddKeys.delete(odd);
      this.free.push(odd);
      return odd;
    }
    if (!fitsArena(key)) return -1;
    let at = hashString(key) & this.mask;
    for (;;) {
      const ordinal = this.slots[at] ?? EMPTY;
      if (ordinal === EMPTY) return -1;
      if (ordinal !== DELETED && this.keys.equals(ordinal, key)) {
        this.slots[at] = DELETED;
        this.keys.clear(ordinal);
        this.live--;
        this.free.push(ordinal);
        return ordinal;
      }
      at = (at + 1) & this.mask;
    }
  }

  keyOf(ordinal: number): string {
    return this.oddKeys.get(ordinal) ?? this.keys.text(ordinal);
  }

  /** Whether the ordinal holds a key now (freed ordinals do not). */
  isLive(ordinal: number): boolean {
    if (ordinal < 0 || ordinal >= this.next) return false;
    const key = this.oddKeys.get(ordinal) ?? (this.keys.sizeOf(ordinal) === 0 ? undefined : this.keys.text(ordinal));
    return key !== undefined && this.find(key) === ordinal;
  }

  /** Drops build-time slack once a bulk load is done. */
  trim(): void {
    this.keys.compact();
  }

  get byteSize(): number {
    return this.keys.byteSize + this.slots.byteLength;
  }

  saveTo(image: IndexImage, prefix: string): void {
    this.keys.saveTo(image, `${prefix}.keys`);
    image.arrays.set(`${prefix}.slots`, this.slots);
    Object.assign(image.scalars, {
      [`${prefix}.occupied`]: this.occupied,
      [`${prefix}.live`]: this.live,
      [`${prefix}.next`]: this.next,
      [`${prefix}.free`]: this.free,
      [`${prefix}.odd`]: [...this.odd],
    });
  }

  loadFrom(image: IndexImage, prefix: string): void {
    this.keys.loadFrom(image, `${prefix}.keys`);
    this.slots = arrayOf(image, `${prefix}.slots`, Int32Array);
    if (this.slots.length === 0 || (this.slots.length & (this.slots.length - 1)) !== 0) throw new Error(`${prefix}.slots: not a power of two`);
    this.mask = this.slots.length - 1;
    this.occupied = numberOf(image, `${prefix}.occupied`);
    this.live = numberOf(image, `${prefix}.live`);
    this.next = numberOf(image, `${prefix}.next`);
    this.free = [...(image.scalars[`${prefix}.free`] as number[])];
    this.odd.clear();
    this.oddKeys.clear();
    for (const [key, ordinal] of image.scalars[`${prefix}.odd`] as [string, number][]) {
      this.odd.set(key, ordinal);
      this.oddKeys.set(ordinal, key);
    }
  }

  private place(ordinal: number, hash: number): void {
    let at = hash & this.mask;
    while (this.slots[at] !== EMPTY && this.slots[at] !== DELETED) at = (at + 1) & this.mask;
    if (this.slots[at] === EMPTY) this.occupied++;
    this.slots[at] = ordinal;
  }

  private rehash(liveKeys: number): void {
    let capacity = 16;
    while (capacity < liveKeys * 2) capacity *= 2;
    const old = this.slots;
    this.slots = new Int32Array(capacity).fill(EMPTY);
    this.mask = capacity - 1;
    this.occupied = 0;
    for (const ordinal of old) if (ordinal >= 0) this.place(ordinal, this.hashes?.[ordinal] ?? this.keys.hash(ordinal));
  }
}

/** A named array of the image, of the expected type: a snapshot that does not match is refused, never half read. */
export function arrayOf<T extends IndexArray>(image: IndexImage, name: string, type: new (...args: never[]) => T): T {
  const array = image.arrays.get(name);
  if (!(array instanceof type)) throw new Error(`snapshot part ${name} is missing or not a ${type.name}`);
  return array;
}

export function numberOf(image: IndexImage, name: string): number {
  const value = image.scalars[name];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`snapshot value ${name} is missing`);
  return value;
}
