import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Config } from './config/config.ts';
import { systemClock, type Clock } from './core/clock.ts';
import { EventBus } from './core/event-bus.ts';
import { createLogger, type Logger } from './core/logger.ts';
import { createMetrics, type Metrics } from './core/metrics.ts';
import { newSecret } from './core/secrets.ts';
import { DeviceBroker, defaultBrokerLimits, type BrokerLimits } from './broker/broker.ts';
import { DeadLetterStore } from './ingest/dead-letter.ts';
import { DeviceDirectory } from './devices/directory.ts';
import { Ingest } from './ingest/ingest.ts';
import { Onboarding } from './onboarding/onboarding.ts';
import { loadProfileDirectory, type ProfileRegistry } from './profiles/registry.ts';
import { ProfileCatalogue } from './profiles/catalogue.ts';
import { buildApi } from './api/server.ts';
import type { Api } from './api/context.ts';
import { LiveStream } from './api/live.ts';
import { LiveSessions } from './api/sessions.ts';
import { openDatabase, type Db } from './store/database.ts';
import { StorageHealth } from './store/storage-health.ts';
import { ApiTokenRepository } from './store/api-tokens.ts';
import { DeadLetterRepository } from './store/dead-letters.ts';
import { DeviceEventRepository } from './store/device-events.ts';
import { DeviceRepository } from './store/devices.ts';
import { ResidentRepository } from './store/residents.ts';
import { StationRepository } from './store/stations.ts';
import { SqliteTelemetrySink } from './telemetry/sqlite-sink.ts';
import { SpoolingRemoteSink } from './telemetry/remote-sink.ts';
import { InfluxV1Writer } from './telemetry/influx-v1.ts';
import { InfluxV2Writer } from './telemetry/influx-v2.ts';
import type { TelemetrySink } from './telemetry/point.ts';
import { AlarmRepository } from './alarms/repository.ts';
import { AlarmService } from './alarms/service.ts';
import { AlarmEngine } from './alarms/engine.ts';
import { EscalationStepRepository } from './escalation/steps-repository.ts';
import { OutboxRepository } from './alarms/outbox-repository.ts';
import { OutboxWorker, type RetryPolicy } from './notify/worker.ts';
import { consoleChannel } from './notify/channels/console.ts';
import { webhookChannel } from './notify/channels/webhook.ts';
import { mqttChannel } from './notify/channels/mqtt.ts';
import { RuleEvaluator } from './rules/evaluator.ts';
import { RuleStateRepository } from './store/rule-state.ts';
import { UnitOfWork } from './store/unit-of-work.ts';
import { IntentApplier } from './alarms/apply-intents.ts';
import { Jobs } from './jobs/jobs.ts';
import { ReportRepository } from './jobs/reports-repository.ts';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Gauge } from 'prom-client';
import { TelemetryWriter } from './telemetry/writer.ts';
import { OperationsRecorder } from './telemetry/operations.ts';
import { Accounts } from './accounts/accounts.ts';
import { Provisioning } from './onboarding/provisioning.ts';
import { TrafficTap } from './api/traffic.ts';
import { ProviderRepository, UserRepository } from './store/users.ts';

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
  /** false: do not schedule the cron jobs (tests run them directly). */
  jobs?: boolean;
}

export interface CarebellApp {
  config: Config;
  clock: Clock;
  log: Logger;
  db: Db;
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
  repos: {
    stations: StationRepository;
    residents: ResidentRepository;
    devices: DeviceRepository;
    deadLetters: DeadLetterRepository;
    events: DeviceEventRepository;
    tokens: ApiTokenRepository;
    alarms: AlarmRepository;
    outbox: OutboxRepository;
    steps: EscalationStepRepository;
    reports: ReportRepository;
    users: UserRepository;
    providers: ProviderRepository;
  };
  /** Set on the first start when no CAREBELL_ADMIN_TOKEN is configured: shown once, stored hashed. */
  bootstrapAdminToken: string | undefined;
  /** Set on the very first start only: the admin account's login, to print once. */
  firstAdmin: { username: string; password: string } | undefined;
  accounts: Accounts;
  /** Whether the data directory takes writes (a full disk is survived, see storage-health.ts). */
  storage: StorageHealth;
  close(): Promise<void>;
}

/** QoS 1 redeliveries come within minutes; an hour is a wide margin that still tolerates 8-bit seq counters. */
export const EVENT_DEDUPE_WINDOW_MS = 3_600_000;

