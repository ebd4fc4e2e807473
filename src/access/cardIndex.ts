import { ByteStrings, KeyTable, arrayOf, grown, numberOf, withFreeTail, type IndexImage } from './keyTable.js';
import type { CardholderLookup, Credential, CredentialLookup, CredentialStatus, EscortRule, IndexedCardholder, PinLookup } from './types.js';

/** A cardholder as the index takes it: no name (decide() never reads it), groups by id. */
export interface CardholderEntry {
  readonly id: string;
  readonly status: string;
  readonly groupIds: readonly string[];
  readonly pinDigest?: Uint8Array | null;
  readonly duressPinDigest?: Uint8Array | null;
  readonly escort?: EscortRule | null;
}

/** What a bulk load will hold, from the store's counts, so the index is allocated once. */
export interface CardIndexSizes {
  readonly cardholders: number;
  readonly cardholderIdBytes: number;
  readonly memberships: number;
  readonly credentials: number;
  readonly credentialIdBytes: number;
  readonly credentialKeyBytes: number;
}

/**
 * The index key of a credential: its keyed digest as stored [SEC-CARD-DIGEST] (CardDigester: the
 * canonical decimal digits of a card, or `<format>:<facility>:<number>` for Wiegand, digested
 * before the index ever sees them). The index holds no card number.
 */
export const credentialKey = (credential: Pick<Credential, 'kind' | 'digest'>): string => credential.digest;

const CREDENTIAL_STATUSES: readonly CredentialStatus[] = ['active', 'suspended', 'lost', 'expired'];
const HOLDER_ACTIVE = 0;
const HOLDER_SUSPENDED = 1;
/** A holder id that credentials name but that is not (or no longer) a cardholder. */
const HOLDER_ABSENT = 2;
const NO_GROUP = 0xffffffff;

/** Any status but the known ones reads as suspended: fail closed. */
function credentialStatusCode(status: string): number {
  const code = CREDENTIAL_STATUSES.indexOf(status as CredentialStatus);
  return code === -1 ? 1 : code;
}

const latin1 = (digest: Uint8Array): string => Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString('latin1');

/**
 * Cardholders, credentials and PINs for decide(), compact enough for a panel of millions [ACC-INDEX]:
 * ids and card keys as bytes in arenas behind int32 hash tables, statuses and group memberships
 * in typed arrays, validity windows only where set. About 60 bytes per credential and 40 per
 * cardholder, none of it objects the garbage collector walks. Lookups hand out a small plain
 * object per call, so decide() reads `Credential`/`Cardholder` values as before.
 * Patched in place per cardholder; pure data, no I/O.
 */
export class CardIndex {
  // Cardholders, by ordinal.
  private readonly holderIds: KeyTable;
  private holderStatus: Uint8Array;
  private holderCredentials: Uint16Array;
  private groupStart: Uint32Array;
  private groupCount: Uint16Array;
  private groupPool: Uint32Array;
  private groupPoolUsed = 0;
  private groupPoolGarbage = 0;
  private readonly groupOrdinals = new Map<string, number>();
  private readonly groupNames: (string | undefined)[] = [];
  /** Own PIN at 2·ordinal, alternate duress PIN at 2·ordinal+1 (length 0 = none). */
  private readonly pinDigests = new ByteStrings();
  private readonly escorts = new Map<number, EscortRule>();
  /** One Set for the index's life, refilled on change, so a state built once sees later patches. */
  private readonly escortGroups = new Set<string>();

  // Credentials, by ordinal.
  private credentialKeys: KeyTable;
  private credentialIds: ByteStrings;
  private credentialHolder: Int32Array;
  private credentialStatus: Uint8Array;
  private credentialKind: Uint8Array;
  /** Index into `validity` (from, until pairs; NaN = open) or -1: most cards have no window. */
  private credentialValidity: Int32Array;
  private validity = new Float64Array(32);
  private validityUsed = 0;
  private readonly validityFree: number[] = [];

  // PIN-only entry: digest → holder; a digest two people hold identifies nobody.
  private readonly pinTable = new KeyTable();
  private pinOwner = new Int32Array(16);
  private readonly sharedPins = new Set<string>();

