import { CardIndex } from '../access/cardIndex.js';
import { NORMAL_CONDITIONS, type SiteConditions } from '../access/types.js';
import { codecs } from '../drivers/index.js';
import type { DeviceCommand, DeviceSignal } from '../drivers/types.js';
import type { Clock, Journal } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { DeviceRecord, Store } from '../store/index.js';
import type { MqttTransport } from '../transports/mqtt.js';
import { SafetyBridge } from '../alarms/bridge.js';
import { Safety } from '../alarms/safety.js';
import { DoorService } from '../doors/service.js';
import { CLOCK_TOLERANCE_MS, ScheduledUnlocks } from '../doors/scheduledUnlocks.js';
import { realTimers } from '../doors/timers.js';
import { AccessPath } from './accessPath.js';
import type { DeviceReport } from './deviceBindings.js';
import { catchUpCardIndex } from './peopleChanges.js';
import { buildSiteIndex, credentialKeysOf, openCardIndexFromSnapshot, patchCardholder, readCardIndexHere, readCardIndexOffThread, startReadsOffThread, writePeople, type SiteIndex } from './siteIndex.js';
import { SnapshotKeeper } from './snapshotKeeper.js';
import type { Topics } from './topics.js';

export interface SiteRuntimeDeps {
  readonly store: Store;
  readonly journal: Journal;
  readonly transport: MqttTransport;
  readonly topics: Topics;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
}

/**
 * The controller of the site: binds devices to doors and runs the critical path
 * read → decide → actuate → journal as direct calls, failing closed on any exception.
 */
/** What a change committed by another process (the CLI) is journalled as. */
const EXTERNAL_CHANGE = { by: 'another process', what: 'site data' } as const;
/** While another process keeps committing, one `config.changed` this often at most. */
const EXTERNAL_CHANGE_SUMMARY_MS = 60_000;

export class SiteRuntime {
  private index: SiteIndex;
  private readonly availability = new Map<string, 'online' | 'offline'>();
  /** Counts availability changes: the API's cached doors and devices lists are valid for one value. */
  availabilityGeneration = 0;
  /** When the last device signal was handled (performance.now()): API reads yield to device traffic [API-YIELD]. */
  lastSignalAtMs = Number.NEGATIVE_INFINITY;
  /** Told of every availability change (the HTTP front's cached device and door lists depend on it). */
  readonly availabilityListeners = new Set<() => void>();
  private readonly accessPath: AccessPath;
  private conditions: SiteConditions = NORMAL_CONDITIONS;
  private fullAreaEntryDoors: ReadonlySet<string> = new Set();
  private watcher: NodeJS.Timeout | undefined;
  /** A full read of the people on worker threads, while the live index keeps deciding. */
  private backgroundScan: Promise<void> | null = null;
  /** Ends the workers of a full read still running at stop. */
  private readonly stopReads = new AbortController();
  /**
   * Set when no snapshot could be used at construction: the people are then read from the
   * database on worker threads in `start()`, before any input is subscribed (fail closed: no
   * decision before the card index is in), while MQTT connects and pings go on.
   */
  private cardsPending = false;
  private stopped = false;
  /** Writes the card index snapshot after people changes, in the background [ACC-INDEX]. */
  private readonly snapshots: SnapshotKeeper;
  /** Door state machines (issue 5). */
  readonly doors: DoorService;
  /** Alarms, lockdowns, threat level, cameras, supervision (issue 5). */
  readonly safety: Safety;
  /** Fire-alarm inputs currently in alarm [SAFE-FIRE]. */
  private readonly fireAlarms = new Set<string>();
  private router: DeviceCommandRouter | undefined;
  private readonly troubles = new Map<string, string | null>();
  /** Doors held unlocked by their unlock schedules (issue 5). */
  private readonly schedules: ScheduledUnlocks;
  /** Contact reports of door contacts and fire-alarm inputs (threat management: doors opened, evacuations). */
  private readonly contactListeners = new Set<(device: DeviceRecord, state: 'open' | 'closed') => void>();
  /** Readers that open no door and belong to another feature (muster points): card number → handler. */
  private readerClaims: ReadonlyMap<string, (card: string) => void> = new Map();

