import type { ScreeningMatch } from './screening.js';

/** A visitor as the API answers it: types only, so the console shares them without the service's imports. */
export type VisitorStatus = 'active' | 'blocked' | 'checked_out' | 'expired';

export interface VisitorRecord {
  readonly id: string;
  /** The visitor's cardholder in site data (same id): its credential opens the visitor doors. */
  readonly cardholder: string;
  readonly name: string;
  readonly company: string | null;
  readonly host: string;
  readonly expectedAt: string;
  readonly photoUrl: string | null;
  readonly escorted: boolean;
  readonly status: VisitorStatus;
  /** Masked: the gateway keeps only the credential's keyed digest [SEC-CARD-DIGEST]; reception knows the card by these last digits. */
  readonly card: string;
  readonly credential: string;
  readonly validFrom: string;
  readonly validUntil: string;
  readonly registeredBy: string | null;
  readonly registeredAt: string;
  readonly matches: readonly ScreeningMatch[];
  readonly approvedBy: string | null;
  readonly endedAt: string | null;
  readonly endedBy: string | null;
}
