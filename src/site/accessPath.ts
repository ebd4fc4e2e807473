import { decide } from '../access/decide.js';
import { cardNumberFrom, maskCardNumber } from '../access/credentials.js';
import { applyEffects, emptyRuleState, forgivePassback, type RuleState } from '../access/ruleState.js';
import { NO_FLAGS, type AccessRequest, type Decision, type PresentedPin, type ReasonCode, type RuleEffect, type SiteConditions } from '../access/types.js';
import { decodeWiegand, wiegandKey } from '../access/wiegand.js';
import type { DeviceCommand } from '../drivers/types.js';
import type { Clock, Journal } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { DeviceRecord, DoorRecord, PinHasher, Store } from '../store/index.js';
import type { SiteIndex } from './siteIndex.js';

/** How long the reader shows its red LED after a refusal (a grant shows green for unlockMs). */
export const DECISION_LED_MS = 2_000;
/** How long a card read at a card + PIN door waits for its PIN [ACC-PIN]. */
export const PIN_ENTRY_TIMEOUT_MS = 10_000;

/** Refusals that wait for something more (a PIN, a second person, an escort): amber, not red. */
const WAITING: ReadonlySet<ReasonCode> = new Set(['pin_required', 'two_person_waiting', 'escort_required']);

export interface AccessPathDeps {
  readonly journal: Journal;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
  /** Where the rule state is persisted and the PIN key lives. */
  readonly store: Store;
  /** The current in-memory site; swapped whole when site data changes. */
  readonly site: () => SiteIndex;
  /** Threat level and lockdowns as doors/ and alarms/ have set them. */
  readonly conditions: () => SiteConditions;
  readonly command: (deviceId: string, command: DeviceCommand, onSent?: (error?: Error) => void) => void;
  /** Tells the door's state machine an opening is authorised (so the DPS opening is no alarm). */
  readonly onGranted?: (doorId: string) => void;
}

/** What a reader presented, for the journal: never a whole number or any PIN digit. */
interface Presented {
  readonly request: Omit<AccessRequest, 'doorId'>;
  readonly shown: Record<string, unknown>;
}

/** Credential reads at readers: the badge → decide → strike → journal path. */
export class AccessPath {
  /** The stateful rules' state: owned here, applied from each decision, persisted after the journal. */
  private readonly rules: RuleState;
  /** Card reads waiting for their PIN, by reader. */
  private readonly pendingCards = new Map<string, { presented: Presented; atMs: number; decision: Decision }>();

  constructor(private readonly deps: AccessPathDeps) {
    deps.metrics.define('guardpost_access_decisions_total', 'Access decisions by result and reason');
    deps.metrics.define('guardpost_access_errors_total', 'Exceptions on the critical path (each a deny)');
    deps.metrics.histogram('guardpost_access_decision_seconds', 'Time decide() took for one read', [2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 5e-3]);
    deps.metrics.histogram('guardpost_badge_to_strike_seconds', 'From a card read reaching the access path to its strike command handed to the transport', [5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1]);
    this.rules = loadRuleState(deps.store);
  }

  /** [ACC-CARD-FORMAT] read as the reader's (or else the site's) card format says: decimal digits or a hex UID. */
  onCard(reader: DeviceRecord, card: string): void {
    const format = reader.cardFormat ?? this.deps.site().cardFormat;
    const read = cardNumberFrom(card, format);
    if (!read.ok) {
      this.deps.logger.warn({ device: reader.id, format }, `unreadable card number: ${read.message}`);
      this.refuseUnreadable(reader, 'bad_card_number', read.message);
      return;
    }
    const digests = this.deps.store.cardDigests;
    if (digests === null) return this.refuseUnreadable(reader, 'no_card_key', 'card reads need the site card key');
    // [SEC-CARD-DIGEST] the index is keyed by digest: ~1 µs of HMAC, and no number goes further.
    this.present(reader, { request: { credential: { kind: 'card', digest: digests.ofKey(read.number) } }, shown: { card: maskCardNumber(card), ...(format === 'hex' ? { format } : {}) } });
  }

