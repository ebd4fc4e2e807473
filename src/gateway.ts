import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './api/app.js';
import { AuthService } from './auth/service.js';
import { ApiFront } from './api/front/index.js';
import { DEFAULT_RATE_LIMITS } from './api/rateLimit.js';
import { listenOnSocket } from './api/server.js';
import { loadTls } from './api/tls.js';
import type { ReadinessCheck } from './api/routes/health.js';
import { loadSiteFile, type LoadedConfig } from './config/load.js';
import { GuardpostError } from './errors.js';
import { startForwarders, type Forwarders, type ForwarderStatus } from './forwarders/index.js';
import { Journal, type BacklogStatus, type Clock } from './journal/index.js';
import { CardholderListThread } from './store/cardholderListThread.js';
import { startRetention, type Retention } from './journal/retention.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { drainForStop } from './ops/shutdown.js';
import { claimStateDir, startBackupSchedule, type BackupSchedule } from './ops/backup.js';
import { DeviceBrokerPolicy, type MqttPrincipal } from './site/brokerPolicy.js';
import { SiteRuntime } from './site/runtime.js';
import { SiteService } from './site/siteService.js';
import { DeviceBindings, endOsdpInstallMode } from './site/deviceBindings.js';
import { ThreatManagement } from './threat/service.js';
import { realTimers } from './doors/timers.js';
import { createOnoffBackend, type GpioBackend } from './transports/gpio.js';
import { Topics } from './site/topics.js';
import { startCheckpointer } from './store/checkpointer.js';
import { Store } from './store/index.js';
import { EmbeddedBroker } from './transports/embeddedBroker.js';
import { registerGatewayMetrics, registerProcessMetrics } from './processMetrics.js';
import { brokerListeners } from './ops/brokerListeners.js';
import { HomeAssistant } from './ha/homeAssistant.js';
import { BridgeTopics } from './ops/bridgeTopics.js';
import { GUARDPOST_VERSION } from './ops/version.js';
import { ExternalClient } from './transports/externalClient.js';
import type { MqttTransport } from './transports/mqtt.js';

export interface GatewayOptions {
  readonly loaded: LoadedConfig;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** GPIO backend (tests pass a FakeGpio); default: onoff over sysfs, opened only if a device needs it. */
  readonly gpio?: GpioBackend;
}

export interface Gateway {
  readonly mqttPort: number | null;
  /** Every embedded broker listener's bound port (mqtt, mqtts, ws, wss); empty with an external broker. */
  readonly mqttPorts: Partial<Record<'mqtt' | 'mqtts' | 'ws' | 'wss', number>>;
  readonly httpPort: number;
  /** The HTTP front's thread handle (api/front). */
  readonly front: ApiFront;
  readonly store: Store;
  readonly journal: Journal;
  readonly auth: AuthService;
  readonly runtime: SiteRuntime;
  readonly metrics: Metrics;
  readonly app: FastifyInstance;
  readonly forwarders: Forwarders;
  readonly retention: Retention;
  readonly backups: BackupSchedule;
  readonly threat: ThreatManagement;
  stop(): Promise<void>;
}

/** How often the WAL is folded back into the database, off the event loop. */
const WAL_CHECKPOINT_INTERVAL_MS = 1_000;

/** How long a stop waits for a database locked by another process to take the journal's backlog (within STOP_BUDGET_MS). */
const JOURNAL_DRAIN_MS = 2_000;

/** How often the runtime looks for site data committed by another process (the CLI). */
const EXTERNAL_CHANGE_POLL_MS = 1_000;

