import { describe, expect, it } from 'vitest';
import { wants } from '../../../src/forwarders/filter.js';
import type { JournalEvent } from '../../../src/journal/index.js';
import { isPriorityType } from '../../../src/journal/index.js';

const event = (type: string, severity: JournalEvent['severity']): JournalEvent =>
  ({ id: 'x', seq: 1, time: '2026-01-01T00:00:00.000Z', type, severity, site: 's', door: null, device: null, cardholder: null, reason: null, data: {} }) as JournalEvent;

describe('forwarder filter', () => {
  it('passes everything when no types are named and the minimum is info', () => {
    expect(wants({ types: [], minSeverity: 'info' }, event('access.granted', 'info'))).toBe(true);
  });

  it('matches a whole domain by its name or name.*, and single types exactly', () => {
    const filter = { types: ['alarm', 'device.*', 'access.denied'], minSeverity: 'info' as const };
    expect(wants(filter, event('alarm.raised', 'critical'))).toBe(true);
    expect(wants(filter, event('device.offline', 'medium'))).toBe(true);
    expect(wants(filter, event('access.denied', 'low'))).toBe(true);
    expect(wants(filter, event('access.granted', 'info'))).toBe(false);
    expect(wants(filter, event('alarms.raised', 'critical'))).toBe(false);
  });

  it('drops events below the minimum severity', () => {
    expect(wants({ types: [], minSeverity: 'high' }, event('device.offline', 'medium'))).toBe(false);
    expect(wants({ types: [], minSeverity: 'high' }, event('device.unauthorized', 'high'))).toBe(true);
  });
});

describe('alarm-class events', () => {
  it('are alarms, forced doors and duress, nothing else', () => {
    expect(['alarm.raised', 'alarm.cleared', 'door.forced', 'access.duress'].every(isPriorityType)).toBe(true);
    expect(['access.granted', 'door.held', 'device.tamper', 'alarms.x', 'alarm'].some(isPriorityType)).toBe(false);
  });
});
