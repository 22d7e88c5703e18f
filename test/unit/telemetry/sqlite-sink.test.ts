import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteTelemetrySink } from '../../../src/telemetry/sqlite-sink.ts';
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
});
