import type { Clock, Journal } from '../journal/index.js';
import { WhenUnlocked } from '../journal/whenUnlocked.js';
import type { Logger } from '../logger.js';
import type { Timers } from './timers.js';
import type { Store } from '../store/index.js';
import type { Actor } from './actor.js';
import { actorData } from './machine.js';
import { GuardpostError } from '../errors.js';

export type LockdownTarget = { readonly scope: 'site' } | { readonly scope: 'zone'; readonly zone: string } | { readonly scope: 'door'; readonly door: string };

export interface Lockdown {
  readonly target: LockdownTarget;
  /** 'threat-level' lockdowns follow the threat level and are released only by lowering it. */
  readonly source: 'manual' | 'panic' | 'threat-level';
  readonly since: string;
  readonly actor: Actor;
  readonly reason: string | null;
}

export interface LockdownDeps {
  readonly store: Store;
  readonly journal: Journal;
  readonly clock: Clock;
  readonly zones: () => ReadonlyMap<string, readonly string[]>;
  readonly doors: () => readonly string[];
  /** Told the doors under lockdown whenever they change. */
  readonly onChange: (doors: ReadonlySet<string>) => void;
  /** For saving again a list another process's write lock kept from disk [SAFE-LOCKED]. */
  readonly timers: Timers;
  readonly logger?: Logger;
}



export function targetKey(target: LockdownTarget): string {
  switch (target.scope) {
    case 'site':
      return 'site';
    case 'zone':
      return `zone:${target.zone}`;
    case 'door':
      return `door:${target.door}`;
    default: {
      const unreachable: never = target;
      return unreachable;
    }
  }
}

/**
 * Lockdowns per door, per zone and site-wide: entry stops, exit never does [SAFE-EGRESS]. They
 * survive a restart; each change is journalled with who asked.
 */
export class LockdownService {
  private readonly active = new Map<string, Lockdown>();
  private lockedDoors: ReadonlySet<string> = new Set();

  /** The lockdown list another process's write lock kept from disk [SAFE-LOCKED]. */
  private readonly unsaved: WhenUnlocked;

  constructor(private readonly deps: LockdownDeps) {
    this.unsaved = new WhenUnlocked({ journal: deps.journal, timers: deps.timers, ...(deps.logger === undefined ? {} : { logger: deps.logger }), what: 'lockdown' });
  }

  start(): void {
    for (const lockdown of this.deps.store.safety.condition<Lockdown[]>('lockdowns') ?? []) this.active.set(this.key(lockdown), lockdown);
    this.recompute();
  }

  list(): Lockdown[] {
    return [...this.active.values()];
  }

  doors(): ReadonlySet<string> {
    return this.lockedDoors;
  }

  /** Recomputes after site data changed (a zone gained a door). */
  reload(): void {
    this.recompute();
  }

  lock(target: LockdownTarget, actor: Actor, reason: string | null, source: Lockdown['source'] = 'manual'): Lockdown {
    this.check(target);
    const lockdown: Lockdown = { target, source, since: new Date(this.deps.clock()).toISOString(), actor, reason };
    const key = this.key(lockdown);
    const existing = this.active.get(key);
    if (existing !== undefined) return existing;
    this.active.set(key, lockdown);
    this.commit(
      () => this.journalChange('door.lockdown', lockdown, actor, reason),
      () => this.active.delete(key),
    );
    return lockdown;
  }

  release(target: LockdownTarget, actor: Actor, reason: string | null): Lockdown[] {
    this.check(target);
    const released = [...this.active.entries()].filter(([, lockdown]) => lockdown.source !== 'threat-level' && targetKey(lockdown.target) === targetKey(target));
    if (released.length === 0) {
      const byThreat = [...this.active.values()].some((lockdown) => lockdown.source === 'threat-level' && targetKey(lockdown.target) === targetKey(target));
      throw new GuardpostError('GP_ERR_CONFLICT', byThreat ? `the ${describe(target)} is locked down by the threat level: lower the threat level to release it` : `the ${describe(target)} is not locked down`);
    }
    for (const [key] of released) this.active.delete(key);
    this.commit(
      () => {
        for (const [, lockdown] of released) this.journalChange('door.lockdown_released', lockdown, actor, reason);
      },
      () => {
        for (const [key, lockdown] of released) this.active.set(key, lockdown);
      },
    );
    return released.map(([, lockdown]) => lockdown);
  }

