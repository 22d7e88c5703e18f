import { fileURLToPath } from 'node:url';
import type { Config } from './config/config.ts';
import { systemClock, type Clock } from './core/clock.ts';
import { EventBus } from './core/event-bus.ts';
import { createLogger, type Logger } from './core/logger.ts';
import { createMetrics, type Metrics } from './core/metrics.ts';
import type { DeviceBroker } from './broker/broker.ts';
import type { DeviceDirectory } from './devices/directory.ts';
import type { Ingest } from './ingest/ingest.ts';
import type { Onboarding } from './onboarding/onboarding.ts';
import { loadProfileDirectory, type ProfileRegistry } from './profiles/registry.ts';
import { ProfileCatalogue } from './profiles/catalogue.ts';
import type { Api } from './api/context.ts';
import type { LiveStream } from './api/live.ts';
import type { Db } from './store/database.ts';
import type { StorageHealth } from './store/storage-health.ts';
import type { TelemetrySink } from './telemetry/point.ts';
import type { TelemetryWriter } from './telemetry/writer.ts';
import type { OperationsRecorder } from './telemetry/operations.ts';
import type { AlarmService } from './alarms/service.ts';
import type { AlarmEngine } from './alarms/engine.ts';
import type { OutboxWorker, RetryPolicy } from './notify/worker.ts';
import type { RuleEvaluator } from './rules/evaluator.ts';
import type { Jobs } from './jobs/jobs.ts';
import type { Accounts } from './accounts/accounts.ts';
import type { VisitService } from './care/visits.ts';
import type { Closes } from './modules/module.ts';
import { storageModule, type Repositories } from './modules/storage.ts';
import { relayLiveStream } from './api/live-relay.ts';
import { devicesModule } from './modules/devices.ts';
import { alarmCoreModule } from './modules/alarm-core.ts';
import { ingestModule } from './modules/ingest.ts';
import { careModule, type CareModule } from './modules/care.ts';
import { telemetryModule } from './modules/telemetry.ts';
import { mqttModule } from './modules/mqtt.ts';
import { notifyModule, type NotifyModule } from './modules/notify.ts';
import { peopleModule, type FirstStart } from './modules/people.ts';
import { jobsModule } from './modules/jobs.ts';
import { apiModule } from './modules/api.ts';
import { NodeWatch } from './devices/node-watch.ts';

export { EVENT_DEDUPE_WINDOW_MS } from './modules/ingest.ts';
export { brokerLimits } from './modules/mqtt.ts';

export const defaultProfilesDir = fileURLToPath(new URL('../device-profiles/', import.meta.url));

export interface BuildOptions {
  config: Config;
  clock?: Clock;
  log?: Logger;
  profilesDir?: string;
  /** Overrides for tests: e.g. a short spool retry. */
  telemetry?: { retryMinMs?: number; retryMaxMs?: number };
  /** Overrides for tests: notification retries, the engine's timer (0 = no timer: the test drives time). */
  alarms?: { retry?: RetryPolicy; tickMs?: number };
  /** false: do not schedule the cron jobs (tests run them directly); 'onClock': run them on the gateway's clock (simulated time). */
  jobs?: boolean | 'onClock';
  /**
   * Device ownership between nodes (store/device-owners.ts): a device's rules
   * run on the node it is connected to, taken with an epoch at CONNECT. On
   * when the store is PostgreSQL (several nodes); true turns it on over the
   * embedded database too, to exercise it on one node.
   */
  ownership?: boolean;
}

export interface CarebellApp {
  config: Config;
  clock: Clock;
  log: Logger;
  /** The embedded database; null when the store is PostgreSQL (CAREBELL_DATABASE_URL). */
  db: Db | null;
  bus: EventBus;
  metrics: Metrics;
  profiles: ProfileRegistry;
  directory: DeviceDirectory;
  ingest: Ingest;
  broker: DeviceBroker;
  telemetry: TelemetryWriter;
  sink: TelemetrySink;
  /** Alarm lifecycle, fleet state and dead-letter series for Grafana; only when telemetry goes to InfluxDB. */
  operations: OperationsRecorder | undefined;
  onboarding: Onboarding;
  api: Api;
  alarms: AlarmService;
  engine: AlarmEngine;
  evaluator: RuleEvaluator;
  outbox: OutboxWorker;
  /** The live stream: alarm and device events for SSE clients, and the duty consoles connected to it. */
  live: LiveStream;
  jobs: Jobs;
  webhookSecret: string;
  repos: Repositories;
  /** On a first start, once listening: the admin account and token to print once (modules/people.ts). */
  firstStart(): Promise<FirstStart>;
  accounts: Accounts;
  /** The care programmes: visits, service requests, device tests (modules/care.ts). */
  care: CareModule;
  /** The care programme's visits (care/visits.ts). */
  visits: VisitService;
  /** Whether the data directory takes writes (a full disk is survived, see storage-health.ts). */
  storage: StorageHealth;
  /** Several nodes on PostgreSQL: this node's heartbeat and the adoption of dead nodes' devices. */
  nodeWatch: NodeWatch | undefined;
  close(): Promise<void>;
}

