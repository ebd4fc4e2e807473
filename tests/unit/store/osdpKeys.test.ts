import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSiteData } from '../../../src/config/load.js';
import type { SiteData } from '../../../src/config/siteSchema.js';
import { Store } from '../../../src/store/index.js';
import { OSDP_KEY_FILE, OsdpKeyVault } from '../../../src/store/osdpKeys.js';
import { exportSiteData } from '../../../src/store/siteExport.js';

const KEY = '00112233445566778899aabbccddeeff';

const site = (key: string): SiteData => {
  const result = parseSiteData({
    site: { id: 'osdp-keys', name: 'OSDP keys', timezone: 'Europe/London' },
    devices: [{ id: 'vault-reader', kind: 'reader', driver: 'osdp', bus: 'rs485', address: 0, secureChannel: 'enforce', osdpKey: key }],
  });
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.site;
};

const dirs: string[] = [];
const stores: Store[] = [];
const tempDir = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-osdpkeys-'));
  dirs.push(dir);
  return dir;
};
const open = (dir: string): Store => {
  const store = Store.open(dir);
  stores.push(store);
  return store;
};

afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** Every byte SQLite keeps for this state directory (database and WAL), as text. */
const databaseBytes = (dir: string): string =>
  fs
    .readdirSync(dir)
    .filter((name) => name.includes('.db') || name.endsWith('-wal'))
    .map((name) => fs.readFileSync(path.join(dir, name)).toString('latin1'))
    .join('');

describe('OSDP keys at rest (AES-256-GCM under the state directory\'s osdp.key)', () => {
  it('seals a key and opens it again only for the same device', () => {
    const vault = OsdpKeyVault.withKey(Buffer.alloc(32, 7));
    const sealed = vault.seal('vault-reader', KEY);
    expect(sealed).toMatch(/^gpenc1:[A-Za-z0-9_-]{59}$/);
    expect(sealed).not.toContain(KEY);
    expect(vault.open('vault-reader', sealed).toString('hex')).toBe(KEY);
    expect(vault.seal('vault-reader', sealed)).toBe(sealed); // already sealed: kept as it is
    expect(() => vault.open('other-reader', sealed)).toThrow(/device "other-reader": its sealed osdpKey does not open with this gateway's osdp\.key/);
    expect(() => OsdpKeyVault.withKey(Buffer.alloc(32, 8)).open('vault-reader', sealed)).toThrow(/copy that gateway's osdp\.key into the state directory/);
  });

  it('keeps only the sealed key in SQLite, in the device row and its document, and makes osdp.key mode 0600', () => {
    const dir = tempDir();
    const store = open(dir);
    store.importSiteData(site(KEY));
    const stored = store.devices.get('vault-reader')?.binding?.osdpKey;
    expect(stored).toMatch(/^gpenc1:/);
    expect(exportSiteData(store).devices[0]?.osdpKey).toBe(stored);
    expect(store.osdpKeys?.open('vault-reader', stored!).toString('hex')).toBe(KEY);
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    expect(databaseBytes(dir)).not.toContain(KEY);
    expect(databaseBytes(dir).toLowerCase()).not.toContain(KEY);
    expect(fs.statSync(path.join(dir, OSDP_KEY_FILE)).mode & 0o777).toBe(0o600);
  });

  it('refuses an osdp.key that group or others can read, naming the file and the fix', () => {
    const dir = tempDir();
    open(dir).importSiteData(site(KEY));
    stores.pop()!.close();
    fs.chmodSync(path.join(dir, OSDP_KEY_FILE), 0o640);
    expect(() => Store.open(dir)).toThrow(`cannot use the OSDP key file ${path.join(dir, OSDP_KEY_FILE)}: its mode is 640; it must be readable by the gateway's user only (chmod 600)`);
  });

  it('seals keys stored in clear by an older version when the store is opened, with an audit row by the gateway', () => {
    const dir = tempDir();
    const old = open(dir);
    old.importSiteData(site(KEY));
    // As an older gateway left it: the key in clear in the device row and in its document.
    const document = { ...exportSiteData(old).devices[0]!, osdpKey: KEY };
    old.devices.upsert({ ...old.devices.get('vault-reader')!, binding: { ...old.devices.get('vault-reader')!.binding, osdpKey: KEY } });
    old.documents.put('devices', 'vault-reader', document);
    stores.pop()!.close();

    const store = open(dir);
    const stored = store.devices.get('vault-reader')?.binding?.osdpKey;
    expect(stored).toMatch(/^gpenc1:/);
    expect(exportSiteData(store).devices[0]?.osdpKey).toBe(stored);
    expect(store.osdpKeys?.open('vault-reader', stored!).toString('hex')).toBe(KEY);
    expect(store.audit.list({ limit: 10 })).toContainEqual(expect.objectContaining({ actor: 'gateway', source: 'startup', action: 'device.osdp_key_sealed', target: 'vault-reader' }));
  });

  it('re-imports its own export on the same gateway, and refuses it with a clear message on a gateway without that osdp.key', () => {
    const dir = tempDir();
    const store = open(dir);
    store.importSiteData(site(KEY));
    const exported = exportSiteData(store);
    expect(parseSiteData(exported).ok).toBe(true);
    store.importSiteData(exported);
    expect(store.osdpKeys?.open('vault-reader', store.devices.get('vault-reader')!.binding!.osdpKey!).toString('hex')).toBe(KEY);

    const other = open(tempDir());
    expect(() => other.importSiteData(exported)).toThrow(/^device "vault-reader": its osdpKey is sealed, but cannot use the OSDP key file .*osdp\.key: it does not exist.*; copy the osdp\.key of the gateway that sealed it into the state directory$/);
    expect(other.hasSiteData()).toBe(false);
  });
});
