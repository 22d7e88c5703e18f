import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.ts';
import { InfluxV2Writer } from '../../src/telemetry/influx-v2.ts';
import { SpoolingRemoteSink } from '../../src/telemetry/remote-sink.ts';
import type { TelemetryPoint } from '../../src/telemetry/point.ts';

/**
 * No InfluxDB 2.x server can run here, so a local HTTP server plays its
 * write endpoint (POST /api/v2/write?org&bucket&precision, line protocol,
 * `Authorization: Token …`), including being down.
 */
describe('InfluxDB 2.x writer', () => {
  let server: Server;
  let url: string;
  let up = true;
  const lines: string[] = [];
  const requests: Array<{ auth: string | undefined; query: URLSearchParams }> = [];
  const dir = mkdtempSync(join(tmpdir(), 'carebell-v2-'));

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const u = new URL(req.url!, 'http://x');
        if (u.pathname !== '/api/v2/write') return res.writeHead(404).end();
        requests.push({ auth: req.headers.authorization, query: u.searchParams });
        if (!up) return res.writeHead(503, { 'content-type': 'application/json' }).end('{"code":"unavailable","message":"down for maintenance"}');
        lines.push(...body.split('\n').filter(Boolean));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const point = (i: number): TelemetryPoint => ({
    deviceId: 'band 1',
    kind: 'heart_rate',
    value: 60 + i,
    ts: 1_767_225_600_000 + i,
    residentId: 'res_1',
    stationId: 'stn_1',
    profileId: 'carebell-vitals-band',
  });

  it('writes line protocol with token, org, bucket and millisecond precision', async () => {
    const writer = new InfluxV2Writer({ url, token: 'tok-123', org: 'carebell', bucket: 'telemetry' });
    await writer.write([point(0), point(1)]);
    expect(requests[0]!.auth).toBe('Token tok-123');
    expect(Object.fromEntries(requests[0]!.query)).toMatchObject({ org: 'carebell', bucket: 'telemetry', precision: 'ms' });
    expect(lines).toEqual([
      'heart_rate,device=band\\ 1,profile=carebell-vitals-band,resident=res_1,station=stn_1 value=60 1767225600000',
      'heart_rate,device=band\\ 1,profile=carebell-vitals-band,resident=res_1,station=stn_1 value=61 1767225600001',
    ]);
  });

  it('rejects when the server refuses, so the spool keeps the points, then delivers each once', async () => {
    lines.length = 0;
    up = false;
    const sink = new SpoolingRemoteSink(new InfluxV2Writer({ url, token: 't', org: 'o', bucket: 'b' }), { spoolDir: dir, log: silentLogger, retryMinMs: 10, retryMaxMs: 50 });
    await sink.write([point(2), point(3)]);
    await sink.write([point(4)]);
    expect(sink.backlog()).toBe(3);
    expect(lines).toEqual([]);
    up = true;
    await sink.drained();
    expect(lines.map((l) => / (value=\S+) /.exec(l)?.[1])).toEqual(['value=62', 'value=63', 'value=64']);
    await sink.close();
  });
});