/**
 * Builds the whole gateway from its configuration, module by module, each
 * given what it needs (src/modules/). Opens no sockets: see listen.ts.
 */
export async function buildApp(opts: BuildOptions): Promise<CarebellApp> {
  const { config } = opts;
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? createLogger(config.logLevel, config.nodeId);
  const metrics = createMetrics({ defaultMetrics: true });
  const bus = new EventBus(log);
  const basics = { clock, log, metrics, bus };
  const profiles = loadProfileDirectory(opts.profilesDir ?? defaultProfilesDir);
  const catalogue = new ProfileCatalogue(profiles, config.dataDir);

  const storage = await storageModule({ ...basics, config });
  await Promise.all([storage.repos.stations.load(), storage.repos.providers.load(), storage.repos.residents.load()]);
  const devices = await devicesModule({ ...basics, storage, profiles, node: storage.sql.dialect === 'postgres' ? config.nodeId : undefined });
  // The alarm core owes work to the engine, which needs the broker (device commands): bound once the engine exists.
  let notify: NotifyModule | undefined;
  const ownership = opts.ownership === true || storage.sql.dialect === 'postgres' ? { node: config.nodeId } : undefined;
  const core = await alarmCoreModule({ ...basics, storage, devices, ownership, onWork: () => notify?.engine.kick() });
  const care = careModule({ ...basics, config, storage, profiles });
  const telemetry = telemetryModule({ ...basics, config, storage, devices, options: opts.telemetry });
  const ingest = ingestModule({ ...basics, config, storage, devices, core, care, telemetry });
  const mqtt = await mqttModule({ ...basics, config, profiles, devices, ingest, admit: ownership ? (deviceId) => core.evaluator.claim(deviceId) : undefined });
  // A device another node re-keyed or took out of service: its connection here closes.
  devices.directory.onRevoked = (id) => mqtt.broker.disconnect(id);
  notify = notifyModule({ ...basics, config, storage, devices, core, mqtt, options: opts.alarms });
  // Several nodes: every node's live stream shows the alarms the others raise.
  await relayLiveStream({ sql: storage.sql, live: notify.live, alarms: storage.repos.alarms, log });
  await notify.consoles.start();
  await notify.commands.start();
  // Several nodes: heartbeats, and the devices of a node that died adopted (their silence watched here).
  const nodeWatch =
    storage.sql.dialect === 'postgres'
      ? new NodeWatch({
          nodes: storage.repos.nodes,
          node: config.nodeId,
          timeoutMs: config.nodeTimeoutSeconds * 1000,
          adopt: async (adopted) => {
            await devices.directory.rereadLastSeen(adopted.map((d) => d.deviceId));
            await core.evaluator.adopt(adopted);
          },
          reclaimConnected: async () => {
            for (const d of devices.directory.all()) if (d.online) await core.evaluator.claim(d.id);
          },
          log,
        })
      : undefined;
  await nodeWatch?.start();
  const people = peopleModule({ ...basics, config, storage, devices, core, mqtt, profiles });
  const jobs = jobsModule({ ...basics, config, storage, devices, telemetry, core, care, schedule: opts.jobs === 'onClock' ? 'onClock' : opts.jobs !== false });
  let closing: Promise<void> | undefined;
  const api = apiModule({ ...basics, config, profiles, catalogue, storage, devices, core, telemetry, mqtt, notify, people, care, jobs, shuttingDown: () => closing !== undefined });

  /**
   * Shutdown order: no new jobs; no new device traffic; deliveries under way
   * finish (the rest waits in the outbox); the rule states last changed are
   * written; then the API and live stream; buffered readings are flushed;
   * device state saved; the database closed.
   */
  const shutdown: Closes[] = [...(nodeWatch ? [nodeWatch] : []), jobs, mqtt, notify, core, api, telemetry, devices, storage];

  return {
    config,
    clock,
    log,
    db: storage.db,
    bus,
    metrics,
    profiles,
    directory: devices.directory,
    ingest: ingest.ingest,
    broker: mqtt.broker,
    telemetry: telemetry.writer,
    sink: telemetry.sink,
    operations: telemetry.operations,
    onboarding: people.onboarding,
    api: api.api,
    alarms: core.alarms,
    engine: notify.engine,
    evaluator: core.evaluator,
    live: notify.live,
    outbox: notify.outbox,
    jobs: jobs.jobs,
    webhookSecret: notify.webhookSecret,
    repos: storage.repos,
    firstStart: people.firstStart,
    accounts: people.accounts,
    care,
    visits: care.visits,
    storage: storage.health,
    nodeWatch,
    close: () =>
      (closing ??= (async () => {
        for (const module of shutdown) await module.close();
      })()),
  };
}
