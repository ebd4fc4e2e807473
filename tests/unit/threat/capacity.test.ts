import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/access/decide.js';
import { NORMAL_CONDITIONS } from '../../../src/access/types.js';
import { MONDAY_9AM, card, site } from '../access/fixture.js';

describe('[THR-CAPACITY] maximum occupancy through the access rules', () => {
  const state = site();
  const full = { ...NORMAL_CONDITIONS, fullAreaEntryDoors: new Set(['floor-in']) };

  it('refuses entry through the entry door of a full area', () => {
    expect(decide(card('floor-in', '1001'), state, MONDAY_9AM, full)).toMatchObject({ granted: false, reason: 'area_full', cardholderId: 'alice' });
  });

  it('lets the same person in when the area has room', () => {
    expect(decide(card('floor-in', '1001'), state, MONDAY_9AM, NORMAL_CONDITIONS)).toMatchObject({ granted: true });
  });

  it('never holds anyone at an exit door because an area is full', () => {
    expect(decide(card('floor-out', '1001'), state, MONDAY_9AM, full).reason).not.toBe('area_full');
  });

  it('refuses someone without access for that reason first, not for the capacity', () => {
    expect(decide(card('floor-in', '2001'), state, MONDAY_9AM, full).reason).toBe('not_in_group');
  });
});