  /** [ACC-WIEGAND] a raw frame: decoded with the site's formats, parity checked, then as a card. */
  onWiegand(reader: DeviceRecord, bits: string): void {
    const decoded = decodeWiegand(bits, this.deps.site().wiegandFormats);
    if (!decoded.ok) {
      // A misread is a refusal the person at the door sees, not just bad input.
      this.deps.logger.warn({ device: reader.id, code: decoded.code, bits: bits.length }, `unreadable Wiegand frame: ${decoded.message}`);
      this.refuseUnreadable(reader, decoded.code, decoded.message);
      return;
    }
    const digests = this.deps.store.cardDigests;
    if (digests === null) return this.refuseUnreadable(reader, 'no_card_key', 'card reads need the site card key');
    const key = digests.ofKey(wiegandKey(decoded.format, decoded.facility, decoded.number));
    this.present(reader, { request: { credential: { kind: 'card', digest: key } }, shown: { card: `${decoded.format}:${decoded.facility}:${maskCardNumber(String(decoded.number))}`, format: decoded.format } });
  }

  /** [ACC-PIN] completes a pending card read, or is a PIN alone. The digits go no further than here. */
  onPin(reader: DeviceRecord, digits: string, hasher: PinHasher | null): void {
    if (!/^[0-9]{1,12}$/.test(digits) || hasher === null) {
      this.refuseUnreadable(reader, 'bad_pin', hasher === null ? 'PIN entry needs the site PIN key' : 'a PIN is 1 to 12 digits');
      return;
    }
    const pin = this.presentPin(digits, hasher);
    const pending = this.pendingCards.get(reader.id);
    this.pendingCards.delete(reader.id);
    if (pending !== undefined && this.deps.clock() - pending.atMs <= PIN_ENTRY_TIMEOUT_MS) {
      this.present(reader, { request: { ...pending.presented.request, pin }, shown: { ...pending.presented.shown, pin: true } });
    } else {
      if (pending !== undefined) this.abandoned(reader, pending);
      this.present(reader, { request: { credential: { kind: 'pin' }, pin }, shown: { pin: true } });
    }
  }

  /** Admin "forgive" [ACC-PASSBACK]: one cardholder, or everyone (null). */
  forgivePassback(cardholderId: string | null, by: string): number {
    const keys = [...this.rules.presence.keys()];
    const forgiven = forgivePassback(this.rules, cardholderId);
    for (const key of keys) if (!this.rules.presence.has(key)) this.deps.store.ruleState.delete('presence', key);
    this.deps.journal.append({ type: 'access.passback_forgiven', cardholder: cardholderId, data: { forgiven, by } });
    return forgiven;
  }

  /** The rule state as decisions see it (read-only use: tests and the API). */
  get ruleState(): RuleState {
    return this.rules;
  }

  private presentPin(digits: string, hasher: PinHasher): PresentedPin {
    const offset = this.deps.site().duressPinOffset;
    const last = digits.charCodeAt(digits.length - 1) - 48;
    const undone = offset === null ? null : `${digits.slice(0, -1)}${(last - offset + 10) % 10}`;
    return { digest: hasher.digest(digits), undoOffsetDigest: undone === null ? null : hasher.digest(undone) };
  }

