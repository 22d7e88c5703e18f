import type { Config } from '../config/config.ts';
import { Jobs } from '../jobs/jobs.ts';
import type { DevicesModule } from './devices.ts';
import type { AlarmCoreModule } from './alarm-core.ts';
import type { CareModule } from './care.ts';
import type { Basics, Closes } from './module.ts';
import type { StorageModule } from './storage.ts';
import type { TelemetryModule } from './telemetry.ts';

export interface JobsModule extends Closes {
  jobs: Jobs;
}

/** Scheduled work: device health, button test reminders, statistics reports, retention. `schedule: false` leaves them to the caller (tests). */
export function jobsModule(needs: Basics & { config: Config; storage: StorageModule; devices: DevicesModule; telemetry: TelemetryModule; core: AlarmCoreModule; care: CareModule; schedule: boolean | 'onClock' }): JobsModule {
  const { config, storage, devices, telemetry, core, care, clock, log } = needs;
  const { repos } = storage;
  const jobs = new Jobs({
    alarms: repos.alarms,
    alarmService: core.alarms,
    visits: care.visits,
    serviceRequests: care.serviceRequests,
    deviceTests: care.deviceTests,
    directory: devices.directory,
    stations: repos.stations,
    residents: repos.residents,
    reports: repos.reports,
    deadLetters: repos.deadLetters,
    sink: telemetry.sink,
    clock,
    log,
    timeZone: config.timeZone,
    telemetryRetentionDays: config.telemetryRetentionDays,
    deadLetterRetentionDays: config.deadLetterRetentionDays,
    runs: repos.jobRuns,
    node: config.nodeId,
  });
  if (needs.schedule) jobs.start({ onClock: needs.schedule === 'onClock' });
  return { jobs, close: () => jobs.stop() };
}
