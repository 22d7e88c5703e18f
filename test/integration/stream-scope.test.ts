import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/store/users.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { openStream, type SseEvent } from '../helpers/sse.ts';
import { seedTenants, type Tenants } from '../helpers/tenants.ts';

/** GET /stream over real HTTP, with SOS alarms raised over real MQTT on both sides of every scope. */
describe('live stream scoped by role', () => {
  let gw: TestGateway;
  let t: Tenants;
  const clients: Partial<Record<'own' | 'other', MqttClient>> = {};
  let seq = 100;

  const streamUrl = () => `${gw.urls.httpUrl}/api/v1/stream`;
  const sos = (w: 'own' | 'other') => clients[w]!.publishAsync(`devices/${t.devices[w].id}/event`, JSON.stringify({ ts: Date.now(), type: 'sos', seq: ++seq }), { qos: 1 });
  const residentOf = (e: SseEvent): string | undefined => e.data?.residentId ?? (e.data?.deviceId === t.devices.own.id ? t.residents.own : e.data?.deviceId === t.devices.other.id ? t.residents.other : undefined);

  beforeAll(async () => {
    gw = await startGateway({ alarms: { tickMs: 0 } });
    t = await seedTenants(gw);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(Object.values(clients).map((c) => c.endAsync(true)));
    await gw?.stop();
  });

  it('each role receives only the alarms and device events in its scope; admin receives all', async () => {
    const roles: Role[] = ['admin', 'operator', 'provider', 'family'];
    const streams = Object.fromEntries(await Promise.all(roles.map(async (r) => [r, await openStream(streamUrl(), t.users[r].token)] as const)));
    clients.other = await gw.connect(t.devices.other);
    clients.own = await gw.connect(t.devices.own);
    await sos('other');
    await sos('own');
    const ownRaised = (e: SseEvent) => e.event === 'alarm.raised' && e.data.residentId === t.residents.own;
    await streams.admin!.next((e) => e.event === 'alarm.raised' && e.data.residentId === t.residents.other);
    for (const role of roles) await streams[role]!.next(ownRaised);
    for (const role of roles) {
      const seen = new Set(streams[role]!.events.map(residentOf));
      expect(seen.has(t.residents.own), role).toBe(true);
      expect(seen.has(t.residents.other), role).toBe(role === 'admin');
    }
    // device.status of the other side's pendant reached admin only
    expect(streams.admin!.events.some((e) => e.event === 'device.status' && e.data.deviceId === t.devices.other.id)).toBe(true);
    expect(streams.family!.events.some((e) => e.event === 'device.status' && e.data.deviceId === t.devices.own.id)).toBe(true);
    await Promise.all(Object.values(streams).map((s) => s.close()));
  });

  it('a family member who reconnects with Last-Event-ID gets what was missed on their side, and nothing of the other', async () => {
    const first = await openStream(streamUrl(), t.users.family.token);
    await sos('own'); // a repeat of the open SOS: alarm.updated "repeated"
    const before = await first.next((e) => e.event === 'alarm.updated' && e.data.change === 'repeated');
    await first.close();

    // While the family member is away: both sides press again, and the own alarm is acknowledged.
    await sos('other');
    await sos('own');
    const ownAlarm = (await gw.api('GET', `/api/v1/alarms?state=open&residentId=${t.residents.own}`)).body[0];
    await gw.api('POST', `/api/v1/alarms/${ownAlarm.id}/ack`, { note: '站点已联系' });
    const adminView = await openStream(streamUrl(), t.users.admin.token, before.id);
    await adminView.next((e) => e.event === 'alarm.updated' && e.data.change === 'acknowledged');
    await adminView.close();

    const resumed = await openStream(streamUrl(), t.users.family.token, before.id);
    await resumed.next((e) => e.event === 'alarm.updated' && e.data.change === 'acknowledged');
    await resumed.close();
    const changes = resumed.events.map((e) => e.data.change);
    expect(changes).toContain('repeated');
    expect(changes).toContain('acknowledged');
    expect(resumed.events.every((e) => e.id! > before.id!)).toBe(true);
    expect(resumed.events.map(residentOf).filter((r) => r !== t.residents.own)).toEqual([]);
    expect(adminView.events.some((e) => e.data.residentId === t.residents.other)).toBe(true);
  });
});
