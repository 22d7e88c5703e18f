import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/logger.ts';
import type { TelemetryPoint } from '../../../src/telemetry/point.ts';
import { RejectedPointsError, SpoolingRemoteSink, type RemoteWriter } from '../../../src/telemetry/remote-sink.ts';
import { DiskSpool } from '../../../src/telemetry/spool.ts';

const point = (i: number): TelemetryPoint => ({ deviceId: 'd', kind: 'spo2', value: 90 + (i % 10), ts: i, residentId: null, stationId: null, profileId: 'p' });

/** A remote server that is up or down at the test's command and records what it accepted. */
class Server implements RemoteWriter {
  readonly name = 'fake-remote';
  up = true;
  accepted: number[] = [];
  attempts = 0;
  async write(points: TelemetryPoint[]) {
    this.attempts++;
    if (!this.up) throw new Error('ECONNREFUSED');
    this.accepted.push(...points.map((p) => p.ts));
  }
  async query() {
    return [];
  }
  async series() {
    return [];
  }
  async close() {}
}

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'carebell-spool-'));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('spooling remote sink', () => {
  it('writes straight through while the server is up', async () => {
    const server = new Server();
    const sink = new SpoolingRemoteSink(server, { spoolDir: tempDir(), log: silentLogger });
    await sink.write([point(1), point(2)]);
    expect(server.accepted).toEqual([1, 2]);
    expect(sink.backlog()).toBe(0);
    await sink.close();
  });

  it('spools a batch the server has not answered within its bound, so devices waiting for it are not held; the replay writes it again', async () => {
    const server = new Server();
    let answer: (() => void) | undefined;
    const write = server.write.bind(server);
    server.write = (points) => (answer === undefined && server.attempts === 0 ? new Promise<void>((r) => (answer = () => void write(points).then(r))) : write(points));
    const sink = new SpoolingRemoteSink(server, { spoolDir: tempDir(), log: silentLogger, retryMinMs: 5, retryMaxMs: 20, ackWithinMs: 30 });
    await sink.write([point(1), point(2)]); // the server hangs: settles after 30 ms, spooled
    expect(sink.backlog()).toBe(2);
    await sink.write([point(3)]); // behind the spool
    answer!(); // the hung request is answered after all
    await sink.drained();
    expect(server.accepted).toEqual([1, 2, 1, 2, 3]); // the same points twice: InfluxDB keeps one per series and time
    await sink.close();
  });

  it('spools while the server is down, keeps order, and delivers each point once when it is back', async () => {
    const server = new Server();
    const dir = tempDir();
    const backlog: number[] = [];
    const sink = new SpoolingRemoteSink(server, { spoolDir: dir, log: silentLogger, retryMinMs: 5, retryMaxMs: 20, onBacklogChange: (n) => backlog.push(n) });
    server.up = false;
    await sink.write([point(1), point(2)]);
    await sink.write([point(3)]);
    expect(sink.backlog()).toBe(3);
    expect(readdirSync(dir)).toHaveLength(2);
    server.up = true;
    await sink.write([point(4)]); // queues behind the spool, never overtakes it
    await sink.drained();
    expect(server.accepted).toEqual([1, 2, 3, 4]);
    expect(readdirSync(dir)).toEqual([]);
    expect(backlog.at(-1)).toBe(0);
    await sink.close();
  });

  it('replays the many small batches of an outage under load in few requests, in order', async () => {
    const server = new Server();
    const dir = tempDir();
    const sink = new SpoolingRemoteSink(server, { spoolDir: dir, log: silentLogger, retryMinMs: 5, retryMaxMs: 20 });
    server.up = false;
    for (let i = 0; i < 3000; i++) await sink.write([point(i), point(i + 0.5)]); // 3,000 batch files
    expect(readdirSync(dir)).toHaveLength(3000);
    const failedAttempts = server.attempts;
    server.up = true;
    await sink.drained();
    expect(server.accepted).toEqual(Array.from({ length: 3000 }, (_, i) => [i, i + 0.5]).flat());
    // 6,000 points in requests of at most 5,000: two (a retry or two of the down server's backoff may come first).
    expect(server.attempts - failedAttempts).toBeLessThanOrEqual(4);
    expect(readdirSync(dir)).toEqual([]);
    expect(new DiskSpool(dir).size).toBe(0);
    await sink.close();
  });

  it('sets aside a batch the server refuses for good (a 400), keeps it on disk with the reason, and goes on with the rest', async () => {
    const server = new Server();
    const dir = tempDir();
    const write = server.write.bind(server);
    // As InfluxDB does: the points it can take are written, and the request answers 400 for the rest.
    server.write = async (points) => {
      if (server.up && points.some((p) => p.value < 0)) {
        await write(points.filter((p) => p.value >= 0));
        throw new RejectedPointsError("partial write: unable to parse 'spo2 value=-1 12.5': bad timestamp");
      }
      return write(points);
    };
    let rejected = 0;
    const sink = new SpoolingRemoteSink(server, { spoolDir: dir, log: silentLogger, retryMinMs: 5, retryMaxMs: 20, onRejected: (n) => (rejected += n) });
    server.up = false;
    await sink.write([point(1)]);
    await sink.write([{ ...point(2), value: -1 }]); // spooled while down; refused when replayed
    await sink.write([point(3)]);
    server.up = true;
    await sink.drained();
    await sink.write([{ ...point(4), value: -1 }]); // refused at once
    await sink.write([point(5)]);
    expect(server.accepted).toEqual([1, 3, 5]);
    expect(sink.backlog()).toBe(0);
    // Each refused request is kept whole (InfluxDB took its other points), the reason on its first line.
    const kept = readdirSync(join(dir, 'rejected')).map((f) => readFileSync(join(dir, 'rejected', f), 'utf8'));
    expect(kept).toHaveLength(2);
    for (const text of kept) expect(text).toMatch(/^# partial write: unable to parse .*bad timestamp\n\{"deviceId":"d"/);
    const refused = kept.flatMap((text) => text.split('\n').slice(1).filter(Boolean).map((l) => JSON.parse(l) as TelemetryPoint));
    expect(refused.filter((p) => p.value < 0).map((p) => p.ts)).toEqual([2, 4]);
    expect(rejected).toBe(refused.length);
    await sink.close();
  });

  it('replays a spool left by an earlier run, and ignores a half-written batch file', async () => {
    const dir = tempDir();
    const earlier = new DiskSpool(dir);
    earlier.append([point(10), point(11)]);
    writeFileSync(join(dir, '000000000099.jsonl.tmp'), '{"broken":');
    const server = new Server();
    const sink = new SpoolingRemoteSink(server, { spoolDir: dir, log: silentLogger, retryMinMs: 5 });
    await sink.drained();
    expect(server.accepted).toEqual([10, 11]);
    expect(readdirSync(dir)).toEqual([]);
    await sink.close();
  });

  it('closes promptly while the server is still down, leaving the spool on disk', async () => {
    const server = new Server();
    server.up = false;
    const dir = tempDir();
    const sink = new SpoolingRemoteSink(server, { spoolDir: dir, log: silentLogger, retryMinMs: 60_000 });
    await sink.write([point(1)]);
    await sink.close();
    expect(new DiskSpool(dir).size).toBe(1);
  });
});
