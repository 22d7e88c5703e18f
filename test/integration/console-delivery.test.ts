import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { mosquittoPub } from '../helpers/processes.ts';
import { openStream } from '../helpers/sse.ts';
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts';

const PASSWORD = 'a-long-test-password';

/**
 * "Delivered to the console" means a duty console of the station received
 * the alert: an operator of that station logged in with the live stream open.
 * With none open, nobody at the station saw it: the timeline says so, the
 * delivery is retried while the alarm is open, and the ladder does not wait
 * out the deadline before telling the next level.
 */
describe('console delivery', () => {
  const clock = new ManualClock(Date.parse('2026-11-20T03:00:00+08:00'));
  let gw: TestGateway;
  let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let communityId: string;
  let streetId: string;
  let residentId: string;
  let pendant: { id: string; mqtt: { password: string } };
  let seq = 1;
  const streams: Array<{ close(): Promise<void> }> = [];

  const login = async (username: string) => (await gw.api('POST', '/api/v1/auth/login', { username, password: PASSWORD }, null)).body.token as string;
  const console = async (username: string) => {
    const s = await openStream(`${gw.urls.httpUrl}/api/v1/stream`, await login(username));
    streams.push(s);
    return s;
  };
  const sos = async () => {
    const raised = gw.waitFor('alarm.raised', ({ alarm }) => alarm.deviceId === pendant.id);
    const r = await mosquittoPub({ port: gw.urls.mqttPort, id: pendant.id, password: pendant.mqtt.password, topic: `devices/${pendant.id}/event`, message: JSON.stringify({ ts: clock.now(), type: 'sos', seq: seq++ }) });
    expect(r.code).toBe(0);
    return (await raised).alarm.id;
  };
  const timeline = async (id: string) => (await gw.api('GET', `/api/v1/alarms/${id}`)).body.timeline as Array<{ kind: string; detail: Record<string, any> }>;
  const consoleLines = async (id: string) => (await timeline(id)).filter((t) => t.detail?.channel === 'console');
  const settle = async () => {
    await gw.app.engine.runDue();
    await gw.app.engine.runDue();
  };
  const closeAll = async () => {
    await Promise.all(streams.splice(0).map((s) => s.close()));
  };

  beforeAll(async () => {
    hooks = await startWebhookReceiver();
    gw = await startGateway({ clock, alarms: { tickMs: 0 } });
    const post = async (path: string, body: unknown) => {
      const r = await gw.api('POST', path, body);
      if (r.status !== 201) throw new Error(JSON.stringify(r.body));
      return r.body;
    };
    const district = await post('/api/v1/stations', { name: '区指导中心', level: 'district' });
    streetId = (await post('/api/v1/stations', { name: '街道中心', level: 'street', parentId: district.id })).id;
    // The community station has no webhook: its console is the only way to reach it.
    communityId = (await post('/api/v1/stations', { name: '社区站', level: 'community', parentId: streetId })).id;
    residentId = (
      await post('/api/v1/residents', {
        name: '王秀英',
        address: '江汉路 12 号',
        stationId: communityId,
        livesAlone: false,
        capabilityLevel: 2,
        contacts: [{ name: '李明', relation: 'son', phone: '+86 138 0000 0001', priority: 1, webhookUrl: hooks.url('/son') }],
      })
    ).id;
    pendant = await post('/api/v1/devices', { profile: 'carebell-sos-pendant', residentId, id: 'sos-console' });
    await post('/api/v1/users', { username: 'nurse.zhang', password: PASSWORD, role: 'operator', stationId: communityId, displayName: '张护士' });
    await post('/api/v1/users', { username: 'nurse.wu', password: PASSWORD, role: 'operator', stationId: communityId, displayName: '吴护士' });
    await post('/api/v1/users', { username: 'street.chen', password: PASSWORD, role: 'operator', stationId: streetId, displayName: '陈主任' });
    await post('/api/v1/users', { username: 'li.ming', password: PASSWORD, role: 'family', residentId, displayName: '李明', relation: 'son' });
  });
  afterAll(async () => {
    await closeAll();
    await gw?.stop();
    await hooks?.close();
  });

  it('counts the consoles of the station that received the alert', async () => {
    await console('nurse.zhang');
    await console('nurse.wu');
    const id = await sos();
    await settle();
    const lines = await consoleLines(id);
    expect(lines.map((l) => [l.kind, l.detail.recipient?.id ?? l.detail.target, l.detail.consoles])).toEqual([['notified', expect.anything(), 2]]);
    const detail = (await gw.api('GET', `/api/v1/alarms/${id}`)).body;
    expect(detail.escalationLevel).toBe(0); // reached: the ladder keeps its deadlines
    await gw.api('POST', `/api/v1/alarms/${id}/resolve`, { outcome: 'false_alarm' });
    await closeAll();
  });

  it('with no console of the station open, the delivery fails, and the next level is told within seconds, not at its deadline', async () => {
    // Open streams that are not the community station's consoles: an admin token, a family member, an operator of the street centre.
    streams.push(await openStream(`${gw.urls.httpUrl}/api/v1/stream`, ADMIN_TOKEN));
    await console('li.ming');
    await console('street.chen');
    const id = await sos();
    await settle();
    const failed = async () => (await timeline(id)).find((t) => t.kind === 'notify_failed' && t.detail.channel === 'console' && t.detail.step === 0)?.detail;
    expect(await failed()).toMatchObject({ error: 'no console of the station is open', attempts: 1, retryAt: expect.any(String) });
    // A console reloading or reconnecting is not an empty station: the next level waits for the third failed attempt (2 s, then 4 s ±20 % later).
    clock.advance(2_500);
    await settle();
    expect(await failed()).toMatchObject({ attempts: 2 });
    expect((await gw.api('GET', `/api/v1/alarms/${id}`)).body.escalationLevel).toBe(0);
    expect(hooks.received.filter((w) => w.body.alarm?.id === id)).toEqual([]);
    clock.advance(5_000);
    await settle();
    expect(await failed()).toMatchObject({ attempts: 3 });
    const lines = await timeline(id);
    const escalated = lines.filter((t) => t.kind === 'escalated');
    expect(escalated.map((e) => e.detail)).toEqual([expect.objectContaining({ level: 1, early: true, unreachedLevel: 0 })]);
    // Step 1 went out 7.5 s after the alarm, not at 60 s: the street centre's console (one open) and the son's webhook.
    expect(hooks.received.filter((w) => w.body.alarm?.id === id).map((w) => `${w.path}:${w.body.event}`)).toEqual(['/son:alarm.escalated']);
    expect(lines.filter((t) => t.kind === 'notified' && t.detail.channel === 'console' && t.detail.step === 1).map((t) => t.detail.consoles)).toEqual([1]);
    // Reached at level 1: level 2 waits for its deadline.
    expect((await gw.api('GET', `/api/v1/alarms/${id}`)).body.escalationLevel).toBe(1);

    // The station's console opens: the retried alert reaches it, and the failure line says it was delivered in the end.
    await console('nurse.zhang');
    clock.advance(10_000); // the fourth attempt: 8 s ±20 % after the third
    await settle();
    const after = await timeline(id);
    expect(after.filter((t) => t.detail?.channel === 'console' && t.detail.step === 0).map((t) => [t.kind, t.detail.consoles ?? null, typeof t.detail.deliveredAt])).toEqual([
      ['notify_failed', null, 'string'],
      ['notified', 1, 'undefined'],
    ]);
    await gw.api('POST', `/api/v1/alarms/${id}/resolve`, { outcome: 'false_alarm' });
    await closeAll();
  });

  it('counts open consoles per station for monitoring, and a closed console stops counting', async () => {
    const gauge = async () => {
      const text = (await gw.api('GET', '/metrics', undefined, null)).body as string;
      return Number(new RegExp(`carebell_consoles_open\\{station="${communityId}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    };
    await expect.poll(gauge).toBe(0); // the consoles of the tests above have gone
    const s = await console('nurse.zhang');
    await console('nurse.wu');
    await console('li.ming'); // a family member's page is not a console
    expect(await gauge()).toBe(2);
    await s.close();
    await expect.poll(gauge).toBe(1);
    await closeAll();
    await expect.poll(gauge).toBe(0);
  });
});
