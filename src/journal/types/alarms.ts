import type { Severity } from '../severity.js';

/**
 * Panic and other alarms, their cameras, drills and device supervision. Each type with its default
 * severity. Every alarm.* event carries `data.alarm` (the alarm id) and `data.priority`.
 */
export const alarmsEventTypes = {
  'alarm.raised': 'critical',
  /** Another press of a button whose alarm is still open. */
  'alarm.repeated': 'high',
  'alarm.acknowledged': 'high',
  'alarm.escalated': 'critical',
  'alarm.cleared': 'medium',
  'alarm.drill_started': 'medium',
  'alarm.drill_ended': 'medium',
  'camera.triggered': 'info',
  'camera.failed': 'high',
  /** A supervised device (panic button, reader) went silent for longer than its supervisionMs. */
  'device.trouble': 'high',
  'device.trouble_cleared': 'medium',
  /** A tamper input went back to normal; the tamper alarm stays open until acknowledged and cleared. */
  'device.tamper_restored': 'medium',
} as const satisfies Record<string, Severity>;
