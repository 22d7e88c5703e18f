import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { openStream } from '../helpers/sse.ts';
import { ADMIN_TOKEN } from '../helpers/gateway.ts';

/**
 * Two whole gateways (broker, pipeline, API) on one PostgreSQL database, as
 * two nodes of a cluster run (`CAREBELL_DATABASE_URL`): what one is told, the
 * other knows; a device's SOS on one is an alarm the other's operator sees and
 * acknowledges; a node that restarts finds everything where it was. Real
 * PostgreSQL from Debian's package, real MQTT over TCP, real HTTP.
 */
describe('two nodes on one PostgreSQL database', () => {
  let pg: TestPostgres;
  const nodes: TestGateway[] = [];
  // Node B's engine has no timer: it sends only what it commits itself, so node A delivers the SOS (to B's console).
  const start = async (nodeId: string) => {
    const gw = await startGateway({ config: { databaseUrl: pg.url, nodeId }, jobs: false, ...(nodeId === 'node-b' ? { alarms: { tickMs: 0 } } : {}) });
    nodes.push(gw);
    return gw;
  };
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    for (const gw of nodes.splice(0)) await gw.stop().catch(() => {});
    await pg?.stop();
  });

  it('shares stations, residents, devices and alarms; an SOS on one node is acknowledged on the other; a restarted node finds it all', async () => {
    let a = await start('node-a');
    const b = await start('node-b');
    expect(a.app.db).toBeNull(); // no embedded database: the store is PostgreSQL
    expect((await a.api('GET', '/readyz')).body.checks.database).toEqual({ ok: true, detail: 'PostgreSQL' });

    // Set up on node A; node B reads it from the database (its in-memory tables follow by NOTIFY).
    const { communityId, residentId } = await a.seedResident();
    expect((await b.api('GET', `/api/v1/residents/${residentId}`)).status).toBe(200);
    // Read-your-writes across nodes: what was just made on A is there for the next request on B (B reads
    // other nodes' notices up to now before it answers), as for a browser behind a load balancer.
    for (let i = 0; i < 10; i++) {
      const made = await a.api('POST', '/api/v1/residents', { name: `长者${i}`, address: `江汉路 ${i} 号`, stationId: communityId, livesAlone: false, capabilityLevel: 1, contacts: [] });
      expect(made.status).toBe(201);
      const device = await b.api('POST', '/api/v1/devices', { profile: 'carebell-pir-motion', residentId: made.body.id, id: `pir-ryw-${i}` });
      expect(device.status, JSON.stringify(device.body)).toBe(201);
      expect((await a.api('GET', `/api/v1/devices/pir-ryw-${i}`)).status).toBe(200);
    }
    expect((await b.api('GET', '/api/v1/stations')).body.map((s: { id: string }) => s.id)).toContain(communityId);

    // The device is registered on node B; node A hears of it, and the device connects there, which takes it.
    const pendant = await b.onboardDevice('carebell-sos-pendant', residentId, 'sos-pg-1');
    await expect.poll(() => a.app.directory.get('sos-pg-1')?.residentId).toBe(residentId);
    const client = await a.connect(pendant);
    expect(await a.app.repos.deviceOwners.owner('sos-pg-1')).toMatchObject({ node: 'node-a', epoch: 1 });
    // Node B's API says it is online (from the database: node A writes its state each second).
    await expect.poll(async () => (await b.api('GET', '/api/v1/devices/sos-pg-1')).body.online).toBe(true);

    // The station's siren is connected to node B: node A, which delivers the alarm, has its commands sent there.
    const siren = (await a.api('POST', '/api/v1/devices', { profile: 'carebell-station-siren', stationId: communityId, id: 'siren-pg-1' })).body;
    // Registered on A: B lets it in once it has heard of it (a node refuses a device it does not know yet; firmware tries again).
    await expect.poll(() => b.app.directory.get('siren-pg-1')?.id).toBe('siren-pg-1');
    const sirenClient = await b.connect(siren);
    await sirenClient.subscribeAsync('devices/siren-pg-1/command', { qos: 1 });
    const sirenSays: Array<{ cmd: string; action: string; alarmId: string }> = [];
    sirenClient.on('message', (_t, p) => sirenSays.push(JSON.parse(p.toString())));

    // The station's duty console is open on node B only.
    const password = 'correct-horse-battery-staple-9';
    expect((await a.api('POST', '/api/v1/users', { username: 'duty.jianghan', password, role: 'operator', stationId: communityId })).status).toBe(201);
    const login = await b.api('POST', '/api/v1/auth/login', { username: 'duty.jianghan', password }, null);
    const consoleB = await openStream(`${b.urls.httpUrl}/api/v1/stream`, login.body.token);

    // An SOS on node A is an alarm in the database; node B's operator sees it live and acknowledges it.
    const streamB = await openStream(`${b.urls.httpUrl}/api/v1/stream`, ADMIN_TOKEN);
    const raised = a.waitFor('alarm.raised');
    await client.publishAsync('devices/sos-pg-1/event', JSON.stringify({ ts: Date.now(), type: 'sos', seq: 1 }), { qos: 1 });
    const { alarm } = await raised;
    const live = await streamB.next((e) => e.event === 'alarm.raised' && (e.data as { id: string }).id === alarm.id);
    expect(live.data).toMatchObject({ type: 'sos', residentId, deviceId: 'sos-pg-1' });
    // Node A sends the station's console alert; the console on node B receives it, and node A counts it as delivered.
    await consoleB.next((e) => e.event === 'alarm.updated' && (e.data as { id: string; change: string }).id === alarm.id && (e.data as { change: string }).change === 'console_alert');
    await expect.poll(async () => (await a.app.repos.outbox.forAlarm(alarm.id)).filter((i) => i.delivery.channel === 'console').map((i) => i.status)).toEqual(['delivered']);
    const notified = (await a.app.repos.alarms.timeline(alarm.id)).find((e) => e.kind === 'notified' && e.detail?.channel === 'console');
    expect(notified?.detail).toMatchObject({ node: 'node-a', consoles: 1 });
    await expect.poll(() => sirenSays).toEqual([expect.objectContaining({ cmd: 'siren', action: 'on', alarmId: alarm.id })]);
    const sirenLine = (await a.app.repos.alarms.timeline(alarm.id)).find((e) => e.kind === 'notified' && e.detail?.channel === 'mqtt' && e.detail?.target === 'siren siren-pg-1');
    expect(sirenLine?.detail).toMatchObject({ node: 'node-a' });
    const seenOnB = (await b.api('GET', '/api/v1/alarms?state=open')).body as Array<{ id: string; type: string; residentId: string }>;
    expect(seenOnB.map((x) => [x.id, x.type, x.residentId])).toEqual([[alarm.id, 'sos', residentId]]);
    const ack = await b.api('POST', `/api/v1/alarms/${alarm.id}/ack`, {});
    expect(ack.status).toBe(200);
    expect((await a.api('GET', `/api/v1/alarms/${alarm.id}`)).body.state).toBe('acknowledged');
    await expect.poll(() => sirenSays.map((c) => c.action)).toEqual(['on', 'off']);
    await sirenClient.endAsync(true);
    // The acknowledgement made on B reaches a stream on A.
    const streamA = await openStream(`${a.urls.httpUrl}/api/v1/stream`, ADMIN_TOKEN, 0);
    await streamA.next((e) => e.event === 'alarm.updated' && (e.data as { id: string; state: string }).id === alarm.id && (e.data as { state: string }).state === 'acknowledged');
    await Promise.all([streamA.close(), streamB.close(), consoleB.close()]);

    // A new password issued on node B: node A closes the device's connection and refuses the old one.
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const rotated = await b.api('POST', '/api/v1/devices/sos-pg-1/rotate-secret', {});
    expect(rotated.status).toBe(200);
    await closed;
    await expect(a.connect(pendant)).rejects.toThrow(/not authorized|bad user ?name or password/i);
    pendant.mqtt.password = rotated.body.mqtt.password;

    // Node A restarts: the alarm, its timeline and the device are where they were.
    await client.endAsync(true);
    await a.stop();
    nodes.splice(nodes.indexOf(a), 1);
    a = await start('node-a');
    const again = (await a.api('GET', `/api/v1/alarms/${alarm.id}`)).body;
    expect(again).toMatchObject({ state: 'acknowledged', type: 'sos' });
    expect(again.timeline.map((e: { kind: string }) => e.kind)).toEqual(expect.arrayContaining(['raised', 'acknowledged']));
    expect(a.app.directory.get('sos-pg-1')?.residentId).toBe(residentId);
    const reconnected = await a.connect(pendant);
    // Taken back at start (epoch 2: its silence is watched here even before it connects), then taken as it connects.
    expect(await a.app.repos.deviceOwners.owner('sos-pg-1')).toMatchObject({ node: 'node-a', epoch: 3 });
    await reconnected.endAsync(true);
  });

  it("a wristband's readings sent through one node are charted by the other (telemetry in the shared database)", async () => {
    const [b, a] = nodes.length === 2 ? nodes : [await start('node-b'), await start('node-a')];
    const { residentId } = await a!.seedResident();
    const band = await a!.onboardDevice('carebell-vitals-band', residentId, 'band-pg-1');
    const client = await a!.connect(band);
    const base = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
    for (let i = 0; i < 10; i++) await client.publishAsync('devices/band-pg-1/telemetry', JSON.stringify({ ts: base + i * 60_000, hr: 70 + i }), { qos: 1 });
    await client.endAsync(true);
    await a!.app.telemetry.flush();
    const range = `from=${new Date(base).toISOString()}&to=${new Date(base + 600_000).toISOString()}&points=10&kinds=heart_rate`;
    const chart = await b!.api('GET', `/api/v1/devices/band-pg-1/telemetry?${range}`);
    expect(chart.status).toBe(200);
    expect(chart.body.series).toEqual([{ kind: 'heart_rate', points: Array.from({ length: 10 }, (_, i) => ({ t: base + i * 60_000, mean: 70 + i, min: 70 + i, max: 70 + i, n: 1 })) }]);
    expect(b!.app.sink.name).toBe('postgres');
  });
});
