import { canonicalCardNumber } from './credentials.js';
import type { AccessRequest, AccessState, Decision, ReasonCode } from './types.js';

/**
 * Decide one access request. Pure and synchronous: state and time are parameters, so the same
 * inputs always give the same decision, online or offline. Checks run from the door outwards to
 * the person, and the first failing rule names the reason.
 */
export function decide(request: AccessRequest, state: AccessState, nowMs: number): Decision {
  const door = state.doors.get(request.doorId);
  const deny = (reason: ReasonCode, cardholderId: string | null = null, credentialId: string | null = null): Decision => ({
    granted: false,
    reason,
    doorId: request.doorId,
    cardholderId,
    credentialId,
  });

  if (door === undefined) return deny('unknown_door');
  // [ACC-DOOR-LOCKED] a locked door refuses every card.
  if (door.mode === 'locked') return deny('door_locked');

  const credential = state.credentialsByCard.get(canonicalCardNumber(request.credential.number));
  if (credential === undefined) return deny('unknown_credential');
  const holderId = credential.cardholderId;
  const deniedFor = (reason: ReasonCode): Decision => deny(reason, holderId, credential.id);

  // [ACC-CRED-STATE] only an active credential inside its validity window opens a door.
  if (credential.status === 'suspended') return deniedFor('credential_suspended');
  if (credential.status === 'lost') return deniedFor('credential_lost');
  if (credential.validFromMs !== null && nowMs < credential.validFromMs) return deniedFor('credential_not_yet_valid');
  if (credential.validUntilMs !== null && nowMs >= credential.validUntilMs) return deniedFor('credential_expired');

  const holder = state.cardholders.get(holderId);
  if (holder === undefined) return deniedFor('unknown_credential');
  if (holder.status !== 'active') return deniedFor('cardholder_suspended');

  // [ACC-GROUP] a cardholder passes a door when any of their groups includes it.
  for (const groupId of holder.groupIds) {
    const group = state.groups.get(groupId);
    if (group !== undefined && group.doorIds.includes(door.id)) {
      return { granted: true, reason: 'granted', doorId: door.id, cardholderId: holderId, credentialId: credential.id };
    }
  }
  return deniedFor('not_in_group');
}
