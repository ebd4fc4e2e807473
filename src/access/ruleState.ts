import type { RuleEffect } from './types.js';

/**
 * The small state of the stateful rules (anti-passback, two-person, escort, first-person-in).
 * The runtime owns one value of it, passes it to decide(), applies each decision's effects and
 * persists what must survive a restart. No module keeps any of it.
 */
export interface RuleState {
  /** `<area>|<cardholder>` → last badge through the area's entry or exit. */
  readonly presence: Map<string, { inside: boolean; atMs: number }>;
  readonly twoPerson: Map<string, { cardholderId: string; atMs: number }>;
  readonly escorts: Map<string, { cardholderId: string; atMs: number }>;
  readonly waitingVisitors: Map<string, { cardholderId: string; atMs: number }>;
  /** door → key of the unlock window a first person released. */
  readonly releasedDoors: Map<string, string>;
}

export function emptyRuleState(): RuleState {
  return { presence: new Map(), twoPerson: new Map(), escorts: new Map(), waitingVisitors: new Map(), releasedDoors: new Map() };
}

export const presenceKey = (areaId: string, cardholderId: string): string => `${areaId}|${cardholderId}`;

/** Applies a decision's effects to the runtime's rule state (the one place it changes). */
export function applyEffects(state: RuleState, effects: readonly RuleEffect[]): void {
  for (const effect of effects) {
    switch (effect.kind) {
      case 'presence':
        state.presence.set(presenceKey(effect.areaId, effect.cardholderId), { inside: effect.inside, atMs: effect.atMs });
        break;
      case 'two-person-wait':
        state.twoPerson.set(effect.doorId, { cardholderId: effect.cardholderId, atMs: effect.atMs });
        break;
      case 'two-person-done':
        state.twoPerson.delete(effect.doorId);
        break;
      case 'escort-seen':
        state.escorts.set(effect.doorId, { cardholderId: effect.cardholderId, atMs: effect.atMs });
        break;
      case 'visitor-wait':
        state.waitingVisitors.set(effect.doorId, { cardholderId: effect.cardholderId, atMs: effect.atMs });
        break;
      case 'visitor-done':
        state.waitingVisitors.delete(effect.doorId);
        break;
      case 'door-released':
        state.releasedDoors.set(effect.doorId, effect.windowKey);
        break;
      default: {
        const unreachable: never = effect;
        return unreachable;
      }
    }
  }
}

/** Admin "forgive" [ACC-PASSBACK]: forgets where one cardholder (or everyone) was last seen. */
export function forgivePassback(state: RuleState, cardholderId: string | null): number {
  let forgiven = 0;
  for (const key of [...state.presence.keys()]) {
    if (cardholderId === null || key.endsWith(`|${cardholderId}`)) {
      state.presence.delete(key);
      forgiven++;
    }
  }
  return forgiven;
}