  /** Replaces the lockdowns the threat level imposes. */
  setThreatLockdowns(targets: readonly LockdownTarget[], actor: Actor, reason: string | null): void {
    const wanted = new Map(targets.map((target) => [`threat:${targetKey(target)}`, target]));
    const removed = [...this.active.entries()].filter(([key, lockdown]) => lockdown.source === 'threat-level' && !wanted.has(key));
    const added: Lockdown[] = [];
    for (const [key, target] of wanted) {
      if (this.active.has(key)) continue;
      const lockdown: Lockdown = { target, source: 'threat-level', since: new Date(this.deps.clock()).toISOString(), actor, reason };
      this.active.set(key, lockdown);
      added.push(lockdown);
    }
    for (const [key] of removed) this.active.delete(key);
    if (added.length === 0 && removed.length === 0) return;
    this.commit(
      () => {
        for (const lockdown of added) this.journalChange('door.lockdown', lockdown, actor, reason);
        for (const [, lockdown] of removed) this.journalChange('door.lockdown_released', lockdown, actor, reason);
      },
      () => {
        for (const lockdown of added) this.active.delete(this.key(lockdown));
        for (const [key, lockdown] of removed) this.active.set(key, lockdown);
      },
    );
  }

  private key(lockdown: Lockdown): string {
    return lockdown.source === 'threat-level' ? `threat:${targetKey(lockdown.target)}` : targetKey(lockdown.target);
  }

  private check(target: LockdownTarget): void {
    if (target.scope === 'zone' && !this.deps.zones().has(target.zone)) throw new GuardpostError('GP_ERR_NOT_FOUND', `no zone "${target.zone}"`);
    if (target.scope === 'door' && !this.deps.doors().includes(target.door)) throw new GuardpostError('GP_ERR_NOT_FOUND', `no door "${target.door}"`);
  }

  private doorsOf(target: LockdownTarget): readonly string[] {
    switch (target.scope) {
      case 'site':
        return this.deps.doors();
      case 'zone':
        return this.deps.zones().get(target.zone) ?? [];
      case 'door':
        return [target.door];
      default: {
        const unreachable: never = target;
        return unreachable;
      }
    }
  }

  private journalChange(type: 'door.lockdown' | 'door.lockdown_released', lockdown: Lockdown, actor: Actor, reason: string | null): void {
    const { target } = lockdown;
    this.deps.journal.append({
      type,
      door: target.scope === 'door' ? target.door : null,
      reason: lockdown.source,
      data: { ...target, doors: this.doorsOf(target), source: lockdown.source, ...actorData(actor), note: reason },
    });
  }

  /**
   * Saves and journals in one transaction, then applies the new set of doors. [SAFE-LOCKED] When
   * another process holds the write lock (waited for briefly), the doors lock down all the same:
   * the event waits in the journal's queue and the list is saved from a timer when the lock goes
   * (a restart meanwhile would forget it: logged at error).
   */
  private commit(journal: () => void, undo: () => void): void {
    try {
      this.unsaved.save('lockdowns', () => this.deps.store.safety.setCondition('lockdowns', this.list()), journal);
    } catch (error) {
      // Not kept (an API command's transaction that could not be written): memory as it was.
      undo();
      throw error;
    }
    this.recompute();
  }

  /** True while the lockdown list in force is not yet on disk. */
  get unsavedList(): boolean {
    return this.unsaved.size > 0;
  }

  /** Ends the retry timer; a list still unsaved is said. */
  stop(): void {
    this.unsaved.stop();
  }

  private recompute(): void {
    const doors = new Set<string>();
    for (const lockdown of this.active.values()) for (const door of this.doorsOf(lockdown.target)) doors.add(door);
    this.lockedDoors = doors;
    this.deps.onChange(doors);
  }
}

function describe(target: LockdownTarget): string {
  return target.scope === 'site' ? 'site' : target.scope === 'zone' ? `zone "${target.zone}"` : `door "${target.door}"`;
}
