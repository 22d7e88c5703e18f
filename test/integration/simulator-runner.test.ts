import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.ts';
import { ApiClient, ApiError, connectAll, play, provision } from '../../simulators/runner.ts';
import type { SimAction } from '../../simulators/behaviour.ts';
import type { FleetPlan } from '../../simulators/fleet.ts';
import { ADMIN_TOKEN, startGateway } from '../helpers/gateway.ts';

const plan = (): FleetPlan => ({
  prefix: 'runner',
  seed: 1,
  stations: [{ name: '江汉社区养老服务站' }],
  residents: [
    {
      index: 0,
      name: '王秀英',
      address: '江汉路 12 号',
      station: 0,
      livesAlone: true,
      capabilityLevel: 2,
      contact: { name: '李明', relation: 'son', phone: '+86 138 0000 0001' },
      baseline: { hr: 70, spo2: 97, sys: 125, dia: 80, temp: 36.6, rr: 15 },
      devices: [{ id: 'runner-pendant-0', role: 'pendant', profile: 'carebell-sos-pendant' }],
    },
  ],
});

/** A gateway, the one-home fleet provisioned on it through the API, its device connected. */
async function connectedFleet() {
  const gw = await startGateway();
  const fleet = plan();
  const target = { apiUrl: gw.urls.httpUrl, mqttUrl: gw.urls.mqttUrl, token: ADMIN_TOKEN };
  await provision(fleet, new ApiClient(target));
  return { gw, fleet, target, clients: await connectAll(fleet, target.mqttUrl) };
}

describe('the simulator runner against a real gateway', () => {
  it("the API client's refusal carries the HTTP status: a second account of one name is a 409, a bad body a 400", async () => {
    const gw = await startGateway();
    try {
      const api = new ApiClient({ apiUrl: gw.urls.httpUrl, mqttUrl: gw.urls.mqttUrl, token: ADMIN_TOKEN });
      const user = { username: 'runner.desk.0', password: 'runner-desk-0-password', role: 'operator', stationId: (await api.call('POST', '/api/v1/stations', { name: '江汉区养老服务指导中心', level: 'district' })).id };
      await api.call('POST', '/api/v1/users', user);
      const again = await api.call('POST', '/api/v1/users', user).catch((err: unknown) => err);
      expect(again).toBeInstanceOf(ApiError);
      expect((again as ApiError).status).toBe(409);
      const bad = await api.call('POST', '/api/v1/users', { ...user, username: '' }).catch((err: unknown) => err);
      expect((bad as ApiError).status).toBe(400);
    } finally {
      await gw.stop();
    }
  });

  it('a message in flight when the run drops its device\'s link is sent again after the reconnect, not counted as failed', async () => {
    const { gw, fleet, target, clients } = await connectedFleet();
    try {
      const id = 'runner-pendant-0';
      const topic = `devices/${id}/event`;
      const at = systemClock.now() - 1_000; // due at once: the drop follows the publish before its PUBACK can arrive
      const sos = (seq: number) => Buffer.from(JSON.stringify({ ts: at, type: 'sos', seq }));
      const actions: SimAction[] = [
        { at, kind: 'publish', deviceId: id, topic, payload: sos(1), what: 'sos' },
        { at, kind: 'disconnect', deviceId: id, what: 'reconnect_storm' },
        { at, kind: 'reconnect', deviceId: id, what: 'reconnect_storm' },
        { at, kind: 'publish', deviceId: id, topic, payload: sos(2), what: 'sos' },
      ];
      const stats = await play({ plan: fleet, actions, clients, target, simNow: () => systemClock.now(), speed: 1 });
      expect(stats).toMatchObject({ failed: 0, retried: 1, abandoned: 0, published: 2 });
      const events = gw.app.db!.prepare('SELECT seq FROM device_events WHERE device_id = ? ORDER BY seq').pluck().all(id);
      expect(events).toEqual([1, 2]);
    } finally {
      await gw.stop();
    }
  });

  it('a message in flight when its device goes silent for good is counted as abandoned', async () => {
    const { gw, fleet, target, clients } = await connectedFleet();
    try {
      const id = 'runner-pendant-0';
      const at = systemClock.now() - 1_000;
      const actions: SimAction[] = [
        { at, kind: 'publish', deviceId: id, topic: `devices/${id}/telemetry`, payload: Buffer.from(JSON.stringify({ ts: at, battery: 50 })), what: 'battery' },
        { at, kind: 'disconnect', deviceId: id, what: 'device_silent' },
      ];
      const stats = await play({ plan: fleet, actions, clients, target, simNow: () => systemClock.now(), speed: 1 });
      expect(stats).toMatchObject({ failed: 0, retried: 0, abandoned: 1, published: 0 });
    } finally {
      await gw.stop();
    }
  });
  it('a reconnect brings back only a device its own kind of disconnect took down: one that fell silent stays silent', async () => {
    const { gw, fleet, target, clients } = await connectedFleet();
    try {
      const id = 'runner-pendant-0';
      const at = systemClock.now() - 1_000;
      const actions: SimAction[] = [
        { at, kind: 'disconnect', deviceId: id, what: 'device_silent' },
        // A reconnect storm and a gateway restart after it: neither brings the silent device back.
        { at, kind: 'disconnect', deviceId: id, what: 'reconnect_storm' },
        { at, kind: 'reconnect', deviceId: id, what: 'reconnect_storm' },
        { at, kind: 'disconnect', deviceId: id, what: 'gateway_kill' },
        { at, kind: 'reconnect', deviceId: id, what: 'gateway_kill' },
      ];
      const stats = await play({ plan: fleet, actions, clients, target, simNow: () => systemClock.now(), speed: 1, closeClients: false });
      expect(stats.connected).toBe(0);
      expect(clients.has(id)).toBe(false);
      // Dropped by a storm, the device is back after the storm's reconnect.
      const back = await connectAll(fleet, target.mqttUrl);
      const storm: SimAction[] = [
        { at, kind: 'disconnect', deviceId: id, what: 'reconnect_storm' },
        { at, kind: 'reconnect', deviceId: id, what: 'reconnect_storm' },
      ];
      const after = await play({ plan: fleet, actions: storm, clients: back, target, simNow: () => systemClock.now(), speed: 1, closeClients: false });
      expect(after.connected).toBe(1);
      expect(back.has(id)).toBe(true);
      await Promise.all([...back.values()].map((c) => c.endAsync(true)));
    } finally {
      await gw.stop();
    }
  });
});
