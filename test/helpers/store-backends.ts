import { openDatabase } from '../../src/store/database.ts';
import { PostgresClient, SqliteClient, type SqlClient } from '../../src/store/sql-client.ts';
import { migratePostgres } from '../../src/store/postgres/migrations.ts';
import { startPostgres, type TestPostgres } from './postgres.ts';

/** One storage backend under test: a fresh, empty store for each test, and its shutdown. */
export interface Backend {
  name: string;
  dialect: SqlClient['dialect'];
  /** Once per file. */
  start(): Promise<void>;
  /** An empty store with the current schema. */
  fresh(): Promise<SqlClient>;
  /** A second client on the same store, as a second node (or a second connection) has. */
  another(): Promise<SqlClient>;
  stop(): Promise<void>;
}

/** Embedded SQLite: a database file of its own per test (two clients share it, as two connections would). */
export function sqliteBackend(): Backend {
  let current: ReturnType<typeof openDatabase> | null = null;
  let client: SqliteClient | null = null;
  return {
    name: 'embedded SQLite',
    dialect: 'sqlite',
    async start() {},
    async fresh() {
      current?.close();
      current = openDatabase(null);
      client = new SqliteClient(current);
      return client;
    },
    // One gateway holds one connection: a second node is not a thing on SQLite, the same client serves.
    async another() {
      return client!;
    },
    async stop() {
      current?.close();
    },
  };
}

/** PostgreSQL 15 (Debian's), a throwaway server per test file; every table emptied before each test. */
export function postgresBackend(): Backend {
  let server: TestPostgres | null = null;
  const clients: PostgresClient[] = [];
  let migrated = false;
  return {
    name: 'PostgreSQL',
    dialect: 'postgres',
    async start() {
      server = await startPostgres();
    },
    async fresh() {
      for (const c of clients.splice(0)) await c.close().catch(() => {});
      const client = new PostgresClient(server!.url, { max: 5 });
      clients.push(client);
      if (!migrated) {
        await migratePostgres(client);
        migrated = true;
      }
      await client.run('TRUNCATE alarm_timeline, escalation_steps, outbox, alarms, rule_state, device_events, visits, service_requests, visit_tasks, reports, device_owners, api_tokens, users, devices, contacts, residents, providers, stations, dead_letters, job_runs, nodes, telemetry RESTART IDENTITY CASCADE');
      return client;
    },
    async another() {
      const client = new PostgresClient(server!.url, { max: 5 });
      clients.push(client);
      return client;
    },
    async stop() {
      for (const c of clients.splice(0)) await c.close().catch(() => {});
      await server?.stop();
    },
  };
}

export const backends = (): Backend[] => [sqliteBackend(), postgresBackend()];
