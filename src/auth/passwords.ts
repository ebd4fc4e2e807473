import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import { GuardpostError } from '../errors.js';

/** argon2id at argon2's defaults (64 MiB, t=3, p=4): stronger than OWASP's minimum (19 MiB, t=2, p=1). */
export function hashSecret(secret: string): Promise<string> {
  return argon2.hash(secret, { type: argon2.argon2id });
}

export function verifySecret(hash: string, secret: string): Promise<boolean> {
  return argon2.verify(hash, secret).catch(() => false);
}

export const MIN_PASSWORD_LENGTH = 12;

export function checkPasswordStrength(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new GuardpostError('GP_ERR_BAD_REQUEST', `password: must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
}

/** A random secret for people to copy once (base64url, 32 bytes of entropy by default). */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
