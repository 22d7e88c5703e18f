import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.ts';
import { migratePostgres } from '../../src/store/postgres/migrations.ts';
import { PostgresClient } from '../../src/store/sql-client.ts';
import { TELEMETRY_CHUNK_SPAN_MS } from '../../src/telemetry/columns.ts';
import type { TelemetryPoint, TelemetrySink } from '../../src/telemetry/point.ts';
import { PostgresTelemetryWriter } from '../../src/telemetry/postgres-sink.ts';
import { SpoolingRemoteSink } from '../../src/telemetry/remote-sink.ts';
import { SqliteTelemetrySink, TELEMETRY_DB_FILE } from '../../src/telemetry/sqlite-sink.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';

const DAY = 86_400_000;
const HOUR = TELEMETRY_CHUNK_SPAN_MS;
const NOW = Date.UTC(2026, 5, 1);
const p = (deviceId: string, kind: string, ts: number, value: number): TelemetryPoint => ({ deviceId, kind, ts, value, residentId: null, stationId: null, profileId: 'x' });

/** A telemetry store under test: the sink the gateway would use, and its rows as stored. */
interface SinkBackend {
  name: string;
  start(): Promise<void>;
  sink(): TelemetrySink & { pruneBefore(cutoff: number): Promise<number> };
  /** A device's chunks as stored, in write order. */
  rows(deviceId: string): Promise<Array<{ ts: number; last: number; v: string }>>;
  stop(): Promise<void>;
}