  constructor(private readonly deps: SiteRuntimeDeps) {
    // [ACC-INDEX] from the snapshot file when it is the database's current one (panel-scale starts);
    // otherwise from the database: a small site here and now, a large one on worker threads when
    // started (an empty index until then).
    const opened = openCardIndexFromSnapshot(deps.store);
    if (opened.note !== null) deps.logger.warn({ from: opened.cards === null ? 'database' : 'snapshot' }, `card index: ${opened.note}`);
    if (opened.cards !== null && opened.changedSince > 0) deps.logger.info({ from: opened.from, cardholders: opened.changedSince, generation: opened.cards.generation }, `card index: snapshot brought up to date with ${opened.changedSince} cardholders changed since it was written`);
    let cards = opened.cards;
    if (cards === null && startReadsOffThread(deps.store)) this.cardsPending = true;
    cards ??= !this.cardsPending ? readCardIndexHere(deps.store) : new CardIndex();
    this.index = buildSiteIndex(deps.store, cards);
    this.snapshots = new SnapshotKeeper({ store: deps.store, logger: deps.logger, cards: () => this.index.cards });
    // Read from the database or caught up from the change log: the next start should not have to.
    if (!this.cardsPending && cards.snapshotGeneration !== cards.generation) this.snapshots.changed();
    this.doors = new DoorService({
      ...deps,
      timers: realTimers,
      command: (deviceId, command) => this.command(deviceId, command),
      publishState: (doorId, state) => deps.transport.publish(`${deps.topics.prefix}/doors/${doorId}/state`, JSON.stringify(state), { qos: 1, retain: true }),
    });
    this.doors.load(this.index.doors.values(), deps.store.safety.listDoorHardware());
    this.safety = new Safety({
      ...deps,
      timers: realTimers,
      doors: this.doors,
      command: (deviceId, command, onSent) => this.command(deviceId, command, onSent),
      // Retained while open; an empty retained payload removes it once cleared.
      publishAlarm: (alarmId, view) => deps.transport.publish(`${deps.topics.prefix}/alarms/${alarmId}`, view === null ? '' : JSON.stringify(view), { qos: 1, retain: true }),
      setConditions: (threatLevel, lockedDownDoors) => this.setConditions({ threatLevel, lockedDownDoors }),
      devices: () => this.index.devices,
      readerOf: (doorId) => this.index.doors.get(doorId)?.readerDeviceId ?? null,
    });
    this.accessPath = new AccessPath({
      ...deps,
      site: () => this.index,
      conditions: () => this.conditions,
      command: (deviceId, command, onSent) => this.command(deviceId, command, onSent),
      onGranted: (doorId) => this.doors.granted(doorId),
    });
    this.schedules = new ScheduledUnlocks({
      ...deps,
      timers: realTimers,
      access: () => this.index.access,
      conditions: () => this.conditions,
      released: () => this.accessPath.ruleState.releasedDoors,
      apply: (doorId, unlock) => this.doors.setScheduledUnlock(doorId, unlock.unlocked, unlock.unlocked ? { schedule: unlock.schedule, firstPersonIn: unlock.firstPersonIn } : { schedule: unlock.schedule, why: unlock.why }),
      // [SAFE-CLOCK] the newest event before this start: a clock behind it has not been set yet.
      notBeforeMs: newestEventMs(deps.journal),
      monotonicMs: () => performance.now(),
      onClockTrust: (trusted, clockMs, notBeforeMs) =>
        deps.journal.append({
          type: trusted ? 'door.schedules_resumed' : 'door.schedules_suspended',
          reason: 'clock',
          data: { clock: new Date(clockMs).toISOString(), newestEvent: new Date(notBeforeMs).toISOString(), toleranceMs: CLOCK_TOLERANCE_MS },
        }),
    });
    deps.metrics.define('guardpost_bad_input_total', 'Device payloads dropped as malformed, by device and code');
  }

