import type { SqlClient } from '../sql-client.ts';

export interface PostgresMigration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The PostgreSQL schema, version by version. The tables mirror the embedded
 * ones (store/migrations.ts) column for column, so one repository's portable
 * SQL runs on both: times are epoch milliseconds (BIGINT), JSON is text, ids
 * of log tables are generated. So far the alarm core: alarms and their
 * timelines, escalation deadlines, the outbox, rule state and the device
 * event log, and the visits of the care programmes; stations, residents,
 * devices and accounts follow.
 */
export const postgresMigrations: PostgresMigration[] = [
  {
    version: 1,
    name: 'the alarm core: alarms, timeline, escalation deadlines, outbox, rule state, device events',
    sql: `
      CREATE TABLE device_events (
        id          BIGSERIAL PRIMARY KEY,
        device_id   TEXT NOT NULL,
        type        TEXT NOT NULL,
        seq         BIGINT,
        ts          BIGINT NOT NULL,
        received_at BIGINT NOT NULL,
        data        TEXT
      );
      CREATE INDEX device_events_seq ON device_events(device_id, seq) WHERE seq IS NOT NULL;
      CREATE INDEX device_events_received ON device_events(received_at);

      CREATE TABLE alarms (
        id               TEXT PRIMARY KEY,
        type             TEXT NOT NULL,
        severity         TEXT NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'info')),
        state            TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
        resident_id      TEXT,
        device_id        TEXT,
        station_id       TEXT,
        raised_at        BIGINT NOT NULL,
        updated_at       BIGINT NOT NULL,
        count            INTEGER NOT NULL DEFAULT 1,
        escalation_level INTEGER NOT NULL DEFAULT 0,
        policy           TEXT NOT NULL,
        detail           TEXT,
        acknowledged_at  BIGINT,
        acknowledged_by  TEXT,
        resolved_at      BIGINT,
        resolved_by      TEXT,
        outcome          TEXT CHECK (outcome IN ('false_alarm', 'handled_remotely', 'visited', 'ambulance', 'other')),
        -- Dedupe: one unresolved alarm per (device or resident, type). NULL once resolved.
        open_key         TEXT UNIQUE,
        assigned_to      TEXT,
        responses        TEXT,
        on_site_at       BIGINT,
        on_site_by       TEXT
      );
      CREATE INDEX alarms_state ON alarms(state, raised_at);
      CREATE INDEX alarms_resident ON alarms(resident_id, raised_at);
      CREATE INDEX alarms_station ON alarms(station_id, raised_at);

      CREATE TABLE alarm_timeline (
        id       BIGSERIAL PRIMARY KEY,
        alarm_id TEXT NOT NULL REFERENCES alarms(id),
        at       BIGINT NOT NULL,
        kind     TEXT NOT NULL,
        actor    TEXT NOT NULL,
        detail   TEXT
      );
      CREATE INDEX alarm_timeline_alarm ON alarm_timeline(alarm_id, id);

      CREATE TABLE escalation_steps (
        id       BIGSERIAL PRIMARY KEY,
        alarm_id TEXT NOT NULL REFERENCES alarms(id),
        step     INTEGER NOT NULL,
        kind     TEXT NOT NULL CHECK (kind IN ('step', 'reminder')),
        due_at   BIGINT NOT NULL,
        status   TEXT NOT NULL CHECK (status IN ('pending', 'done', 'cancelled')),
        fired_at BIGINT
      );
      CREATE INDEX escalation_due ON escalation_steps(status, due_at);

      CREATE TABLE outbox (
        id              BIGSERIAL PRIMARY KEY,
        alarm_id        TEXT NOT NULL REFERENCES alarms(id),
        event           TEXT NOT NULL,
        step            INTEGER NOT NULL,
        channel         TEXT NOT NULL,
        target          TEXT NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        last_error      TEXT,
        created_at      BIGINT NOT NULL,
        delivered_at    BIGINT,
        failure_entry   BIGINT
      );
      CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
      CREATE INDEX outbox_alarm ON outbox(alarm_id);

      CREATE TABLE rule_state (
        subject    TEXT NOT NULL,
        rule       TEXT NOT NULL,
        state      TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (subject, rule)
      );
    `,
  },
  {
    version: 2,
    name: 'care programmes: visits',
    sql: `
      CREATE TABLE visits (
        id           TEXT PRIMARY KEY,
        resident_id  TEXT NOT NULL,
        station_id   TEXT NOT NULL,
        kind         TEXT NOT NULL CHECK (kind IN ('phone', 'home')),
        at           BIGINT NOT NULL,
        visited_by   TEXT NOT NULL,
        outcome      TEXT NOT NULL CHECK (outcome IN ('well', 'needs_follow_up', 'not_reached')),
        observations TEXT,
        note         TEXT,
        created_at   BIGINT NOT NULL
      );
      CREATE INDEX visits_resident ON visits(resident_id, at);
      CREATE INDEX visits_station ON visits(station_id, at);
    `,
  },
];

/** An arbitrary constant: the advisory lock nodes take while one of them migrates. */
const MIGRATION_LOCK = 0x63617265; // "care"

/**
 * Brings a PostgreSQL database up to the latest schema. Several nodes may
 * start at once: each waits on one advisory lock inside its transaction, so
 * exactly one applies a version and the others find it applied. Returns the
 * versions this call applied.
 */
export async function migratePostgres(sql: SqlClient, migrations: PostgresMigration[] = postgresMigrations): Promise<number[]> {
  return sql.transaction(async (tx) => {
    await tx.run('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
    await tx.run('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    const done = new Set((await tx.all<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      for (const statement of m.sql.split(/;\s*\n/).map((x) => x.replace(/^\s*--.*$/gm, '').trim()).filter(Boolean)) await tx.run(statement);
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, Date.now()]);
      applied.push(m.version);
    }
    return applied;
  });
}
