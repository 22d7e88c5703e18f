import type { Config } from '../config/config.ts';
import { join } from 'node:path';
import { openDatabase, type Db } from '../store/database.ts';
import { Checkpointer } from '../store/checkpointer.ts';
import { StorageHealth } from '../store/storage-health.ts';
import { UnitOfWork } from '../store/unit-of-work.ts';
import { NodeRepository } from '../store/nodes.ts';
import { PostgresClient, SqliteClient, type SqlClient } from '../store/sql-client.ts';
import { migratePostgres } from '../store/postgres/migrations.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
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
import { JobRunRepository } from '../jobs/job-runs.ts';
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
function repositories(sql: SqlClient) {
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
    nodes: new NodeRepository(sql),
    jobRuns: new JobRunRepository(sql),
    visits: new VisitRepository(sql),
    serviceRequests: new ServiceRequestRepository(sql),
    deviceTests: new DeviceTestRepository(sql),
  };
}

export interface StorageModule extends Closes {
  /** The embedded database; null when the store is PostgreSQL. */
  db: Db | null;
  /** The store's client (store/sql-client.ts): the alarm core's statements, on any backend. */
  sql: SqlClient;
  repos: Repositories;
  /** The one unit of work every writer uses (store/unit-of-work.ts). */
  uow: UnitOfWork;
  /** Whether the data directory takes writes; probed every 2 s (a full disk is survived). */
  health: StorageHealth;
  /** The embedded database's WAL checkpoints; null on PostgreSQL. */
  checkpointer: Checkpointer | null;
}

/**
 * The store, its repositories and unit of work, and the watch on the data
 * directory's space. With `CAREBELL_DATABASE_URL`, the store is that
 * PostgreSQL database (shared by several nodes; migrated at start, one node at
 * a time); otherwise the embedded database in the data directory, with its
 * WAL checkpoints in a thread of their own. The data directory's space is
 * watched either way (telemetry and its spool stay there).
 */
export async function storageModule(needs: Basics & { config: Config }): Promise<StorageModule> {
  const { config, clock, log, metrics, bus } = needs;
  let db: Db | null = null;
  let sql: SqlClient;
  if (config.databaseUrl) {
    const pg = new PostgresClient(config.databaseUrl, { applicationName: `carebell ${config.nodeId}`.slice(0, 63) });
    try {
      const applied = await migratePostgres(pg);
      if (applied.length > 0) log.info({ versions: applied }, 'database migrated');
    } catch (err) {
      await pg.close().catch(() => {});
      throw err;
    }
    sql = pg;
  } else {
    db = openDatabase(config.dataDir);
    sql = new SqliteClient(db);
  }
  const embedded = db;
  let checkpointer: Checkpointer | null = null;
  const probeFile = join(config.dataDir, '.storage-probe');
  const health = new StorageHealth({
    dataDir: config.dataDir,
    probe: embedded ? (now) => void embedded.prepare('INSERT OR REPLACE INTO storage_probe (id, at) VALUES (1, ?)').run(now) : (now) => writeFileSync(probeFile, String(now)),
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
  mkdirSync(config.dataDir, { recursive: true });
  health.check();
  // WAL checkpoints (an fsync each) run in a thread of their own, never inside a commit on the event loop.
  if (embedded) checkpointer = new Checkpointer(embedded, join(config.dataDir, 'carebell.db'), log, { paused: !health.status.writable });
  const timer = setInterval(() => {
    try {
      health.check();
    } catch (err) {
      log.error({ err }, 'storage check failed');
    }
  }, 2_000);
  timer.unref();
  return {
    db,
    sql,
    repos: repositories(sql),
    uow: new UnitOfWork(sql),
    health,
    checkpointer,
    async close() {
      clearInterval(timer);
      await checkpointer?.close();
      if (embedded) embedded.close();
      else await sql.close();
    },
  };
}
