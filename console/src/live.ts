import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, apiList, type Alarm, type Device, type Door, type DoorState, type JournalEvent, type ThreatLevel } from './api.js';
import { openEventStream, type StreamStatus } from './stream.js';

/** How many events the live feed keeps on screen. */
const FEED_LENGTH = 200;

export interface LiveState {
  readonly doors: readonly Door[];
  readonly doorStates: Readonly<Record<string, DoorState>>;
  readonly lastEventByDoor: Readonly<Record<string, JournalEvent>>;
  readonly devices: readonly Device[];
  readonly alarms: readonly Alarm[];
  readonly threat: ThreatLevel | null;
  /** Newest first. */
  readonly feed: readonly JournalEvent[];
  readonly stream: StreamStatus;
  readonly streamDetail: string | null;
  readonly error: string | null;
}

const empty: LiveState = { doors: [], doorStates: {}, lastEventByDoor: {}, devices: [], alarms: [], threat: null, feed: [], stream: 'connecting', streamDetail: null, error: null };

/**
 * What the Live screen, the alarm takeover and the Doors screen show: loaded once, then kept
 * current from the event stream (an event names what changed; that part is fetched again).
 */
export class LiveStore {
  private state: LiveState = empty;
  private readonly listeners = new Set<(state: LiveState) => void>();
  private readonly eventListeners = new Set<(event: JournalEvent) => void>();
  private stopStream: (() => void) | null = null;
  private readonly refreshing = new Map<string, Promise<void>>();

  get(): LiveState {
    return this.state;
  }

  subscribe(listener: (state: LiveState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Hears every new event of the stream once (after the feed dropped repeats), so a screen can
   * refresh what the event changed; unlike watching `feed[0]`, no event of a burst is missed.
   */
  subscribeEvents(listener: (event: JournalEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  private set(change: Partial<LiveState>): void {
    this.state = { ...this.state, ...change };
    for (const listener of this.listeners) listener(this.state);
  }

  async start(): Promise<void> {
    this.stop();
    this.state = empty;
    try {
      const [recent] = await Promise.all([
        api<JournalEvent[]>('/api/v1/events?limit=50'),
        this.refreshDoors(),
        this.refreshDevices(),
        this.refreshAlarms(),
        this.refreshThreat(),
      ]);
      const lastEventByDoor: Record<string, JournalEvent> = {};
      for (const event of [...recent].reverse()) if (event.door !== null) lastEventByDoor[event.door] = event;
      this.set({ feed: recent, lastEventByDoor, error: null });
      const afterSeq = recent[0]?.seq ?? 0;
      this.stopStream = openEventStream(
        { onEvent: (event) => this.onEvent(event), onStatus: (stream, detail) => this.set({ stream, streamDetail: detail ?? null }) },
        afterSeq,
      );
    } catch (error) {
      this.set({ error: error instanceof ApiError ? error.text : String(error) });
    }
  }

  stop(): void {
    this.stopStream?.();
    this.stopStream = null;
  }

  private onEvent(event: JournalEvent): void {
    if (this.state.feed.some((seen) => seen.seq === event.seq)) return;
    const feed = [event, ...this.state.feed].slice(0, FEED_LENGTH);
    this.set(event.door === null ? { feed } : { feed, lastEventByDoor: { ...this.state.lastEventByDoor, [event.door]: event } });
    const family = event.type.split('.')[0];
    if (family === 'alarm' || family === 'camera') this.once('alarms', () => this.refreshAlarms());
    if (family === 'threat') this.once('threat', () => this.refreshThreat());
    if (family === 'device') this.once('devices', () => Promise.all([this.refreshDevices(), this.refreshDoors()]).then(() => undefined));
    if (family === 'config') this.once('doors', () => Promise.all([this.refreshDoors(), this.refreshDevices()]).then(() => undefined));
    // A lockdown or a threat level can change many doors at once.
    if (event.type.startsWith('door.lockdown') || family === 'threat' || event.type === 'door.released') this.once('door-states', () => this.refreshDoorStates());
    else if (event.door !== null) this.once(`door:${event.door}`, () => this.refreshDoorState(event.door!));
    for (const listener of this.eventListeners) {
      try {
        listener(event);
      } catch {
        // One screen's mistake must not stop the feed for the others.
      }
    }
  }

  /** Runs one refresh of a kind at a time; a burst of events costs one request, not one each. */
  private once(key: string, refresh: () => Promise<void>): void {
    if (this.refreshing.has(key)) return;
    const running = refresh()
      .catch((error: unknown) => this.set({ error: error instanceof ApiError ? error.text : String(error) }))
      .finally(() => this.refreshing.delete(key));
    this.refreshing.set(key, running);
  }

  async refreshAlarms(): Promise<void> {
    this.set({ alarms: await api<Alarm[]>('/api/v1/alarms') });
  }

  async refreshThreat(): Promise<void> {
    this.set({ threat: await api<ThreatLevel>('/api/v1/threat-level') });
  }

  async refreshDevices(): Promise<void> {
    this.set({ devices: await apiList<Device>('/api/v1/devices') });
  }

  async refreshDoors(): Promise<void> {
    const doors = await apiList<Door>('/api/v1/doors');
    this.set({ doors });
    await this.refreshDoorStates();
  }

  async refreshDoorStates(): Promise<void> {
    const states = await Promise.all(this.state.doors.map((door) => api<DoorState>(`/api/v1/doors/${door.id}/state`)));
    this.set({ doorStates: Object.fromEntries(states.map((state) => [state.door, state])) });
  }

  async refreshDoorState(doorId: string): Promise<void> {
    const state = await api<DoorState>(`/api/v1/doors/${doorId}/state`);
    this.set({ doorStates: { ...this.state.doorStates, [doorId]: state } });
  }
}

export const live = new LiveStore();

export function useLive(): LiveState {
  const [state, setState] = useState(live.get());
  useEffect(() => {
    setState(live.get());
    return live.subscribe(setState);
  }, []);
  return state;
}