  readonly credentials: CredentialLookup;
  readonly cardholders: CardholderLookup;
  readonly pins: PinLookup;
  /** The holder of the credential looked up last: decide() asks for that holder next, by this same id. */
  private recentHolderId: string | null = null;
  private recentHolder = -1;
  /** Counts every change to the index, so a copy taken in steps can tell whether it was changed meanwhile. */
  changeCount = 0;
  /** The store's people generation this index reflects; null = unknown (then no snapshot is written). */
  generation: number | null = null;
  /** The generation of the snapshot file last written or read for this index. */
  snapshotGeneration: number | null = null;

  /** Sizes for a bulk load (see `CardIndexSizes`): arrays made to measure leave no garbage copies behind. */
  constructor(sizes: Partial<CardIndexSizes> = {}) {
    const holders = Math.max(16, sizes.cardholders ?? 16);
    const credentials = Math.max(16, sizes.credentials ?? 16);
    this.holderIds = new KeyTable(holders, sizes.cardholderIdBytes ?? 16 * holders);
    this.holderStatus = new Uint8Array(holders).fill(HOLDER_ABSENT);
    this.holderCredentials = new Uint16Array(holders);
    this.groupStart = new Uint32Array(holders);
    this.groupCount = new Uint16Array(holders);
    this.groupPool = new Uint32Array(Math.max(64, withFreeTail(sizes.memberships ?? 0)));
    this.credentialKeys = new KeyTable(credentials, sizes.credentialKeyBytes ?? 16 * credentials);
    this.credentialIds = new ByteStrings(credentials, sizes.credentialIdBytes ?? 16 * credentials);
    this.credentialHolder = new Int32Array(credentials);
    this.credentialStatus = new Uint8Array(credentials);
    this.credentialKind = new Uint8Array(credentials);
    this.credentialValidity = new Int32Array(credentials).fill(-1);
    this.credentials = { get: (key) => this.credential(key) };
    this.cardholders = {
      get: (id) => this.cardholder(id),
      has: (id) => this.holderOrdinal(id) !== -1,
    };
    this.pins = { holderOf: (digest) => this.pinHolder(digest) };
  }

  static from(cardholders: Iterable<CardholderEntry>, credentials: Iterable<Credential>): CardIndex {
    const index = new CardIndex();
    for (const holder of cardholders) index.putCardholder(holder);
    for (const credential of credentials) index.putCredential(credential);
    return index;
  }

  get cardholderCount(): number {
    let count = 0;
    for (let ordinal = 0; ordinal < this.holderIds.ordinalLimit; ordinal++) if ((this.holderStatus[ordinal] ?? HOLDER_ABSENT) !== HOLDER_ABSENT) count++;
    return count;
  }

  /** Cardholder ids held (present ones and ids that credentials still name): O(1), for sizing decisions. */
  get cardholderIdCount(): number {
    return this.holderIds.size;
  }

  get credentialCount(): number {
    return this.credentialKeys.size;
  }

  /** Groups any visitor may be escorted by. */
  get escortGroupIds(): ReadonlySet<string> {
    return this.escortGroups;
  }

  /** Bytes held in arenas and typed arrays (not counting the few escort rules and group names). */
  get byteSize(): number {
    return (
      this.holderIds.byteSize + this.holderStatus.byteLength + this.holderCredentials.byteLength + this.groupStart.byteLength + this.groupCount.byteLength + this.groupPool.byteLength +
      this.pinDigests.byteSize + this.credentialKeys.byteSize + this.credentialIds.byteSize + this.credentialHolder.byteLength + this.credentialStatus.byteLength +
      this.credentialKind.byteLength + this.credentialValidity.byteLength + this.validity.byteLength + this.pinTable.byteSize + this.pinOwner.byteLength
    );
  }

  /** Creates or replaces a cardholder (groups, PINs, escort rule); credentials are separate. */
  putCardholder(holder: CardholderEntry): void {
    this.forgetRecent();
    const ordinal = this.holderIds.add(holder.id);
    this.ensureHolder(ordinal);
    const wasPresent = this.holderStatus[ordinal] !== HOLDER_ABSENT;
    if (wasPresent) this.dropHolderDetails(ordinal);
    this.holderStatus[ordinal] = holder.status === 'active' ? HOLDER_ACTIVE : HOLDER_SUSPENDED;

    const count = holder.groupIds.length;
    this.groupPool = grown(this.groupPool, this.groupPoolUsed + count);
    this.groupStart[ordinal] = this.groupPoolUsed;
    this.groupCount[ordinal] = count;
    for (const groupId of holder.groupIds) this.groupPool[this.groupPoolUsed++] = this.groupOrdinal(groupId);

    if (holder.pinDigest != null) this.setPin(ordinal, 0, holder.pinDigest);
    if (holder.duressPinDigest != null) this.setPin(ordinal, 1, holder.duressPinDigest);
    if (holder.escort != null) {
      this.escorts.set(ordinal, holder.escort);
      this.refreshEscortGroups();
    }
  }

