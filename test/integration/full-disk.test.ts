import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, startProcess } from '../helpers/processes.ts';
import { smallDisk, type SmallDisk } from '../helpers/small-disk.ts';
import { openStream } from '../helpers/sse.ts';

const TOKEN = 'full-disk-admin-token-0123456789';

/**
 * A real gateway process whose data directory is a 24 MB file system that
 * fills up: it must stay up, stop acknowledging what it cannot record (so
 * devices redeliver), say so on /readyz, in /metrics and to the console, and
 * carry on by itself when space returns. Started on a full disk, it says
 * where and how much room is left.
 */
describe('a full disk', () => {
  let disk: SmallDisk;
  let gw: Awaited<ReturnType<typeof startProcess>>;
  let client: MqttClient | undefined;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gw.http}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: (await res.json().catch(() => null)) as any };
  };
  const inside = (cmd: string, args: string[], opts: object) => disk.spawn(cmd, args, opts);
  const start = () =>
    startProcess({ CAREBELL_DATA_DIR: disk.dir, CAREBELL_ADMIN_TOKEN: TOKEN, CAREBELL_MIN_FREE_MB: '1', CAREBELL_LOG_LEVEL: 'error' }, undefined, { spawn: inside as unknown as typeof spawn });
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(`${gw.http}/metrics`)).text())?.[1] ?? NaN);

  beforeAll(async () => {
    disk = await smallDisk(24);
    gw = await start();
  }, 60_000);
  afterAll(async () => {
    await client?.endAsync(true).catch(() => {});
    if (gw?.child.exitCode === null) gw.child.kill('SIGKILL');
    await disk?.close();
  });

  it('stays up, withholds acknowledgements while full, says why, and carries on by itself when space returns', async () => {
    const district = (await api('POST', '/api/v1/stations', { name: '区中心', level: 'district' })).body;
    const street = (await api('POST', '/api/v1/stations', { name: '街道中心', level: 'street', parentId: district.id })).body;
    const community = (await api('POST', '/api/v1/stations', { name: '社区站', level: 'community', parentId: street.id })).body;
    const resident = (await api('POST', '/api/v1/residents', { name: '王秀英', address: '江汉路 12 号', stationId: community.id, livesAlone: true, capabilityLevel: 2, contacts: [] })).body;
    const device = (await api('POST', '/api/v1/devices', { profile: 'carebell-sos-pendant', residentId: resident.id, id: 'pendant-disk' })).body;
    const stream = await openStream(`${gw.http}/api/v1/stream`, TOKEN);
    // Real firmware: a persistent session, and it reconnects by itself.
    client = mqtt.connect(gw.mqtt, { clientId: device.id, username: device.id, password: device.mqtt.password, protocolVersion: 4, clean: false, reconnectPeriod: 100 });
    await new Promise<void>((resolve) => client!.once('connect', () => resolve()));
    let dropped = false;
    client.on('close', () => (dropped = true));

    expect(disk.fill()).toBeGreaterThan(1_000_000);
    // Button tests (no alarm) until one cannot be recorded: the write-ahead log may still have room for a while.
    let seq = 0;
    let pending: Promise<unknown> | undefined;
    while (!dropped && seq < 20_000) {
      const publish = client.publishAsync('devices/pendant-disk/event', JSON.stringify({ ts: Date.now(), type: 'test', seq: ++seq }), { qos: 1 });
      const closed = new Promise<'closed'>((resolve) => client!.once('close', () => resolve('closed')));
      if ((await Promise.race([publish, closed])) === 'closed') pending = publish;
    }
    expect(dropped, 'the gateway refused a message it could not record').toBe(true);
    const refusedSeq = seq;

    // (A low-space notice, still writable, may come first: the space check runs every 2 s.)
    const storageEvent = await stream.next((e) => e.event === 'gateway.storage' && !(e.data as { writable: boolean }).writable);
    expect(storageEvent.data).toMatchObject({ writable: false });
    const ready = await fetch(`${gw.http}/readyz`);
    expect(ready.status).toBe(503);
    const checks = ((await ready.json()) as { checks: { storage: { ok: boolean; detail: string } } }).checks;
    expect(checks.storage.ok).toBe(false);
    expect(checks.storage.detail).toMatch(new RegExp(`^cannot write the data directory \\(.+\\); \\d+ (B|KiB) free of 24\\.0 MiB in ${disk.dir}; device events are not acknowledged until it can$`));
    expect(await metric('carebell_storage_writable')).toBe(0);
    // The device keeps redelivering and the once-a-second state writer keeps failing: the process lives on.
    await expect.poll(() => metric('carebell_storage_write_failures_total'), { timeout: 15_000 }).toBeGreaterThanOrEqual(4);
    expect(gw.child.exitCode).toBeNull();

    disk.free();
    await pending; // redelivered and acknowledged at last
    await expect.poll(async () => (await fetch(`${gw.http}/readyz`)).status, { timeout: 15_000 }).toBe(200);
    expect((await stream.next((e) => e.event === 'gateway.storage' && (e.data as { writable: boolean }).writable)).data).toMatchObject({ writable: true });
    const raised = stream.next((e) => e.event === 'alarm.raised');
    await client.publishAsync('devices/pendant-disk/event', JSON.stringify({ ts: Date.now(), type: 'sos', seq: ++seq }), { qos: 1 });
    expect((await raised).data).toMatchObject({ type: 'sos', deviceId: 'pendant-disk' });
    await stream.close();
    await client.endAsync();
    client = undefined;
    gw.child.kill('SIGTERM');
    expect(await exited(gw.child)).toBe(0);
    // The refused event was recorded exactly once, after the redelivery (read once the gateway has closed its database).
    // (A copy: SQLite resolves /proc/<pid>/root to this process's own root.)
    const copy = join(mkdtempSync(join(tmpdir(), 'carebell-disk-copy-')), 'carebell.db');
    copyFileSync(disk.outside(`${disk.dir}/carebell.db`), copy);
    const db = new Database(copy, { readonly: true, fileMustExist: true });
    try {
      expect(db.prepare("SELECT count(*) FROM device_events WHERE device_id = 'pendant-disk' AND seq = ?").pluck().get(refusedSeq)).toBe(1);
    } finally {
      db.close();
      rmSync(dirname(copy), { recursive: true, force: true });
    }
  }, 90_000);

  it('started with the disk full, it says where and how much room is left, and exits', async () => {
    disk.fill();
    const child = inside(process.execPath, ['--import', 'tsx', 'src/main.ts', 'start'], {
      cwd: new URL('../../', import.meta.url).pathname,
      env: { ...process.env, CAREBELL_DATA_DIR: disk.dir, CAREBELL_ADMIN_TOKEN: TOKEN, CAREBELL_MQTT_PORT: '0', CAREBELL_HTTP_PORT: '0', CAREBELL_LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (c) => (stderr += c));
    expect(await exited(child)).not.toBe(0);
    expect(stderr).toMatch(new RegExp(`carebell: cannot write the data directory ${disk.dir} \\(.+\\): \\d+ (B|KiB) free of 24\\.0 MiB\\. Free some space there \\(or set CAREBELL_DATA_DIR to another disk\\) and start again\\.`));
    disk.free();
  }, 60_000);
});
