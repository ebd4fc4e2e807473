import { createHash, randomBytes } from 'node:crypto';

/**
 * HTTP Digest (RFC 7616, MD5 and SHA-256, qop=auth): Axis cameras ask for it by default and
 * refuse Basic unless told otherwise.
 */
export function digestAuthorization(challenge: string, method: string, uri: string, username: string, password: string, nonceCount = 1): string | undefined {
  if (!/^Digest\s/i.test(challenge)) return undefined;
  const params = new Map<string, string>();
  for (const match of challenge.slice(7).matchAll(/(\w+)=(?:"([^"]*)"|([^\s,]+))/g)) params.set(match[1]!.toLowerCase(), match[2] ?? match[3] ?? '');
  const realm = params.get('realm') ?? '';
  const nonce = params.get('nonce');
  if (nonce === undefined) return undefined;
  const algorithm = (params.get('algorithm') ?? 'MD5').toUpperCase();
  const hashName = algorithm.startsWith('SHA-256') ? 'sha256' : algorithm.startsWith('MD5') ? 'md5' : undefined;
  if (hashName === undefined) return undefined;
  const hash = (text: string): string => createHash(hashName).update(text).digest('hex');
  const qops = (params.get('qop') ?? '').split(',').map((qop) => qop.trim());
  const cnonce = randomBytes(8).toString('hex');
  const nc = nonceCount.toString(16).padStart(8, '0');
  let ha1 = hash(`${username}:${realm}:${password}`);
  if (algorithm.endsWith('-SESS')) ha1 = hash(`${ha1}:${nonce}:${cnonce}`);
  const ha2 = hash(`${method}:${uri}`);
  const useQop = qops.includes('auth');
  const response = useQop ? hash(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`) : hash(`${ha1}:${nonce}:${ha2}`);
  const parts = [`username="${username}"`, `realm="${realm}"`, `nonce="${nonce}"`, `uri="${uri}"`, `algorithm=${algorithm}`, `response="${response}"`];
  if (useQop) parts.push('qop=auth', `nc=${nc}`, `cnonce="${cnonce}"`);
  const opaque = params.get('opaque');
  if (opaque !== undefined) parts.push(`opaque="${opaque}"`);
  return `Digest ${parts.join(', ')}`;
}