  /** Forgets a cardholder; their credentials must be removed by key (`removeCredential`). */
  removeCardholder(id: string): void {
    this.forgetRecent();
    const ordinal = this.holderIds.find(id);
    if (ordinal === -1 || this.holderStatus[ordinal] === HOLDER_ABSENT) return;
    this.dropHolderDetails(ordinal);
    this.holderStatus[ordinal] = HOLDER_ABSENT;
    this.releaseHolderIfUnused(ordinal, id);
  }

  putCredential(credential: Credential): void {
    this.putCredentialFields(credential.id, credential.cardholderId, credential.kind, credentialKey(credential), credential.status, credential.validFromMs, credential.validUntilMs);
  }

  /** `putCredential` without the object, for bulk loads of millions of rows; `key` as `credentialKey` gives it. */
  putCredentialFields(id: string, cardholderId: string, kind: string, key: string, status: string, validFromMs: number | null, validUntilMs: number | null): void {
    this.forgetRecent();
    // One probe when the key is new (a bulk load): a key already held is replaced whole.
    const held = this.credentialKeys.size;
    let ordinal = this.credentialKeys.add(key);
    if (this.credentialKeys.size === held) {
      this.removeCredentialAt(ordinal, key);
      ordinal = this.credentialKeys.add(key);
    }
    this.ensureCredential(ordinal);
    const holder = this.holderIds.add(cardholderId);
    this.ensureHolder(holder);
    this.holderCredentials[holder] = (this.holderCredentials[holder] ?? 0) + 1;
    this.credentialIds.set(ordinal, id);
    this.credentialHolder[ordinal] = holder;
    this.credentialStatus[ordinal] = credentialStatusCode(status);
    this.credentialKind[ordinal] = kind === 'wiegand' ? 1 : 0;
    this.setValidity(ordinal, validFromMs, validUntilMs);
  }

  private setValidity(ordinal: number, validFromMs: number | null, validUntilMs: number | null): void {
    if (validFromMs !== null || validUntilMs !== null) {
      let slot = this.validityFree.pop();
      if (slot === undefined) {
        slot = this.validityUsed++;
        this.validity = grown(this.validity, 2 * this.validityUsed);
      }
      this.validity[2 * slot] = validFromMs ?? Number.NaN;
      this.validity[2 * slot + 1] = validUntilMs ?? Number.NaN;
      this.credentialValidity[ordinal] = slot;
    } else {
      this.credentialValidity[ordinal] = -1;
    }
  }

  /** For a bulk load: the key tables keep each key's hash until `trim()` (see `KeyTable.trackHashes`). */
  startBulkLoad(): void {
    this.holderIds.trackHashes(this.holderStatus.length);
    this.credentialKeys.trackHashes(this.credentialHolder.length);
  }

  // Bulk loads from bytes (site/cardIndexParts.ts): a full read of millions of people makes no
  // string per id, group or card digest. Each byte is one character, as `KeyTable.addBytes` says.

  /** The ordinal of the cardholder id in these bytes, added (absent until `putHolderAt`) if new. */
  holderOrdinalOfBytes(source: Uint8Array, start: number, size: number): number {
    const ordinal = this.holderIds.addBytes(source, start, size);
    this.ensureHolder(ordinal);
    return ordinal;
  }

  /** `holderOrdinalOfBytes` for an id given as a string (one that is not ASCII). */
  holderOrdinalOf(id: string): number {
    const ordinal = this.holderIds.add(id);
    this.ensureHolder(ordinal);
    return ordinal;
  }

  /** The ordinal of a group id, for `putHolderAt`. */
  groupOrdinalOf(groupId: string): number {
    return this.groupOrdinal(groupId);
  }