function sqliteSinkBackend(): SinkBackend {
  const dir = mkdtempSync(join(tmpdir(), 'carebell-sink-contract-'));
  let sink: SqliteTelemetrySink;
  return {
    name: 'embedded SQLite (telemetry.db, a writer thread)',
    async start() {
      sink = new SqliteTelemetrySink(dir);
    },
    sink: () => sink,
    async rows(deviceId) {
      const db = new Database(join(dir, TELEMETRY_DB_FILE), { readonly: true });
      try {
        return db.prepare('SELECT ts, last, v FROM telemetry WHERE device_id = ? ORDER BY n').all(deviceId) as Array<{ ts: number; last: number; v: string }>;
      } finally {
        db.close();
      }
    },
    async stop() {
      await sink.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresSinkBackend(): SinkBackend & { server(): TestPostgres; spoolDir: string } {
  const spoolDir = mkdtempSync(join(tmpdir(), 'carebell-sink-spool-'));
  let server: TestPostgres;
  let sink: SpoolingRemoteSink;
  let reader: PostgresClient;
  return {
    name: 'PostgreSQL (shared by the nodes, behind the disk spool)',
    spoolDir,
    server: () => server,
    async start() {
      server = await startPostgres();
      reader = new PostgresClient(server.url, { max: 1 });
      await migratePostgres(reader);
      sink = new SpoolingRemoteSink(new PostgresTelemetryWriter(new PostgresClient(server.url, { max: 2 })), { spoolDir, log: silentLogger, retryMinMs: 50, retryMaxMs: 200 });
    },
    sink: () => sink,
    rows: (deviceId) => reader.all('SELECT ts, last, v FROM telemetry WHERE device_id = ? ORDER BY n', [deviceId]),
    async stop() {
      await sink.close();
      await reader.close();
      await server.stop();
      rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}

/** Every reading a device has stored. */
const all = (sink: TelemetrySink, deviceId: string) => sink.query({ deviceId, from: -Infinity, to: Infinity, limit: 1_000_000 });

describe.each([sqliteSinkBackend(), postgresSinkBackend()])('telemetry store contract: $name', (backend) => {
  let sink: ReturnType<SinkBackend['sink']>;
  beforeAll(async () => {
    await backend.start();
    sink = backend.sink();
  }, 60_000);
  afterAll(() => backend.stop());

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
    const others = (await all(sink, 'a')).length;
    expect(await sink.pruneBefore(NOW - 90 * DAY)).toBe(3);
    expect(await all(sink, 'd')).toEqual([{ kind: 'heart_rate', ts: NOW - 10 * DAY, value: 61 }]);
    expect(await all(sink, 'e')).toEqual([]);
    expect((await all(sink, 'a')).length).toBe(others);
  });

  it("stores a device's messages of one batch as one chunk, and starts another for a message out of its span", async () => {
    // Arrival order: f, g, f (a second later), f (earlier than its chunk), f (more than a span later).
    await sink.write([
      p('f', 'heart_rate', NOW, 70),
      p('f', 'spo2', NOW, 97),
      p('g', 'heart_rate', NOW, 80),
      p('f', 'heart_rate', NOW + 1000, 71),
      p('f', 'heart_rate', NOW - 5000, 69),
      p('f', 'heart_rate', NOW + HOUR + 1, 75),
    ]);
    expect(await backend.rows('f')).toEqual([
      { ts: NOW, last: NOW + 1000, v: '[[0,1000],{"heart_rate":[70,71],"spo2":[97,null]}]' },
      { ts: NOW - 5000, last: NOW - 5000, v: '[[0],{"heart_rate":[69]}]' },
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
    expect(await all(sink, 'f')).toHaveLength(5);
  });

  it('keeps one point per series and millisecond within a batch, in the series too', async () => {
    await sink.write([p('h', 'heart_rate', NOW, 60), p('h', 'heart_rate', NOW + 1, 61), p('h', 'heart_rate', NOW, 90)]);
    expect(await sink.query({ deviceId: 'h', from: 0, to: NOW + 2 })).toEqual([
      { kind: 'heart_rate', ts: NOW, value: 90 },
      { kind: 'heart_rate', ts: NOW + 1, value: 61 },
    ]);
    await sink.write([p('h', 'heart_rate', NOW + 1, 62)]);
    expect(await sink.series({ deviceId: 'h', from: NOW, to: NOW + 2, bucketMs: 10 })).toEqual([{ kind: 'heart_rate', points: [{ t: NOW, mean: 76, min: 62, max: 90, n: 2 }] }]);
    expect(await all(sink, 'h')).toHaveLength(2);
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
    const read = await sink.query({ deviceId: 'm', from: 0, to: NOW + 10_000 });
    expect(read.map((r) => [r.ts - NOW, r.value])).toEqual([
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
    expect(await all(sink, 'i')).toEqual([
      { kind: 'heart_rate', ts: T - 2000, value: 61 },
      { kind: 'heart_rate', ts: T - 1000, value: 62 },
    ]);
    expect(await sink.pruneBefore(T - 2000)).toBe(0);
    expect(await sink.pruneBefore(T)).toBe(2);
    expect(await all(sink, 'i')).toEqual([]);
  });

  it('reads a long range whole, in order, and a limit stops it part-way', async () => {
    // 2,500 batches of one message each: 2,500 chunks, more than one page of a networked read.
    const T = NOW + 10 * DAY;
    for (let i = 0; i < 2_500; i++) await sink.write([p('long', 'heart_rate', T + i * 1000, 60 + (i % 40))]);
    const read = await all(sink, 'long');
    expect(read).toHaveLength(2_500);
    expect(read.every((r, i) => r.ts === T + i * 1000 && r.value === 60 + (i % 40))).toBe(true);
    expect(await sink.query({ deviceId: 'long', from: T, to: T + 3_000_000, limit: 2_100 })).toHaveLength(2_100);
    const [series] = await sink.series({ deviceId: 'long', from: T, to: T + 2_500_000, bucketMs: 1_000_000 });
    expect(series!.points.map((b) => b.n)).toEqual([1_000, 1_000, 500]);
  });
});

describe('telemetry in PostgreSQL, shared by several nodes', () => {
  const backend = postgresSinkBackend();
  let sink: SpoolingRemoteSink;
  beforeAll(async () => {
    await backend.start();
    sink = backend.sink() as SpoolingRemoteSink;
  }, 60_000);
  afterAll(() => backend.stop());

  it("a node reads the readings another node wrote, and the later write wins between nodes too", async () => {
    const otherSpool = mkdtempSync(join(tmpdir(), 'carebell-sink-spool-'));
    const other = new SpoolingRemoteSink(new PostgresTelemetryWriter(new PostgresClient(backend.server().url, { max: 2 })), { spoolDir: otherSpool, log: silentLogger });
    try {
      await sink.write([p('n1', 'heart_rate', NOW, 70), p('n1', 'spo2', NOW, 97)]);
      expect(await other.query({ deviceId: 'n1', from: 0, to: NOW + 1 })).toEqual([
        { kind: 'heart_rate', ts: NOW, value: 70 },
        { kind: 'spo2', ts: NOW, value: 97 },
      ]);
      // The device moved to the other node (its first died) and sent the same instant again.
      await other.write([p('n1', 'heart_rate', NOW, 71)]);
      expect(await sink.query({ deviceId: 'n1', kind: 'heart_rate', from: 0, to: NOW + 1 })).toEqual([{ kind: 'heart_rate', ts: NOW, value: 71 }]);
    } finally {
      await other.close();
      rmSync(otherSpool, { recursive: true, force: true });
    }
  });

  it('while the database is down, batches wait in the spool and are all written once it is back', async () => {
    const server = backend.server();
    await server.halt();
    try {
      for (let i = 0; i < 5; i++) await sink.write([p('outage', 'heart_rate', NOW + i * 1000, 60 + i)]);
      expect(sink.backlog()).toBe(5);
    } finally {
      await server.resume();
    }
    await sink.drained();
    expect(sink.backlog()).toBe(0);
    expect((await all(sink, 'outage')).map((r) => r.value)).toEqual([60, 61, 62, 63, 64]);
  });

  it('a batch the database refuses for what it holds is set aside with the reason, and the next one is written', async () => {
    await sink.write([p('nul\u0000device', 'heart_rate', NOW, 70)]);
    expect(sink.rejectedPoints).toBe(1);
    const rejected = readdirSync(join(backend.spoolDir, 'rejected'));
    expect(rejected.length).toBeGreaterThan(0);
    await sink.write([p('after-refusal', 'heart_rate', NOW, 71)]);
    expect(sink.backlog()).toBe(0);
    expect(await all(sink, 'after-refusal')).toEqual([{ kind: 'heart_rate', ts: NOW, value: 71 }]);
  });

  it('operational series (alarm lifecycle, fleet state) are not stored as readings', async () => {
    await sink.write([{ ...p('ops', 'carebell.alarm', NOW, 1), tags: { state: 'raised' } }, { ...p('ops', 'carebell.fleet', NOW, 3), fields: { online: 3 } }, p('ops', 'battery', NOW, 80)]);
    expect(await backend.rows('ops')).toEqual([{ ts: NOW, last: NOW, v: '[[0],{"battery":[80]}]' }]);
  });
});
