import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, roleAllows, type JournalEvent, type Role } from './api.js';
import { coalesce } from './coalesce.js';
import { live } from './live.js';
import { briefAfter, type EvacuationBrief } from './threatViews.js';
// Type-only from the gateway's own pure modules: the console reads what the API sends, by name.
import type { Evacuation, MusterEntry, MusterSummary } from '../../src/journal/evacuations.js';
import type { ScreeningMatch, WatchedPerson } from '../../src/threat/screening.js';
import type { AlarmResponse, Breakdown, Figures, ResponseTimeReport } from '../../src/threat/responseTimes.js';

export type { AlarmResponse, Breakdown, EvacuationBrief, Figures, MusterEntry, ResponseTimeReport, ScreeningMatch, WatchedPerson };

/** GET /api/v1/evacuations/current and /:id (src/threat/presence.ts EvacuationView). */
export interface EvacuationView extends Evacuation {
  readonly summary: MusterSummary;
}

/** GET /api/v1/occupancy (src/api/routes/occupancy.ts). */
export interface OccupancyPerson {
  readonly cardholder: string;
  readonly name: string;
  readonly enteredAt: string;
  readonly enteredBy: string;
  readonly lastSeenAt: string;
  readonly lastSeenDoor: string | null;
}

export interface AreaOccupancy {
  readonly area: string;
  readonly name: string;
  readonly count: number;
  readonly max: number | null;
  readonly people: readonly OccupancyPerson[];
}

export interface Occupancy {
  readonly total: number;
  readonly areas: readonly AreaOccupancy[];
}

/** GET /api/v1/visitors. */
export type { VisitorRecord as Visitor, VisitorStatus } from '../../src/threat/visitorRecord.js';

export interface EvacuationState {
  readonly brief: EvacuationBrief | null;
  /** The whole list (security and admin only). */
  readonly view: EvacuationView | null;
  readonly loaded: boolean;
  readonly error: string | null;
}

export const briefOf = (view: EvacuationView): EvacuationBrief => ({
  id: view.id,
  startedAt: view.startedAt,
  trigger: view.trigger,
  startedBy: view.startedBy,
  reason: view.reason,
  total: view.summary.total,
  safe: view.summary.safe,
  missing: view.summary.missing,
});

/**
 * The evacuation under way, for the takeover and the Evacuation screen: loaded at sign-in, then
 * kept current from the live stream. Security staff reload the list (coalesced: a burst of marks
 * costs two requests at most); the counts move with each event for everyone.
 */
export class EvacuationStore {
  private state: EvacuationState = { brief: null, view: null, loaded: false, error: null };
  private readonly listeners = new Set<(state: EvacuationState) => void>();
  private unsubscribe: (() => void) | null = null;
  private role: Role = 'viewer';
  private generation = 0;
  readonly reload = coalesce(
    () => this.load(),
    (error) => this.set({ error: error instanceof ApiError ? error.text : String(error) }),
  );

  get(): EvacuationState {
    return this.state;
  }

  subscribe(listener: (state: EvacuationState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(change: Partial<EvacuationState>): void {
    this.state = { ...this.state, ...change };
    for (const listener of this.listeners) listener(this.state);
  }

  start(role: Role): void {
    this.stop();
    this.role = role;
    this.generation += 1;
    this.state = { brief: null, view: null, loaded: false, error: null };
    this.unsubscribe = live.subscribeEvents((event) => {
      if (!event.type.startsWith('muster.')) return;
      this.set({ brief: briefAfter(this.state.brief, event) });
      if (event.type === 'muster.ended') this.set({ view: this.state.view?.id === event.data.evacuation ? null : this.state.view });
      if (roleAllows(this.role, 'security')) void this.reload();
    });
    void this.reload();
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private async load(): Promise<void> {
    const generation = this.generation;
    if (roleAllows(this.role, 'security')) {
      let view: EvacuationView | null;
      try {
        view = await api<EvacuationView>('/api/v1/evacuations/current');
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) throw error;
        view = null;
      }
      if (generation === this.generation) this.set({ view, brief: view === null ? null : briefOf(view), loaded: true, error: null });
      return;
    }
    // Viewers: the newest muster events say whether one is under way and how many are missing.
    const [latest] = await api<JournalEvent[]>('/api/v1/events?type=muster&limit=1');
    let brief: EvacuationBrief | null = null;
    if (latest !== undefined && latest.type !== 'muster.ended') {
      const [started] = await api<JournalEvent[]>('/api/v1/events?type=muster.started&limit=1');
      if (started !== undefined) brief = briefAfter(null, started);
      if (latest.type === 'muster.marked_safe') brief = briefAfter(brief, latest);
    }
    if (generation === this.generation) this.set({ brief, loaded: true, error: null });
  }
}

export const evacuation = new EvacuationStore();

export function useEvacuation(): EvacuationState {
  const [state, setState] = useState(evacuation.get());
  useEffect(() => {
    setState(evacuation.get());
    return evacuation.subscribe(setState);
  }, []);
  return state;
}