  /** `putCardholder` by ordinal, for a holder not yet put (a bulk load reads each once). */
  putHolderAt(ordinal: number, active: boolean, groups: ArrayLike<number>, groupCount: number, pinDigest: Uint8Array | null, duressPinDigest: Uint8Array | null, escort: EscortRule | null): void {
    this.forgetRecent();
    if (this.holderStatus[ordinal] !== HOLDER_ABSENT) this.dropHolderDetails(ordinal);
    this.holderStatus[ordinal] = active ? HOLDER_ACTIVE : HOLDER_SUSPENDED;
    this.groupPool = grown(this.groupPool, this.groupPoolUsed + groupCount);
    this.groupStart[ordinal] = this.groupPoolUsed;
    this.groupCount[ordinal] = groupCount;
    for (let i = 0; i < groupCount; i++) this.groupPool[this.groupPoolUsed++] = groups[i] ?? NO_GROUP;
    if (pinDigest !== null) this.setPin(ordinal, 0, pinDigest);
    if (duressPinDigest !== null) this.setPin(ordinal, 1, duressPinDigest);
    if (escort !== null) {
      this.escorts.set(ordinal, escort);
      this.refreshEscortGroups();
    }
  }

  /**
   * `putCredentialFields` from bytes: the key (digest) and id as byte ranges, the holder as an
   * ordinal (`holderOrdinalOfBytes`), kind 1 = Wiegand, status as its code (0 active, 1 suspended,
   * 2 lost, 3 expired; anything else reads as suspended).
   */
  putCredentialBytes(key: Uint8Array, keyStart: number, keySize: number, id: Uint8Array, idStart: number, idSize: number, holder: number, kind: number, status: number, validFromMs: number | null, validUntilMs: number | null): void {
    this.forgetRecent();
    const held = this.credentialKeys.size;
    let ordinal = this.credentialKeys.addBytes(key, keyStart, keySize);
    if (this.credentialKeys.size === held) {
      this.removeCredentialAt(ordinal, this.credentialKeys.keyOf(ordinal));
      ordinal = this.credentialKeys.addBytes(key, keyStart, keySize);
    }
    this.ensureCredential(ordinal);
    this.holderCredentials[holder] = (this.holderCredentials[holder] ?? 0) + 1;
    this.credentialIds.setBytes(ordinal, id, idStart, idSize);
    this.credentialHolder[ordinal] = holder;
    this.credentialStatus[ordinal] = status >= 0 && status < CREDENTIAL_STATUSES.length ? status : 1;
    this.credentialKind[ordinal] = kind === 1 ? 1 : 0;
    this.setValidity(ordinal, validFromMs, validUntilMs);
  }

  /** Removes the credential under this key, if it is `cardholderId`'s (or anyone's when omitted). */
  removeCredential(key: string, cardholderId?: string): void {
    const ordinal = this.credentialKeys.find(key);
    if (ordinal === -1) return;
    if (cardholderId !== undefined && this.holderIds.keyOf(this.credentialHolder[ordinal] ?? 0) !== cardholderId) return;
    this.removeCredentialAt(ordinal, key);
  }

  /** How many credentials the index holds for this cardholder. */
  credentialCountOf(cardholderId: string): number {
    const ordinal = this.holderIds.find(cardholderId);
    return ordinal === -1 ? 0 : (this.holderCredentials[ordinal] ?? 0);
  }

  /**
   * Removes every credential these cardholders hold in the index, whatever its key: for changes
   * made by another process, whose credentials before the change no one read [ACC-INDEX]. One
   * pass over the credential array (a few ms at 4,000,000 credentials) for the whole batch.
   * Returns how many were removed.
   */
  removeCredentialsOf(cardholderIds: Iterable<string>): number {
    const marked = new Uint8Array(this.holderIds.ordinalLimit);
    let any = false;
    for (const id of cardholderIds) {
      const ordinal = this.holderIds.find(id);
      if (ordinal === -1) continue;
      marked[ordinal] = 1;
      any = true;
    }
    if (!any) return 0;
    let removed = 0;
    const limit = this.credentialKeys.ordinalLimit;
    for (let ordinal = 0; ordinal < limit; ordinal++) {
      const holder = this.credentialHolder[ordinal] ?? -1;
      if (holder < 0 || marked[holder] !== 1 || !this.credentialKeys.isLive(ordinal)) continue;
      this.removeCredentialAt(ordinal, this.credentialKeys.keyOf(ordinal));
      removed++;
    }
    return removed;
  }

