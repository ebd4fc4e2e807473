import { maskedCard, maskedWiegand, type CardDigester } from '../access/cardDigest.js';
import { GuardpostError } from '../errors.js';

/**
 * [SEC-CARD-DIGEST] Credentials as they are kept: a card given by number (what an admin types,
 * what a site file or CSV holds) becomes `cardDigest` + `masked`, a Wiegand card `wiegandDigest` +
 * `masked`, before anything is validated or written, so no whole number reaches the database,
 * the documents, the audit log or an export. Works on unvalidated input: anything malformed is
 * left as given for the site rules to report with its path.
 */

export interface CredentialProblem {
  /** `credentials[j].cardDigest` within the cardholder. */
  readonly field: string;
  readonly message: string;
}

type Raw = Record<string, unknown>;
const isObject = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value);
const count = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** One credential in its kept form, or as given when it is not well formed (the validator says why). */
export function sealCredential(digester: CardDigester | null, credential: unknown, field: string, problems: CredentialProblem[]): unknown {
  if (!isObject(credential)) return credential;
  const { card, wiegand, cardDigest, wiegandDigest, masked, ...rest } = credential;
  const forms = [card, wiegand, cardDigest, wiegandDigest].filter((form) => form !== undefined).length;
  if (forms !== 1) return credential;
  for (const [name, sealed] of [['cardDigest', cardDigest], ['wiegandDigest', wiegandDigest]] as const) {
    if (typeof sealed !== 'string') continue;
    if (digester === null) problems.push({ field: `${field}.${name}`, message: 'card digests need the state directory\'s key (pin.key)' });
    else {
      const opened = digester.open(sealed);
      if (!opened.ok && /^gpcd1:[0-9a-f]{8}:[0-9a-f]{32}$/.test(sealed)) problems.push({ field: `${field}.${name}`, message: opened.message });
    }
    return credential;
  }
  if (masked !== undefined) return credential;
  if (typeof card === 'string' && /^[0-9]{1,20}$/.test(card)) {
    if (digester === null) {
      problems.push({ field: `${field}.card`, message: 'card numbers are stored as keyed digests, which need the state directory\'s key (pin.key)' });
      return credential;
    }
    return { ...rest, cardDigest: digester.seal(digester.ofCard(card)), masked: maskedCard(card) };
  }
  if (isObject(wiegand) && typeof wiegand.format === 'string' && /^[a-z0-9-]+$/.test(wiegand.format) && count(wiegand.facility) && count(wiegand.number) && Object.keys(wiegand).length === 3) {
    if (digester === null) {
      problems.push({ field: `${field}.wiegand`, message: 'card numbers are stored as keyed digests, which need the state directory\'s key (pin.key)' });
      return credential;
    }
    return { ...rest, wiegandDigest: digester.seal(digester.ofWiegand(wiegand.format, wiegand.facility, wiegand.number)), masked: maskedWiegand(wiegand.format, wiegand.facility, wiegand.number) };
  }
  return credential;
}

/** A cardholder (raw or validated) with every credential in its kept form. */
export function sealCardholderCredentials<T>(digester: CardDigester | null, holder: T, problems: CredentialProblem[]): T {
  if (!isObject(holder) || !Array.isArray(holder.credentials)) return holder;
  return { ...holder, credentials: holder.credentials.map((credential: unknown, j: number) => sealCredential(digester, credential, `credentials[${j}]`, problems)) } as T;
}

/** Every cardholder of a site's data in kept form; problems (a digest of another site's key) are thrown, naming each credential. */
export function sealCardholderList<T>(digester: CardDigester | null, holders: readonly T[]): T[] {
  const problems: string[] = [];
  const sealed = holders.map((holder, i) => {
    const own: CredentialProblem[] = [];
    const result = sealCardholderCredentials(digester, holder, own);
    for (const problem of own) problems.push(`cardholders[${i}].${problem.field}: ${problem.message}`);
    return result;
  });
  if (problems.length > 0) throw new GuardpostError('GP_ERR_BAD_REQUEST', problems.join('; '), problems);
  return sealed;
}

/** What the credentials table keeps of a credential in kept form: kind, index digest, mask. */
export function storedCardOf(digester: CardDigester | null, credential: { readonly cardDigest?: string; readonly wiegandDigest?: string; readonly masked?: string; readonly id: string }): { kind: 'card' | 'wiegand'; digest: string; masked: string } {
  const sealed = credential.cardDigest ?? credential.wiegandDigest;
  if (sealed === undefined || digester === null) throw new GuardpostError('GP_ERR_STORE', `credential "${credential.id}": only a card digest made with this site's key can be stored`);
  const opened = digester.open(sealed);
  if (!opened.ok) throw new GuardpostError('GP_ERR_BAD_REQUEST', `credential "${credential.id}": the digest ${opened.message}`);
  return { kind: credential.cardDigest !== undefined ? 'card' : 'wiegand', digest: opened.digest, masked: credential.masked ?? '********' };
}

/** The migration's view of one cardholder document (JSON text); anything unreadable is kept as it was. */
export function sealCardholderDocument(digester: CardDigester, json: string): string {
  let holder: unknown;
  try {
    holder = JSON.parse(json);
  } catch {
    return json;
  }
  const sealed = sealCardholderCredentials(digester, holder, []);
  return sealed === holder ? json : JSON.stringify(sealed);
}
