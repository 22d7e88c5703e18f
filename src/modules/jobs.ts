import type { Config } from '../config/config.ts';
import { Jobs } from '../jobs/jobs.ts';
import type { DevicesModule } from './devices.ts';
import type { PeopleModule } from './people.ts';
import type { Basics, Closes } from './module.ts';
import type { StorageModule } from './storage.ts';
import type { TelemetryModule } from './telemetry.ts';

export interface JobsModule extends Closes {
  jobs: Jobs;
}

/** Scheduled work: device health, statistics reports, retention. `schedule: false` leaves them to the caller (tests). */
export function jobsModule(needs: Basics & { config: Config; storage: StorageModule; devices: DevicesModule; telemetry: TelemetryModule; people: PeopleModule; schedule: boolean }): JobsModule {
  const { config, storage, devices, telemetry, people, clock, log } = needs;
  const { repos } = storage;
  const jobs = new Jobs({
    alarms: repos.alarms,
    visits: people.visits,
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
  });
  if (needs.schedule) jobs.start();
  return { jobs, close: () => jobs.stop() };
}