  async start(): Promise<void> {
    const { transport, topics, journal } = this.deps;
    if (this.cardsPending) await this.readCardIndexAtStart();
    journal.onAppend((event) => transport.publish(topics.events, JSON.stringify(event), { qos: 1 }));
    // Saved lockdowns, threat level and open alarms are in force before the first card is read.
    this.safety.start();
    // [ACC-FIRST-IN] the access path has sent the unlock; the schedule now holds it until its end.
    journal.onAppend((event) => {
      if (event.type !== 'access.first_person_in') return;
      this.schedules.evaluate();
      if (event.door !== null) this.doors.firstPersonIn(event.door);
    });
    this.schedules.start();
    await transport.subscribe(topics.allDeviceInputs, (topic, payload) => this.onInput(topic, payload));
    await transport.subscribe(topics.allDeviceAvailability, (topic, payload) => this.onAvailability(topic, payload));
    const announce = (): void => transport.publish(topics.bridgeState, JSON.stringify({ state: 'online' }), { qos: 1, retain: true });
    announce();
    this.doors.publishAll();
    await new SafetyBridge({ ...this.deps, prefix: topics.prefix, safety: this.safety, doors: this.doors }).start();
    // An external broker may have lost our retained state (or published our will) while we were away.
    transport.onConnected(announce);
  }

  /**
   * Picks up site data changed by another process (`guardpost import`, `guardpost user add`):
   * SQLite bumps `data_version` when another connection commits, so a cheap poll suffices.
   */
  watchExternalChanges(intervalMs: number): void {
    let version = this.deps.store.db.pragma('data_version', { simple: true }) as number;
    // A long CLI import commits many times a second [SITE-IMPORT-SLICES]: every change is applied
    // at once, but journalled as one `config.changed` when it starts, one a minute while it goes
    // on, and one when it has stopped (a poll that finds nothing new) — not one a second.
    let burst: { lastJournalledMs: number; unjournalled: number } | null = null;
    this.watcher = setInterval(() => {
      const now = this.deps.store.db.pragma('data_version', { simple: true }) as number;
      if (now === version) {
        if (burst !== null && burst.unjournalled > 0) this.deps.journal.append({ type: 'config.changed', data: { ...EXTERNAL_CHANGE, changes: burst.unjournalled } });
        burst = null;
        return;
      }
      version = now;
      const nowMs = this.deps.clock();
      const journal = burst === null || nowMs - burst.lastJournalledMs >= EXTERNAL_CHANGE_SUMMARY_MS;
      this.externalChange(journal);
      if (journal) burst = { lastJournalledMs: nowMs, unjournalled: 0 };
      else burst!.unjournalled++;
    }, intervalMs);
    this.watcher.unref();
  }

  /**
   * The start's full read, on worker threads [ACC-INDEX]: at 2,000,000 people it takes seconds, and
   * the event loop stays free for MQTT connects and keep-alives meanwhile. Nothing is subscribed
   * yet, so no card is decided on the empty index. If the workers fail, the read is made here.
   */
  private async readCardIndexAtStart(): Promise<void> {
    const { store, logger } = this.deps;
    const startedMs = performance.now();
    let cards: CardIndex;
    try {
      cards = await readCardIndexOffThread(store, this.readOptions());
    } catch (error) {
      if (this.stopped) return;
      logger.error({ err: error }, 'card index: the read on worker threads failed; reading here');
      cards = readCardIndexHere(store);
    }
    if (this.stopped) return;
    this.cardsPending = false;
    this.index = buildSiteIndex(store, cards);
    logger.info({ from: 'database', ms: Math.round(performance.now() - startedMs), cardholders: cards.cardholderIdCount, credentials: cards.credentialCount, generation: cards.generation }, 'card index: read from the database on worker threads');
    this.snapshots.changed();
  }

  /** How full reads on worker threads are ended at stop, and where they say why they went another way. */
  private readOptions(): { readonly signal: AbortSignal; readonly onNote: (note: string) => void } {
    return { signal: this.stopReads.signal, onNote: (note) => this.deps.logger.warn(`card index: ${note}`) };
  }

  stop(): void {
    this.stopped = true;
    this.stopReads.abort();
    if (this.watcher !== undefined) clearInterval(this.watcher);
    this.schedules.stop();
    const snapshotProblem = this.snapshots.stop();
    if (snapshotProblem !== null) this.deps.logger.warn(snapshotProblem);
    this.doors.stop();
    this.safety.stop();
    this.deps.transport.publish(this.deps.topics.bridgeState, JSON.stringify({ state: 'offline' }), { qos: 1, retain: true });
  }

