import type { Config } from '../config/config.ts';
import { join } from 'node:path';
import { openDatabase, type Db } from '../store/database.ts';
import { Checkpointer } from '../store/checkpointer.ts';
import { StorageHealth } from '../store/storage-health.ts';
import { UnitOfWork } from '../store/unit-of-work.ts';
import { SqliteClient, type SqlClient } from '../store/sql-client.ts';
import { ApiTokenRepository } from '../store/api-tokens.ts';
import { DeadLetterRepository } from '../store/dead-letters.ts';
import { DeviceEventRepository } from '../store/device-events.ts';
import { DeviceRepository } from '../store/devices.ts';
import { ResidentRepository } from '../store/residents.ts';
import { StationRepository } from '../store/stations.ts';
import { DeviceOwnerRepository } from '../store/device-owners.ts';
import { RuleStateRepository } from '../store/rule-state.ts';
import { ProviderRepository, UserRepository } from '../store/users.ts';
import { AlarmRepository } from '../alarms/repository.ts';
import { OutboxRepository } from '../alarms/outbox-repository.ts';
import { EscalationStepRepository } from '../escalation/steps-repository.ts';
import { ReportRepository } from '../jobs/reports-repository.ts';
import { VisitRepository } from '../care/visits.ts';
import { ServiceRequestRepository } from '../care/service-requests.ts';
import { DeviceTestRepository } from '../care/device-tests.ts';
import type { Basics, Closes } from './module.ts';

export type Repositories = ReturnType<typeof repositories>;

/**
 * The alarm core's repositories, the station tree and the accounts run on the
 * SqlClient (any backend); the rest still on the embedded database's
 * synchronous API.
 */
function repositories(db: Db, sql: SqlClient) {
  return {
    stations: new StationRepository(sql),
    residents: new ResidentRepository(sql),
    devices: new DeviceRepository(sql),
    deadLetters: new DeadLetterRepository(sql),
    events: new DeviceEventRepository(sql),
    tokens: new ApiTokenRepository(sql),
    alarms: new AlarmRepository(sql),
    outbox: new OutboxRepository(sql),
    steps: new EscalationStepRepository(sql),
    reports: new ReportRepository(sql),
    users: new UserRepository(sql),
    providers: new ProviderRepository(sql),
    ruleState: new RuleStateRepository(sql),
    deviceOwners: new DeviceOwnerRepository(sql),
    visits: new VisitRepository(sql),
    serviceRequests: new ServiceRequestRepository(sql),
    deviceTests: new DeviceTestRepository(sql),
  };
}

export interface StorageModule extends Closes {
  db: Db;
  /** The store's client (store/sql-client.ts): the alarm core's statements, on any backend. */
  sql: SqlClient;
  repos: Repositories;
  /** The one unit of work every writer uses (store/unit-of-work.ts). */
  uow: UnitOfWork;
  /** Whether the data directory takes writes; probed every 2 s (a full disk is survived). */
  health: StorageHealth;
  checkpointer: Checkpointer;
}

/** The database, its repositories and unit of work, and the watch on the data directory's space. */
export function storageModule(needs: Basics & { config: Config }): StorageModule {
  const { config, clock, log, metrics, bus } = needs;
  const db = openDatabase(config.dataDir);
  let checkpointer: Checkpointer | undefined;
  const health = new StorageHealth({
    dataDir: config.dataDir,
    db,
    now: () => clock.now(),
    minFreeBytes: config.minFreeMb * 1_048_576,
    onChange: (status) => {
      metrics.storageWritable.set(status.writable ? 1 : 0);
      metrics.storageLowSpace.set(status.lowSpace ? 1 : 0);
      if (!status.writable || status.lowSpace) log.error({ storage: status }, `storage: ${health.describe()}`);
      else log.warn({ storage: status }, `storage: writable again; ${health.describe()}`);
      if (status.writable) checkpointer?.resume();
      else checkpointer?.pause();
      bus.emit('storage.changed', status);
    },
  });
  metrics.storageWritable.set(1);
  health.check();
  // WAL checkpoints (an fsync each) run in a thread of their own, never inside a commit on the event loop.
  checkpointer = new Checkpointer(db, join(config.dataDir, 'carebell.db'), log, { paused: !health.status.writable });
  const timer = setInterval(() => {
    try {
      health.check();
    } catch (err) {
      log.error({ err }, 'storage check failed');
    }
  }, 2_000);
  timer.unref();
  const sql = new SqliteClient(db);
  return {
    db,
    sql,
    repos: repositories(db, sql),
    uow: new UnitOfWork(sql),
    health,
    checkpointer,
    async close() {
      clearInterval(timer);
      await checkpointer?.close();
      db.close();
    },
  };
}
