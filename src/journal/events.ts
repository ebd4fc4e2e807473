/** The event model: every security event guardpost journals and forwards. */

import { accessEventTypes } from './types/access.js';
import { alarmsEventTypes } from './types/alarms.js';
import { authEventTypes } from './types/auth.js';
import { brokerEventTypes } from './types/broker.js';
import { devicesEventTypes } from './types/devices.js';
import { doorsEventTypes } from './types/doors.js';
import { forwardersEventTypes } from './types/forwarders.js';
import { opsEventTypes } from './types/ops.js';
import { systemEventTypes } from './types/system.js';
import { threatEventTypes } from './types/threat.js';
import type { Severity } from './severity.js';

export { Severities, type Severity } from './severity.js';

/** Event types and their default severity, one file per domain. Types are a contract with incident systems. */
export const EventTypes = {
  ...accessEventTypes,
  ...alarmsEventTypes,
  ...authEventTypes,
  ...brokerEventTypes,
  ...devicesEventTypes,
  ...doorsEventTypes,
  ...forwardersEventTypes,
  ...opsEventTypes,
  ...systemEventTypes,
  ...threatEventTypes,
} as const satisfies Record<string, Severity>;
export type EventType = keyof typeof EventTypes;

export interface EventInput {
  readonly type: EventType;
  readonly severity?: Severity;
  readonly door?: string | null;
  readonly device?: string | null;
  readonly cardholder?: string | null;
  readonly reason?: string | null;
  /** Never a whole card number or PIN: mask before appending. */
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface JournalEvent {
  readonly id: string;
  readonly seq: number;
  /** ISO-8601 UTC time the gateway observed the event. */
  readonly time: string;
  readonly type: EventType;
  readonly severity: Severity;
  readonly site: string;
  readonly door: string | null;
  readonly device: string | null;
  readonly cardholder: string | null;
  readonly reason: string | null;
  readonly data: Readonly<Record<string, unknown>>;
}