  /**
   * A group the site no longer has: no one is a member any more, so a group later created under
   * the same id starts empty, as it does in the database (memberships cascade on delete).
   */
  removeGroup(groupId: string): void {
    const ordinal = this.groupOrdinals.get(groupId);
    if (ordinal === undefined) return;
    this.forgetRecent();
    this.groupOrdinals.delete(groupId);
    this.groupNames[ordinal] = undefined;
    for (let i = 0; i < this.groupPoolUsed; i++) if (this.groupPool[i] === ordinal) this.groupPool[i] = NO_GROUP;
    for (const [holder, escort] of this.escorts) if (escort.groupIds.includes(groupId)) this.escorts.set(holder, { ...escort, groupIds: escort.groupIds.filter((id) => id !== groupId) });
    this.refreshEscortGroups();
  }

  /** Group ids members hold now (for dropping the ones the site no longer defines). */
  groupIds(): string[] {
    return [...this.groupOrdinals.keys()];
  }

  /**
   * Joins the two halves of a full read made on two threads [ACC-INDEX]: `holders` (cardholders,
   * no credentials) takes over the credentials of `credentials` (credentials, their holders known
   * only by id), each holder id looked up once. `holders` is returned, changed; `credentials` must
   * not be used afterwards. A holder the credentials name but `holders` lacks stays absent, as in a
   * read on one thread.
   */
  static merge(holders: CardIndex, credentials: CardIndex): CardIndex {
    if (holders.credentialKeys.size !== 0) throw new Error('merge: the cardholder half already holds credentials');
    holders.forgetRecent();
    holders.holderIds.trackHashes(holders.holderIds.ordinalLimit);
    const localHolders = credentials.holderIds.ordinalLimit;
    const ordinalOf = new Int32Array(localHolders).fill(-1);
    for (let local = 0; local < localHolders; local++) {
      const count = credentials.holderCredentials[local] ?? 0;
      if (count === 0) continue;
      const ordinal = holders.holderIds.add(credentials.holderIds.keyOf(local));
      holders.ensureHolder(ordinal);
      holders.holderCredentials[ordinal] = (holders.holderCredentials[ordinal] ?? 0) + count;
      ordinalOf[local] = ordinal;
    }
    const holderOf = credentials.credentialHolder;
    const limit = credentials.credentialKeys.ordinalLimit;
    for (let ordinal = 0; ordinal < limit; ordinal++) {
      const local = holderOf[ordinal] ?? -1;
      if (local >= 0) holderOf[ordinal] = ordinalOf[local] ?? -1;
    }
    holders.credentialKeys = credentials.credentialKeys;
    holders.credentialIds = credentials.credentialIds;
    holders.credentialHolder = holderOf;
    holders.credentialStatus = credentials.credentialStatus;
    holders.credentialKind = credentials.credentialKind;
    holders.credentialValidity = credentials.credentialValidity;
    holders.validity = credentials.validity;
    holders.validityUsed = credentials.validityUsed;
    holders.validityFree.length = 0;
    for (const slot of credentials.validityFree) holders.validityFree.push(slot);
    return holders;
  }

  /** Releases build-time slack after a bulk load. */
  trim(): void {
    this.holderIds.forgetHashes();
    this.credentialKeys.forgetHashes();
    this.holderIds.trim();
    this.credentialKeys.trim();
    this.credentialIds.compact();
    this.pinDigests.compact();
    this.compactGroupPool();
    const holders = this.holderIds.ordinalLimit;
    const credentials = this.credentialKeys.ordinalLimit;
    // Copies only where growth left real slack: each copy leaves a garbage array until the next GC.
    const fit = <T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(array: T, used: number): T => (array.length > used + (used >> 3) + 16 ? (array.slice(0, used) as T) : array);
    this.holderStatus = fit(this.holderStatus, holders);
    this.holderCredentials = fit(this.holderCredentials, holders);
    this.groupStart = fit(this.groupStart, holders);
    this.groupCount = fit(this.groupCount, holders);
    this.credentialHolder = fit(this.credentialHolder, credentials);
    this.credentialStatus = fit(this.credentialStatus, credentials);
    this.credentialKind = fit(this.credentialKind, credentials);
    this.credentialValidity = fit(this.credentialValidity, credentials);
    this.validity = fit(this.validity, 2 * this.validityUsed);
  }

