import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { SiteDevice } from '../config/siteSchema.js';
import { GuardpostError } from '../errors.js';
import type { Store } from './index.js';
import { writeDevice } from './siteWrites.js';

export const OSDP_KEY_FILE = 'osdp.key';
/** A sealed key: `gpenc1:` + base64url(IV 12 ‖ ciphertext 16 ‖ GCM tag 16). */
export const SEALED_OSDP_KEY_PREFIX = 'gpenc1:';
export const SEALED_OSDP_KEY_PATTERN = '^gpenc1:[A-Za-z0-9_-]{59}$';
const VAULT_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SCBK_BYTES = 16;

const isPlain = (value: string): boolean => /^[0-9a-fA-F]{32}$/.test(value);

/**
 * OSDP Secure Channel keys at rest: sealed with AES-256-GCM under a 32-byte key in the state
 * directory (`osdp.key`, mode 0600, apart from the database), so a copied database or an export
 * holds no reader key in clear. The device id is the associated data: a sealed key moved to
 * another reader does not open. The file is made on first use and refused when group or others
 * can read it.
 */
export class OsdpKeyVault {
  private key: Buffer | undefined;

  private constructor(
    private readonly file: string | null,
    key?: Buffer,
  ) {
    this.key = key;
  }

  static forStateDir(stateDir: string): OsdpKeyVault {
    return new OsdpKeyVault(path.join(stateDir, OSDP_KEY_FILE));
  }

  /** For tests that hold no state directory. */
  static withKey(key: Buffer): OsdpKeyVault {
    return new OsdpKeyVault(null, key);
  }

  /** An existing key file is checked at once (mode, size), so a bad one stops the start, not a reader later. */
  checkFile(): void {
    if (this.file !== null && this.key === undefined && fs.existsSync(this.file)) this.vaultKey(false);
  }

  static isSealed(value: string): boolean {
    return new RegExp(SEALED_OSDP_KEY_PATTERN).test(value);
  }

  /** The stored form of a reader's key: plain hex is sealed; an already sealed key is checked and kept. */
  seal(deviceId: string, value: string): string {
    if (OsdpKeyVault.isSealed(value)) {
      this.open(deviceId, value); // refuse at write time a key this gateway could never use
      return value;
    }
    if (!isPlain(value)) throw new GuardpostError('GP_ERR_CONFIG_INVALID', `device "${deviceId}": osdpKey is neither 32 hex digits nor a sealed key (${SEALED_OSDP_KEY_PREFIX}…)`);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.vaultKey(true), iv).setAAD(associatedData(deviceId));
    const sealed = Buffer.concat([iv, cipher.update(Buffer.from(value, 'hex')), cipher.final(), cipher.getAuthTag()]);
    return SEALED_OSDP_KEY_PREFIX + sealed.toString('base64url');
  }

  /** The reader's 16-byte SCBK from its stored form (plain hex is accepted from before sealing). */
  open(deviceId: string, value: string): Buffer {
    if (isPlain(value)) return Buffer.from(value, 'hex');
    if (!OsdpKeyVault.isSealed(value)) throw new GuardpostError('GP_ERR_CONFIG_INVALID', `device "${deviceId}": osdpKey is neither 32 hex digits nor a sealed key (${SEALED_OSDP_KEY_PREFIX}…)`);
    const bytes = Buffer.from(value.slice(SEALED_OSDP_KEY_PREFIX.length), 'base64url');
    const iv = bytes.subarray(0, IV_BYTES);
    const tag = bytes.subarray(IV_BYTES + SCBK_BYTES);
    let vaultKey: Buffer;
    try {
      vaultKey = this.vaultKey(false);
    } catch (error) {
      throw new GuardpostError('GP_ERR_STORE', `device "${deviceId}": its osdpKey is sealed, but ${(error as Error).message}; copy the ${OSDP_KEY_FILE} of the gateway that sealed it into the state directory`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', vaultKey, iv).setAAD(associatedData(deviceId)).setAuthTag(tag);
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, IV_BYTES + SCBK_BYTES)), decipher.final()]);
    } catch {
      throw new GuardpostError(
        'GP_ERR_CONFIG_INVALID',
        `device "${deviceId}": its sealed osdpKey does not open with this gateway's ${OSDP_KEY_FILE} (sealed by another gateway, or for another device id?); copy that gateway's ${OSDP_KEY_FILE} into the state directory or give the key in clear`,
      );
    }
  }

  private vaultKey(create: boolean): Buffer {
    if (this.key !== undefined) return this.key;
    const file = this.file!;
    try {
      if (create) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        try {
          fs.writeFileSync(file, randomBytes(VAULT_KEY_BYTES), { mode: 0o600, flag: 'wx' });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
      } else if (!fs.existsSync(file)) {
        throw new Error('it does not exist, so keys sealed elsewhere cannot be opened here');
      }
      const mode = fs.statSync(file).mode & 0o777;
      if ((mode & 0o077) !== 0) throw new Error(`its mode is ${mode.toString(8)}; it must be readable by the gateway's user only (chmod 600)`);
      const key = fs.readFileSync(file);
      if (key.byteLength !== VAULT_KEY_BYTES) throw new Error(`it holds ${key.byteLength} bytes, expected ${VAULT_KEY_BYTES}`);
      this.key = key;
      return key;
    } catch (error) {
      throw new GuardpostError('GP_ERR_STORE', `cannot use the OSDP key file ${file}: ${(error as Error).message}`);
    }
  }
}

function associatedData(deviceId: string): Buffer {
  return Buffer.from(`guardpost osdpKey ${deviceId}`, 'utf8');
}

/**
 * Seals OSDP keys still stored in clear (written before keys were sealed): the device row and
 * its document are rewritten together, each with an audit row naming the gateway, in one
 * transaction. Returns the ids of the devices whose key was sealed.
 */
export function sealStoredOsdpKeys(store: Store, nowMs: number): string[] {
  const plain = store.documents
    .list('devices')
    .map((document) => document as unknown as SiteDevice)
    .filter((device) => device.osdpKey !== undefined && !OsdpKeyVault.isSealed(device.osdpKey));
  const stale = store.devices.list().filter((device) => device.binding?.osdpKey !== undefined && !OsdpKeyVault.isSealed(device.binding.osdpKey));
  if (plain.length === 0 && stale.length === 0) return [];
  const ids = new Set([...plain.map((device) => device.id), ...stale.map((device) => device.id)]);
  const documents = new Map(store.documents.list('devices').map((document) => [(document as { id: string }).id, document as unknown as SiteDevice]));
  store.db.transaction(() => {
    for (const id of ids) {
      const document = documents.get(id);
      const binding = store.devices.get(id)?.binding;
      if (document === undefined || (document.osdpKey === undefined && binding?.osdpKey === undefined)) continue;
      writeDevice(store, { ...document, osdpKey: document.osdpKey ?? binding!.osdpKey! });
      store.audit.record({ actor: 'gateway', source: 'startup', action: 'device.osdp_key_sealed', target: id }, nowMs);
    }
  })();
  return [...ids];
}
