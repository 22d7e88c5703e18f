import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker } from '../../src/core/worker.ts';
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

  it("an alarm goes out on the stream at once, not when the rest of its turn of the event loop is done", async () => {
    // The reader runs in its own thread, so it hears what reaches the socket while the gateway's thread is busy.
    const reader = startWorker(new URL('../helpers/sse-thread.ts', import.meta.url), { url: streamUrl(), token: t.users.admin.token });
    const heard: Array<{ event: string; at: number }> = [];
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    reader.on('message', (m: { open?: number; event?: string; at?: number }) => (m.open === 200 ? opened() : m.event && heard.push({ event: m.event, at: m.at! })));
    try {
      await open;
      // The turn in which the SOS's alarm is raised (or its open alarm repeated) goes on for 400 ms after the
      // live stream has it: a listener registered after the live stream's holds the thread.
      let held: { from: number; until: number } | undefined;
      const hold = () => {
        if (held) return;
        const from = performance.timeOrigin + performance.now();
        while (performance.timeOrigin + performance.now() < from + 400);
        held = { from, until: performance.timeOrigin + performance.now() };
      };
      const offs = [gw.app.bus.on('alarm.raised', hold), gw.app.bus.on('alarm.updated', hold)];
      // The stream is written just before the hold starts, so the reader may hear it before `held.from`.
      const pressed = performance.timeOrigin + performance.now();
      try {
        await sos('own');
      } finally {
        for (const off of offs) off();
      }
      expect(held).toBeDefined();
      const isAlarm = (h: { event: string; at: number }) => h.event.startsWith('alarm.') && h.at >= pressed;
      await expect.poll(() => heard.some(isAlarm), { timeout: 5_000 }).toBe(true);
      const alarm = heard.find(isAlarm)!;
      // Sent in the middle of the held turn: heard long before it ended (with the end-of-turn flush it came after).
      expect(alarm.at).toBeLessThan(held!.until - 200);
    } finally {
      await reader.terminate();
    }
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
