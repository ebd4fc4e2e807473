import type { FastifyInstance } from 'fastify';
import { buildApp } from './api/app.js';
import { AuthService } from './auth/service.js';
import { listen } from './api/server.js';
import type { ReadinessCheck } from './api/routes/health.js';
import { loadSiteFile, type LoadedConfig } from './config/load.js';
import { GuardpostError } from './errors.js';
import { startForwarders, type Forwarders, type ForwarderStatus } from './forwarders/index.js';
import { Journal, type Clock } from './journal/index.js';
import { startRetention, type Retention } from './journal/retention.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { DeviceBrokerPolicy, type MqttPrincipal } from './site/brokerPolicy.js';
import { SiteRuntime } from './site/runtime.js';
import { SiteService } from './site/siteService.js';
import { ThreatManagement } from './threat/service.js';
import { realTimers } from './doors/timers.js';
import { canonicalCardNumber } from './access/credentials.js';
import { DeviceBindings } from './site/deviceBindings.js';
import { createOnoffBackend, type GpioBackend } from './transports/gpio.js';
import { Topics } from './site/topics.js';
import { startCheckpointer } from './store/checkpointer.js';
import { Store } from './store/index.js';
import { EmbeddedBroker } from './transports/embeddedBroker.js';
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
  readonly httpPort: number;
  readonly store: Store;
  readonly journal: Journal;
  readonly auth: AuthService;
  readonly runtime: SiteRuntime;
  readonly metrics: Metrics;
  readonly app: FastifyInstance;
  readonly forwarders: Forwarders;
  readonly retention: Retention;
  readonly threat: ThreatManagement;
  stop(): Promise<void>;
}

/** How often the WAL is folded back into the database, off the event loop. */
const WAL_CHECKPOINT_INTERVAL_MS = 1_000;

/** How often the runtime looks for site data committed by another process (the CLI). */
const EXTERNAL_CHANGE_POLL_MS = 1_000;

/** The composition root: opens the store, starts MQTT, the site runtime and the HTTP API. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config, stateDir, siteFile } = options.loaded;
  const logger = options.logger ?? createLogger(config.log.level);
  const clock = options.clock ?? Date.now;
  const metrics = new Metrics();
  const topics = new Topics(config.mqtt.prefix);

  // The site file is checked on every start, not just the first: a broken file is found at once.
  const siteData = siteFile === undefined ? undefined : loadSiteFile(siteFile);
  const store = Store.open(stateDir);
  const cleanups: (() => Promise<void> | void)[] = [() => store.close()];
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

    const journal = new Journal(store.db, site.id, clock);
    const auth = new AuthService({ store, journal, clock });
    const demoAdmin = await auth.ensureAdmin(config.demo);
    // Forwarders read the journal only; they start first so nothing appended later waits for them.
    const forwarders = startForwarders({ configs: config.forwarders, journal, site: site.id, logger, metrics, clock });
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
    metrics.define('guardpost_mqtt_refused_total', 'MQTT connections, publishes and subscriptions refused by the broker');

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
        onRefused: (refusal) => {
          metrics.increment('guardpost_mqtt_refused_total', { action: refusal.action });
          const device = refusal.principal?.kind === 'device' ? refusal.principal.deviceId : null;
          logger.warn({ action: refusal.action, clientId: refusal.clientId, username: refusal.username, device, topic: refusal.topic }, 'MQTT request refused');
          journal.append({
            type: 'device.unauthorized',
            device,
            reason: `${refusal.action}_refused`,
            data: { action: refusal.action, clientId: refusal.clientId.slice(0, 64), username: refusal.username?.slice(0, 64) ?? null, topic: refusal.topic?.slice(0, 200) ?? null },
          });
        },
      });
      embedded = new EmbeddedBroker({ host: config.mqtt.host, port: config.mqtt.port, policy, logger: logger.child({ module: 'broker' }) });
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
      cardholderOfCard: (card) => startedRuntime.site.access.credentialsByCard.get(canonicalCardNumber(card))?.cardholderId ?? null,
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
    const bindings = new DeviceBindings({
      devices: () => startedRuntime.site.devices.values(),
      buses: config.serial?.buses ?? [],
      gpio: async () => options.gpio ?? createOnoffBackend(gpioConfig?.sysfsRoot ?? '/sys/class/gpio', gpioConfig?.chipLabel),
      report: (device, report) => startedRuntime.handleDeviceReport(device.id, report),
      mqtt: transport,
      logger: logger.child({ module: 'devices' }),
      clock,
    });
    startedRuntime.attachDeviceRouter(bindings);
    cleanups.push(() => bindings.stop());
    await bindings.start();

    const readiness = (): ReadinessCheck[] => [
      { name: 'mqtt', ready: transport.isReady(), detail: transport.mode },
      { name: 'store', ready: store.db.open },
      // An incident-system outage does not stop doors: forwarders report, they never gate readiness.
      ...forwarders.statuses().map((status) => ({ name: `forwarder:${status.id}`, ready: true, detail: forwarderDetail(status), data: status })),
    ];
    const siteService = new SiteService({
      store,
      clock,
      onChanged: (change) => startedRuntime.reload(change),
      changeCardholders: (ids, change, write) => startedRuntime.changeCardholders(ids, change, write),
    });
    threat.attachSiteService(siteService);
    const app = await buildApp({ store, auth, site: siteService, journal, runtime, metrics, logger, demo: config.demo, readiness, forwarders, threat });
    cleanups.push(() => app.close());
    const httpPort = await listen(app, config.http.host, config.http.port);

    const mqttPort = embedded?.port ?? null;
    journal.append({ type: 'system.started', data: { mqtt: config.mqtt.mode, demo: config.demo } });
    cleanups.push(() => {
      journal.append({ type: 'system.stopped' });
    });
    logger.info(
      {
        mqtt: config.mqtt.mode === 'embedded' ? `mqtt://${config.mqtt.host}:${mqttPort}` : config.mqtt.url,
        http: `http://${config.http.host}:${httpPort}`,
        stateDir,
        site: site.id,
        demo: config.demo,
      },
      `guardpost is running: MQTT ${config.mqtt.mode === 'embedded' ? `broker on port ${mqttPort}` : `client of ${config.mqtt.url}`}, HTTP API on http://${config.http.host}:${httpPort}`,
    );

    if (demoAdmin !== null) {
      // Shown once, never stored in clear: the demo has no fixed default password.
      logger.warn(`demo admin created: log in to the API as "admin" with password ${demoAdmin.generatedPassword} (shown only now)`);
    }
    return { mqttPort, httpPort, store, journal, auth, runtime, metrics, app, forwarders, retention, threat, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function forwarderDetail(status: ForwarderStatus): string {
  const lag = `${status.state}, ${status.lagEvents} events (${status.lagSeconds} s) behind`;
  return status.lastError === null ? lag : `${lag}; last error at ${status.lastError.at}: ${status.lastError.message}`;
}
