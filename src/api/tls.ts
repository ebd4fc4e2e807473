import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { GuardpostError } from '../errors.js';

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * Reads the HTTPS certificate and key named in the config (`http.tls`), relative to the config
 * file's directory. A file that cannot be read, or a key that does not go with the certificate,
 * stops the start with an error naming the file: a gateway must never fall back to plain HTTP.
 */
export function loadTls(config: { certFile: string; keyFile: string } | undefined, baseDir: string): TlsMaterial | undefined {
  if (config === undefined) return undefined;
  const read = (field: 'certFile' | 'keyFile'): Buffer => {
    const file = path.resolve(baseDir, config[field]);
    try {
      return fs.readFileSync(file);
    } catch (error) {
      throw new GuardpostError('GP_ERR_CONFIG_INVALID', `http.tls.${field}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  const material = { cert: read('certFile'), key: read('keyFile') };
  try {
    tls.createSecureContext(material);
  } catch (error) {
    throw new GuardpostError(
      'GP_ERR_CONFIG_INVALID',
      `http.tls: ${path.resolve(baseDir, config.certFile)} and ${path.resolve(baseDir, config.keyFile)} are not a PEM certificate and its private key: ${(error as Error).message}`,
    );
  }
  return material;
}
