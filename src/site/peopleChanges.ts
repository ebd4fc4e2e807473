import { credentialKey, type CardIndex } from '../access/cardIndex.js';
import type { Store } from '../store/index.js';

/**
 * Bringing a card index up to the database's people generation by re-reading only the cardholders
 * the change log names (migration 11) [ACC-INDEX]: after a start from an older snapshot, and when
 * another process (the CLI, plain SQL) commits people changes while the gateway runs.
 */

/** Past this share of the site's people a full read is quicker than one read per changed person. */
export const MAX_CATCH_UP_SHARE = 0.25;
/** Below this many people a catch-up of any size is cheap. */
const MIN_CATCH_UP_ROWS = 10_000;

export type CatchUp =
  | { readonly kind: 'current'; readonly generation: number }
  | { readonly kind: 'patched'; readonly from: number; readonly generation: number; readonly cardholders: number }
  /** Only a full read is right; `reason` says why, for the log. */
  | { readonly kind: 'full-read'; readonly reason: string };

/**
 * Patches `cards` with every cardholder changed since `cards.generation`, in one read transaction
 * with the generation it then reflects. Synchronous: the caller decides when (never mid-decision).
 */
export function catchUpCardIndex(store: Store, cards: CardIndex): CatchUp {
  const since = cards.generation;
  if (since === null) return { kind: 'full-read', reason: 'the card index does not know which people generation it reflects' };
  let result: CatchUp | undefined;
  store.db.transaction(() => {
    // Changed rows, not people: a person is several rows (holder, groups, credentials, PIN).
    const maxChanges = Math.max(MIN_CATCH_UP_ROWS, Math.ceil(MAX_CATCH_UP_SHARE * cards.cardholderIdCount * 4));
    const log = store.cardholders.changesSince(since, maxChanges);
    if (log.changes === 0) {
      result = { kind: 'current', generation: log.generation };
      return;
    }
    if (log.changes < 0) {
      result = { kind: 'full-read', reason: `the card index is at people generation ${since}, ahead of the database's ${log.generation} (a restored backup?)` };
      return;
    }
    if (log.changes > maxChanges) {
      result = { kind: 'full-read', reason: `${log.changes} people rows changed since generation ${since}: reading everyone is quicker than one read per person` };
      return;
    }
    if (!log.complete) {
      result = { kind: 'full-read', reason: `the people change log no longer holds every change since generation ${since} (pruned by a newer snapshot, or edited by hand)` };
      return;
    }
    applyPeopleChanges(store, cards, log.cardholderIds);
    cards.generation = log.generation;
    result = { kind: 'patched', from: since, generation: log.generation, cardholders: log.cardholderIds.length };
  })();
  return result as CatchUp;
}

/**
 * Re-reads these cardholders into the index: their credentials go first, whatever keys they had.
 * Keys they still hold are removed by key; only if the index still holds some for them (a card
 * renumbered or given up) is the credential array searched, once for the whole batch.
 */
export function applyPeopleChanges(store: Store, cards: CardIndex, cardholderIds: readonly string[]): void {
  const rows = cardholderIds.map((id) => {
    const row = store.cardholders.readForIndex(id);
    const keys = (row?.credentials ?? []).map(([, kind, number]) => credentialKey({ kind: kind === 'wiegand' ? 'wiegand' : 'card', digest: number }));
    for (const key of keys) cards.removeCredential(key, id);
    return { id, row, keys };
  });
  const unaccounted = cardholderIds.filter((id) => cards.credentialCountOf(id) > 0);
  if (unaccounted.length > 0) cards.removeCredentialsOf(unaccounted);
  for (const { id, row, keys } of rows) {
    if (row === undefined) {
      cards.removeCardholder(id);
      continue;
    }
    cards.putCardholder({ id, status: row.status, groupIds: row.groupIds, pinDigest: row.pinDigest, duressPinDigest: row.duressDigest, escort: row.escort });
    row.credentials.forEach(([credentialId, kind, , status, validFromMs, validUntilMs], at) => cards.putCredentialFields(credentialId, id, kind, keys[at] ?? '', status, validFromMs, validUntilMs));
  }
}
