import { timingSafeEqual } from 'node:crypto';
import { localTimeAt, type LocalTime } from './localTime.js';
import { presenceKey, type RuleState } from './ruleState.js';
import { scheduleOpenAt } from './schedule.js';
import {
  NO_FLAGS,
  NORMAL_CONDITIONS,
  type AccessDoor,
  type AccessRequest,
  type AccessState,
  type IndexedCardholder,
  type Credential,
  type Decision,
  type DecisionFlags,
  type ReasonCode,
  type RuleEffect,
  type SiteConditions,
} from './types.js';

const NO_RULE_STATE: RuleState = { presence: new Map(), twoPerson: new Map(), escorts: new Map(), waitingVisitors: new Map(), releasedDoors: new Map() };

/** Constant-time comparison of two PIN digests [ACC-PIN]; digests of other lengths never match. */
function sameDigest(a: Uint8Array | null | undefined, b: Uint8Array | null | undefined): boolean {
  return a != null && b != null && a.byteLength === b.byteLength && timingSafeEqual(a, b);
}

const inAny = (holder: IndexedCardholder, groupIds: readonly string[] | undefined): boolean => groupIds !== undefined && groupIds.some((id) => holder.groupIds.includes(id));

/**
 * Decide one access request. Pure and synchronous: site data, live conditions, the rule state
 * and time are parameters, so the same inputs always give the same decision, online or offline.
 * What the decision changes in the rule state comes back as `effects` for the runtime to apply.
 * Checks run from the door outwards to the person; the first failing rule names the reason.
 */
