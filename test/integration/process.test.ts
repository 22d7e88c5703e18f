import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteTelemetrySink } from '../../src/telemetry/sqlite-sink.ts';
import { exited, root, startProcess } from '../helpers/processes.ts';

describe('the carebell process', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'carebell-proc-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints an admin token on first start, and on SIGTERM flushes buffered telemetry and exits 0', async () => {
    // A long flush interval keeps readings in memory: only the shutdown flush can store them.
    const gw = await startProcess({ CAREBELL_DATA_DIR: dataDir, CAREBELL_TELEMETRY_FLUSH_MS: '60000' });
    expect(gw.token).toBeDefined();
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(gw.http + path, {
        method,
        headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return (await res.json()) as any;
    };
    const district = await call('POST', '/api/v1/stations', { name: 'D', level: 'district' });
    const street = await call('POST', '/api/v1/stations', { name: 'S', level: 'street', parentId: district.id });
    const community = await call('POST', '/api/v1/stations', { name: 'C', level: 'community', parentId: street.id });
    const resident = await call('POST', '/api/v1/residents', { name: 'R', address: 'A', stationId: community.id, livesAlone: true, capabilityLevel: 1 });
    const device = await call('POST', '/api/v1/devices', { profile: 'carebell-bed-mat', residentId: resident.id, id: 'bed-proc-1' });

    const client = await mqtt.connectAsync(gw.mqtt, { clientId: 'bed-proc-1', username: 'bed-proc-1', password: device.mqtt.password, protocolVersion: 4, reconnectPeriod: 0 });
    // QoS 0: nobody waits for them to be written (a QoS 1 reading would be written before its PUBACK).
    for (let i = 0; i < 25; i++) {
      await client.publishAsync('devices/bed-proc-1/telemetry', JSON.stringify({ ts: Date.now() - 60_000 + i, inBed: 1, hr: 55 + i, rr: 12 }), { qos: 0 });
    }
    // A QoS 1 message without readings: once it is acknowledged, the gateway has read the ones before it.
    await client.publishAsync('devices/bed-proc-1/status', JSON.stringify({ online: true }), { qos: 1 });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    gw.child.kill('SIGTERM');
    expect(await exited(gw.child)).toBe(0);
    await closed; // the broker closed the device's connection on the way out
    client.end(true);

    // Read back through the embedded store's own reader, now that the process is gone.
    const telemetry = new SqliteTelemetrySink(dataDir);
    const stored = await telemetry.query({ deviceId: 'bed-proc-1', from: 0, to: Number.MAX_SAFE_INTEGER });
    await telemetry.close();
    expect(new Set(stored.map((r) => r.ts)).size).toBe(25); // every message
    expect(stored).toHaveLength(75);
    const db = new Database(join(dataDir, 'carebell.db'), { readonly: true });
    const row = db.prepare("SELECT online, last_seen, first_message_at FROM devices WHERE id = 'bed-proc-1'").get() as any;
    expect(row.online).toBe(0);
    expect(row.first_message_at).toBeGreaterThan(0);
    db.close();
  });

  it('does not print a new admin token on the second start', async () => {
    const gw = await startProcess({ CAREBELL_DATA_DIR: dataDir });
    expect(gw.token).toBeUndefined();
    gw.child.kill('SIGINT');
    expect(await exited(gw.child)).toBe(0);
  });

  it('refuses to start with a bad setting and names it', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'start', '--mqtt-port', 'eighty'], { cwd: root, env: { ...process.env, CAREBELL_DATA_DIR: dataDir } });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    expect(await exited(child)).toBe(2);
    expect(err).toContain('CAREBELL_MQTT_PORT');
  });
});