  /** The whole index as arrays and a little JSON, for a snapshot file (site/cardSnapshot.ts). */
  toImage(): IndexImage {
    const image: IndexImage = { arrays: new Map(), scalars: {} };
    this.holderIds.saveTo(image, 'holderIds');
    image.arrays.set('holderStatus', this.holderStatus);
    image.arrays.set('holderCredentials', this.holderCredentials);
    image.arrays.set('groupStart', this.groupStart);
    image.arrays.set('groupCount', this.groupCount);
    // With its free tail, so the first edits after a load append in place (see withFreeTail).
    image.arrays.set('groupPool', this.groupPool.subarray(0, Math.min(this.groupPool.length, withFreeTail(this.groupPoolUsed))));
    this.pinDigests.saveTo(image, 'pinDigests');
    this.credentialKeys.saveTo(image, 'credentialKeys');
    this.credentialIds.saveTo(image, 'credentialIds');
    image.arrays.set('credentialHolder', this.credentialHolder);
    image.arrays.set('credentialStatus', this.credentialStatus);
    image.arrays.set('credentialKind', this.credentialKind);
    image.arrays.set('credentialValidity', this.credentialValidity);
    image.arrays.set('validity', this.validity.subarray(0, 2 * this.validityUsed));
    this.pinTable.saveTo(image, 'pinTable');
    image.arrays.set('pinOwner', this.pinOwner);
    Object.assign(image.scalars, {
      groupPoolGarbage: this.groupPoolGarbage,
      groupPoolUsed: this.groupPoolUsed,
      groupNames: this.groupNames.map((name) => name ?? null),
      escorts: [...this.escorts],
      validityFree: this.validityFree,
      sharedPins: [...this.sharedPins].map((key) => Buffer.from(key, 'latin1').toString('hex')),
    });
    return image;
  }

  /** The index an image was taken of; throws if any part is missing or of the wrong type. */
  static fromImage(image: IndexImage): CardIndex {
    const index = new CardIndex();
    index.holderIds.loadFrom(image, 'holderIds');
    index.holderStatus = arrayOf(image, 'holderStatus', Uint8Array);
    index.holderCredentials = arrayOf(image, 'holderCredentials', Uint16Array);
    index.groupStart = arrayOf(image, 'groupStart', Uint32Array);
    index.groupCount = arrayOf(image, 'groupCount', Uint16Array);
    index.groupPool = arrayOf(image, 'groupPool', Uint32Array);
    const poolUsed = image.scalars.groupPoolUsed;
    if (poolUsed !== undefined && (typeof poolUsed !== 'number' || !Number.isSafeInteger(poolUsed) || poolUsed < 0 || poolUsed > index.groupPool.length)) throw new Error('snapshot value groupPoolUsed is out of range');
    index.groupPoolUsed = poolUsed ?? index.groupPool.length;
    index.groupPoolGarbage = numberOf(image, 'groupPoolGarbage');
    index.pinDigests.loadFrom(image, 'pinDigests');
    index.credentialKeys.loadFrom(image, 'credentialKeys');
    index.credentialIds.loadFrom(image, 'credentialIds');
    index.credentialHolder = arrayOf(image, 'credentialHolder', Int32Array);
    index.credentialStatus = arrayOf(image, 'credentialStatus', Uint8Array);
    index.credentialKind = arrayOf(image, 'credentialKind', Uint8Array);
    index.credentialValidity = arrayOf(image, 'credentialValidity', Int32Array);
    index.validity = arrayOf(image, 'validity', Float64Array);
    index.validityUsed = index.validity.length / 2;
    index.validityFree.push(...(image.scalars.validityFree as number[]));
    index.pinTable.loadFrom(image, 'pinTable');
    index.pinOwner = arrayOf(image, 'pinOwner', Int32Array);
    (image.scalars.groupNames as (string | null)[]).forEach((name, ordinal) => {
      index.groupNames.push(name ?? undefined);
      if (name !== null) index.groupOrdinals.set(name, ordinal);
    });
    for (const [ordinal, rule] of image.scalars.escorts as [number, EscortRule][]) index.escorts.set(ordinal, rule);
    index.refreshEscortGroups();
    for (const hex of image.scalars.sharedPins as string[]) index.sharedPins.add(Buffer.from(hex, 'hex').toString('latin1'));
    const holders = index.holderIds.ordinalLimit;
    const credentials = index.credentialKeys.ordinalLimit;
    if (index.holderStatus.length < holders || index.groupStart.length < holders || index.groupCount.length < holders || index.holderCredentials.length < holders) throw new Error('snapshot cardholder arrays are shorter than the cardholder table');
    if (index.credentialHolder.length < credentials || index.credentialStatus.length < credentials || index.credentialKind.length < credentials || index.credentialValidity.length < credentials) throw new Error('snapshot credential arrays are shorter than the credential table');
    return index;
  }

