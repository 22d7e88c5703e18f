/**
 * Versioned schema migrations. Append only: a released migration is never
 * edited, a change is a new version. Each runs in its own transaction.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  /**
   * The migration rebuilds a table others reference (SQLite cannot alter a
   * CHECK): foreign keys are off while it runs, and checked before it commits.
   */
  rebuildsTables?: true;
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'organisation, residents, devices, device events, dead letters, api tokens',
    sql: `
      CREATE TABLE stations (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        level       TEXT NOT NULL CHECK (level IN ('district', 'street', 'community')),
        parent_id   TEXT REFERENCES stations(id),
        webhook_url TEXT,
        created_at  INTEGER NOT NULL
      );
      CREATE INDEX stations_parent ON stations(parent_id);

      CREATE TABLE residents (
        id               TEXT PRIMARY KEY,
        name             TEXT NOT NULL,
        address          TEXT NOT NULL,
        station_id       TEXT NOT NULL REFERENCES stations(id),
        provider_id      TEXT,
        lives_alone      INTEGER NOT NULL DEFAULT 0,
        capability_level INTEGER NOT NULL DEFAULT 0 CHECK (capability_level BETWEEN 0 AND 4),
        timezone         TEXT NOT NULL DEFAULT 'Asia/Shanghai',
        notes            TEXT,
        created_at       INTEGER NOT NULL
      );
      CREATE INDEX residents_station ON residents(station_id);

      CREATE TABLE contacts (
        id          INTEGER PRIMARY KEY,
        resident_id TEXT NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
        name        TEXT NOT NULL,
        relation    TEXT NOT NULL,
        phone       TEXT NOT NULL,
        priority    INTEGER NOT NULL,
        webhook_url TEXT
      );
      CREATE INDEX contacts_resident ON contacts(resident_id, priority);

      CREATE TABLE devices (
        id                TEXT PRIMARY KEY,
        profile_id        TEXT NOT NULL,
        resident_id       TEXT REFERENCES residents(id),
        station_id        TEXT REFERENCES stations(id),
        provider_id       TEXT,
        secret_hash       TEXT NOT NULL,
        online            INTEGER NOT NULL DEFAULT 0,
        last_seen         INTEGER,
        battery           REAL,
        first_message_at  INTEGER,
        created_at        INTEGER NOT NULL,
        decommissioned_at INTEGER
      );
      CREATE INDEX devices_resident ON devices(resident_id);

      CREATE TABLE device_events (
        id          INTEGER PRIMARY KEY,
        device_id   TEXT NOT NULL,
        type        TEXT NOT NULL,
        seq         INTEGER,
        ts          INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        data        TEXT
      );
      CREATE INDEX device_events_seq ON device_events(device_id, seq) WHERE seq IS NOT NULL;
      CREATE INDEX device_events_received ON device_events(received_at);

      CREATE TABLE dead_letters (
        id           INTEGER PRIMARY KEY,
        received_at  INTEGER NOT NULL,
        device_id    TEXT,
        topic        TEXT NOT NULL,
        payload      BLOB NOT NULL,
        payload_size INTEGER NOT NULL,
        code         TEXT NOT NULL,
        reason       TEXT NOT NULL,
        partial      INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX dead_letters_device ON dead_letters(device_id, received_at);
      CREATE INDEX dead_letters_received ON dead_letters(received_at);

      CREATE TABLE api_tokens (
        id         INTEGER PRIMARY KEY,
        label      TEXT NOT NULL,
        role       TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      );
    `,
  },
  {
    version: 2,
    name: 'alarms, timeline, escalation deadlines, outbox, rule state',
    sql: `
      CREATE TABLE alarms (
        id               TEXT PRIMARY KEY,
        type             TEXT NOT NULL,
        severity         TEXT NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'info')),
        state            TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
        resident_id      TEXT,
        device_id        TEXT,
        station_id       TEXT,
        raised_at        INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        count            INTEGER NOT NULL DEFAULT 1,
        escalation_level INTEGER NOT NULL DEFAULT 0,
        policy           TEXT NOT NULL,
        detail           TEXT,
        acknowledged_at  INTEGER,
        acknowledged_by  TEXT,
        resolved_at      INTEGER,
        resolved_by      TEXT,
        outcome          TEXT CHECK (outcome IN ('false_alarm', 'handled_remotely', 'visited', 'ambulance', 'other')),
        -- Dedupe: one unresolved alarm per (device or resident, type). NULL once resolved.
        open_key         TEXT UNIQUE
      );
      CREATE INDEX alarms_state ON alarms(state, raised_at);
      CREATE INDEX alarms_resident ON alarms(resident_id, raised_at);
      CREATE INDEX alarms_station ON alarms(station_id, raised_at);

      CREATE TABLE alarm_timeline (
        id       INTEGER PRIMARY KEY,
        alarm_id TEXT NOT NULL REFERENCES alarms(id),
        at       INTEGER NOT NULL,
        kind     TEXT NOT NULL,
        actor    TEXT NOT NULL,
        detail   TEXT
      );
      CREATE INDEX alarm_timeline_alarm ON alarm_timeline(alarm_id, id);

      -- Durable escalation deadlines: the ladder survives a restart.
      CREATE TABLE escalation_steps (
        id         INTEGER PRIMARY KEY,
        alarm_id   TEXT NOT NULL REFERENCES alarms(id),
        step       INTEGER NOT NULL,
        kind       TEXT NOT NULL CHECK (kind IN ('step', 'reminder')),
        due_at     INTEGER NOT NULL,
        status     TEXT NOT NULL CHECK (status IN ('pending', 'done', 'cancelled')),
        fired_at   INTEGER
      );
      CREATE INDEX escalation_due ON escalation_steps(status, due_at);

      -- Transactional outbox: written with the alarm change that owes it.
      CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        alarm_id        TEXT NOT NULL REFERENCES alarms(id),
        event           TEXT NOT NULL,
        step            INTEGER NOT NULL,
        channel         TEXT NOT NULL,
        target          TEXT NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error      TEXT,
        created_at      INTEGER NOT NULL,
        delivered_at    INTEGER
      );
      CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
      CREATE INDEX outbox_alarm ON outbox(alarm_id);

      -- Rule state that spans time (durations, cancel windows, silence), so a
      -- restart neither forgets nor double-fires.
      CREATE TABLE rule_state (
        subject    TEXT NOT NULL,
        rule       TEXT NOT NULL,
        state      TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (subject, rule)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    name: 'per-resident care settings',
    sql: `ALTER TABLE residents ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';`,
  },
  {
    version: 4,
    name: 'stored reports',
    sql: `
      CREATE TABLE reports (
        id           TEXT PRIMARY KEY,
        kind         TEXT NOT NULL,
        subject      TEXT NOT NULL,
        period_start INTEGER NOT NULL,
        period_end   INTEGER NOT NULL,
        created_at   INTEGER NOT NULL,
        body         TEXT NOT NULL
      );
      CREATE INDEX reports_kind ON reports(kind, subject, period_start);
    `,
  },
  {
    version: 5,
    name: 'providers, user accounts with roles, expiring login tokens',
    sql: `
      CREATE TABLE providers (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
      );

      -- role operator → station_id (that station and every one below it);
      -- provider → provider_id; family → resident_id.
      CREATE TABLE users (
        id            TEXT PRIMARY KEY,
        username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'provider', 'family')),
        display_name  TEXT,
        station_id    TEXT REFERENCES stations(id),
        provider_id   TEXT REFERENCES providers(id),
        resident_id   TEXT REFERENCES residents(id),
        created_at    INTEGER NOT NULL,
        disabled_at   INTEGER,
        CHECK ((role = 'operator') = (station_id IS NOT NULL)),
        CHECK ((role = 'provider') = (provider_id IS NOT NULL)),
        CHECK ((role = 'family') = (resident_id IS NOT NULL))
      );

      -- A login is a token row bound to a user, with an expiry.
      ALTER TABLE api_tokens ADD COLUMN user_id TEXT REFERENCES users(id);
      ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
      CREATE INDEX api_tokens_user ON api_tokens(user_id) WHERE user_id IS NOT NULL;

      -- Who at the station has an alarm in hand (username), shown in the queue.
      ALTER TABLE alarms ADD COLUMN assigned_to TEXT;
    `,
  },
  {
    version: 6,
    name: 'storage probe; one timeline line per failing delivery',
    sql: `
      CREATE TABLE storage_probe (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        at INTEGER NOT NULL
      );
      -- A delivery that keeps failing is one timeline line, updated at each attempt.
      ALTER TABLE outbox ADD COLUMN failure_entry INTEGER;
    `,
  },
  {
    version: 7,
    name: 'responders: contacts answering an alarm, a responder on site, a family account\'s relation; care records and response plans',
    sql: `
      -- The latest answer of each contact ({name, relation, going, etaMinutes, at}), JSON: shown on the queue row.
      ALTER TABLE alarms ADD COLUMN responses TEXT;
      -- When a responder (family, doctor, staff) reached the home, and who: the on-site statistic.
      ALTER TABLE alarms ADD COLUMN on_site_at INTEGER;
      ALTER TABLE alarms ADD COLUMN on_site_by TEXT;
      -- For a family account: who the person is to the resident (son, daughter …).
      ALTER TABLE users ADD COLUMN relation TEXT;
      -- For responders: conditions, medicines, allergies, mobility, doctor, how to get in, language (JSON).
      ALTER TABLE residents ADD COLUMN care_record TEXT;
      -- A station's plan for each alarm type, e.g. {"fall": "先电话确认，无人接听立即上门…"} (JSON); inherited down the tree.
      ALTER TABLE stations ADD COLUMN response_plans TEXT;
    `,
  },
  {
    version: 8,
    name: 'residents who left the programme',
    sql: `
      -- When a resident left (moved into a nursing home, died, moved away): kept, with their history, out of the lists.
      ALTER TABLE residents ADD COLUMN deactivated_at INTEGER;
      -- {reason, note, by} (JSON).
      ALTER TABLE residents ADD COLUMN deactivation TEXT;
    `,
  },
  {
    version: 9,
    name: 'open alarm keys without a NUL (PostgreSQL text cannot hold one)',
    sql: `
      -- subject NUL type becomes subject|type; the subject is the alarm's device, or its resident for a resident-level rule.
      UPDATE alarms SET open_key = device_id || '|' || type WHERE open_key IS NOT NULL AND device_id IS NOT NULL AND open_key = device_id || char(0) || type;
      UPDATE alarms SET open_key = resident_id || '|' || type WHERE open_key IS NOT NULL AND resident_id IS NOT NULL AND open_key = resident_id || char(0) || type;
    `,
  },
  {
    version: 10,
    name: 'care programmes: resident profiles and visits',
    sql: `
      -- YYYY-MM-DD; the 80+ are derived from it.
      ALTER TABLE residents ADD COLUMN birth_date TEXT;
      -- JSON array: lives_alone, empty_nest, left_behind, disabled, severely_disabled, special_family, low_income.
      ALTER TABLE residents ADD COLUMN categories TEXT;
      -- When the capability level was last assessed (YYYY-MM-DD).
      ALTER TABLE residents ADD COLUMN capability_assessed_at TEXT;
      -- The resident's own visit plan, [{kind, everyDays}] (JSON); NULL: from their categories.
      ALTER TABLE residents ADD COLUMN visit_plan TEXT;
      -- A station's plans by category (JSON), overriding the defaults for its residents.
      ALTER TABLE stations ADD COLUMN visit_plans TEXT;

      -- A visit or phone greeting to a resident (探访关爱) and how it went.
      CREATE TABLE visits (
        id           TEXT PRIMARY KEY,
        resident_id  TEXT NOT NULL,
        station_id   TEXT NOT NULL,
        kind         TEXT NOT NULL CHECK (kind IN ('phone', 'home')),
        at           INTEGER NOT NULL,
        visited_by   TEXT NOT NULL,
        outcome      TEXT NOT NULL CHECK (outcome IN ('well', 'needs_follow_up', 'not_reached')),
        observations TEXT,
        note         TEXT,
        created_at   INTEGER NOT NULL
      );
      CREATE INDEX visits_resident ON visits(resident_id, at);
      CREATE INDEX visits_station ON visits(station_id, at);
    `,
  },
  {
    version: 11,
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
        created_at    INTEGER NOT NULL,
        created_by    TEXT NOT NULL,
        assigned_at   INTEGER,
        assigned_by   TEXT,
        started_at    INTEGER,
        started_by    TEXT,
        arrived_at    INTEGER,
        arrived_by    TEXT,
        done_at       INTEGER,
        done_by       TEXT,
        cancelled_at  INTEGER,
        cancelled_by  TEXT,
        cancel_reason TEXT,
        updated_at    INTEGER NOT NULL
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
    version: 12,
    name: 'providers can be notified: a fault not fixed in 2 h, buttons overdue for a test',
    sql: `
      ALTER TABLE providers ADD COLUMN webhook_url TEXT;
    `,
  },
  {
    version: 13,
    name: 'visitor accounts: community workers and volunteers who visit, scoped to a station',
    rebuildsTables: true,
    sql: `
      -- role operator or visitor → station_id (that station and every one below it);
      -- provider → provider_id; family → resident_id.
      CREATE TABLE users_new (
        id            TEXT PRIMARY KEY,
        username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'provider', 'family', 'visitor')),
        display_name  TEXT,
        station_id    TEXT REFERENCES stations(id),
        provider_id   TEXT REFERENCES providers(id),
        resident_id   TEXT REFERENCES residents(id),
        created_at    INTEGER NOT NULL,
        disabled_at   INTEGER,
        relation      TEXT,
        CHECK ((role IN ('operator', 'visitor')) = (station_id IS NOT NULL)),
        CHECK ((role = 'provider') = (provider_id IS NOT NULL)),
        CHECK ((role = 'family') = (resident_id IS NOT NULL))
      );
      INSERT INTO users_new (id, username, password_hash, role, display_name, station_id, provider_id, resident_id, created_at, disabled_at, relation)
        SELECT id, username, password_hash, role, display_name, station_id, provider_id, resident_id, created_at, disabled_at, relation FROM users;
      DROP TABLE users;
      ALTER TABLE users_new RENAME TO users;

      -- The resident's own phone: for phone greetings (电话问候).
      ALTER TABLE residents ADD COLUMN phone TEXT;
    `,
  },
  {
    version: 14,
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
        created_at  INTEGER NOT NULL,
        due_at      INTEGER NOT NULL,
        done_at     INTEGER,
        done_by     TEXT
      );
      CREATE INDEX visit_tasks_open ON visit_tasks(station_id, due_at) WHERE done_at IS NULL;
      CREATE INDEX visit_tasks_resident ON visit_tasks(resident_id, created_at);
    `,
  },
  {
    version: 15,
    name: 'outbox deliveries leased to the node sending them',
    sql: `
      -- A delivery under way is leased to the node sending it (several nodes, one
      -- database): others skip it until the lease ends, so a node that dies
      -- mid-delivery leaves it to another once the lease runs out.
      ALTER TABLE outbox ADD COLUMN lease_until INTEGER;
      ALTER TABLE outbox ADD COLUMN leased_by TEXT;
    `,
  },
  {
    version: 16,
    name: 'which node holds each device, with an epoch',
    sql: `
      -- The node a device is connected to, and an epoch bumped each time a node
      -- takes it: a node writes the device's rule state only while the epoch it
      -- took is the current one (several nodes, one database).
      CREATE TABLE device_owners (
        device_id  TEXT PRIMARY KEY,
        node_id    TEXT NOT NULL,
        epoch      INTEGER NOT NULL,
        claimed_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 17,
    name: 'which node ran each occurrence of a scheduled job',
    sql: `
      CREATE TABLE job_runs (
        name       TEXT NOT NULL,
        due_at     INTEGER NOT NULL,
        node       TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        PRIMARY KEY (name, due_at)
      );
    `,
  },
  {
    version: 18,
    name: 'the nodes sharing the database, with their heartbeats',
    sql: `
      CREATE TABLE nodes (
        node_id      TEXT PRIMARY KEY,
        heartbeat_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 19,
    name: "an alarm's pending escalation steps found by the alarm",
    sql: `
      -- Every alarm read or changed finds its own pending steps (the next deadline, cancelling the rest);
      -- with only (status, due_at) that walked every pending step of every open alarm.
      CREATE INDEX escalation_alarm ON escalation_steps(alarm_id, status, due_at);
    `,
  },
];

/**
 * Embedded telemetry lives in its own file, `telemetry.db`, written by a worker
 * thread: high-volume readings never contend for the write lock with alarms.
 */
export const telemetryMigrations: Migration[] = [
  {
    version: 1,
    name: 'telemetry: one row per device message, clustered by device and time',
    sql: `
      -- One row per device message: its readings as a JSON object {kind: value}.
      -- Clustered by (device, ts): a chart reads one contiguous range. A second
      -- message with the same device and time merges into the row; per kind the
      -- later value wins (one point per device, kind and millisecond, as in InfluxDB).
      CREATE TABLE telemetry (
        device_id TEXT NOT NULL,
        ts        INTEGER NOT NULL,
        v         TEXT NOT NULL,
        PRIMARY KEY (device_id, ts)
      ) WITHOUT ROWID;
      -- The devices that have telemetry, for retention (deletes run per device).
      CREATE TABLE telemetry_devices (
        device_id TEXT PRIMARY KEY
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'telemetry: one row per device and write batch (a chunk of its messages)',
    sql: `
      -- A row holds the messages of one device that arrived in one write batch,
      -- spanning at most an hour (TELEMETRY_CHUNK_SPAN_MS): a batch costs one
      -- B-tree insert per device instead of one per message.
      --   ts    the chunk's earliest reading; last its latest
      --   n     write order: for one device, kind and time the later chunk wins
      --         (within a chunk, the later entry)
      --   v     [[ms after ts, ...], {kind: [value or null, ...], ...}]: entry i
      --         (a message, in arrival order) holds each kind's i-th value
      CREATE TABLE telemetry_chunks (
        device_id TEXT NOT NULL,
        ts        INTEGER NOT NULL,
        n         INTEGER NOT NULL,
        last      INTEGER NOT NULL,
        v         TEXT NOT NULL,
        PRIMARY KEY (device_id, ts, n)
      ) WITHOUT ROWID;
      INSERT INTO telemetry_chunks (device_id, ts, n, last, v)
        SELECT device_id, ts, 0, ts, json_array(json_array(0), json((SELECT json_group_object(key, json_array(value)) FROM json_each(telemetry.v))))
        FROM telemetry;
      DROP TABLE telemetry;
      ALTER TABLE telemetry_chunks RENAME TO telemetry;
      -- The next chunk's n (kept here so the writer never scans for the largest).
      CREATE TABLE telemetry_meta (
        key   TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO telemetry_meta (key, value) VALUES ('next_chunk', 1);
    `,
  },
];
