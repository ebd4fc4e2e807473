import type { SiteThreatLevel } from '../config/siteSchema.js';
import type { Actor } from '../doors/actor.js';
import type { LockdownTarget } from '../doors/lockdown.js';
import { actorData } from '../doors/machine.js';
import { GuardpostError } from '../errors.js';
import type { Clock, Journal } from '../journal/index.js';
import type { Store } from '../store/index.js';
import type { Timers } from '../doors/timers.js';
import { WhenUnlocked } from '../journal/whenUnlocked.js';
import type { Logger } from '../logger.js';

export const NORMAL_LEVEL: SiteThreatLevel = { id: 'normal', name: 'Normal', doors: [], lockdownZones: [], lockdownSite: false };

export interface ThreatState {
  readonly level: string;
  readonly since: string;
  readonly actor: Actor | null;
  readonly reason: string | null;
}

export interface ThreatDeps {
  readonly store: Store;
  readonly journal: Journal;
  readonly clock: Clock;
  /** Applies a level: its lockdowns, and the conditions access rules read. */
  readonly apply: (level: SiteThreatLevel, actor: Actor, reason: string | null) => void;
  /** For saving again a level another process's write lock kept from disk [SAFE-LOCKED]. */
  readonly timers: Timers;
  readonly logger?: Logger;
}

/** The site's threat level: set from the API, MQTT or an external system; survives a restart. */
export class ThreatService {
  private levels: readonly SiteThreatLevel[] = [NORMAL_LEVEL];
  private state: ThreatState = { level: 'normal', since: new Date(0).toISOString(), actor: null, reason: null };

  /** The level another process's write lock kept from disk [SAFE-LOCKED]. */
  private readonly unsaved: WhenUnlocked;

  constructor(private readonly deps: ThreatDeps) {
    this.unsaved = new WhenUnlocked({ journal: deps.journal, timers: deps.timers, ...(deps.logger === undefined ? {} : { logger: deps.logger }), what: 'threat level' });
  }

  /** Ends the retry timer; a level still unsaved is said. */
  stop(): void {
    this.unsaved.stop();
  }

  start(): void {
    this.reload();
    this.state = this.deps.store.safety.condition<ThreatState>('threatLevel') ?? { ...this.state, since: new Date(this.deps.clock()).toISOString() };
    // A level removed from site data since falls back to normal rather than to nothing.
    const level = this.find(this.state.level) ?? NORMAL_LEVEL;
    this.deps.apply(level, this.state.actor ?? { via: 'system', by: 'guardpost' }, this.state.reason);
  }

  reload(): void {
    this.levels = [NORMAL_LEVEL, ...this.deps.store.safety.threatLevels()];
  }

  current(): ThreatState & { readonly name: string; readonly levels: readonly { id: string; name: string }[] } {
    return { ...this.state, name: this.find(this.state.level)?.name ?? this.state.level, levels: this.levels.map((level) => ({ id: level.id, name: level.name })) };
  }

  set(levelId: string, actor: Actor, reason: string | null): ThreatState {
    const level = this.find(levelId);
    if (level === undefined) {
      throw new GuardpostError('GP_ERR_BAD_REQUEST', `unknown threat level "${levelId}" (known: ${this.levels.map((known) => known.id).join(', ')})`);
    }
    const from = this.state.level;
    if (from === levelId) return this.state;
    const next: ThreatState = { level: levelId, since: new Date(this.deps.clock()).toISOString(), actor, reason };
    // [SAFE-LOCKED] Under another process's write lock the level takes effect now and is saved when the lock goes.
    this.unsaved.save(
      'threatLevel',
      () => this.deps.store.safety.setCondition('threatLevel', next),
      () => this.deps.journal.append({ type: 'threat.changed', reason: levelId, data: { from, to: levelId, name: level.name, ...actorData(actor), note: reason } }),
    );
    this.state = next;
    this.deps.apply(level, actor, reason);
    return next;
  }

  /** Position of a level in the site's list (normal first, then as configured, lowest to highest); -1 if unknown. */
  rank(id: string): number {
    return this.levels.findIndex((level) => level.id === id);
  }

  private find(id: string): SiteThreatLevel | undefined {
    return this.levels.find((level) => level.id === id);
  }
}

export function threatLockdowns(level: SiteThreatLevel): LockdownTarget[] {
  return level.lockdownSite ? [{ scope: 'site' }] : level.lockdownZones.map((zone) => ({ scope: 'zone', zone }));
}