/** The composition root: opens the store, starts MQTT, the site runtime and the HTTP API. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config, stateDir, siteFile } = options.loaded;
  const logger = options.logger ?? createLogger(config.log.level, undefined, { modules: config.log.modules, format: config.log.format });
  const clock = options.clock ?? Date.now;
  const metrics = new Metrics();
  const topics = new Topics(config.mqtt.prefix);

  // The site file is checked on every start, not just the first: a broken file is found at once.
  const siteData = siteFile === undefined ? undefined : loadSiteFile(siteFile);
  // Like the site file, a certificate that cannot be read stops the start before anything opens.
  const tls = loadTls(config.http.tls, options.loaded.dir);
  const store = Store.open(stateDir);
  // `guardpost restore` refuses to run under a live gateway: it looks for this pid.
  const releaseStateDir = claimStateDir(stateDir);
  const cleanups: (() => Promise<void> | void)[] = [releaseStateDir, () => store.close()];
  const stopAll = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };

  try {
    if (!store.hasSiteData()) {
      if (siteData === undefined) {
        throw new GuardpostError('GP_ERR_CONFIG_INVALID', `no site data in ${stateDir} and no siteFile in the config to import it from`);
      }
      store.importSiteData(siteData);
      logger.info({ siteFile }, 'imported site data on first start');
    }
    const site = store.site();
    if (site === undefined) throw new GuardpostError('GP_ERR_STORE', 'site identity missing from the store');

    const checkpointer = startCheckpointer(store.db, WAL_CHECKPOINT_INTERVAL_MS, (message) => logger.error(message));
    cleanups.push(() => checkpointer.stop());

    const journalLogger = logger.child({ module: 'journal' });
    const journal = new Journal(store.db, site.id, clock, { logger: journalLogger });
    // Runs after everything started later has stopped (system.stopped included) [JRN-LOCKED].
    cleanups.push(async () => {
      await journal.drain(JOURNAL_DRAIN_MS);
    });
    const auth = new AuthService({ store, journal, clock });
    const demoAdmin = await auth.ensureAdmin(config.demo);
    // Forwarders read the journal only; they start first so nothing appended later waits for them.
    // The loops start once the rest is up (below): replaying the journal for threat management or
    // loading a large site must not sit between the batches of a catch-up.
    const forwarders = startForwarders({ configs: config.forwarders, journal, site: site.id, logger, metrics, clock, deferStart: true });
    cleanups.push(() => forwarders.stop());
    const retention = startRetention({
      db: store.db,
      policy: { maxAgeMs: config.journal.retentionDays * 86_400_000, maxEvents: config.journal.maxEvents },
      intervalMs: config.journal.pruneIntervalMs,
      clock,
      deliveredSeq: () => forwarders.deliveredSeq(),
      onPruned: (result) => {
        if (result.heldBack > 0) logger.warn({ heldBack: result.heldBack }, 'journal retention held back by forwarders that have not delivered yet');
        if (result.deleted > 0) journal.append({ type: 'journal.pruned', data: { deleted: result.deleted, heldBack: result.heldBack } });
      },
      onError: (error) => logger.error({ err: error }, 'journal retention failed'),
    });
    cleanups.push(() => retention.stop());
    const backups: BackupSchedule = startBackupSchedule({
      db: store.db,
      stateDir,
      dir: path.resolve(stateDir, config.backup.dir),
      site: site.id,
      intervalMs: config.backup.intervalMinutes * 60_000,
      keep: config.backup.keep,
      clock,
      logger: logger.child({ module: 'backup' }),
      journal,
    });
    cleanups.push(() => backups.stop());
    metrics.define('guardpost_mqtt_refused_total', 'MQTT connections, publishes and subscriptions refused by the broker');
    cleanups.push(registerProcessMetrics(metrics));

    // The policy needs the runtime's device index, the runtime needs the transport: late-bind.
    let runtime: SiteRuntime | undefined;
    let transport: MqttTransport;
    let embedded: EmbeddedBroker<MqttPrincipal> | undefined;
    if (config.mqtt.mode === 'embedded') {
      const policy = new DeviceBrokerPolicy({
        demo: config.demo,
        topics,
        findDevice: (id) => runtime?.site.devices.get(id),
        findOperator: (username) => config.mqtt.operators.find((operator) => operator.username === username),
        findProductBridge: (username) => config.mqtt.productBridges.find((bridge) => bridge.username === username),
        ...(config.homeAssistant.enabled && config.homeAssistant.operator !== undefined ? { homeAssistant: { operator: config.homeAssistant.operator, discoveryPrefix: config.homeAssistant.discoveryPrefix } } : {}),
        onRefused: (refusal) => {
          metrics.increment('guardpost_mqtt_refused_total', { action: refusal.action });
          const device = refusal.principal?.kind === 'device' ? refusal.principal.deviceId : null;
          // A product bridge or an operator is named by its login, as a device is by its id.
          const login = refusal.principal?.kind === 'product-bridge' || refusal.principal?.kind === 'operator' ? refusal.principal.username : undefined;
          logger.warn({ action: refusal.action, clientId: refusal.clientId, username: refusal.username, device, topic: refusal.topic }, 'MQTT request refused');
          journal.append({
            type: 'device.unauthorized',
            device,
            reason: `${refusal.action}_refused`,
            data: { action: refusal.action, clientId: refusal.clientId.slice(0, 64), username: (refusal.username ?? login)?.slice(0, 64) ?? null, topic: refusal.topic?.slice(0, 200) ?? null },
          });
        },
      });
      metrics.define('guardpost_mqtt_limited_total', 'MQTT clients refused or cut off for breaking a broker limit');
      // One journal entry per address and reason a minute: a flood must not flood the journal too.
      const journalledLimits = new Map<string, number>();
      embedded = new EmbeddedBroker({
        host: config.mqtt.host,
        port: config.mqtt.port,
        policy,
        logger: logger.child({ module: 'broker' }),
        limits: config.mqtt.limits,
        onLimit: (limit) => {
          metrics.increment('guardpost_mqtt_limited_total', { reason: limit.reason });
          const key = `${limit.address}|${limit.reason}`;
          const nowMs = clock();
          if ((journalledLimits.get(key) ?? -Infinity) > nowMs - 60_000) return;
          if (journalledLimits.size > 10_000) journalledLimits.clear();
          journalledLimits.set(key, nowMs);
          journal.append({ type: 'broker.limit_exceeded', reason: limit.reason, data: { address: limit.address, clientId: limit.clientId?.slice(0, 64) ?? null, detail: limit.detail.slice(0, 200) } });
        },
        ...brokerListeners(config.mqtt, options.loaded.dir),
        onTlsRefused: (listener) => metrics.increment('guardpost_mqtt_refused_total', { action: `tls_${listener}` }),
      });
      transport = embedded;
    } else {
      transport = new ExternalClient({
        url: config.mqtt.url ?? '',
        clientId: config.mqtt.clientId ?? `guardpost-${config.mqtt.prefix}`,
        username: config.mqtt.username,
        password: config.mqtt.password,
        will: { topic: topics.bridgeState, payload: JSON.stringify({ state: 'offline' }) },
        logger: logger.child({ module: 'mqtt' }),
      });
    }
    await transport.start();
    cleanups.push(() => transport.stop());

    runtime = new SiteRuntime({ store, journal, transport, topics, logger: logger.child({ module: 'site' }), metrics, clock });
    await runtime.start();
    runtime.watchExternalChanges(EXTERNAL_CHANGE_POLL_MS);
    const startedRuntime = runtime;
    registerGatewayMetrics({ metrics, journal, store, forwarders, runtime: startedRuntime, broker: embedded });
    cleanups.push(() => startedRuntime.stop());
    // Threat management (issue 12) listens to the journal after the fact, off the badge path.
    const threat = new ThreatManagement({
      store,
      journal,
      alarms: runtime.safety.alarms,
      logger: logger.child({ module: 'threat' }),
      metrics,
      clock,
      timers: realTimers,
      // [SEC-CARD-DIGEST] the index is keyed by card digests.
      cardholderOfCard: (card) => (store.cardDigests === null ? null : (startedRuntime.site.access.credentialsByCard.get(store.cardDigests.ofCard(card))?.cardholderId ?? null)),
      claimReaders: (claims) => startedRuntime.claimReaders(claims),
      setFullAreaEntryDoors: (doors) => startedRuntime.setFullAreaEntryDoors(doors),
      command: (deviceId, command) => startedRuntime.command(deviceId, command),
    });
    threat.start();
    const stopContacts = runtime.onContact((device, state) => threat.contact(device, state));
    cleanups.push(() => {
      stopContacts();
      threat.stop();
    });

    const gpioConfig = config.gpio;
    let siteChanges: SiteService | undefined; // made below, with the API
    const keysInstalledEarly: { id: string; alreadyHeld: boolean }[] = [];
    const bindings = new DeviceBindings({
      devices: () => startedRuntime.site.devices.values(),
      buses: config.serial?.buses ?? [],
      gpio: async () => options.gpio ?? createOnoffBackend(gpioConfig?.sysfsRoot ?? '/sys/class/gpio', gpioConfig?.chipLabel),
      report: (device, report) => startedRuntime.handleDeviceReport(device.id, report),
      mqtt: transport,
      logger: logger.child({ module: 'devices' }),
      clock,
      openOsdpKey: (deviceId, stored) => {
        if (store.osdpKeys === null) throw new GuardpostError('GP_ERR_STORE', 'no OSDP key file');
        return store.osdpKeys.open(deviceId, stored);
      },
      osdpKeyInstalled: (device, alreadyHeld) => {
        if (siteChanges !== undefined) endOsdpInstallMode({ site: siteChanges, journal }, device.id, alreadyHeld);
        else keysInstalledEarly.push({ id: device.id, alreadyHeld });
      },
    });
    startedRuntime.attachDeviceRouter(bindings);
    cleanups.push(() => bindings.stop());
    await bindings.start();

    const bridgeTopics = new BridgeTopics({
      transport,
      journal,
      runtime: startedRuntime,
      prefix: config.mqtt.prefix,
      info: () => ({
        version: GUARDPOST_VERSION,
        site: { id: site.id, name: site.name, timezone: site.timezone },
        schema_version: store.db.pragma('user_version', { simple: true }) as number,
        log_level: config.log.level,
        demo: config.demo,
        mqtt: { mode: config.mqtt.mode, prefix: config.mqtt.prefix, listeners: embedded?.ports ?? {} },
        home_assistant: config.homeAssistant.enabled,
        restart_required: false,
        node: process.version,
      }),
    });
    bridgeTopics.start();
    cleanups.push(() => bridgeTopics.stop());

    if (config.homeAssistant.enabled) {
      const homeAssistant = new HomeAssistant({
        transport,
        journal,
        runtime: startedRuntime,
        logger: logger.child({ module: 'home-assistant' }),
        metrics,
        prefix: config.mqtt.prefix,
        site,
        discoveryPrefix: config.homeAssistant.discoveryPrefix,
        operator: config.homeAssistant.operator ?? '',
        armAwayLevel: config.homeAssistant.armAwayLevel,
        version: GUARDPOST_VERSION,
        doorContacts: () => new Map(store.safety.listDoorHardware().map((door) => [door.doorId, door.contactDeviceId])),
      });
      await homeAssistant.start();
      cleanups.push(() => homeAssistant.stop());
    }

    const readiness = (): ReadinessCheck[] => [
      { name: 'mqtt', ready: transport.isReady(), detail: transport.mode },
      { name: 'store', ready: store.db.open },
      // Events waiting for a database locked by another process: doors go on, so it never gates readiness.
      { name: 'journal', ready: true, detail: journalDetail(journal.backlogStatus(), clock()), data: journal.backlogStatus() },
      // An incident-system outage does not stop doors: forwarders report, they never gate readiness.
      ...forwarders.statuses().map((status) => ({ name: `forwarder:${status.id}`, ready: true, detail: forwarderDetail(status), data: status })),
    ];
    // [SITE-LIST] The cardholder list's queries on their own thread: a broad search at panel scale takes a second.
    const cardholderPages = new CardholderListThread(stateDir);
    cleanups.push(() => cardholderPages.stop());
    const siteService = new SiteService({
      store,
      clock,
      onChanged: (change) => startedRuntime.reload(change),
      onRulesChanged: (change) => startedRuntime.reloadRules(change),
      changeCardholders: (ids, change, write) => startedRuntime.changeCardholders(ids, change, write),
      onPeopleWritten: () => startedRuntime.peopleWritten('site import'),
      stateDir,
      cardholderPages,
    });
    siteChanges = siteService;
    threat.attachSiteService(siteService);
    for (const { id, alreadyHeld } of keysInstalledEarly.splice(0)) endOsdpInstallMode({ site: siteService, journal }, id, alreadyHeld);
    // The API's sockets and hot answers live on their own thread (api/front, [API-FRONT]); fastify
    // answers the rest here, on a private socket only that thread can reach.
    const front = ApiFront.prepare();
    const app = await buildApp({ store, auth, site: siteService, journal, runtime, metrics, logger, demo: config.demo, readiness, forwarders, rateLimits: config.http.rateLimits, tls, corsOrigins: config.http.cors?.origins, clock, threat, behindFront: true });
    let apiClosed: Promise<void> | undefined;
    const closeApi = (): Promise<void> =>
      (apiClosed ??= (async () => {
        front.stopAccepting();
        await app.close();
        await front.close();
      })());
    cleanups.push(closeApi);
    await listenOnSocket(app, front.upstreamSocket);
    runtime.availabilityListeners.add(() => front.availabilityChanged());
    auth.onCredentialsChanged(() => front.credentialsChanged());
    await front.start({
      host: config.http.host,
      port: config.http.port,
      ...(tls === undefined ? {} : { tls }),
      databaseFile: store.db.memory ? null : store.db.name,
      readPerMinute: (config.http.rateLimits ?? DEFAULT_RATE_LIMITS).readPerMinute,
      securityHeaders: app.securityHeaders,
      bodyLimits: app.bodyLimits,
      logger: logger.child({ module: 'api' }),
      metrics,
    });
    const httpPort = front.port;
    forwarders.start();

    const mqttPort = embedded?.port ?? null;
    journal.append({ type: 'system.started', data: { mqtt: config.mqtt.mode, demo: config.demo } });
    // Runs first on stop [OPS-SHUTDOWN]: no new reads or commands, then system.stopped and offline.
    cleanups.push(() =>
      drainForStop({
        broker: embedded,
        bindings,
        closeApi,
        journalStopped: () => journal.append({ type: 'system.stopped' }),
        publishOffline: (onSent) => transport.publish(topics.bridgeState, JSON.stringify({ state: 'offline' }), { qos: 1, retain: true }, onSent),
        onOfflineUnconfirmed: (waitedMs) => logger.warn({ waitedMs }, 'stopping: the broker did not confirm the retained offline state in time; subscribers may not see it'),
      }),
    );
    logger.info(
      {
        mqtt: config.mqtt.mode === 'embedded' ? `mqtt://${config.mqtt.host}:${mqttPort}` : config.mqtt.url,
        http: `${tls === undefined ? 'http' : 'https'}://${config.http.host}:${httpPort}`,
        mqttListeners: embedded?.ports ?? {},
        stateDir,
        site: site.id,
        demo: config.demo,
      },
      `guardpost is running: MQTT ${config.mqtt.mode === 'embedded' ? `broker on port ${mqttPort}` : `client of ${config.mqtt.url}`}, HTTP API on ${tls === undefined ? 'http' : 'https'}://${config.http.host}:${httpPort}`,
    );

    if (demoAdmin !== null) {
      // Shown once, never stored in clear: the demo has no fixed default password.
      logger.warn(`demo admin created: log in to the API as "admin" with password ${demoAdmin.generatedPassword} (shown only now)`);
    }
    return { mqttPort, mqttPorts: embedded?.ports ?? {}, httpPort, front, store, journal, auth, runtime, metrics, app, forwarders, retention, backups, threat, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function journalDetail(status: BacklogStatus, nowMs: number): string {
  if (status.pending === 0) return status.droppedTotal === 0 ? 'every event written' : `every event written; ${status.droppedTotal} dropped earlier past the backlog's cap (see journal.overflowed)`;
  return `${status.pending} events waiting in memory for the database (locked by another process; oldest ${Math.round((nowMs - (status.oldestMs ?? nowMs)) / 1000)} s ago)`;
}

function forwarderDetail(status: ForwarderStatus): string {
  const lag = `${status.state}, ${status.lagEvents} events (${status.lagSeconds} s) behind`;
  return status.lastError === null ? lag : `${lag}; last error at ${status.lastError.at}: ${status.lastError.message}`;
}