export function decide(
  request: AccessRequest,
  state: AccessState,
  nowMs: number,
  conditions: SiteConditions = NORMAL_CONDITIONS,
  rules: RuleState = NO_RULE_STATE,
): Decision {
  const door = state.doors.get(request.doorId);
  let flags: DecisionFlags = NO_FLAGS;
  const effects: RuleEffect[] = [];
  // A refusal changes no rule state, except the one wait it starts (`waitEffect`).
  const result = (granted: boolean, reason: ReasonCode, cardholderId: string | null, credentialId: string | null, waitEffect?: RuleEffect): Decision => ({
    granted,
    reason,
    doorId: request.doorId,
    cardholderId,
    credentialId,
    flags,
    effects: granted ? effects : waitEffect === undefined ? [] : [waitEffect],
  });
  if (door === undefined) return result(false, 'unknown_door', null, null);

  // Who is this: a card (with or without a PIN), or a PIN alone.
  let credential: Credential | undefined;
  let holder: IndexedCardholder | undefined;
  let pinOnly = false;
  if (request.credential.kind === 'card') {
    // [SEC-CARD-DIGEST] the key as presented: the access path digested the canonical number.
    credential = state.credentialsByCard.get(request.credential.digest);
    holder = credential === undefined ? undefined : state.cardholders.get(credential.cardholderId);
  } else {
    pinOnly = true;
    const pinIndex = state.pinIndex;
    if (request.pin !== undefined && pinIndex !== undefined) {
      const holderId = pinIndex.holderOf(request.pin.digest) ?? (request.pin.undoOffsetDigest === null ? undefined : pinIndex.holderOf(request.pin.undoOffsetDigest));
      holder = holderId === undefined ? undefined : state.cardholders.get(holderId);
    }
  }
  const holderId = holder?.id ?? credential?.cardholderId ?? null;
  const credentialId = credential?.id ?? null;
  const deny = (reason: ReasonCode, waitEffect?: RuleEffect): Decision => result(false, reason, holderId, credentialId, waitEffect);

  // [ACC-WATCHLIST] flagged by security: denied everywhere, and security hears of it.
  const watchList = state.watchList;
  if (watchList !== undefined && ((credential !== undefined && watchList.credentials.has(credential.id)) || (holderId !== null && watchList.cardholders.has(holderId)))) {
    flags = { ...flags, watchlist: true };
    return deny('watchlist');
  }

  // [ACC-DOOR-LOCKED] [ACC-LOCKDOWN] only override groups pass a locked door or a lockdown.
  const lockdown = conditions.lockedDownDoors.has(door.id);
  const overridden = holder !== undefined && inAny(holder, door.overrideGroupIds);
  if (lockdown && !overridden) return deny('door_lockdown');
  if (door.mode === 'locked' && !overridden) return deny('door_locked');

  if (pinOnly) {
    // [ACC-PIN-ONLY] a PIN alone opens only a card-or-PIN door.
    if (door.mode !== 'card-or-pin') return deny('pin_not_accepted');
    if (holder === undefined) return deny('pin_invalid');
  } else {
    if (credential === undefined) return deny('unknown_credential');
    // [ACC-CRED-STATE] only an active credential inside its validity window opens a door.
    if (credential.status === 'suspended') return deny('credential_suspended');
    if (credential.status === 'lost') return deny('credential_lost');
    if (credential.status === 'expired') return deny('credential_expired');
    // Any other status (a future one, or a corrupt row) is not active: fail closed.
    if (credential.status !== 'active') return deny('credential_suspended');
    // Written so that a time that is not a number fails the window instead of passing it.
    if (credential.validFromMs !== null && !(nowMs >= credential.validFromMs)) return deny('credential_not_yet_valid');
    if (credential.validUntilMs !== null && !(nowMs < credential.validUntilMs)) return deny('credential_expired');
    if (holder === undefined) return deny('unknown_credential');
  }
  if (holder.status !== 'active') return deny('cardholder_suspended');

  // [ACC-PIN] [ACC-DURESS] card + PIN: the PIN must be the holder's, or their duress PIN.
  if (pinOnly || door.mode === 'card-and-pin' || (door.mode === 'card-or-pin' && request.pin !== undefined)) {
    const pin = request.pin;
    if (pin === undefined) return deny('pin_required');
    if (sameDigest(pin.digest, holder.pinDigest)) {
      // The holder's own PIN.
    } else if (sameDigest(pin.digest, holder.duressPinDigest) || sameDigest(pin.undoOffsetDigest, holder.pinDigest)) {
      flags = { ...flags, duress: true };
    } else {
      return deny('pin_invalid');
    }
  }

  // A zone Intl does not know, or a time out of range, closes every schedule instead of throwing.
  let local: LocalTime | null | undefined;
  const localNow = (): LocalTime | null => {
    if (local === undefined) {
      try {
        local = localTimeAt(state.timezone ?? 'UTC', nowMs);
      } catch {
        local = null;
      }
    }
    return local;
  };

  // [ACC-THREAT] above normal, only the groups the level names still pass (an unknown level: nobody).
  if (conditions.threatLevel !== 'normal') {
    const level = state.threatLevels?.get(conditions.threatLevel);
    const allowed = level === undefined ? [] : (level.doors[door.id] ?? level.allowedGroupIds);
    if (allowed !== null && !inAny(holder, allowed)) return deny('threat_level');
  }

  // [ACC-GROUP] [ACC-LEVEL] any group's door list or access level open now lets the holder through.
  if (!overridden) {
    let reachesDoor = false;
    let open = false;
    for (const groupId of holder.groupIds) {
      const scheduleIds = state.groupDoorSchedules?.get(groupId)?.get(door.id) ?? (state.groupDoorSchedules === undefined && state.groups.get(groupId)?.doorIds.includes(door.id) ? [null] : undefined);
      if (scheduleIds === undefined) continue;
      reachesDoor = true;
      for (const scheduleId of scheduleIds) {
        const schedule = scheduleId === null ? null : state.schedules?.get(scheduleId);
        // A schedule the site no longer has opens nothing.
        const localTime = schedule == null ? null : localNow();
        if (schedule === null || (schedule !== undefined && localTime !== null && scheduleOpenAt(schedule, localTime))) {
          open = true;
          break;
        }
      }
      if (open) break;
    }
    if (!reachesDoor) return deny('not_in_group');
    if (!open) return deny('outside_schedule');
  }

  // [THR-CAPACITY] an area at its maximum occupancy takes nobody more in, override groups apart.
  if (conditions.fullAreaEntryDoors?.has(door.id) === true && !overridden) return deny('area_full');

  // [ACC-ESCORT] a visitor needs an escort of a named group at this door within the window.
  if (holder.escort != null) {
    const escort = rules.escorts.get(door.id);
    const escortHolder = escort === undefined ? undefined : state.cardholders.get(escort.cardholderId);
    if (escort === undefined || escortHolder === undefined || nowMs - escort.atMs > holder.escort.windowMs || !inAny(escortHolder, holder.escort.groupIds)) {
      return deny('escort_required', { kind: 'visitor-wait', doorId: door.id, cardholderId: holder.id, atMs: nowMs });
    }
  } else {
    const visitor = rules.waitingVisitors.get(door.id);
    const visitorHolder = visitor === undefined ? undefined : state.cardholders.get(visitor.cardholderId);
    if (visitor !== undefined && visitorHolder?.escort != null && nowMs - visitor.atMs <= visitorHolder.escort.windowMs && inAny(holder, visitorHolder.escort.groupIds)) {
      flags = { ...flags, escortedVisitorId: visitorHolder.id };
      effects.push({ kind: 'visitor-done', doorId: door.id });
    }
    // Remember escorts only: most sites have no visitors, and most holders escort nobody.
    const escortGroups = state.escortGroupIds;
    if (escortGroups !== undefined && escortGroups.size > 0 && holder.groupIds.some((id) => escortGroups.has(id))) {
      effects.push({ kind: 'escort-seen', doorId: door.id, cardholderId: holder.id, atMs: nowMs });
    }
  }

  // [ACC-TWO-PERSON] two different valid cardholders within the window.
  if (door.twoPersonWindowMs != null) {
    const first = rules.twoPerson.get(door.id);
    if (first === undefined || first.cardholderId === holder.id || nowMs - first.atMs > door.twoPersonWindowMs) {
      return deny('two_person_waiting', { kind: 'two-person-wait', doorId: door.id, cardholderId: holder.id, atMs: nowMs });
    }
    effects.push({ kind: 'two-person-done', doorId: door.id });
  }

  // [ACC-PASSBACK] in through an entry, out through an exit; soft warns, hard refuses.
  const place = state.areaByDoor?.get(door.id);
  if (place !== undefined) {
    const { area, direction } = place;
    const last = rules.presence.get(presenceKey(area.id, holder.id));
    const fresh = last !== undefined && (area.forgiveAfterMs === null || nowMs - last.atMs < area.forgiveAfterMs);
    const violation = fresh && last.inside === (direction === 'entry');
    if (violation && area.passback === 'hard') return deny('passback');
    if (violation) flags = { ...flags, passback: true };
    effects.push({ kind: 'presence', areaId: area.id, cardholderId: holder.id, inside: direction === 'entry', atMs: nowMs });
  }

  // [ACC-FIRST-IN] the first named badge after the unlock schedule starts releases the door.
  if (door.mode === 'scheduled-unlock' && door.unlockScheduleId != null && inAny(holder, door.firstPersonInGroupIds)) {
    const schedule = state.schedules?.get(door.unlockScheduleId);
    const localTime = localNow();
    if (schedule !== undefined && localTime !== null && scheduleOpenAt(schedule, localTime) && rules.releasedDoors.get(door.id) !== localTime.date) {
      flags = { ...flags, firstPersonIn: true };
      effects.push({ kind: 'door-released', doorId: door.id, windowKey: localTime.date });
    }
  }

  return result(true, 'granted', holder.id, credentialId);
}

export type { AccessDoor };