  private credential(key: string): Credential | undefined {
    const ordinal = this.credentialKeys.find(key);
    if (ordinal === -1) return undefined;
    const holder = this.credentialHolder[ordinal] ?? 0;
    const cardholderId = this.holderIds.keyOf(holder);
    this.recentHolderId = cardholderId;
    this.recentHolder = holder;
    const slot = this.credentialValidity[ordinal] ?? -1;
    const from = slot === -1 ? Number.NaN : (this.validity[2 * slot] ?? Number.NaN);
    const until = slot === -1 ? Number.NaN : (this.validity[2 * slot + 1] ?? Number.NaN);
    return {
      id: this.credentialIds.text(ordinal),
      cardholderId,
      kind: this.credentialKind[ordinal] === 1 ? 'wiegand' : 'card',
      digest: key,
      status: CREDENTIAL_STATUSES[this.credentialStatus[ordinal] ?? 1] ?? 'suspended',
      validFromMs: Number.isNaN(from) ? null : from,
      validUntilMs: Number.isNaN(until) ? null : until,
    };
  }

  private holderOrdinal(id: string): number {
    const ordinal = id === this.recentHolderId ? this.recentHolder : this.holderIds.find(id);
    return ordinal === -1 || this.holderStatus[ordinal] === HOLDER_ABSENT ? -1 : ordinal;
  }

  private cardholder(id: string): IndexedCardholder | undefined {
    const ordinal = this.holderOrdinal(id);
    if (ordinal === -1) return undefined;
    return this.holderAt(ordinal, id);
  }

  /** Any change may free or reuse an ordinal. */
  private forgetRecent(): void {
    this.changeCount++;
    this.recentHolderId = null;
    this.recentHolder = -1;
  }

  private holderAt(ordinal: number, id: string): IndexedCardholder {
    const groupIds: string[] = [];
    const start = this.groupStart[ordinal] ?? 0;
    const end = start + (this.groupCount[ordinal] ?? 0);
    for (let i = start; i < end; i++) {
      const name = this.groupNames[this.groupPool[i] ?? NO_GROUP];
      if (name !== undefined) groupIds.push(name);
    }
    const pin = this.pinDigests.sizeOf(2 * ordinal) === 0 ? null : this.pinDigests.view(2 * ordinal);
    const duress = this.pinDigests.sizeOf(2 * ordinal + 1) === 0 ? null : this.pinDigests.view(2 * ordinal + 1);
    return { id, status: this.holderStatus[ordinal] === HOLDER_ACTIVE ? 'active' : 'suspended', groupIds, pinDigest: pin, duressPinDigest: duress, escort: this.escorts.get(ordinal) ?? null };
  }

  private pinHolder(digest: Uint8Array): string | undefined {
    const entry = this.pinTable.find(latin1(digest));
    if (entry === -1) return undefined;
    const ordinal = this.pinOwner[entry] ?? -1;
    return ordinal === -1 || this.holderStatus[ordinal] === HOLDER_ABSENT ? undefined : this.holderIds.keyOf(ordinal);
  }

  private setPin(ordinal: number, slot: 0 | 1, digest: Uint8Array): void {
    this.pinDigests.set(2 * ordinal + slot, digest);
    this.indexPin(digest, ordinal);
  }

  private indexPin(digest: Uint8Array, holder: number): void {
    const key = latin1(digest);
    if (this.sharedPins.has(key)) return;
    const entry = this.pinTable.find(key);
    if (entry === -1) {
      const added = this.pinTable.add(key);
      this.pinOwner = grown(this.pinOwner, added + 1, -1);
      this.pinOwner[added] = holder;
    } else if (this.pinOwner[entry] !== holder) {
      // A PIN someone else already holds identifies nobody at a PIN-only door.
      this.pinTable.remove(key);
      this.sharedPins.add(key);
    }
  }