function createSink(config: Config, db: Db, log: Logger, metrics: Metrics, opts: BuildOptions['telemetry']): TelemetrySink {
  const spool = (name: string) => ({
    spoolDir: join(config.dataDir, 'spool', name),
    log,
    onBacklogChange: (n: number) => metrics.telemetrySpool.set(n),
    ...(opts?.retryMinMs !== undefined ? { retryMinMs: opts.retryMinMs } : {}),
    ...(opts?.retryMaxMs !== undefined ? { retryMaxMs: opts.retryMaxMs } : {}),
  });
  if (config.influxUrl) return new SpoolingRemoteSink(new InfluxV1Writer(config.influxUrl), spool('influx'));
  if (config.influxV2Url) {
    const v2 = { url: config.influxV2Url, token: config.influxV2Token!, org: config.influxV2Org!, bucket: config.influxV2Bucket! };
    return new SpoolingRemoteSink(new InfluxV2Writer(v2), spool('influx-v2'));
  }
  return new SqliteTelemetrySink(config.dataDir);
}

/**
 * The key that signs webhooks when CAREBELL_WEBHOOK_SECRET is not set: made
 * once per installation and kept in the data directory (readable by the owner only).
 */
function installationSecret(dataDir: string, log: Logger): string {
  const file = join(dataDir, 'webhook-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = newSecret();
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  log.info({ file }, 'CAREBELL_WEBHOOK_SECRET is not set: webhooks are signed with a key made for this installation');
  return secret;
}

/**
 * The broker's limits from the settings. A PUBLISH may declare up to four times
 * the largest payload any profile accepts (plus its topic): a payload over its
 * profile's limit but under this is still read, dead-lettered and acknowledged;
 * beyond it, the connection is closed before the bytes are buffered.
 */
export function brokerLimits(config: Config, profiles: ProfileRegistry): BrokerLimits {
  const largest = Math.max(config.maxPayloadBytes, ...profiles.all().map((p) => p.maxPayloadBytes ?? 0));
  return {
    ...defaultBrokerLimits,
    packets: { connectBytes: config.mqttMaxConnectBytes, publishBytes: 4 * largest + 1_024, otherBytes: 16_384 },
    connectTimeoutMs: config.mqttConnectTimeoutMs,
    maxRetainedBytes: config.mqttMaxRetainedBytes,
  };
}

/** Builds the whole gateway from its configuration. Opens no sockets: see listen.ts. */
export async function buildApp(opts: BuildOptions): Promise<CarebellApp> {
  const { config } = opts;
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? createLogger(config.logLevel);
  const db = openDatabase(config.dataDir);
  const metrics = createMetrics({ defaultMetrics: true });
  const bus = new EventBus(log);
  const profiles = loadProfileDirectory(opts.profilesDir ?? defaultProfilesDir);
  const catalogue = new ProfileCatalogue(profiles, config.dataDir);

  const repos = {
    stations: new StationRepository(db),
    residents: new ResidentRepository(db),
    devices: new DeviceRepository(db),
    deadLetters: new DeadLetterRepository(db),
    events: new DeviceEventRepository(db),
    tokens: new ApiTokenRepository(db),
    alarms: new AlarmRepository(db),
    outbox: new OutboxRepository(db),
    steps: new EscalationStepRepository(db),
    reports: new ReportRepository(db),
    users: new UserRepository(db),
    providers: new ProviderRepository(db),
  };

  const storage = new StorageHealth({
    dataDir: config.dataDir,
    db,
    now: () => clock.now(),
    minFreeBytes: config.minFreeMb * 1_048_576,
    onChange: (status) => {
      metrics.storageWritable.set(status.writable ? 1 : 0);
      metrics.storageLowSpace.set(status.lowSpace ? 1 : 0);
      if (!status.writable || status.lowSpace) log.error({ storage: status }, `storage: ${storage.describe()}`);
      else log.warn({ storage: status }, `storage: writable again; ${storage.describe()}`);
      bus.emit('storage.changed', status);
    },
  });
  metrics.storageWritable.set(1);
  storage.check();

  const directory = new DeviceDirectory({ devices: repos.devices, residents: repos.residents, profiles, bus, clock });
  directory.load();

  let engine: AlarmEngine | undefined;
  const uow = new UnitOfWork(db);
  const alarms = new AlarmService({
    uow,
    alarms: repos.alarms,
    steps: repos.steps,
    outbox: repos.outbox,
    residents: repos.residents,
    targets: { stations: repos.stations, residents: repos.residents, directory },
    bus,
    clock,
    log,
    onWork: () => engine?.kick(),
  });
  const evaluator = new RuleEvaluator({
    devices: directory,
    residentOf: (id) => repos.residents.get(id) ?? null,
    ruleState: new RuleStateRepository(db),
    intents: new IntentApplier(alarms),
    clock,
    log,
  });
  evaluator.load();

  const deadLetters = new DeadLetterStore({ repo: repos.deadLetters, bus, metrics, log });
  const ingest = new Ingest({
    directory,
    deadLetters,
    events: repos.events,
    bus,
    clock,
    metrics,
    log,
    maxPayloadBytes: config.maxPayloadBytes,
    rateLimits: { messagesPerSecond: config.deviceRate, messageBurst: config.deviceBurst, eventsPerSecond: config.deviceEventRate, eventBurst: config.deviceEventBurst },
    dedupeWindowMs: EVENT_DEDUPE_WINDOW_MS,
    storage,
    transaction: (fn) => uow.transaction(fn),
  });

  const sink = createSink(config, db, log, metrics, opts.telemetry);
  const telemetry = new TelemetryWriter(sink, {
    log,
    flushMs: config.telemetryFlushMs,
    onStored: (n) => metrics.telemetryStored.inc(n),
    // Telemetry gives way first: with the disk low or unwritable, events and alarms keep what room is left.
    shed: () => storage.shedTelemetry,
    onShed: (n) => metrics.telemetryShed.inc(n),
  });
  bus.on('device.readings', ({ device, readings }) => telemetry.push(device, readings));
  const operations =
    sink instanceof SpoolingRemoteSink
      ? new OperationsRecorder({ bus, sink, directory, stationName: (id) => repos.stations.get(id)?.name, clock, log, flushMs: 5_000, snapshotMs: 60_000 })
      : undefined;

  // Rule time is summed here and exported when /metrics is scraped: no per-message metric call.
  const ruleTime = metrics.ruleTime;
  bus.on('device.readings', ({ device, readings, receivedAt }) => {
    const t0 = performance.now();
    evaluator.onReadings(device, readings, receivedAt);
    ruleTime.message.seconds += (performance.now() - t0) / 1000;
    ruleTime.message.count++;
  });
  bus.on('device.event', ({ device, event }) => {
    const t0 = performance.now();
    try {
      evaluator.onEvent(device, event);
    } finally {
      ruleTime.message.seconds += (performance.now() - t0) / 1000;
      ruleTime.message.count++;
    }
  });
  bus.on('alarm.raised', ({ alarm }) => metrics.alarmsRaised.inc({ type: alarm.type, severity: alarm.severity }));
  bus.on('alarm.updated', ({ change }) => {
    if (change === 'notify_failed') metrics.notificationFailures.inc();
  });

  const broker = await DeviceBroker.create({ directory, ingest, bus, clock, metrics, log, limits: brokerLimits(config, profiles) });
  const webhookSecret = config.webhookSecret ?? installationSecret(config.dataDir, log);
  const live = new LiveStream(bus, {
    stationOf: (deviceId) => {
      const d = directory.get(deviceId);
      return { stationId: d?.context.stationId ?? null, residentId: d?.context.residentId ?? null };
    },
  });
  const outbox = new OutboxWorker({
    outbox: repos.outbox,
    alarms: repos.alarms,
    service: alarms,
    residents: repos.residents,
    channels: [consoleChannel(live), webhookChannel({ secret: webhookSecret }), mqttChannel({ broker, directory })],
    clock,
    log,
    ...(opts.alarms?.retry ? { retry: opts.alarms.retry } : {}),
    onAttempt: (channel, ok) => metrics.notificationAttempts.inc({ channel, result: ok ? 'delivered' : 'failed' }),
  });
  engine = new AlarmEngine({ service: alarms, evaluator, worker: outbox, log, tickTiming: metrics.ruleTime.tick });
  new Gauge({
    name: 'carebell_open_alarms',
    help: 'Alarms not yet resolved, by severity',
    labelNames: ['severity'] as const,
    registers: [metrics.registry],
    collect() {
      const counts = repos.alarms.countOpenBySeverity();
      for (const severity of ['critical', 'major', 'minor', 'info']) this.set({ severity }, counts[severity] ?? 0);
    },
  });
  new Gauge({
    name: 'carebell_consoles_open',
    help: 'Duty consoles connected to the live stream (operators logged in), by station',
    labelNames: ['station'] as const,
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const [station, n] of live.consoles()) this.set({ station }, n);
    },
  });
  new Gauge({
    name: 'carebell_outbox_pending',
    help: 'Notifications owed and not yet delivered',
    registers: [metrics.registry],
    collect() {
      this.set(repos.outbox.pendingCount());
    },
  });
  const tickMs = opts.alarms?.tickMs ?? 1_000;
  if (tickMs > 0) engine.start(tickMs);
  const onboarding = new Onboarding({
    ...repos,
    directory,
    profiles,
    clock,
    onResidentChanged: (id) => evaluator.residentChanged(id),
    onDeviceRevoked: (id) => broker.disconnect(id),
  });
  const provisioning = new Provisioning({ bus, directory, deadLetters: repos.deadLetters, now: () => clock.now() });

  const accounts = new Accounts({ ...repos, clock, loginTtlMs: config.loginTtlHours * 3_600_000, onRevoked: (r) => bus.emit('session.revoked', r) });
  const firstAdmin = await accounts.ensureFirstAdmin();

  let bootstrapAdminToken: string | undefined;
  if (!config.adminToken && repos.tokens.count() === 0) {
    bootstrapAdminToken = newSecret();
    repos.tokens.insert(bootstrapAdminToken, 'bootstrap-admin', 'admin', clock.now());
  }

  const jobs = new Jobs({
    alarms: repos.alarms,
    directory,
    stations: repos.stations,
    reports: repos.reports,
    deadLetters: repos.deadLetters,
    sink,
    clock,
    log,
    timeZone: config.timeZone,
    telemetryRetentionDays: config.telemetryRetentionDays,
    deadLetterRetentionDays: config.deadLetterRetentionDays,
  });
  if (opts.jobs !== false) jobs.start();

  const api = buildApi(
    {
      alarms: repos.alarms,
      alarmService: alarms,
      reports: repos.reports,
      jobs,
      clock,
      steps: repos.steps,
      live,
      sessions: new LiveSessions(bus, clock),
      config,
      onboarding,
      stations: repos.stations,
      residents: repos.residents,
      devices: repos.devices,
      directory,
      profiles,
      deadLetters: repos.deadLetters,
      tokens: repos.tokens,
      users: repos.users,
      providers: repos.providers,
      accounts,
      provisioning,
      traffic: new TrafficTap(broker),
      catalogue,
      sink,
      importDeps: { onboarding, stations: repos.stations, devices: repos.devices, directory, profiles, clock, transaction: (fn) => uow.transaction(fn) },
      metrics,
      health: () => {
        const backlog = sink.backlog();
        return {
          ok: !broker.aedes.closed,
          checks: {
            broker: { ok: !broker.aedes.closed },
            database: { ok: db.open },
            telemetry: { ok: true, detail: backlog > 0 ? `${backlog} points spooled for ${sink.name}` : sink.name },
          },
        };
      },
      ready: () => {
        const checks = {
          broker: { ok: !broker.aedes.closed && broker.listening() },
          database: { ok: db.open },
          shutdown: { ok: closing === undefined, ...(closing ? { detail: 'shutting down' } : {}) },
          alarms: { ok: !engine!.stopped, detail: `${repos.outbox.pendingCount()} notifications pending` },
          storage: { ok: storage.status.writable, detail: storage.describe() },
        };
        return { ok: Object.values(checks).every((c) => c.ok), checks };
      },
    },
    log,
  );

  // Live device state is written in batches, not per message. No timer may throw:
  // a failed write (a full disk) is reported and tried again, and the gateway carries on.
  const persistTimer = setInterval(() => {
    try {
      directory.persist();
    } catch (err) {
      if (storage.failed(err)) metrics.storageWriteFailures.inc();
      else log.error({ err }, 'could not save device state');
    }
  }, 1_000);
  persistTimer.unref();
  const storageTimer = setInterval(() => {
    try {
      storage.check();
    } catch (err) {
      log.error({ err }, 'storage check failed');
    }
  }, 2_000);
  storageTimer.unref();

  let closing: Promise<void> | undefined;
  const app: CarebellApp = {
    config,
    clock,
    log,
    db,
    bus,
    metrics,
    profiles,
    directory,
    ingest,
    broker,
    telemetry,
    sink,
    operations,
    onboarding,
    api,
    alarms,
    engine,
    evaluator,
    live,
    outbox,
    jobs,
    webhookSecret,
    repos,
    bootstrapAdminToken,
    firstAdmin,
    accounts,
    storage,
    close: () =>
      (closing ??= (async () => {
        clearInterval(persistTimer);
        clearInterval(storageTimer);
        await jobs.stop();
        await broker.close(); // stop accepting device traffic first
        await engine!.stop(); // let deliveries under way finish; the rest waits in the outbox
        await api.close();
        await operations?.close();
        await telemetry.close(); // flush buffered readings
        try {
          directory.persist();
        } catch (err) {
          log.error({ err }, 'device state not saved at shutdown (it is rebuilt as devices reconnect)');
        }
        db.close();
      })()),
  };
  return app;
}
