import type { FastifyInstance, FastifyBaseLogger, RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from '../config/config.ts';
import type { VisitService } from '../care/visits.ts';
import type { ServiceRequestService } from '../care/service-requests.ts';
import type { DeviceTestService } from '../care/device-tests.ts';
import type { Metrics } from '../core/metrics.ts';
import type { DeviceDirectory } from '../devices/directory.ts';
import type { Onboarding } from '../onboarding/onboarding.ts';
import type { ProfileRegistry } from '../profiles/registry.ts';
import type { ApiTokenRepository } from '../store/api-tokens.ts';
import type { DeadLetterRepository } from '../store/dead-letters.ts';
import type { DeviceRepository } from '../store/devices.ts';
import type { ResidentRepository } from '../store/residents.ts';
import type { StationRepository } from '../store/stations.ts';
import type { AlarmRepository } from '../alarms/repository.ts';
import type { AlarmService } from '../alarms/service.ts';
import type { EscalationStepRepository } from '../escalation/steps-repository.ts';
import type { LiveStream } from './live.ts';
import type { LiveSessions } from './sessions.ts';
import type { ReportRepository } from '../jobs/reports-repository.ts';
import type { Jobs } from '../jobs/jobs.ts';
import type { Clock } from '../core/clock.ts';
import type { Accounts } from '../accounts/accounts.ts';
import type { Provisioning } from '../onboarding/provisioning.ts';
import type { TrafficTap } from './traffic.ts';
import type { TelemetrySink } from '../telemetry/point.ts';
import type { ProfileCatalogue } from '../profiles/catalogue.ts';
import type { ImportDeps } from '../onboarding/import.ts';
import type { ProviderRepository, UserRepository } from '../store/users.ts';

/** What route handlers may use: services and repositories, never the broker's internals. */
export interface ApiContext {
  /**
   * Several nodes on one database: before a request, what other nodes changed
   * is read here (a caller who made a resident on one node and registers its
   * device on another finds it); before a reply, this node's own notices are
   * on the server. Absent on a single gateway.
   */
  cluster?: { catchUp(): Promise<void>; noticesSent(): Promise<void> };
  config: Config;
  onboarding: Onboarding;
  stations: StationRepository;
  residents: ResidentRepository;
  devices: DeviceRepository;
  directory: DeviceDirectory;
  profiles: ProfileRegistry;
  deadLetters: DeadLetterRepository;
  tokens: ApiTokenRepository;
  users: UserRepository;
  providers: ProviderRepository;
  accounts: Accounts;
  provisioning: Provisioning;
  traffic: TrafficTap;
  sink: TelemetrySink;
  catalogue: ProfileCatalogue;
  importDeps: ImportDeps;
  metrics: Metrics;
  alarms: AlarmRepository;
  alarmService: AlarmService;
  steps: EscalationStepRepository;
  live: LiveStream;
  sessions: LiveSessions;
  reports: ReportRepository;
  jobs: Jobs;
  visits: VisitService;
  serviceRequests: ServiceRequestService;
  deviceTests: DeviceTestService;
  clock: Clock;
  /** The ports devices connect to, printed on an installer's sheet with the credentials. */
  brokerPorts: () => { mqtt: number | null; mqtts: number | null };
  health: () => { ok: boolean; checks: Record<string, { ok: boolean; detail?: string }> };
  /** Ready for traffic: listening, not shutting down, alarms being worked. */
  ready: () => Promise<{ ok: boolean; checks: Record<string, { ok: boolean; detail?: string }> }>;
}

export type Api = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;