  /**
   * The critical path: decide, send the strike, then (once the strike is on its way) the reader's
   * LED and buzzer and the journal. Nothing but the decision stands between a card and the strike:
   * the broker writes to sockets on a later turn, so any synchronous work here would delay it.
   * Any exception while deciding is a deny plus an `access.error` event [SAFE-FAIL-CLOSED].
   */
  private present(reader: DeviceRecord, presented: Presented): void {
    const { metrics, clock, logger } = this.deps;
    const site = this.deps.site();
    const door = site.doorByReader.get(reader.id);
    const nowMs = clock();
    const startNs = process.hrtime.bigint();
    let decidedNs = startNs;
    let decision: Decision;
    let decisionError: unknown;
    try {
      decision = door === undefined
        ? { granted: false, reason: 'unknown_door', doorId: '', cardholderId: null, credentialId: null, flags: NO_FLAGS, effects: [] }
        : decide({ doorId: door.id, ...presented.request }, site.access, nowMs, this.deps.conditions(), this.rules);
      // The next read must see this one's effects (passback, two-person): apply them before anything else.
      applyEffects(this.rules, decision.effects);
      decidedNs = process.hrtime.bigint();
    } catch (error) {
      decision = { granted: false, reason: 'error', doorId: door?.id ?? '', cardholderId: null, credentialId: null, flags: NO_FLAGS, effects: [] };
      decisionError = error;
    }

    if (decision.reason === 'pin_required') {
      // A card left waiting for its PIN is journalled once the next card or PIN shows it was abandoned.
      const previous = this.pendingCards.get(reader.id);
      if (previous !== undefined) this.abandoned(reader, previous);
      this.pendingCards.set(reader.id, { presented, atMs: nowMs, decision });
      this.safely(() => this.deps.command(reader.id, { type: 'led', color: 'amber', durationMs: PIN_ENTRY_TIMEOUT_MS }));
      return;
    }

    const finish = (actuationError?: unknown): void => {
      try {
        // Timed here, once the strike is on its way: nothing extra stands before it.
        if (decidedNs !== startNs) metrics.observe('guardpost_access_decision_seconds', {}, Number(decidedNs - startNs) / 1e9);
        if (decision.granted && door?.strikeDeviceId != null && actuationError === undefined) metrics.observe('guardpost_badge_to_strike_seconds', {}, Number(process.hrtime.bigint() - startNs) / 1e9);
        if (decision.granted && door !== undefined) this.deps.onGranted?.(door.id);
        this.afterDecision(reader, door, presented, decision, decisionError, actuationError);
      } catch (error) {
        metrics.increment('guardpost_access_errors_total');
        logger.error({ err: error, device: reader.id }, 'recording an access decision failed');
      }
    };
    if (decision.granted && door?.strikeDeviceId != null) {
      try {
        // [ACC-FIRST-IN] the first person in releases the door: it stays unlocked (doors/ relocks it when the schedule ends).
        const strike: DeviceCommand = decision.flags.firstPersonIn ? { type: 'strike', action: 'unlock' } : { type: 'strike', action: 'pulse', durationMs: door.unlockMs };
        this.deps.command(door.strikeDeviceId, strike, finish);
      } catch (error) {
        finish(error);
      }
    } else {
      finish();
    }
  }

  /** A card that waited in vain for its PIN: the refusal security staff see [ACC-PIN]. */
  private abandoned(reader: DeviceRecord, pending: { presented: Presented; decision: Decision }): void {
    const door = this.deps.site().doorByReader.get(reader.id);
    this.deps.metrics.increment('guardpost_access_decisions_total', { result: 'denied', reason: 'pin_required' });
    this.deps.journal.append({
      type: 'access.denied',
      door: door?.id ?? null,
      device: reader.id,
      cardholder: pending.decision.cardholderId,
      reason: 'pin_required',
      data: { ...pending.presented.shown, credential: pending.decision.credentialId, pinEntered: false },
    });
  }

