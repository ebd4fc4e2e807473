/** The site as `decide()` sees it: plain data, indexed in memory. No I/O lives here. */

export type CredentialStatus = 'active' | 'suspended' | 'lost';
export type CardholderStatus = 'active' | 'suspended';
export type DoorMode = 'card' | 'locked';

export interface Credential {
  readonly id: string;
  readonly cardholderId: string;
  readonly kind: 'card';
  /** Canonical card number: decimal digits, leading zeros stripped. */
  readonly number: string;
  readonly status: CredentialStatus;
  readonly validFromMs: number | null;
  readonly validUntilMs: number | null;
}

export interface Cardholder {
  readonly id: string;
  readonly name: string;
  readonly status: CardholderStatus;
  readonly groupIds: readonly string[];
}

export interface Group {
  readonly id: string;
  readonly name: string;
  readonly doorIds: readonly string[];
}

export interface AccessDoor {
  readonly id: string;
  readonly mode: DoorMode;
}

/** Everything decide() reads, built once from the store and swapped when site data changes. */
export interface AccessState {
  readonly credentialsByCard: ReadonlyMap<string, Credential>;
  readonly cardholders: ReadonlyMap<string, Cardholder>;
  readonly groups: ReadonlyMap<string, Group>;
  readonly doors: ReadonlyMap<string, AccessDoor>;
}

/**
 * Live conditions that doors/ and alarms/ own and change at run time; decide() reads them and
 * never changes them. Rebuilt (not mutated) on every change so a decision sees one consistent set.
 */
export interface SiteConditions {
  /** Id of the current site threat level; 'normal' unless raised. */
  readonly threatLevel: string;
  /** Doors under lockdown right now, whether per door, per zone or site-wide. */
  readonly lockedDownDoors: ReadonlySet<string>;
}

export const NORMAL_CONDITIONS: SiteConditions = { threatLevel: 'normal', lockedDownDoors: new Set() };

export type PresentedCredential = { readonly kind: 'card'; readonly number: string };

export interface AccessRequest {
  readonly doorId: string;
  readonly credential: PresentedCredential;
}

/** Reason codes are a contract: they appear in events, the API and the incident system. */
export const ReasonCodes = [
  'granted',
  'unknown_door',
  'door_locked',
  'unknown_credential',
  'credential_suspended',
  'credential_lost',
  'credential_not_yet_valid',
  'credential_expired',
  'cardholder_suspended',
  'not_in_group',
  'error',
] as const;
export type ReasonCode = (typeof ReasonCodes)[number];

export interface Decision {
  readonly granted: boolean;
  readonly reason: ReasonCode;
  readonly doorId: string;
  readonly cardholderId: string | null;
  readonly credentialId: string | null;
}
