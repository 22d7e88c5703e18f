import type { Config } from '../config/config.ts';
import { buildApi } from '../api/server.ts';
import type { Api } from '../api/context.ts';
import { LiveSessions } from '../api/sessions.ts';
import { TrafficTap } from '../api/traffic.ts';
import type { ProfileCatalogue } from '../profiles/catalogue.ts';
import type { ProfileRegistry } from '../profiles/registry.ts';
import type { AlarmCoreModule } from './alarm-core.ts';
import type { DevicesModule } from './devices.ts';
import type { JobsModule } from './jobs.ts';
import type { Basics, Closes } from './module.ts';
import type { MqttModule } from './mqtt.ts';
import type { NotifyModule } from './notify.ts';
import type { PeopleModule } from './people.ts';
import type { CareModule } from './care.ts';
import type { StorageModule } from './storage.ts';
import type { TelemetryModule } from './telemetry.ts';

export interface ApiModule extends Closes {
  api: Api;
}

/**
 * The REST API, the live stream and the console (fastify). Each route is
 * given what it uses (api/routes/*: `XRoutesDeps`); none sees the database.
 */
export function apiModule(
  needs: Basics & {
    config: Config;
    profiles: ProfileRegistry;
    catalogue: ProfileCatalogue;
    storage: StorageModule;
    devices: DevicesModule;
    core: AlarmCoreModule;
    telemetry: TelemetryModule;
    mqtt: MqttModule;
    notify: NotifyModule;
    people: PeopleModule;
    care: CareModule;
    jobs: JobsModule;
    /** The gateway is shutting down: not ready for traffic. */
    shuttingDown: () => boolean;
  },
): ApiModule {
  const { config, profiles, catalogue, storage, devices, core, telemetry, mqtt, notify, people, care, jobs, bus, clock, log, metrics } = needs;
  const { repos, db } = storage;
  const { broker } = mqtt;
  const api = buildApi(
    {
      ...(storage.sql.barrier && storage.sql.noticesSent
        ? {
            cluster: {
              // Bounded: a database that has stopped answering must not hold every request (an acknowledgement
              // among them) with it; past 2 s the request is served from what this node holds.
              catchUp: () =>
                atMost(2_000, async () => {
                  await storage.sql.barrier!();
                  await Promise.all([repos.stations.settled(), repos.residents.settled(), repos.providers.settled(), devices.directory.settled()]);
                }),
              noticesSent: () => atMost(2_000, () => storage.sql.noticesSent!()),
            },
          }
        : {}),
      alarms: repos.alarms,
      alarmService: core.alarms,
      reports: repos.reports,
      jobs: jobs.jobs,
      clock,
      steps: repos.steps,
      live: notify.live,
      sessions: new LiveSessions(bus, clock),
      config,
      onboarding: people.onboarding,
      stations: repos.stations,
      residents: repos.residents,
      devices: repos.devices,
      directory: devices.directory,
      profiles,
      deadLetters: repos.deadLetters,
      tokens: repos.tokens,
      users: repos.users,
      providers: repos.providers,
      accounts: people.accounts,
      visits: care.visits,
      serviceRequests: care.serviceRequests,
      deviceTests: care.deviceTests,
      provisioning: people.provisioning,
      traffic: new TrafficTap(broker),
      catalogue,
      sink: telemetry.sink,
      importDeps: { onboarding: people.onboarding, stations: repos.stations, devices: repos.devices, profiles, transaction: (fn) => storage.uow.transaction(fn) },
      metrics,
      brokerPorts: () => broker.ports(),
      health: () => {
        const backlog = telemetry.sink.backlog();
        return {
          ok: !broker.aedes.closed,
          checks: {
            broker: { ok: !broker.aedes.closed },
            database: db ? { ok: db.open } : { ok: true, detail: 'PostgreSQL' },
            telemetry: { ok: true, detail: backlog > 0 ? `${backlog} points spooled for ${telemetry.sink.name}` : telemetry.sink.name },
          },
        };
      },
      ready: async () => {
        const closing = needs.shuttingDown();
        // The store answers (the embedded database is open; PostgreSQL takes a query).
        const pending = await repos.outbox.pendingCount().catch(() => null);
        const checks = {
          broker: { ok: !broker.aedes.closed && broker.listening() },
          database: db ? { ok: db.open && pending !== null } : { ok: pending !== null, detail: pending === null ? 'PostgreSQL out of reach' : 'PostgreSQL' },
          shutdown: { ok: !closing, ...(closing ? { detail: 'shutting down' } : {}) },
          alarms: { ok: !notify.engine.stopped, detail: `${pending ?? '?'} notifications pending` },
          storage: { ok: storage.health.status.writable, detail: storage.health.describe() },
        };
        return { ok: Object.values(checks).every((c) => c.ok), checks };
      },
    },
    log,
  );
  return { api, close: () => api.close() };
}

/** Waits for `work` at most `ms`; its failure is ignored (best effort). */
async function atMost(ms: number, work: () => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work().catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
