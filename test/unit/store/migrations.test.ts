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

  it('rebuilds the accounts table for visitors with every account and login kept, and foreign keys on again', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    migrate(db, migrations.filter((m) => m.version < 13));
    db.prepare("INSERT INTO stations (id, name, level, parent_id, created_at) VALUES ('st-1', '江汉社区', 'community', NULL, 0)").run();
    db.prepare("INSERT INTO users (id, username, password_hash, role, station_id, created_at, relation) VALUES ('usr-1', 'nurse.zhang', 'h', 'operator', 'st-1', 0, NULL)").run();
    db.prepare("INSERT INTO api_tokens (label, role, token_hash, created_at, user_id, expires_at) VALUES ('login', 'operator', 'digest', 0, 'usr-1', 99)").run();
    // Before: no visitor accounts.
    expect(() => db.prepare("INSERT INTO users (id, username, password_hash, role, station_id, created_at) VALUES ('usr-2', 'v', 'h', 'visitor', 'st-1', 0)").run()).toThrow(/CHECK/);
    expect(migrate(db, migrations)).toContain(13);
    expect(db.prepare('SELECT id, username, role, station_id FROM users').all()).toEqual([{ id: 'usr-1', username: 'nurse.zhang', role: 'operator', station_id: 'st-1' }]);
    db.prepare("INSERT INTO users (id, username, password_hash, role, station_id, created_at) VALUES ('usr-2', 'volunteer.li', 'h', 'visitor', 'st-1', 0)").run();
    // A visitor belongs to a station; logins still point at their account; foreign keys hold again.
    expect(() => db.prepare("INSERT INTO users (id, username, password_hash, role, created_at) VALUES ('usr-3', 'v3', 'h', 'visitor', 0)").run()).toThrow(/CHECK/);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(() => db.prepare("INSERT INTO api_tokens (label, role, token_hash, created_at, user_id) VALUES ('x', 'visitor', 'd2', 0, 'nobody')").run()).toThrow(/FOREIGN KEY/);
    expect(db.pragma('foreign_key_check')).toEqual([]);
  });
});
