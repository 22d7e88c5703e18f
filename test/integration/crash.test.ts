import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { exited, startProcess } from '../helpers/processes.ts';
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts';

const TOKEN = 'crash-test-admin-token-0123456789';

/**
 * kill -9 in the middle of an escalation ladder, with a notification still
 * owed to a target that is down. After a restart on the same data directory:
 * no alarm lost or duplicated, the ladder resumes, the owed notification is
 * delivered. Simulated time at 20× (the ladder's 60 s step comes after 3 real
 * seconds, the 180 s step after 9: room for the kill in between, even on a busy machine).
 */
describe('crash safety', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'carebell-crash-'));
  let daughterUp = false;
  const env = { CAREBELL_DATA_DIR: dataDir, CAREBELL_ADMIN_TOKEN: TOKEN, CAREBELL_MODE: 'test', CAREBELL_SIM_SPEED: '20', CAREBELL_SIM_EPOCH: String(Date.now()) };
  let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
  afterAll(async () => {
    await hooks?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses no alarm and no owed notification when the gateway is killed mid-ladder', async () => {
    hooks = await startWebhookReceiver((path) => (path === '/daughter' && !daughterUp ? 503 : 200));
    let gw = await startProcess(env);
    const call = async (http: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(http + path, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
      return (await res.json()) as any;
    };
    const d = await call(gw.http, 'POST', '/api/v1/stations', { name: 'D', level: 'district', webhookUrl: hooks.url('/district') });
    const s = await call(gw.http, 'POST', '/api/v1/stations', { name: 'S', level: 'street', parentId: d.id, webhookUrl: hooks.url('/street') });
    const c = await call(gw.http, 'POST', '/api/v1/stations', { name: 'C', level: 'community', parentId: s.id, webhookUrl: hooks.url('/community') });
    const r = await call(gw.http, 'POST', '/api/v1/residents', {
      name: 'R',
      address: 'A',
      stationId: c.id,
      livesAlone: false,
      capabilityLevel: 1,
      contacts: [
        { name: 'Daughter', relation: 'daughter', phone: '13800000001', priority: 1, webhookUrl: hooks.url('/daughter') },
        { name: 'Son', relation: 'son', phone: '13800000002', priority: 2, webhookUrl: hooks.url('/son') },
      ],
    });
    const device = await call(gw.http, 'POST', '/api/v1/devices', { profile: 'carebell-sos-pendant', residentId: r.id, id: 'sos-crash' });

    const client = await mqtt.connectAsync(gw.mqtt, { clientId: 'sos-crash', username: 'sos-crash', password: device.mqtt.password, protocolVersion: 4, reconnectPeriod: 0 });
    await client.publishAsync('devices/sos-crash/event', JSON.stringify({ type: 'sos', seq: 1 }), { qos: 1 });
    await hooks.next((w) => w.path === '/community' && w.body.event === 'alarm.raised');
    // Step 1 (60 simulated seconds): the street centre is told; the daughter's gateway is down.
    await hooks.next((w) => w.path === '/street' && w.body.event === 'alarm.escalated');
    expect(await hooks.attempted('/daughter')).toBe(503); // a notification is owed, and failing

    client.end(true);
    gw.child.kill('SIGKILL');
    await exited(gw.child);
    expect(hooks.at('/daughter')).toEqual([]);
    expect(hooks.at('/district')).toEqual([]);

    daughterUp = true;
    gw = await startProcess(env);
    // The notification owed to the daughter is delivered, and the ladder goes on to step 2.
    const daughter = await hooks.next((w) => w.path === '/daughter' && w.body.event === 'alarm.escalated' && w.body.step.level === 1);
    await hooks.next((w) => w.path === '/district' && w.body.event === 'alarm.escalated');
    await hooks.next((w) => w.path === '/son' && w.body.event === 'alarm.escalated');

    const alarms = (await call(gw.http, 'GET', '/api/v1/alarms')).filter((a: any) => a.type === 'sos');
    expect(alarms).toHaveLength(1);
    expect(daughter.body.alarm.id).toBe(alarms[0].id);
    const detail = await call(gw.http, 'GET', `/api/v1/alarms/${alarms[0].id}`);
    expect(detail.timeline.filter((t: any) => t.kind === 'raised')).toHaveLength(1);
    expect(detail.timeline.filter((t: any) => t.kind === 'escalated').map((t: any) => t.detail.level)).toEqual([1, 2]);
    // Delivery is at least once: a webhook answered just before the kill, but not yet recorded, is
    // sent again after the restart, with the same X-Carebell-Delivery. Deduplicated by that id,
    // every notification of the ladder arrived exactly once.
    const byDelivery = new Map<string, (typeof hooks.received)[number]>();
    for (const w of hooks.received) if (w.body.alarm.id === alarms[0].id && w.body.event !== 'alarm.reminder') byDelivery.set(String(w.headers['x-carebell-delivery']), w);
    const notifications = [...byDelivery.values()].map((w) => `${w.path}:${w.body.event}:${w.body.step.level}`).sort();
    expect(notifications).toEqual([
      '/community:alarm.raised:0',
      '/daughter:alarm.escalated:1',
      '/daughter:alarm.escalated:2',
      '/district:alarm.escalated:2',
      '/son:alarm.escalated:2',
      '/street:alarm.escalated:1',
    ]);

    await call(gw.http, 'POST', `/api/v1/alarms/${alarms[0].id}/ack`, {});
    gw.child.kill('SIGTERM');
    expect(await exited(gw.child)).toBe(0);
  });

  it('loses no reading it acknowledged when killed, even with batches written only once a minute', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'carebell-crash-telemetry-'));
    // A minute between timed batches: without a write before the PUBACK, every reading would still be in memory.
    const envT = { CAREBELL_DATA_DIR: dir, CAREBELL_ADMIN_TOKEN: TOKEN, CAREBELL_TELEMETRY_FLUSH_MS: '60000' };
    try {
      let gw = await startProcess(envT);
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(gw.http + path, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
        return (await res.json()) as any;
      };
      const d = await call('POST', '/api/v1/stations', { name: 'D', level: 'district' });
      const s = await call('POST', '/api/v1/stations', { name: 'S', level: 'street', parentId: d.id });
      const c = await call('POST', '/api/v1/stations', { name: 'C', level: 'community', parentId: s.id });
      const r = await call('POST', '/api/v1/residents', { name: 'R', address: 'A', stationId: c.id, livesAlone: true, capabilityLevel: 1 });
      const from = Date.now() - 120_000;
      const clients = await Promise.all(
        [1, 2, 3].map(async (n) => {
          const device = await call('POST', '/api/v1/devices', { profile: 'carebell-bed-mat', residentId: r.id, id: `bed-crash-${n}` });
          return mqtt.connectAsync(gw.mqtt, { clientId: device.id, username: device.id, password: device.mqtt.password, protocolVersion: 4, reconnectPeriod: 0 });
        }),
      );
      // 3 devices × 40 messages, 4 in flight each: every PUBACK received means the reading is on disk.
      await Promise.all(
        clients.map(async (client, n) => {
          for (let i = 0; i < 40; i += 4) {
            await Promise.all([0, 1, 2, 3].map((k) => client.publishAsync(`devices/bed-crash-${n + 1}/telemetry`, JSON.stringify({ ts: from + (i + k) * 1000, inBed: 1, hr: 50 + i + k, rr: 12 }), { qos: 1 })));
          }
        }),
      );
      gw.child.kill('SIGKILL');
      await exited(gw.child);
      for (const client of clients) client.end(true);

      gw = await startProcess(envT);
      for (const n of [1, 2, 3]) {
        const telemetry = await call('GET', `/api/v1/devices/bed-crash-${n}/telemetry?kinds=heart_rate&from=${new Date(from - 1000).toISOString()}&to=${new Date(from + 60_000).toISOString()}`);
        const points = telemetry.series.flatMap((s: any) => s.points);
        expect(points.map((p: any) => p.mean).sort((a: number, b: number) => a - b), `bed-crash-${n}`).toEqual(Array.from({ length: 40 }, (_, i) => 50 + i));
      }
      gw.child.kill('SIGTERM');
      expect(await exited(gw.child)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