  /**
   * Re-reads site data after a change that touched people (a whole-site import): the rules at
   * once; the people from the change log when it can say who changed, else by a full read on
   * worker threads, while the live index keeps deciding until the new one is swapped in (at panel
   * scale the read takes seconds: the event loop must not stall for it) [ACC-INDEX].
   */
  reload(change: { readonly by: string; readonly what: string }): void {
    if (this.backgroundScan === null && !this.catchUpPeople()) this.readPeopleInBackground(change.by);
    this.rebuildRules(change);
  }

  /**
   * Re-reads what a change to schedules, levels, groups, doors, devices or site rules touches and
   * keeps the card index: at panel scale re-reading every cardholder takes seconds [ACC-INDEX].
   */
  reloadRules(change: { readonly by: string; readonly what: string }): void {
    // People written meanwhile (a deleted group's memberships, another process): from the change
    // log; while a background full read runs, it brings them.
    if (this.backgroundScan === null && !this.catchUpPeople()) this.readPeopleInBackground(change.by);
    this.rebuildRules(change);
  }

  /**
   * People committed on this connection by a sliced import [SITE-IMPORT-SLICES]: caught up from
   * the change log (a removal takes effect while the rest is written), or read again in the background.
   */
  peopleWritten(by: string): void {
    if (this.backgroundScan === null && !this.catchUpPeople()) this.readPeopleInBackground(by);
  }

  /**
   * Another connection committed [ACC-INDEX]: people untouched (the generation the index reflects)
   * keep the card index; people changed are re-read from the change log; if only a full read will
   * do, it runs on a worker thread while the live index keeps deciding, and is swapped in when done.
   */
  private externalChange(journal: boolean): void {
    if (this.backgroundScan === null && !this.catchUpPeople()) this.readPeopleInBackground(EXTERNAL_CHANGE.by);
    this.rebuildRules(EXTERNAL_CHANGE, journal);
  }

  /**
   * Reads every person again on worker threads (site/cardIndexScan.ts) while the live index keeps
   * deciding: a stale answer for the people just changed, for seconds at panel scale, instead of
   * no answer for anyone. People written meanwhile come from the change log; the new index is then
   * swapped in whole.
   */
  private readPeopleInBackground(by: string): void {
    if (this.backgroundScan !== null) return;
    this.deps.logger.warn('card index: reading every cardholder again on worker threads; decisions use the index as it is until then');
    const startedMs = performance.now();
    this.backgroundScan = readCardIndexOffThread(this.deps.store, this.readOptions()).then(
      (cards) => {
        this.backgroundScan = null;
        if (this.stopped) return;
        this.index = { ...this.index, cards };
        this.deps.logger.info({ ms: Math.round(performance.now() - startedMs), generation: cards.generation }, 'card index: read again on worker threads and swapped in');
        this.rebuildRules({ by, what: 'people read again in the background' });
        this.snapshots.changed();
      },
      (error: unknown) => {
        this.backgroundScan = null;
        if (this.stopped) return;
        this.deps.logger.error({ err: error }, 'card index: the background read failed; reading here');
        this.index = { ...this.index, cards: readCardIndexHere(this.deps.store) };
        this.rebuildRules({ by, what: 'people read again' });
        this.snapshots.changed();
      },
    );
  }

  /** Rebuilds doors, schedules, levels, groups and rules around the current card index. */
  private rebuildRules(change: { readonly by: string; readonly what: string }, journal = true): void {
    this.index = buildSiteIndex(this.deps.store, this.index.cards);
    if (journal) this.deps.journal.append({ type: 'config.changed', data: change });
    this.doors.load(this.index.doors.values(), this.deps.store.safety.listDoorHardware());
    this.safety.reload();
    // An edited schedule or door mode moves the next free-access boundary.
    this.schedules.evaluate();
    this.router?.siteChanged?.();
  }

