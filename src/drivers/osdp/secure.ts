import crypto from 'node:crypto';

/**
 * OSDP Secure Channel cryptography (v2.2 Annex D): AES-128 session keys derived from the
 * Secure Channel Base Key (SCBK) and the ACU's random number, the two cryptograms of the
 * handshake, the initial R-MAC, the chained MAC over every packet, and data encryption.
 */

/** SCBK-D, the well-known key a reader uses in install mode (the spec's default). */
export const SCBK_D = Buffer.from('303132333435363738393a3b3c3d3e3f', 'hex');

/** Security block types. */
export const SCS = { CHLNG: 0x11, CCRYPT: 0x12, SCRYPT: 0x13, RMAC_I: 0x14, CMD_MAC: 0x15, REPLY_MAC: 0x16, CMD_ENC: 0x17, REPLY_ENC: 0x18 } as const;
export const MAC_BYTES = 4;

export interface SessionKeys {
  readonly enc: Buffer;
  readonly mac1: Buffer;
  readonly mac2: Buffer;
}

function ecb(key: Uint8Array, block: Uint8Array): Buffer {
  const cipher = crypto.createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  return Buffer.concat([cipher.update(block), cipher.final()]);
}

function cbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array, decrypt = false): Buffer {
  const cipher = (decrypt ? crypto.createDecipheriv : crypto.createCipheriv)('aes-128-cbc', key, iv).setAutoPadding(false);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

export function sessionKeys(scbk: Uint8Array, rndA: Uint8Array): SessionKeys {
  const derive = (a: number, b: number): Buffer => ecb(scbk, Buffer.concat([Buffer.from([a, b]), Buffer.from(rndA.subarray(0, 6)), Buffer.alloc(8)]));
  return { enc: derive(0x01, 0x82), mac1: derive(0x01, 0x01), mac2: derive(0x01, 0x02) };
}

/** The PD's proof (osdp_CCRYPT): AES(S-ENC, RND.A ‖ RND.B). */
export function clientCryptogram(keys: SessionKeys, rndA: Uint8Array, rndB: Uint8Array): Buffer {
  return ecb(keys.enc, Buffer.concat([rndA, rndB]));
}

/** The ACU's proof (osdp_SCRYPT): AES(S-ENC, RND.B ‖ RND.A). */
export function serverCryptogram(keys: SessionKeys, rndA: Uint8Array, rndB: Uint8Array): Buffer {
  return ecb(keys.enc, Buffer.concat([rndB, rndA]));
}

/** The first R-MAC (osdp_RMAC_I), which seeds the MAC chain. */
export function initialRmac(keys: SessionKeys, serverCrypto: Uint8Array): Buffer {
  return ecb(keys.mac2, ecb(keys.mac1, serverCrypto));
}

/** 0x80 then zeros up to a whole number of blocks; `always` adds a block when already aligned. */
function pad(data: Uint8Array, always: boolean): Buffer {
  if (!always && data.length % 16 === 0 && data.length > 0) return Buffer.from(data);
  const padded = Buffer.alloc(Math.floor(data.length / 16) * 16 + 16);
  padded.set(data);
  padded[data.length] = 0x80;
  return padded;
}

/**
 * The MAC of a packet (from SOM to the end of its data), chained on `iv` (the last MAC of the
 * other side): AES-CBC with S-MAC1 over all blocks but the last, the last with S-MAC2.
 */
export function packetMac(keys: SessionKeys, iv: Uint8Array, message: Uint8Array): Buffer {
  const blocks = pad(message, false);
  let chain: Buffer = Buffer.from(iv);
  if (blocks.length > 16) chain = cbc(keys.mac1, iv, blocks.subarray(0, blocks.length - 16)).subarray(-16);
  return cbc(keys.mac2, chain, blocks.subarray(-16));
}

const complement = (mac: Uint8Array): Buffer => Buffer.from(mac.map((byte) => ~byte & 0xff));

/** Encrypts a packet's data with S-ENC; the IV is the complement of the other side's last MAC. */
export function encryptData(keys: SessionKeys, lastMac: Uint8Array, data: Uint8Array): Buffer {
  return cbc(keys.enc, complement(lastMac), pad(data, true));
}

export function decryptData(keys: SessionKeys, lastMac: Uint8Array, data: Uint8Array): Uint8Array | null {
  if (data.length === 0 || data.length % 16 !== 0) return null;
  const plain = cbc(keys.enc, complement(lastMac), data, true);
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0x00) end--;
  return end >= 0 && plain[end] === 0x80 ? Uint8Array.from(plain.subarray(0, end)) : null;
}

/** Compares secrets without leaking where they differ. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}
