import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/logger.ts';
import type { TelemetryPoint } from '../../../src/telemetry/point.ts';
import { SpoolingRemoteSink, type RemoteWriter } from '../../../src/telemetry/remote-sink.ts';
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
