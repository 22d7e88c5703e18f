import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { migrate } from '../../../src/store/database.ts';
import { telemetryMigrations } from '../../../src/store/migrations.ts';
import { SqliteTelemetrySink, TELEMETRY_DB_FILE } from '../../../src/telemetry/sqlite-sink.ts';
import type { TelemetryPoint } from '../../../src/telemetry/point.ts';

const NOW = Date.UTC(2026, 5, 1);
const p = (deviceId: string, kind: string, ts: number, value: number): TelemetryPoint => ({ deviceId, kind, ts, value, residentId: null, stationId: null, profileId: 'x' });

// What every telemetry store must do is in test/contract/telemetry-sink.test.ts, run against this one too.
describe('embedded telemetry written before chunks', () => {
  it('keeps every reading of a one-row-a-message store through the migration', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'carebell-sqlite-v1-'));
    const old = new Database(join(dir, TELEMETRY_DB_FILE));
    migrate(old, telemetryMigrations.filter((m) => m.version === 1));
    const row = old.prepare('INSERT INTO telemetry (device_id, ts, v) VALUES (?, ?, ?)');
    row.run('j', NOW - 1000, '{"heart_rate":70,"spo2":97}');
    row.run('j', NOW, '{"heart_rate":71}');
    old.prepare("INSERT INTO telemetry_devices VALUES ('j')").run();
    old.close();

    const sink = new SqliteTelemetrySink(dir);
    try {
      expect(await sink.query({ deviceId: 'j', from: 0, to: NOW + 1 })).toEqual([
        { kind: 'heart_rate', ts: NOW - 1000, value: 70 },
        { kind: 'spo2', ts: NOW - 1000, value: 97 },
        { kind: 'heart_rate', ts: NOW, value: 71 },
      ]);
      // New readings for the same time replace the migrated ones.
      await sink.write([p('j', 'heart_rate', NOW, 72)]);
      expect(await sink.query({ deviceId: 'j', kind: 'heart_rate', from: NOW, to: NOW + 1 })).toEqual([{ kind: 'heart_rate', ts: NOW, value: 72 }]);
      expect(await sink.pruneBefore(NOW)).toBe(2);
    } finally {
      await sink.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