  private dropHolderDetails(ordinal: number): void {
    for (const slot of [0, 1]) {
      if (this.pinDigests.sizeOf(2 * ordinal + slot) === 0) continue;
      const key = latin1(this.pinDigests.view(2 * ordinal + slot));
      const entry = this.pinTable.find(key);
      if (entry !== -1 && this.pinOwner[entry] === ordinal) this.pinTable.remove(key);
      this.pinDigests.clear(2 * ordinal + slot);
    }
    this.groupPoolGarbage += this.groupCount[ordinal] ?? 0;
    this.groupCount[ordinal] = 0;
    if (this.groupPoolGarbage > 1024 && this.groupPoolGarbage * 2 > this.groupPoolUsed) this.compactGroupPool();
    if (this.escorts.delete(ordinal)) this.refreshEscortGroups();
  }

  private removeCredentialAt(ordinal: number, key: string): void {
    this.forgetRecent();
    const holder = this.credentialHolder[ordinal] ?? 0;
    const slot = this.credentialValidity[ordinal] ?? -1;
    if (slot !== -1) this.validityFree.push(slot);
    this.credentialValidity[ordinal] = -1;
    this.credentialIds.clear(ordinal);
    this.credentialKeys.remove(key);
    // No holder for a freed ordinal: a later pass by holder (removeCredentialsOf) skips it.
    this.credentialHolder[ordinal] = -1;
    this.holderCredentials[holder] = Math.max(0, (this.holderCredentials[holder] ?? 1) - 1);
    if (this.holderStatus[holder] === HOLDER_ABSENT) this.releaseHolderIfUnused(holder, this.holderIds.keyOf(holder));
  }

  /** An absent holder's id is kept only while credentials still name it. */
  private releaseHolderIfUnused(ordinal: number, id: string): void {
    if ((this.holderCredentials[ordinal] ?? 0) > 0) return;
    this.holderIds.remove(id);
  }

  private groupOrdinal(groupId: string): number {
    let ordinal = this.groupOrdinals.get(groupId);
    if (ordinal === undefined) {
      ordinal = this.groupNames.length;
      this.groupNames.push(groupId);
      this.groupOrdinals.set(groupId, ordinal);
    }
    return ordinal;
  }

  private compactGroupPool(): void {
    if (this.groupPoolGarbage === 0 && this.groupPool.length <= this.groupPoolUsed + (this.groupPoolUsed >> 3) + 16) return;
    const next = new Uint32Array(Math.max(16, withFreeTail(this.groupPoolUsed - this.groupPoolGarbage)));
    let at = 0;
    for (let ordinal = 0; ordinal < this.holderIds.ordinalLimit; ordinal++) {
      const count = this.groupCount[ordinal] ?? 0;
      const start = this.groupStart[ordinal] ?? 0;
      next.set(this.groupPool.subarray(start, start + count), at);
      this.groupStart[ordinal] = at;
      at += count;
    }
    this.groupPool = next;
    this.groupPoolUsed = at;
    this.groupPoolGarbage = 0;
  }

  private refreshEscortGroups(): void {
    this.escortGroups.clear();
    for (const escort of this.escorts.values()) for (const groupId of escort.groupIds) this.escortGroups.add(groupId);
  }

  private ensureHolder(ordinal: number): void {
    // A new or reused ordinal is absent until putCardholder says otherwise (freed ones were left absent).
    if (ordinal < this.holderStatus.length) return;
    const before = this.holderStatus.length;
    this.holderStatus = grown(this.holderStatus, ordinal + 1);
    this.holderStatus.fill(HOLDER_ABSENT, before);
    this.holderCredentials = grown(this.holderCredentials, ordinal + 1);
    this.groupStart = grown(this.groupStart, ordinal + 1);
    this.groupCount = grown(this.groupCount, ordinal + 1);
  }

  private ensureCredential(ordinal: number): void {
    // Checked here, field by field (each of one array type), before the generic `grown`: bulk loads call this millions of times.
    if (ordinal < this.credentialHolder.length && ordinal < this.credentialStatus.length && ordinal < this.credentialKind.length && ordinal < this.credentialValidity.length) return;
    this.credentialHolder = grown(this.credentialHolder, ordinal + 1);
    this.credentialStatus = grown(this.credentialStatus, ordinal + 1);
    this.credentialKind = grown(this.credentialKind, ordinal + 1);
    this.credentialValidity = grown(this.credentialValidity, ordinal + 1, -1);
  }
}
