import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { migrate, openDatabase, schemaVersion } from '../../../src/store/database.ts';
import { migrations, telemetryMigrations } from '../../../src/store/migrations.ts';

describe('schema migrations', () => {
  it('applies each version once, in order', () => {
    const db = new Database(':memory:');
    const steps = [
      { version: 2, name: 'second', sql: 'ALTER TABLE t ADD COLUMN b TEXT' },
      { version: 1, name: 'first', sql: 'CREATE TABLE t (a INTEGER)' },
    ];
    expect(migrate(db, steps)).toEqual([1, 2]);
    expect(migrate(db, steps)).toEqual([]);
    expect(schemaVersion(db)).toBe(2);
    expect(db.prepare("SELECT name FROM pragma_table_info('t')").pluck().all()).toEqual(['a', 'b']);
  });

  it('leaves no trace of a migration that fails', () => {
    const db = new Database(':memory:');
    expect(() => migrate(db, [{ version: 1, name: 'bad', sql: 'CREATE TABLE x (a); CREATE TABLE x (a);' }])).toThrow();
    expect(schemaVersion(db)).toBe(0);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'x'").pluck().get()).toBe(0);
  });

  it('refuses two migrations with one version', () => {
    const db = new Database(':memory:');
    expect(() => migrate(db, [{ version: 1, name: 'a', sql: '' }, { version: 1, name: 'b', sql: '' }])).toThrow('duplicate migration version');
  });

  it('creates the gateway and telemetry schemas', () => {
    const db = openDatabase(null);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual(expect.arrayContaining(['stations', 'residents', 'contacts', 'devices', 'device_events', 'dead_letters', 'api_tokens']));
    expect(schemaVersion(db)).toBe(migrations.at(-1)!.version);
    const telemetry = openDatabase(null, telemetryMigrations);
    expect(telemetry.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('telemetry', 'telemetry_devices')").pluck().all()).toHaveLength(2);
  });

  it('rewrites the open alarms\' keys of a database made before version 9, so their dedupe still holds', () => {
    const db = new Database(':memory:');
    migrate(db, migrations.filter((m) => m.version < 9));
    const insert = db.prepare("INSERT INTO alarms (id, type, severity, state, resident_id, device_id, station_id, raised_at, updated_at, policy, open_key) VALUES (?, ?, 'critical', ?, ?, ?, 'st', 0, 0, 'critical', ?)");
    insert.run('by-device', 'sos', 'open', 'res-1', 'pendant-1', 'pendant-1\u0000sos');
    insert.run('by-resident', 'inactivity', 'open', 'res-1', 'pir-1', 'res-1\u0000inactivity');
    insert.run('resolved', 'sos', 'resolved', 'res-1', 'pendant-1', null);
    expect(migrate(db, migrations.filter((m) => m.version <= 9))).toEqual([9]);
    expect(db.prepare('SELECT id, open_key FROM alarms ORDER BY id').all()).toEqual([
      { id: 'by-device', open_key: 'pendant-1|sos' },
      { id: 'by-resident', open_key: 'res-1|inactivity' },
      { id: 'resolved', open_key: null },
    ]);
  });
});
