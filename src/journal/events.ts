/** The event model: every security event guardpost journals and forwards. */

export const Severities = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof Severities)[number];

/** Event types and their default severity. Types are a contract with incident systems. */
export const EventTypes = {
  'access.granted': 'info',
  'access.denied': 'low',
  'access.error': 'high',
  'alarm.raised': 'critical',
  'device.online': 'info',
  'device.offline': 'medium',
  'device.bad_input': 'low',
  'device.unauthorized': 'high',
  'device.tamper': 'high',
  'system.started': 'info',
  'system.stopped': 'info',
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