  /**
   * Changes cardholders (and their credentials, PINs, escorts) in the store and patches the live
   * index in place: at panel scale a full reload takes seconds, this takes microseconds per person.
   */
  changeCardholders(cardholderIds: readonly string[], change: { readonly by: string; readonly what: string }, write: () => void): void {
    const before = new Map(cardholderIds.map((id) => [id, credentialKeysOf(this.deps.store, id)]));
    writePeople(this.deps.store, this.index.cards, write);
    for (const [id, keys] of before) patchCardholder(this.index, this.deps.store, id, keys);
    // Someone else wrote people too since the index was read: bring theirs in now (or, when the
    // log cannot say who, read everyone again in the background; a read already running brings them).
    if (this.backgroundScan === null && this.index.cards.generation !== this.deps.store.cardholders.generation() && !this.catchUpPeople()) this.readPeopleInBackground(change.by);
    this.snapshots.changed();
    this.deps.journal.append({ type: 'config.changed', data: change });
  }

  /**
   * Brings the card index up to the database's people generation from the change log, re-reading
   * only the cardholders changed since [ACC-INDEX]. False when only a full read will do (logged
   * with the reason); the caller then reloads.
   */
  private catchUpPeople(): boolean {
    const startedMs = performance.now();
    const caughtUp = catchUpCardIndex(this.deps.store, this.index.cards);
    switch (caughtUp.kind) {
      case 'current':
        return true;
      case 'patched':
        this.deps.logger.info({ cardholders: caughtUp.cardholders, from: caughtUp.from, generation: caughtUp.generation, ms: Math.round(performance.now() - startedMs) }, 'card index: people changed elsewhere re-read from the change log');
        this.snapshots.changed();
        return true;
      case 'full-read':
        this.deps.logger.warn({ reason: caughtUp.reason }, `card index: reading every cardholder again: ${caughtUp.reason}`);
        return false;
      default: {
        const unreachable: never = caughtUp;
        return unreachable;
      }
    }
  }

  /** Replaces the live conditions (threat level, lockdowns); the next read decides on them. */
  setConditions(conditions: SiteConditions): void {
    this.conditions = { ...conditions, fullAreaEntryDoors: this.fullAreaEntryDoors };
    // A threat level that restricts a door suspends its free access hours.
    this.schedules?.evaluate();
  }

  /** [THR-CAPACITY] entry doors of areas at their maximum occupancy, from threat management; kept across setConditions(). */
  setFullAreaEntryDoors(doors: ReadonlySet<string>): void {
    this.fullAreaEntryDoors = doors;
    this.conditions = { ...this.conditions, fullAreaEntryDoors: doors };
  }

  /** Admin "forgive" for anti-passback [ACC-PASSBACK]: one cardholder or (null) everyone. */
  forgivePassback(cardholderId: string | null, by: string): number {
    return this.accessPath.forgivePassback(cardholderId, by);
  }

  get site(): SiteIndex {
    return this.index;
  }

  deviceAvailability(deviceId: string): 'online' | 'offline' | 'unknown' {
    return this.availability.get(deviceId) ?? 'unknown';
  }

  /** Devices on serial buses and GPIO lines report here (src/site/deviceBindings.ts). */
  handleDeviceReport(deviceId: string, report: DeviceReport): void {
    const device = this.index.devices.get(deviceId);
    if (device === undefined) return;
    switch (report.kind) {
      case 'signal':
        this.safety.heardFrom(device.id); // supervision: any input from a serial, GPIO or product device counts
        return this.onSignal(device, report.signal);
      case 'bad_input':
        return this.badInput(device.id, report.code, report.message, report.bytes);
      case 'link':
        return this.setAvailability(device.id, report.state, report.detail);
      case 'trouble': {
        // Journalled on change only: a reader repeats its status on every status poll.
        const previous = this.troubles.get(device.id) ?? null;
        if (previous === report.condition) return;
        this.troubles.set(device.id, report.condition);
        if (report.condition !== null || previous !== null) {
          // One vocabulary with supervision: trouble, then trouble_cleared naming what cleared.
          // A wiring fault on a supervised loop may be someone defeating the sensor: marked tamper-class.
          if (report.condition !== null) this.deps.journal.append({ type: 'device.trouble', device: device.id, reason: report.condition, ...(report.tamper === true ? { data: { device: device.id, class: 'tamper' } } : {}) });
          else this.deps.journal.append({ type: 'device.trouble_cleared', device: device.id, reason: previous, data: { device: device.id } });
        }
        return;
      }
      default: {
        const unreachable: never = report;
        return unreachable;
      }
    }
  }

