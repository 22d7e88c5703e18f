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
  {
    version: 3,
    name: 'care programmes: service requests and device tests',
    sql: `
      -- A request for a service (需求响应): from a device's service button, the
      -- family page or staff on the phone; dispatched to a provider or a named
      -- worker and tracked new → assigned → on_the_way → on_site → done (or
      -- cancelled), each step with its time and who did it.
      CREATE TABLE service_requests (
        id            TEXT PRIMARY KEY,
        resident_id   TEXT NOT NULL,
        station_id    TEXT NOT NULL,
        kind          TEXT NOT NULL CHECK (kind IN ('meals', 'housekeeping', 'home_nursing', 'repair', 'errand', 'other')),
        note          TEXT,
        source        TEXT NOT NULL CHECK (source IN ('device', 'family', 'staff')),
        device_id     TEXT,
        presses       INTEGER NOT NULL DEFAULT 1,
        state         TEXT NOT NULL CHECK (state IN ('new', 'assigned', 'on_the_way', 'on_site', 'done', 'cancelled')),
        provider_id   TEXT,
        worker        TEXT,
        created_at    BIGINT NOT NULL,
        created_by    TEXT NOT NULL,
        assigned_at   BIGINT,
        assigned_by   TEXT,
        started_at    BIGINT,
        started_by    TEXT,
        arrived_at    BIGINT,
        arrived_by    TEXT,
        done_at       BIGINT,
        done_by       TEXT,
        cancelled_at  BIGINT,
        cancelled_by  TEXT,
        cancel_reason TEXT,
        updated_at    BIGINT NOT NULL
      );
      CREATE INDEX service_requests_station ON service_requests(station_id, created_at);
      CREATE INDEX service_requests_resident ON service_requests(resident_id, created_at);
      CREATE INDEX service_requests_provider ON service_requests(provider_id, state);
      CREATE INDEX service_requests_open ON service_requests(state) WHERE state NOT IN ('done', 'cancelled');

      -- Button tests (JGJ/T 484-2019 §10.3.1: weekly): the latest per device, and those in a period.
      CREATE INDEX device_events_test ON device_events(type, device_id, received_at);
    `,
  },
  {
    version: 4,
    name: 'care programmes: visit tasks (wellbeing checks, follow-ups)',
    sql: `
      -- A visit the programme asks for beyond the plan: a wellbeing check from
      -- the rules (no activity), a phone greeting that reached nobody, a visit
      -- that needs following up. Done by the next visit of its kind that
      -- reaches the resident.
      CREATE TABLE visit_tasks (
        id          TEXT PRIMARY KEY,
        resident_id TEXT NOT NULL,
        station_id  TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('phone', 'home')),
        reason      TEXT NOT NULL CHECK (reason IN ('no_activity', 'phone_not_reached', 'needs_follow_up')),
        source_id   TEXT,
        created_at  BIGINT NOT NULL,
        due_at      BIGINT NOT NULL,
        done_at     BIGINT,
        done_by     TEXT
      );
      CREATE INDEX visit_tasks_open ON visit_tasks(station_id, due_at) WHERE done_at IS NULL;
      CREATE INDEX visit_tasks_resident ON visit_tasks(resident_id, created_at);
    `,
  },
  {
    version: 5,
    name: 'outbox deliveries leased to the node sending them',
    sql: `
      -- A delivery under way is leased to the node sending it (several nodes, one
      -- database): others skip it until the lease ends, so a node that dies
      -- mid-delivery leaves it to another once the lease runs out.
      ALTER TABLE outbox ADD COLUMN lease_until BIGINT;
      ALTER TABLE outbox ADD COLUMN leased_by TEXT;
    `,
  },
  {
    version: 6,
    name: 'stored reports: daily device health, monthly statistics',
    sql: `
      CREATE TABLE reports (
        id           TEXT PRIMARY KEY,
        kind         TEXT NOT NULL,
        subject      TEXT NOT NULL,
        period_start BIGINT NOT NULL,
        period_end   BIGINT NOT NULL,
        created_at   BIGINT NOT NULL,
        body         TEXT NOT NULL
      );
      CREATE INDEX reports_kind ON reports(kind, subject, period_start);
    `,
  },
  {
    version: 7,
    name: 'which node holds each device, with an epoch',
    sql: `
      CREATE TABLE device_owners (
        device_id  TEXT PRIMARY KEY,
        node_id    TEXT NOT NULL,
        epoch      BIGINT NOT NULL,
        claimed_at BIGINT NOT NULL
      );
    `,
  },
  {
    version: 8,
    name: 'the station tree',
    sql: `
      CREATE TABLE stations (
        id             TEXT PRIMARY KEY,
        name           TEXT NOT NULL,
        level          TEXT NOT NULL CHECK (level IN ('district', 'street', 'community')),
        parent_id      TEXT REFERENCES stations(id),
        webhook_url    TEXT,
        response_plans TEXT,
        visit_plans    TEXT,
        created_at     BIGINT NOT NULL
      );
      CREATE INDEX stations_parent ON stations(parent_id);
    `,
  },
  {
    version: 9,
    name: 'accounts: providers, users, API tokens',
    sql: `
      CREATE TABLE providers (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        webhook_url TEXT,
        created_at  BIGINT NOT NULL
      );

      -- role operator or visitor → station_id (that station and every one below it);
      -- provider → provider_id; family → resident_id. User names are unique whatever their case.
      CREATE TABLE users (
        id            TEXT PRIMARY KEY,
        username      TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'provider', 'family', 'visitor')),
        display_name  TEXT,
        station_id    TEXT REFERENCES stations(id),
        provider_id   TEXT REFERENCES providers(id),
        resident_id   TEXT,
        created_at    BIGINT NOT NULL,
        disabled_at   BIGINT,
        relation      TEXT,
        CHECK ((role IN ('operator', 'visitor')) = (station_id IS NOT NULL)),
        CHECK ((role = 'provider') = (provider_id IS NOT NULL)),
        CHECK ((role = 'family') = (resident_id IS NOT NULL))
      );
      CREATE UNIQUE INDEX users_username ON users(lower(username));

      CREATE TABLE api_tokens (
        id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        label      TEXT NOT NULL,
        role       TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT,
        user_id    TEXT REFERENCES users(id),
        expires_at BIGINT
      );
      CREATE INDEX api_tokens_user ON api_tokens(user_id) WHERE user_id IS NOT NULL;
    `,
  },
  {
    version: 10,
    name: 'residents and their contacts',
    sql: `
      CREATE TABLE residents (
        id                     TEXT PRIMARY KEY,
        name                   TEXT NOT NULL,
        address                TEXT NOT NULL,
        station_id             TEXT NOT NULL REFERENCES stations(id),
        provider_id            TEXT,
        lives_alone            INTEGER NOT NULL DEFAULT 0,
        capability_level       INTEGER NOT NULL DEFAULT 0 CHECK (capability_level BETWEEN 0 AND 4),
        timezone               TEXT NOT NULL DEFAULT 'Asia/Shanghai',
        notes                  TEXT,
        created_at             BIGINT NOT NULL,
        settings               TEXT NOT NULL DEFAULT '{}',
        care_record            TEXT,
        deactivated_at         BIGINT,
        deactivation           TEXT,
        birth_date             TEXT,
        categories             TEXT,
        capability_assessed_at TEXT,
        visit_plan             TEXT,
        phone                  TEXT
      );
      CREATE INDEX residents_station ON residents(station_id);

      CREATE TABLE contacts (
        id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        resident_id TEXT NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
        name        TEXT NOT NULL,
        relation    TEXT NOT NULL,
        phone       TEXT NOT NULL,
        priority    INTEGER NOT NULL,
        webhook_url TEXT
      );
      CREATE INDEX contacts_resident ON contacts(resident_id, priority);

      ALTER TABLE users ADD CONSTRAINT users_resident FOREIGN KEY (resident_id) REFERENCES residents(id);
    `,
  },
  {
    version: 11,
    name: 'devices',
    sql: `
      CREATE TABLE devices (
        id                TEXT PRIMARY KEY,
        profile_id        TEXT NOT NULL,
        resident_id       TEXT REFERENCES residents(id),
        station_id        TEXT REFERENCES stations(id),
        provider_id       TEXT,
        secret_hash       TEXT NOT NULL,
        online            INTEGER NOT NULL DEFAULT 0,
        last_seen         BIGINT,
        battery           DOUBLE PRECISION,
        first_message_at  BIGINT,
        created_at        BIGINT NOT NULL,
        decommissioned_at BIGINT
      );
      CREATE INDEX devices_resident ON devices(resident_id);
    `,
  },
  {
    version: 12,
    name: 'dead letters',
    sql: `
      CREATE TABLE dead_letters (
        id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        received_at  BIGINT NOT NULL,
        device_id    TEXT,
        topic        TEXT NOT NULL,
        payload      BYTEA NOT NULL,
        payload_size INTEGER NOT NULL,
        code         TEXT NOT NULL,
        reason       TEXT NOT NULL,
        partial      INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX dead_letters_device ON dead_letters(device_id, received_at);
      CREATE INDEX dead_letters_received ON dead_letters(received_at);
    `,
  },
  {
    version: 13,
    name: 'which node ran each occurrence of a scheduled job',
    sql: `
      CREATE TABLE job_runs (
        name       TEXT NOT NULL,
        due_at     BIGINT NOT NULL,
        node       TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        PRIMARY KEY (name, due_at)
      );
    `,
  },
  {
    version: 14,
    name: 'the nodes sharing the database, with their heartbeats',
    sql: `
      CREATE TABLE nodes (
        node_id      TEXT PRIMARY KEY,
        heartbeat_at BIGINT NOT NULL
      );
    `,
  },
  {
    version: 15,
    name: "an alarm's pending escalation steps found by the alarm",
    sql: `
      CREATE INDEX escalation_alarm ON escalation_steps(alarm_id, status, due_at);
    `,
  },
  {
    version: 16,
    name: 'telemetry in the shared database when no InfluxDB is configured',
    sql: `
      -- As the embedded telemetry.db stores it (src/telemetry/chunks.ts): a row holds one
      -- device's messages of one write batch, spanning at most an hour.
      --   ts, last   the chunk's earliest and latest reading (ms; a simulated clock has fractions)
      --   n          write order across every node: for one device, kind and time the later chunk wins
      --   readings   how many it holds (what retention reports, without reading v)
      --   v          [[ms after ts, ...], {kind: [value or null, ...], ...}]
      -- A chart reads one device's range off the primary key; retention finds old chunks by ts.
      CREATE TABLE telemetry (
        device_id TEXT NOT NULL,
        ts        DOUBLE PRECISION NOT NULL,
        n         BIGINT GENERATED ALWAYS AS IDENTITY,
        last      DOUBLE PRECISION NOT NULL,
        readings  INTEGER NOT NULL,
        v         TEXT NOT NULL,
        PRIMARY KEY (device_id, ts, n)
      );
      CREATE INDEX telemetry_ts ON telemetry(ts);
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
