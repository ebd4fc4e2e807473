import { decide } from '../access/decide.js';
import { maskCardNumber } from '../access/credentials.js';
import { NO_FLAGS, type Decision, type SiteConditions } from '../access/types.js';
import type { DeviceCommand } from '../drivers/types.js';
import type { Clock, Journal } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { DeviceRecord, DoorRecord } from '../store/index.js';
import type { SiteIndex } from './siteIndex.js';

/** How long the reader shows its red LED after a refusal (a grant shows green for unlockMs). */
export const DECISION_LED_MS = 2_000;

export interface AccessPathDeps {
  readonly journal: Journal;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
  /** The current in-memory site; swapped whole when site data changes. */
  readonly site: () => SiteIndex;
  /** Threat level and lockdowns as doors/ and alarms/ have set them. */
  readonly conditions: () => SiteConditions;
  readonly command: (deviceId: string, command: DeviceCommand, onSent?: (error?: Error) => void) => void;
}

/** Credential reads at readers: the badge → decide → strike → journal path. */
export class AccessPath {
  constructor(private readonly deps: AccessPathDeps) {
    deps.metrics.define('guardpost_access_decisions_total', 'Access decisions by result and reason');
    deps.metrics.define('guardpost_access_errors_total', 'Exceptions on the critical path (each a deny)');
  }

  /**
   * The critical path: decide, send the strike, then (once the strike is on its way) the reader's
   * LED and buzzer and the journal. Nothing but the decision stands between a card and the strike:
   * the broker writes to sockets on a later turn, so any synchronous work here would delay it.
   * Any exception while deciding is a deny plus an `access.error` event [SAFE-FAIL-CLOSED].
   */
  onCard(reader: DeviceRecord, card: string): void {
    const { metrics, clock, logger } = this.deps;
    const site = this.deps.site();
    const door = site.doorByReader.get(reader.id);
    let decision: Decision;
    let decisionError: unknown;
    try {
      decision = door === undefined
        ? { granted: false, reason: 'unknown_door', doorId: '', cardholderId: null, credentialId: null, flags: NO_FLAGS, effects: [] }
        : decide({ doorId: door.id, credential: { kind: 'card', number: card } }, site.access, clock());
    } catch (error) {
      decision = { granted: false, reason: 'error', doorId: door?.id ?? '', cardholderId: null, credentialId: null, flags: NO_FLAGS, effects: [] };
      decisionError = error;
    }

    const finish = (actuationError?: unknown): void => {
      try {
        this.afterDecision(reader, door, card, decision, decisionError, actuationError);
      } catch (error) {
        metrics.increment('guardpost_access_errors_total');
        logger.error({ err: error, device: reader.id }, 'recording an access decision failed');
      }
    };
    if (decision.granted && door?.strikeDeviceId != null) {
      try {
        this.deps.command(door.strikeDeviceId, { type: 'strike', action: 'pulse', durationMs: door.unlockMs }, finish);
      } catch (error) {
        finish(error);
      }
    } else {
      finish();
    }
  }

  private afterDecision(reader: DeviceRecord, door: DoorRecord | undefined, card: string, decision: Decision, decisionError: unknown, actuationError: unknown): void {
    const { journal, metrics, logger } = this.deps;
    const maskedCard = maskCardNumber(card);
    if (decisionError !== undefined) {
      metrics.increment('guardpost_access_errors_total');
      logger.error({ err: decisionError, device: reader.id, card: maskedCard }, 'access decision failed; denied');
    }
    try {
      this.deps.command(reader.id, { type: 'led', color: decision.granted ? 'green' : 'red', durationMs: decision.granted ? (door?.unlockMs ?? DECISION_LED_MS) : DECISION_LED_MS });
      this.deps.command(reader.id, { type: 'buzzer', pattern: decision.granted ? 'grant' : 'deny' });
    } catch (error) {
      actuationError ??= error;
    }

    metrics.increment('guardpost_access_decisions_total', { result: decision.granted ? 'granted' : 'denied', reason: decision.reason });
    journal.append({
      type: decision.reason === 'error' ? 'access.error' : decision.granted ? 'access.granted' : 'access.denied',
      door: door?.id ?? null,
      device: reader.id,
      cardholder: decision.cardholderId,
      reason: decision.reason,
      data: { card: maskedCard, credential: decision.credentialId },
    });
    if (actuationError !== undefined) {
      // The decision stands as journalled (the strike may already be open); the fault is its own event.
      metrics.increment('guardpost_access_errors_total');
      logger.error({ err: actuationError, device: reader.id }, 'sending door commands failed');
      journal.append({ type: 'access.error', door: door?.id ?? null, device: reader.id, reason: 'actuation_failed', data: { message: String(actuationError) } });
    }
  }
}