  private safely(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.deps.metrics.increment('guardpost_access_errors_total');
      this.deps.logger.error({ err: error }, 'sending a reader command failed');
    }
  }

  private refuseUnreadable(reader: DeviceRecord, code: string, message: string): void {
    const door = this.deps.site().doorByReader.get(reader.id);
    this.safely(() => {
      this.deps.command(reader.id, { type: 'led', color: 'red', durationMs: DECISION_LED_MS });
      this.deps.command(reader.id, { type: 'buzzer', pattern: 'deny' });
    });
    this.deps.metrics.increment('guardpost_access_decisions_total', { result: 'denied', reason: 'unreadable_credential' });
    this.deps.journal.append({ type: 'access.denied', door: door?.id ?? null, device: reader.id, reason: 'unreadable_credential', data: { code, message } });
  }

  private afterDecision(reader: DeviceRecord, door: DoorRecord | undefined, presented: Presented, decision: Decision, decisionError: unknown, actuationError: unknown): void {
    const { journal, metrics, logger } = this.deps;
    if (decisionError !== undefined) {
      metrics.increment('guardpost_access_errors_total');
      logger.error({ err: decisionError, device: reader.id, ...presented.shown }, 'access decision failed; denied');
    }
    const waiting = WAITING.has(decision.reason);
    try {
      this.deps.command(reader.id, {
        type: 'led',
        color: decision.granted ? 'green' : waiting ? 'amber' : 'red',
        durationMs: decision.granted ? (door?.unlockMs ?? DECISION_LED_MS) : DECISION_LED_MS,
      });
      this.deps.command(reader.id, { type: 'buzzer', pattern: decision.granted ? 'grant' : 'deny' });
    } catch (error) {
      actuationError ??= error;
    }

    metrics.increment('guardpost_access_decisions_total', { result: decision.granted ? 'granted' : 'denied', reason: decision.reason });
    const common = { door: door?.id ?? null, device: reader.id, cardholder: decision.cardholderId };
    const data = { ...presented.shown, credential: decision.credentialId, ...(decision.flags.escortedVisitorId === null ? {} : { escortedVisitor: decision.flags.escortedVisitorId }) };
    // [ACC-DURESS] the duress event is the only trace of the duress PIN: the grant itself looks normal.
    journal.append({ ...common, type: decision.reason === 'error' ? 'access.error' : decision.granted ? 'access.granted' : 'access.denied', reason: decision.reason, data });
    if (decision.flags.duress) journal.append({ ...common, type: 'access.duress', reason: 'duress_pin', data: { credential: decision.credentialId } });
    if (decision.flags.watchlist) {
      const access = this.deps.site().access;
      const why = access.watchList?.credentials.get(decision.credentialId ?? '') ?? access.watchList?.cardholders.get(decision.cardholderId ?? '') ?? null;
      journal.append({ ...common, type: 'access.watchlist', reason: 'watchlist', data: { ...data, watchReason: why } });
    }
    if (decision.flags.passback) journal.append({ ...common, type: 'access.passback', reason: 'passback', data });
    if (decision.flags.firstPersonIn) journal.append({ ...common, type: 'access.first_person_in', reason: 'first_person_in', data });
    this.persist(decision.effects);
    if (actuationError !== undefined) {
      // The decision stands as journalled (the strike may already be open); the fault is its own event.
      metrics.increment('guardpost_access_errors_total');
      logger.error({ err: actuationError, device: reader.id }, 'sending door commands failed');
      journal.append({ type: 'access.error', door: door?.id ?? null, device: reader.id, reason: 'actuation_failed', data: { message: String(actuationError) } });
    }
  }

  /** Presence and released doors survive a restart; the seconds-long waits do not need to. */
  private persist(effects: readonly RuleEffect[]): void {
    for (const effect of effects) {
      if (effect.kind === 'presence') this.deps.store.ruleState.set('presence', `${effect.areaId}|${effect.cardholderId}`, JSON.stringify({ inside: effect.inside, atMs: effect.atMs }));
      else if (effect.kind === 'door-released') this.deps.store.ruleState.set('released', effect.doorId, effect.windowKey);
    }
  }
}

function loadRuleState(store: Store): RuleState {
  const state = emptyRuleState();
  for (const row of store.ruleState.list('presence')) state.presence.set(row.key, JSON.parse(row.value) as { inside: boolean; atMs: number });
  for (const row of store.ruleState.list('released')) state.releasedDoors.set(row.key, row.value);
  return state;
}