  /** Hears every contact report (door contacts, fire-alarm inputs) just before the doors act on it. */
  onContact(listener: (device: DeviceRecord, state: 'open' | 'closed') => void): () => void {
    this.contactListeners.add(listener);
    return () => this.contactListeners.delete(listener);
  }

  /** Cards read at these readers go to their handler instead of the access path (they open no door). */
  claimReaders(claims: ReadonlyMap<string, (card: string) => void>): void {
    this.readerClaims = claims;
  }

  /** Commands for devices the router binds go through the device's own transport, not MQTT. */
  attachDeviceRouter(router: DeviceCommandRouter): void {
    this.router = router;
  }

  private onInput(topic: string, payload: Buffer): void {
    const deviceId = this.deps.topics.deviceIdOf(topic, 'input');
    const device = deviceId === undefined ? undefined : this.index.devices.get(deviceId);
    if (deviceId === undefined || device === undefined) {
      // Only reachable with an external broker, whose ACLs are not ours.
      this.badInput(deviceId ?? null, 'unknown_device', `input on ${topic.slice(0, 200)} from a device this site does not know`, payload.byteLength);
      return;
    }
    const codec = codecs.get(device.driver);
    if (codec === undefined) {
      this.badInput(device.id, 'unknown_driver', `no codec named "${device.driver}"`, payload.byteLength);
      return;
    }
    const decoded = codec.decode(payload);
    if (!decoded.ok) {
      this.badInput(device.id, decoded.error.code, decoded.error.message, payload.byteLength);
      return;
    }
    this.safety.heardFrom(device.id);
    this.onSignal(device, decoded.signal);
  }

  private onSignal(device: DeviceRecord, signal: DeviceSignal): void {
    this.lastSignalAtMs = performance.now();
    // [ACC-INDEX] fail closed: no credential is decided on the empty index of a start still reading the people.
    if (this.cardsPending && (signal.type === 'card' || signal.type === 'wiegand' || signal.type === 'pin')) {
      this.deps.logger.warn({ device: device.id }, 'a credential read before the card index was loaded: not decided');
      return;
    }
    switch (signal.type) {
      case 'card':
        if (device.kind !== 'reader') return this.badInput(device.id, 'unexpected_signal', `a ${device.kind} cannot send card reads`, 0);
        if (this.readerClaims.has(device.id)) return this.readerClaims.get(device.id)?.(signal.card);
        return this.accessPath.onCard(device, signal.card);
      case 'wiegand':
        if (device.kind !== 'reader') return this.badInput(device.id, 'unexpected_signal', `a ${device.kind} cannot send Wiegand frames`, 0);
        return this.accessPath.onWiegand(device, signal.bits);
      case 'pin':
        if (device.kind !== 'reader') return this.badInput(device.id, 'unexpected_signal', `a ${device.kind} cannot send PINs`, 0);
        return this.accessPath.onPin(device, signal.pin, this.deps.store.pins);
      case 'button':
        if (device.kind === 'exit-button' && signal.state === 'pressed') return this.doors.exit(device.id);
        if (device.kind === 'panic-button' && signal.state === 'pressed') this.safety.panic(device);
        if (device.kind === 'threat-button' && signal.state === 'pressed' && !this.safety.threatButton(device)) {
          return this.badInput(device.id, 'unexpected_signal', 'a threat button that no threat level names (threatLevels[].buttons)', 0);
        }
        return;
      case 'tamper':
        this.safety.tamper(device, signal.state, this.doorOfDevice(device.id));
        return;
      case 'contact':
        for (const listener of this.contactListeners) {
          try {
            listener(device, signal.state);
          } catch (error) {
            this.deps.logger.error({ err: error, device: device.id }, 'a contact listener failed');
          }
        }
        if (device.kind === 'door-contact') return this.doors.contact(device.id, signal.state);
        if (device.kind === 'fire-alarm') return this.onFireAlarm(device.id, signal.state === 'open');
        return this.badInput(device.id, 'unexpected_signal', `a ${device.kind} cannot send contact states`, 0);
      case 'heartbeat':
        return;
      default: {
        const unreachable: never = signal;
        return unreachable;
      }
    }
  }

