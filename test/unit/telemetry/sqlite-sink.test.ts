import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { migrate } from '../../../src/store/database.ts';
import { telemetryMigrations } from '../../../src/store/migrations.ts';
import { TELEMETRY_CHUNK_SPAN_MS } from '../../../src/telemetry/columns.ts';
import { SqliteTelemetrySink, TELEMETRY_DB_FILE } from '../../../src/telemetry/sqlite-sink.ts';
import type { TelemetryPoint } from '../../../src/telemetry/point.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1);
const p = (deviceId: string, kind: string, ts: number, value: number): TelemetryPoint => ({ deviceId, kind, ts, value, residentId: null, stationId: null, profileId: 'x' });

describe('embedded SQLite telemetry (worker-thread writer)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'carebell-sqlite-sink-'));
  const sink = new SqliteTelemetrySink(dir);
  afterAll(async () => {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores batches and reads a series back in time order', async () => {
    await sink.write([p('a', 'heart_rate', NOW - 2000, 70), p('a', 'heart_rate', NOW - 1000, 72), p('a', 'spo2', NOW - 1000, 97), p('b', 'heart_rate', NOW - 1500, 88)]);
    expect(await sink.query({ deviceId: 'a', kind: 'heart_rate', from: 0, to: NOW })).toEqual([
      { kind: 'heart_rate', ts: NOW - 2000, value: 70 },
      { kind: 'heart_rate', ts: NOW - 1000, value: 72 },
    ]);
    expect((await sink.query({ deviceId: 'a', from: NOW - 1000, to: NOW })).map((r) => r.kind)).toEqual(['heart_rate', 'spo2']);
  });

  it('keeps one point per series and millisecond: the later value wins', async () => {
    await sink.write([p('c', 'battery', NOW, 50)]);
    await sink.write([p('c', 'battery', NOW, 49)]);
    expect(await sink.query({ deviceId: 'c', from: 0, to: NOW + 1 })).toEqual([{ kind: 'battery', ts: NOW, value: 49 }]);
  });

  it('prunes readings older than the retention cutoff in every series, and only those', async () => {
    await sink.write([p('d', 'heart_rate', NOW - 100 * DAY, 60), p('d', 'heart_rate', NOW - 10 * DAY, 61), p('d', 'spo2', NOW - 95 * DAY, 95), p('e', 'steps', NOW - 91 * DAY, 10)]);
    const before = sink.count();
    const removed = await sink.pruneBefore(NOW - 90 * DAY);
    expect(removed).toBe(3);
    expect(sink.count()).toBe(before - 3);
    expect(await sink.query({ deviceId: 'd', from: 0, to: NOW })).toEqual([{ kind: 'heart_rate', ts: NOW - 10 * DAY, value: 61 }]);
  });

  it('stores a device\'s messages of one batch as one chunk, and starts another for a message out of its span', async () => {
    const HOUR = TELEMETRY_CHUNK_SPAN_MS;
    // Arrival order: f, g, f (a second later), f (earlier than its chunk), f (more than a span later).
    await sink.write([
      p('f', 'heart_rate', NOW, 70),
      p('f', 'spo2', NOW, 97),
      p('g', 'heart_rate', NOW, 80),
      p('f', 'heart_rate', NOW + 1000, 71),
      p('f', 'heart_rate', NOW - 5000, 69),
      p('f', 'heart_rate', NOW + HOUR + 1, 75),
    ]);
    const db = new Database(join(dir, TELEMETRY_DB_FILE), { readonly: true });
    const rows = db.prepare("SELECT ts, last, v FROM telemetry WHERE device_id = 'f' ORDER BY ts").all();
    db.close();
    expect(rows).toEqual([
      { ts: NOW - 5000, last: NOW - 5000, v: '[[0],{"heart_rate":[69]}]' },
      { ts: NOW, last: NOW + 1000, v: '[[0,1000],{"heart_rate":[70,71],"spo2":[97,null]}]' },
      { ts: NOW + HOUR + 1, last: NOW + HOUR + 1, v: '[[0],{"heart_rate":[75]}]' },
    ]);
    expect((await sink.query({ deviceId: 'f', kind: 'heart_rate', from: 0, to: NOW + 2 * HOUR })).map((r) => [r.ts - NOW, r.value])).toEqual([
      [-5000, 69],
      [0, 70],
      [1000, 71],
      [HOUR + 1, 75],
    ]);
    // A range that starts inside the middle chunk reads only its later entry; one after the last chunk reads nothing.
    expect(await sink.query({ deviceId: 'f', from: NOW + 1, to: NOW + HOUR })).toEqual([{ kind: 'heart_rate', ts: NOW + 1000, value: 71 }]);
    expect(await sink.query({ deviceId: 'f', from: NOW + HOUR + 2, to: NOW + 3 * HOUR })).toEqual([]);
    expect(sink.count('f')).toBe(5);
  });

  it('keeps one point per series and millisecond within a batch, in the series too', async () => {
    await sink.write([p('h', 'heart_rate', NOW, 60), p('h', 'heart_rate', NOW + 1, 61), p('h', 'heart_rate', NOW, 90)]);
    expect(await sink.query({ deviceId: 'h', from: 0, to: NOW + 2 })).toEqual([
      { kind: 'heart_rate', ts: NOW, value: 90 },
      { kind: 'heart_rate', ts: NOW + 1, value: 61 },
    ]);
    await sink.write([p('h', 'heart_rate', NOW + 1, 62)]);
    expect(await sink.series({ deviceId: 'h', from: NOW, to: NOW + 2, bucketMs: 10 })).toEqual([{ kind: 'heart_rate', points: [{ t: NOW, mean: 76, min: 62, max: 90, n: 2 }] }]);
    expect(sink.count('h')).toBe(2);
    // One message carrying a kind twice: the second value is the later reading.
    await sink.write([p('h2', 'heart_rate', NOW, 60), p('h2', 'spo2', NOW, 97), p('h2', 'heart_rate', NOW, 61)]);
    expect(await sink.query({ deviceId: 'h2', from: 0, to: NOW + 1 })).toEqual([
      { kind: 'heart_rate', ts: NOW, value: 61 },
      { kind: 'spo2', ts: NOW, value: 97 },
    ]);
  });

  it('merges chunks whose times overlap: the later one wins where they meet, and a limit stops the read', async () => {
    await sink.write([p('m', 'heart_rate', NOW, 1), p('m', 'heart_rate', NOW + 2000, 2), p('m', 'heart_rate', NOW + 9000, 5)]);
    await sink.write([p('m', 'heart_rate', NOW + 1000, 3), p('m', 'heart_rate', NOW + 2000, 4)]);
    const all = await sink.query({ deviceId: 'm', from: 0, to: NOW + 10_000 });
    expect(all.map((r) => [r.ts - NOW, r.value])).toEqual([
      [0, 1],
      [1000, 3],
      [2000, 4],
      [9000, 5],
    ]);
    expect(await sink.series({ deviceId: 'm', from: NOW, to: NOW + 10_000, bucketMs: 5000 })).toEqual([
      {
        kind: 'heart_rate',
        points: [
          { t: NOW, mean: 8 / 3, min: 1, max: 4, n: 3 },
          { t: NOW + 5000, mean: 5, min: 5, max: 5, n: 1 },
        ],
      },
    ]);
    expect((await sink.query({ deviceId: 'm', from: 0, to: NOW + 10_000, limit: 2 })).map((r) => r.value)).toEqual([1, 3]);
  });

  it('prunes a chunk that straddles the cutoff down to its later readings', async () => {
    const T = NOW - 30 * DAY; // older than every other test's readings still stored
    await sink.write([p('i', 'heart_rate', T - 3000, 60), p('i', 'spo2', T - 3000, 95), p('i', 'heart_rate', T - 2000, 61), p('i', 'heart_rate', T - 1000, 62)]);
    expect(await sink.pruneBefore(T - 2000)).toBe(2);
    expect(await sink.query({ deviceId: 'i', from: 0, to: NOW })).toEqual([
      { kind: 'heart_rate', ts: T - 2000, value: 61 },
      { kind: 'heart_rate', ts: T - 1000, value: 62 },
    ]);
    expect(await sink.pruneBefore(T - 2000)).toBe(0);
    expect(await sink.pruneBefore(T)).toBe(2);
    expect(sink.count('i')).toBe(0);
  });
});

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
