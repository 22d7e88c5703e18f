import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { migrations as defaultMigrations, type Migration } from './migrations.ts';

export type Db = Database.Database;

/**
 * Opens (or creates) the gateway's SQLite database in WAL mode and brings its
 * schema up to date. `dataDir` null opens a private in-memory database.
 */
export function openDatabase(dataDir: string | null, migrations: Migration[] = defaultMigrations, file = 'carebell.db'): Db {
  let db: Db;
  if (dataDir === null) {
    db = new Database(':memory:');
  } else {
    mkdirSync(dataDir, { recursive: true });
    db = new Database(join(dataDir, file));
    db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a committed transaction survives a process crash; only an
    // OS crash or power loss can lose the last commits.
    db.pragma('synchronous = NORMAL');
    // 64 MiB of page cache keeps the telemetry index hot between batches.
    db.pragma('cache_size = -65536');
  }
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db, migrations);
  reusePreparedStatements(db);
  return db;
}

/** Distinct SQL texts kept prepared at most (queries built with a variable number of parameters stop being kept beyond it). */
const PREPARED_STATEMENTS_KEPT = 1_000;

/**
 * Each SQL text is prepared once and its statement reused: preparing costs
 * more than running most of our statements (an SOS's path runs a dozen).
 * A reused statement is handed out in its default mode, whatever `.pluck()`
 * or `.raw()` its previous user set. Safe because statements of this
 * database are run to completion before another runs (none is iterated
 * while the code that iterates it prepares the same text).
 */
function reusePreparedStatements(db: Db): void {
  const prepare = db.prepare.bind(db);
  const kept = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    let statement = kept.get(sql);
    if (statement === undefined) {
      statement = prepare(sql);
      if (kept.size < PREPARED_STATEMENTS_KEPT) kept.set(sql, statement);
    } else if (statement.reader) {
      statement.raw(false);
      statement.pluck(false);
      statement.expand(false);
    }
    return statement;
  }) as Db['prepare'];
}

export function migrate(db: Db, migrations: Migration[]): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const applied = new Set(
    db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[],
  );
  const versions = migrations.map((m) => m.version);
  if (new Set(versions).size !== versions.length) throw new Error('duplicate migration version');
  const done: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(migration.version)) continue;
    // SQLite's way to rebuild a referenced table: foreign keys off (outside the transaction), checked before commit.
    if (migration.rebuildsTables) db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        db.exec(migration.sql);
        if (migration.rebuildsTables) {
          const broken = db.pragma('foreign_key_check') as unknown[];
          if (broken.length > 0) throw new Error(`migration ${migration.version} would leave ${broken.length} broken references`);
        }
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.name, Date.now());
      })();
    } finally {
      if (migration.rebuildsTables) db.pragma('foreign_keys = ON');
    }
    done.push(migration.version);
  }
  return done;
}

export function schemaVersion(db: Db): number {
  return (db.prepare('SELECT max(version) FROM schema_migrations').pluck().get() as number | null) ?? 0;
}
