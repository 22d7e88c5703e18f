import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { call as callApi, must, startNode, stopNodes, type NodeProcess } from '../helpers/nodes.ts';
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts';

const TOKEN = 'pg-restart-admin-token-0123456789';
const PENDANTS = 30;
/** How long the database stays down: a restart that takes its time (a fault's length, not a wait for a result). */
const OUTAGE_MS = 10_000;

const call = (base: string, method: string, path: string, body?: unknown) => callApi(base, TOKEN, method, path, body);

/**
 * PostgreSQL goes away for 10 s under load and comes back: two gateway
 * processes on it do not crash; an SOS pressed while its alarm cannot be
 * written is not acknowledged (the connection is dropped, the device sends it
 * again), and once the database is back every press is one alarm and every
 * station webhook is sent once.
 */
describe('PostgreSQL restarted under load', () => {
  let pgServer: TestPostgres;
  let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const nodes: NodeProcess[] = [];
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    [pgServer, hooks] = await Promise.all([startPostgres(), startWebhookReceiver()]);
    for (const id of ['node1', 'node2']) nodes.push(await startNode(id, { CAREBELL_DATABASE_URL: pgServer.url, CAREBELL_ADMIN_TOKEN: TOKEN }));
  }, 90_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    await stopNodes(nodes);
    await hooks?.close();
    await pgServer?.stop();
  }, 60_000);

  it('no node crashes; presses are not acknowledged while their alarms cannot be written, and none is lost or doubled after', async () => {
    const [a, b] = nodes.map((n) => n.proc);
    const district = await must(call(a!.http, 'POST', '/api/v1/stations', { name: '滨江区养老服务指导中心', level: 'district' }));
    const street = await must(call(a!.http, 'POST', '/api/v1/stations', { name: '西兴街道居家养老服务中心', level: 'street', parentId: district.id }));
    const community = await must(call(a!.http, 'POST', '/api/v1/stations', { name: '江汉社区养老服务站', level: 'community', parentId: street.id, webhookUrl: hooks.url('/community') }));
    const pendants: Array<{ id: string; password: string; node: string }> = [];
    for (let i = 0; i < PENDANTS; i++) {
      const resident = await must(call(a!.http, 'POST', '/api/v1/residents', { name: `长者${i}`, address: `江汉路 ${i} 号`, stationId: community.id, livesAlone: false, capabilityLevel: 1, contacts: [] }));
      const id = `sos-${String(i).padStart(4, '0')}`;
      const device = await must(call(b!.http, 'POST', '/api/v1/devices', { profile: 'carebell-sos-pendant', residentId: resident.id, id }));
      pendants.push({ id, password: device.mqtt.password, node: i % 2 === 0 ? a!.mqtt : b!.mqtt });
    }
    // Half the devices on each node, reconnecting as firmware does.
    const byId = new Map<string, MqttClient>();
    await Promise.all(
      pendants.map(
        (p) =>
          new Promise<void>((resolve) => {
            const c = mqtt.connect(p.node, { clientId: p.id, username: p.id, password: p.password, protocolVersion: 4, reconnectPeriod: 300, reconnectOnConnackError: true, connectTimeout: 5_000 });
            c.on('error', () => {});
            clients.push(c);
            byId.set(p.id, c);
            c.once('connect', () => resolve());
          }),
      ),
    );
    const press = (id: string, seq: number) => byId.get(id)!.publishAsync(`devices/${id}/event`, JSON.stringify({ ts: Date.now(), type: 'sos', seq }), { qos: 1 });
    // Before: one press each on the first ten, recorded and acknowledged.
    await Promise.all(pendants.slice(0, 10).map((p) => press(p.id, 1)));

    // The database goes away; telemetry keeps coming and the other twenty press.
    await pgServer.halt();
    const outage = new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    const dropped = pendants.slice(10).map((p) => new Promise<void>((resolve) => byId.get(p.id)!.once('close', () => resolve())));
    const acked = new Set<string>();
    const presses = pendants.slice(10).map((p) => press(p.id, 1).then(() => void acked.add(p.id)));
    let load = 0;
    const loading = (async () => {
      while (load < 2_000 && acked.size < presses.length) {
        const p = pendants[load % PENDANTS]!;
        byId.get(p.id)!.publish(`devices/${p.id}/telemetry`, JSON.stringify({ battery: 90 - (load % 10), rssi: -60 }), { qos: 0 });
        load++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    // Each press reached its node and was refused the acknowledgement: the connection was dropped.
    await Promise.all(dropped);
    expect(acked.size, 'no press is acknowledged while its alarm cannot be written').toBe(0);
    await outage;
    expect(acked.size).toBe(0);
    for (const n of nodes) expect(n.proc.child.exitCode, n.proc.stderr()).toBeNull();

    // Back: every press is acknowledged (sent again by its device), once.
    await pgServer.resume();
    await Promise.all(presses);
    await loading;
    for (const n of nodes) expect(n.proc.child.exitCode, n.proc.stderr()).toBeNull();

    const alarms = ((await call(a!.http, 'GET', '/api/v1/alarms?limit=500')).body as Array<{ id: string; type: string; deviceId: string }>).filter((x) => x.type === 'sos');
    expect(alarms.map((x) => x.deviceId).sort()).toEqual(pendants.map((p) => p.id).sort());
    const stationTold = (id: string) => hooks.received.filter((w) => w.path === '/community' && w.body.event === 'alarm.raised' && w.body.alarm.id === id);
    await expect.poll(() => alarms.filter((x) => stationTold(x.id).length === 0).map((x) => x.deviceId), { timeout: 15_000 }).toEqual([]);
    for (const x of alarms) expect(new Set(stationTold(x.id).map((w) => w.headers['x-carebell-delivery'])).size, x.deviceId).toBe(1);
    // Both nodes serve again, and take a press at once.
    for (const [i, p] of [pendants[0]!, pendants[1]!].entries()) {
      await press(p.id, 2);
      expect((await call(nodes[i]!.proc.http, 'GET', '/readyz')).status).toBe(200);
    }
  }, 90_000);
});
