import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { connectRefused, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { PASSWORD, seedTenants, type Tenants } from '../helpers/tenants.ts';

describe('device lifecycle for providers: provisioning check, secret rotation, decommissioning', () => {
  const clock = new ManualClock(Date.now());
  let gw: TestGateway;
  let t: Tenants;
  const asProvider = (method: string, path: string, body?: unknown) => gw.api(method, path, body, t.users.provider.token);
  const check = async (id: string) => {
    const res = await asProvider('GET', `/api/v1/devices/${id}/provisioning`);
    expect(res.status).toBe(200);
    return { ...res.body, by: Object.fromEntries(res.body.checks.map((c: { name: string }) => [c.name, c])) };
  };

  beforeAll(async () => {
    gw = await startGateway({ clock, alarms: { tickMs: 0 } });
    t = await seedTenants(gw);
  }, 60_000);
  afterAll(() => gw?.stop());

  it('walks an installer through a new device: never connected → wrong password → connected → valid message', async () => {
    const created = await asProvider('POST', '/api/v1/devices', { profile: 'carebell-vitals-band', residentId: t.residents.own, id: 'band-install-1' });
    expect(created.status).toBe(201);
    let c = await check('band-install-1');
    expect(c.provisioned).toBe(false);
    expect(c.by.connected).toMatchObject({ ok: false, detail: expect.stringContaining('never connected'), code: 'connected.never' });

    await connectRefused(gw.urls.mqttUrl, { clientId: 'band-install-1', username: 'band-install-1', password: 'typo-in-the-password' });
    c = await check('band-install-1');
    expect(c.by.connected.detail).toMatch(/never accepted: last connect refused \(bad_password\)/);
    expect(c.by.connected).toMatchObject({ code: 'connected.refused', vars: { action: 'connect', reason: 'bad_password' } });

    const client = await gw.connect(created.body);
    c = await check('band-install-1');
    expect(c.by.connected).toMatchObject({ ok: true, detail: 'online now', code: 'connected.online' });
    expect(c.by.valid_message.ok).toBe(false);
    expect(c.provisioned).toBe(false);

    await client.publishAsync('devices/band-install-1/telemetry', '{"ts": 1, "hr": "not a number"', { qos: 1 });
    await client.publishAsync('devices/band-install-1/telemetry', JSON.stringify({ ts: clock.now(), hr: 71, battery: 80 }), { qos: 1 });
    c = await check('band-install-1');
    expect(c.provisioned).toBe(true);
    expect(c.by.no_rejected_messages).toMatchObject({ ok: false, detail: expect.stringMatching(/^1 rejected since onboarding; last: /), code: 'rejected.some', vars: { count: 1 } });

    const home = await asProvider('GET', `/api/v1/residents/${t.residents.own}/provisioning`);
    expect(home.body.ready).toBe(false); // the pendant of the seed has never connected
    expect(home.body.devices.map((d: { deviceId: string; provisioned: boolean }) => [d.deviceId, d.provisioned]).sort()).toEqual([
      ['band-install-1', true],
      ['pendant-own', false],
    ]);
    await client.endAsync();
  });

  it('rotating a secret closes the live connection; the old secret is refused, the new one works', async () => {
    const created = await asProvider('POST', '/api/v1/devices', { profile: 'carebell-sos-pendant', residentId: t.residents.own, id: 'pendant-rotate' });
    const client = await gw.connect(created.body);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const rotated = await asProvider('POST', '/api/v1/devices/pendant-rotate/rotate-secret');
    expect(rotated.status).toBe(200);
    expect(rotated.body.mqtt.password).not.toBe(created.body.mqtt.password);
    // Both answers say where to connect, for the installer's sheet.
    expect(created.body.broker).toEqual({ mqtt: gw.urls.mqttPort, mqtts: null });
    expect(rotated.body.broker).toEqual({ mqtt: gw.urls.mqttPort, mqtts: null });
    await closed;
    const refused = await connectRefused(gw.urls.mqttUrl, { clientId: 'pendant-rotate', username: 'pendant-rotate', password: created.body.mqtt.password });
    expect(refused.code).toBe(4); // bad user name or password
    const again = await gw.connect(rotated.body);
    expect(again.connected).toBe(true);
    await again.endAsync();
  });

  it('a decommissioned device is disconnected, refused from then on, and its silence raises nothing', async () => {
    const created = await asProvider('POST', '/api/v1/devices', { profile: 'carebell-door-contact', residentId: t.residents.own, id: 'door-retired' });
    const client = await gw.connect(created.body);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const res = await asProvider('POST', '/api/v1/devices/door-retired/decommission');
    expect(res.body).toMatchObject({ id: 'door-retired', decommissioned: true });
    await closed;
    await connectRefused(gw.urls.mqttUrl, { clientId: 'door-retired', username: 'door-retired', password: created.body.mqtt.password });
    expect((await check('door-retired')).by.registered).toMatchObject({ ok: false, detail: 'decommissioned' });
    expect((await asProvider('POST', '/api/v1/devices/door-retired/rotate-secret')).status).toBe(409);

    clock.advance(7 * 86_400_000);
    await gw.app.evaluator.tick();
    const offline = await gw.api('GET', `/api/v1/alarms?state=open&residentId=${t.residents.own}`);
    expect(offline.body.filter((a: { deviceId: string }) => a.deviceId === 'door-retired')).toEqual([]);
    expect(offline.body.some((a: { type: string }) => a.type === 'device_offline')).toBe(true); // the devices still in service do alarm
  });
});

describe('assigning alarms', () => {
  let gw: TestGateway;
  let t: Tenants;
  beforeAll(async () => {
    gw = await startGateway({ alarms: { tickMs: 0 } });
    t = await seedTenants(gw);
    await gw.api('POST', '/api/v1/users', { username: 'colleague.op', password: PASSWORD, role: 'operator', stationId: t.stations.communityA });
    await gw.api('POST', '/api/v1/users', { username: 'far.away.op', password: PASSWORD, role: 'operator', stationId: t.stations.communityB });
  }, 60_000);
  afterAll(() => gw?.stop());

  it('an operator takes an alarm, hands it to a colleague who can see it, and the timeline says who did what', async () => {
    const alarm = await gw.app.alarms.raise({ type: 'fall', severity: 'critical', subject: t.devices.own.id, deviceId: t.devices.own.id, residentId: t.residents.own, stationId: t.stations.communityA, detail: {}, actor: 'test' });
    const op = (body: unknown) => gw.api('POST', `/api/v1/alarms/${alarm.id}/assign`, body, t.users.operator.token);
    expect((await op({})).body.assignedTo).toBe('operator.own');
    expect((await op({ username: 'colleague.op' })).body.assignedTo).toBe('colleague.op');
    const outOfScope = await op({ username: 'far.away.op' });
    expect(outOfScope.status).toBe(400);
    expect(outOfScope.body.error.field).toBe('username');
    expect((await op({ username: 'family.own' })).status).toBe(400);
    const listed = await gw.api('GET', '/api/v1/alarms?state=open', undefined, t.users.operator.token);
    expect(listed.body.find((a: { id: string }) => a.id === alarm.id).assignedTo).toBe('colleague.op');
    const timeline = (await gw.api('GET', `/api/v1/alarms/${alarm.id}`)).body.timeline.filter((e: { kind: string }) => e.kind === 'assigned');
    expect(timeline.map((e: { actor: string; detail: unknown }) => [e.actor, e.detail])).toEqual([
      ['operator:operator.own', { to: 'operator.own', from: null }],
      ['operator:operator.own', { to: 'colleague.op', from: 'operator.own' }],
    ]);
    await gw.api('POST', `/api/v1/alarms/${alarm.id}/resolve`, { outcome: 'visited' });
    expect((await op({})).status).toBe(409);
  });
});