  /** The door a device belongs to (reader, strike, contact or exit), for where an alarm is. */
  private doorOfDevice(deviceId: string): string | null {
    const byReader = this.index.doorByReader.get(deviceId);
    if (byReader !== undefined) return byReader.id;
    const byHardware = this.doors.doorOfContact(deviceId) ?? this.doors.doorOfExit(deviceId);
    if (byHardware !== undefined) return byHardware;
    for (const door of this.index.doors.values()) if (door.strikeDeviceId === deviceId) return door.id;
    return null;
  }

  /** A fire-alarm input opens (its contact breaks) in alarm; any one in alarm releases fail-safe doors [SAFE-FIRE]. */
  private onFireAlarm(deviceId: string, active: boolean): void {
    if (active === this.fireAlarms.has(deviceId)) return;
    if (active) this.fireAlarms.add(deviceId);
    else this.fireAlarms.delete(deviceId);
    this.doors.setFireAlarm(this.fireAlarms.size > 0);
  }

  /**
   * Momentary commands go at QoS 0 on purpose: a strike pulse that a broker delivered late,
   * after a device reconnects, would open the door for nobody.
   */
  command(deviceId: string, command: DeviceCommand, onSent?: (error?: Error) => void): void {
    const device = this.index.devices.get(deviceId);
    if (device !== undefined && this.router?.routes(device) === true) return this.router.command(device, command, onSent);
    const codec = codecs.get(this.index.devices.get(deviceId)?.driver ?? 'json');
    if (codec === undefined) throw new Error(`device ${deviceId} has no known codec`);
    this.deps.transport.publish(this.deps.topics.deviceOutput(deviceId), codec.encode(command), { qos: 0 }, onSent);
  }

  private onAvailability(topic: string, payload: Buffer): void {
    const deviceId = this.deps.topics.deviceIdOf(topic, 'availability');
    if (deviceId === undefined || !this.index.devices.has(deviceId)) return;
    const state = payload.toString('utf8').trim();
    if (state !== 'online' && state !== 'offline') {
      this.badInput(deviceId, 'bad_field', 'availability: expected online or offline', payload.byteLength);
      return;
    }
    this.setAvailability(deviceId, state);
  }

  private setAvailability(deviceId: string, state: 'online' | 'offline', detail?: string): void {
    if (state === 'online') this.safety.heardFrom(deviceId);
    if (this.availability.get(deviceId) === state) return;
    this.availability.set(deviceId, state);
    this.availabilityGeneration += 1;
    for (const listener of this.availabilityListeners) listener();
    if (state === 'online') this.doors.strikeOnline(deviceId);
    this.deps.journal.append({ type: state === 'online' ? 'device.online' : 'device.offline', device: deviceId, ...(detail === undefined ? {} : { data: { detail: detail.slice(0, 200) } }) });
  }

  private badInput(deviceId: string | null, code: string, message: string, bytes: number): void {
    const { metrics, logger, journal } = this.deps;
    metrics.increment('guardpost_bad_input_total', { device: deviceId ?? 'unknown', code });
    logger.warn({ device: deviceId, code, bytes }, `dropped bad input: ${message}`);
    journal.append({ type: 'device.bad_input', device: deviceId, reason: code, data: { message, bytes } });
  }
}

export interface DeviceCommandRouter {
  routes(device: DeviceRecord): boolean;
  /** Site data changed: rebind devices whose wiring changed. */
  siteChanged?(): void;
  command(device: DeviceRecord, command: DeviceCommand, onSent?: (error?: Error) => void): void;
}

/** When the newest journalled event happened (undefined for an empty journal). */
function newestEventMs(journal: Journal): number | undefined {
  const newest = journal.query({ limit: 1 })[0];
  return newest === undefined ? undefined : Date.parse(newest.time);
}
