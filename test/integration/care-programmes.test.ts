import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { ManualClock } from '../../src/core/clock.ts';
import { startGateway, type DeviceCredentials, type TestGateway } from '../helpers/gateway.ts';
import { openStream } from '../helpers/sse.ts';
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts';

const DAY = 86_400_000;
const MIN = 60_000;
const PASSWORD = 'correct horse battery staple';

/**
 * Service requests and button tests through the real broker and the API on
 * simulated time: a press of the pendant's service button becomes a request
 * that the station dispatches, the provider works and the family follows; a
 * weekly test is recorded (never an alarm), one missed is listed and the
 * station reminded until the button is tested; the month's statistics count
 * what the test did.
 */
describe('care programmes: service requests and device tests', () => {
  const start = Date.UTC(2026, 2, 1, 1, 0); // 1 March 2026, 09:00 Shanghai
  const clock = new ManualClock(start);
  let gw: TestGateway;
  let ids: { districtId: string; streetId: string; communityId: string; residentId: string };
  let pendant: DeviceCredentials;
  let smoke: DeviceCredentials;
  let band: DeviceCredentials;
  let device: MqttClient;
  let providerId: string;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  /** A login lasts a shift (12 h of the gateway's clock): each call logs in afresh at the simulated time. */
  const tokens = {
    async get(username: string): Promise<string> {
      return (await gw.api('POST', '/api/v1/auth/login', { username, password: PASSWORD }, null)).body.token as string;
    },
    get provider() {
      return this.get('yikang.dispatch');
    },
    get family() {
      return this.get('li.ming');
    },
  };
  let seq = 10;

  const press = async (type: 'service' | 'test' | 'sos') => {
    await device.publishAsync(`devices/${pendant.id}/event`, JSON.stringify({ ts: clock.now(), type, seq: ++seq }), { qos: 1 });
  };
  const toDay = (day: number, hour = 10, minute = 0) => clock.set(Date.UTC(2026, 2, day, hour - 8, minute));

  beforeAll(async () => {
    gw = await startGateway({ clock, alarms: { tickMs: 0 } });
    receiver = await startWebhookReceiver();
    // The provider that installed her devices, with the webhook its dispatch desk reads.
    providerId = (await gw.api('POST', '/api/v1/providers', { name: '颐康居家服务有限公司', webhookUrl: receiver.url('/provider') })).body.id;
    const station = async (body: object) => (await gw.api('POST', '/api/v1/stations', body)).body.id as string;
    const districtId = await station({ name: '滨江区养老服务指导中心', level: 'district' });
    const streetId = await station({ name: '西兴街道居家养老服务中心', level: 'street', parentId: districtId });
    const communityId = await station({ name: '江汉社区养老服务站', level: 'community', parentId: streetId });
    const resident = await gw.api('POST', '/api/v1/residents', {
      name: '王秀英',
      address: '江汉路 12 号 3 单元 502',
      stationId: communityId,
      providerId,
      livesAlone: true,
      capabilityLevel: 2,
      birthDate: '1938-04-02',
      categories: ['lives_alone', 'low_income'],
      contacts: [{ name: '李明', relation: 'son', phone: '+86 138 0000 0001', priority: 1 }],
    });
    expect(resident.status, JSON.stringify(resident.body)).toBe(201);
    ids = { districtId, streetId, communityId, residentId: resident.body.id };
    pendant = await gw.onboardDevice('carebell-sos-pendant', ids.residentId, 'pendant-care');
    smoke = await gw.onboardDevice('anxin-smoke-sd3', ids.residentId, 'smoke-care');
    band = await gw.onboardDevice('carebell-vitals-band', ids.residentId, 'band-care');
    device = await gw.connect(pendant);
    const account = async (body: object) => {
      const created = await gw.api('POST', '/api/v1/users', { password: PASSWORD, ...body });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
    };
    await account({ username: 'yikang.dispatch', role: 'provider', providerId });
    await account({ username: 'li.ming', role: 'family', residentId: ids.residentId, relation: 'son', displayName: '李明' });
  });
  afterAll(async () => {
    await gw.stop();
    await receiver.close();
  });

  it('turns a press of the service button into a request, dispatched, worked and closed with each time', async () => {
    const stream = await openStream(`${gw.urls.httpUrl}/api/v1/stream`, 'test-admin-token-0123456789abcdef');
    toDay(3, 11, 0);
    const created = gw.waitFor('service.request', (e) => e.change === 'created');
    await press('service');
    const { request } = await created;
    expect(request).toMatchObject({ residentId: ids.residentId, stationId: ids.communityId, kind: 'other', source: 'device', deviceId: pendant.id, state: 'new', presses: 1 });
    // On the operator's live stream at once, with the resident's name; and never an alarm.
    const live = await stream.next((e) => e.event === 'service.request');
    expect(live.data).toMatchObject({ id: request.id, change: 'created', residentName: '王秀英', state: 'new' });
    expect((await gw.api('GET', `/api/v1/alarms?residentId=${ids.residentId}`)).body).toEqual([]);

    // A worried second press three minutes later is the same request.
    clock.advance(3 * MIN);
    const again = gw.waitFor('service.request', (e) => e.change === 'pressed_again');
    await press('service');
    expect((await again).request).toMatchObject({ id: request.id, presses: 2 });
    expect((await gw.api('GET', '/api/v1/service-requests?state=new')).body.map((r: { id: string }) => r.id)).toEqual([request.id]);

    // The station calls back: she wants lunch brought. Dispatched to the provider at 11:05.
    clock.advance(2 * MIN);
    const assigned = await gw.api('POST', `/api/v1/service-requests/${request.id}/assign`, { providerId, kind: 'meals', note: '午餐，少盐' });
    expect(assigned.status, JSON.stringify(assigned.body)).toBe(200);
    expect(assigned.body).toMatchObject({ state: 'assigned', kind: 'meals', providerId, providerName: '颐康居家服务有限公司', assigned: { at: new Date(start + 2 * DAY + 2 * 3_600_000 + 5 * MIN).toISOString(), by: 'admin' } });

    // The provider sees it in its queue and names the worker; out of order it is refused, saying why.
    const queue = (await gw.api('GET', '/api/v1/service-requests?state=open', undefined, await tokens.provider)).body;
    expect(queue.map((r: { id: string }) => r.id)).toEqual([request.id]);
    expect((await gw.api('POST', `/api/v1/service-requests/${request.id}/done`, undefined, await tokens.provider)).body.error).toMatchObject({ code: 'conflict', message: expect.stringContaining('assigned') });
    expect((await gw.api('POST', `/api/v1/service-requests/${request.id}/assign`, { worker: '陈阿姨 139 0000 1234' }, await tokens.provider)).body).toMatchObject({ providerId, worker: '陈阿姨 139 0000 1234' });
    clock.advance(10 * MIN);
    expect((await gw.api('POST', `/api/v1/service-requests/${request.id}/start`, undefined, await tokens.provider)).body.state).toBe('on_the_way');
    clock.advance(15 * MIN);
    expect((await gw.api('POST', `/api/v1/service-requests/${request.id}/arrive`, undefined, await tokens.provider)).body.state).toBe('on_site');

    // The family follows it on their page.
    const seen = (await gw.api('GET', `/api/v1/service-requests/${request.id}`, undefined, await tokens.family)).body;
    expect(seen).toMatchObject({ state: 'on_site', worker: '陈阿姨 139 0000 1234', arrived: { by: 'provider:yikang.dispatch' } });

    clock.advance(20 * MIN);
    const done = (await gw.api('POST', `/api/v1/service-requests/${request.id}/done`, undefined, await tokens.provider)).body;
    expect(done.state).toBe('done');
    expect([done.created.at, done.assigned.at, done.started.at, done.arrived.at, done.done.at].map((t: string) => (Date.parse(t) - Date.parse(done.created.at)) / MIN)).toEqual([0, 5, 15, 30, 50]);
    expect((await gw.api('POST', `/api/v1/service-requests/${request.id}/cancel`, { reason: '不要了' })).status).toBe(409);
    await stream.close();
  });

  it('takes requests from the family and from staff on the phone, cancelled with a reason', async () => {
    toDay(5, 16);
    const fromFamily = await gw.api('POST', '/api/v1/service-requests', { kind: 'housekeeping', note: '周六打扫' }, await tokens.family);
    expect(fromFamily.status, JSON.stringify(fromFamily.body)).toBe(201);
    expect(fromFamily.body).toMatchObject({ state: 'new', source: 'family', created: { by: 'family:li.ming' } });
    // A family account asks for its own resident only; a bad kind is named.
    expect((await gw.api('POST', '/api/v1/service-requests', { residentId: 'res_nobody', kind: 'meals' }, await tokens.family)).status).toBe(400);
    expect((await gw.api('POST', '/api/v1/service-requests', { residentId: ids.residentId, kind: 'massage' })).body.error).toMatchObject({ field: 'kind' });
    const cancelled = await gw.api('POST', `/api/v1/service-requests/${fromFamily.body.id}/cancel`, { reason: '女儿周六回家' }, await tokens.family);
    expect(cancelled.body).toMatchObject({ state: 'cancelled', cancelled: { by: 'family:li.ming', reason: '女儿周六回家' } });
    const byPhone = await gw.api('POST', '/api/v1/service-requests', { residentId: ids.residentId, kind: 'repair', note: '水龙头漏水' });
    expect(byPhone.body).toMatchObject({ source: 'staff', state: 'new' });
    // The provider does not see what was not dispatched to it.
    expect((await gw.api('GET', `/api/v1/service-requests/${byPhone.body.id}`, undefined, await tokens.provider)).status).toBe(404);
  });

  it('records a button test (never an alarm), lists buttons overdue, reminds the station daily until tested', async () => {
    const stream = await openStream(`${gw.urls.httpUrl}/api/v1/stream`, 'test-admin-token-0123456789abcdef');
    toDay(6, 10);
    await press('test');
    const live = await stream.next((e) => e.event === 'device.test');
    expect(live.data).toMatchObject({ deviceId: pendant.id, residentName: '王秀英' });
    expect((await gw.api('GET', `/api/v1/alarms?residentId=${ids.residentId}`)).body).toEqual([]);
    expect((await gw.api('GET', `/api/v1/devices/${pendant.id}/tests`)).body.tests).toEqual([new Date(clock.now()).toISOString()]);
    await stream.close();

    // Day 9: the smoke detector, onboarded on the 1st and never tested, is two days overdue; the pendant is not (tested on the 6th); the band has no test.
    toDay(10, 9);
    const due = (await gw.api('GET', `/api/v1/device-tests/due?stationId=${ids.streetId}`)).body;
    expect(due.map((d: { deviceId: string }) => d.deviceId)).toEqual([smoke.id]);
    expect(due[0]).toMatchObject({ lastTestAt: null, dueAt: new Date(start + 7 * DAY).toISOString(), overdue: true, name: '王秀英' });
    expect((await gw.api('GET', '/api/v1/device-tests/due?withinDays=4')).body.map((d: { deviceId: string }) => d.deviceId)).toEqual([smoke.id, pendant.id]);
    // The band has no test button: never listed, however long it goes untested.
    expect((await gw.api('GET', '/api/v1/device-tests/due?withinDays=31')).body.map((d: { deviceId: string }) => d.deviceId)).not.toContain(band.id);

    // The daily reminder: one minor alarm for the station, listing the device, through the alarm core's channels.
    const [reminder] = await gw.app.jobs.runDeviceTestReminders();
    expect(reminder).toMatchObject({ stationId: ids.communityId, overdue: 1 });
    const alarm = (await gw.api('GET', `/api/v1/alarms/${reminder!.alarmId}`)).body;
    expect(alarm).toMatchObject({ type: 'device_test_overdue', severity: 'minor', state: 'open', stationId: ids.communityId, detail: { devices: 1, policyDays: 7 } });
    expect(alarm.detail.list).toEqual([expect.objectContaining({ deviceId: smoke.id, resident: '王秀英', lastTestAt: null })]);
    // The provider of the device is told with the station.
    await gw.app.engine.runDue();
    const told = await receiver.next((w) => w.path === '/provider' && w.body.alarm.id === reminder!.alarmId);
    expect(told.body).toMatchObject({ event: 'alarm.raised', alarm: { type: 'device_test_overdue' }, step: { level: 0, target: { kind: 'provider', id: providerId, name: '颐康居家服务有限公司' } } });
    // The next day, still untested: the same alarm, counted again.
    toDay(11, 9);
    expect((await gw.app.jobs.runDeviceTestReminders())[0]!.alarmId).toBe(reminder!.alarmId);
    expect((await gw.api('GET', `/api/v1/alarms/${reminder!.alarmId}`)).body.count).toBe(2);

    // The smoke detector is tested; the next run resolves the reminder.
    const smokeClient = await gw.connect(smoke);
    const tested = gw.waitFor('device.event', (e) => e.event.type === 'test');
    // Its binary frame with the test-button flag (A5 01 seq flags battery temp sum8).
    await smokeClient.publishAsync(`devices/${smoke.id}/raw`, Buffer.from('a50103025c00d7de', 'hex'), { qos: 1 });
    await tested;
    toDay(12, 9);
    expect(await gw.app.jobs.runDeviceTestReminders()).toEqual([]);
    expect((await gw.api('GET', `/api/v1/alarms/${reminder!.alarmId}`)).body).toMatchObject({ state: 'resolved', resolvedBy: 'system' });
  });

  it('escalates a device fault to its provider when it is not fixed within 2 h, though the station acknowledged it', async () => {
    toDay(20, 14);
    const smokeClient = await gw.connect(smoke);
    const raised = gw.waitFor('alarm.raised', (e) => e.alarm.type === 'tamper');
    // Removed from its base (flag bit 2).
    await smokeClient.publishAsync(`devices/${smoke.id}/raw`, Buffer.from('a50109045c00d7e6', 'hex'), { qos: 1 });
    const { alarm } = await raised;
    expect(alarm.policy).toBe('major-lives-alone+provider');
    await gw.app.engine.runDue();
    expect((await gw.api('POST', `/api/v1/alarms/${alarm.id}/ack`, { note: '已电话联系，老人说被碰掉了' })).status).toBe(200);
    clock.advance(2 * 3_600_000 - 1_000);
    await gw.app.engine.runDue();
    expect(receiver.at('/provider').filter((w) => w.body.alarm.id === alarm.id)).toEqual([]);
    clock.advance(1_000);
    await gw.app.engine.runDue();
    const told = await receiver.next((w) => w.path === '/provider' && w.body.alarm.id === alarm.id);
    expect(told.body).toMatchObject({ event: 'alarm.escalated', alarm: { type: 'tamper', state: 'acknowledged' }, step: { target: { kind: 'provider', id: providerId } } });
    await gw.api('POST', `/api/v1/alarms/${alarm.id}/resolve`, { outcome: 'visited', note: '服务商已上门重新安装' });
  });

  it("counts the month's requests, tests, residents and their ages in the station's statistics", async () => {
    toDay(31, 20);
    const from = new Date(start).toISOString();
    const to = new Date(Date.UTC(2026, 3, 1) - 8 * 3_600_000).toISOString();
    const stats = (await gw.api('GET', `/api/v1/stations/${ids.streetId}/statistics?from=${from}&to=${to}`)).body;
    expect(stats.serviceRequests).toMatchObject({
      count: 3,
      done: 1,
      cancelled: 1,
      open: 1,
      bySource: { device: 1, family: 1, staff: 1 },
      byKind: { meals: { count: 1, done: 1, medianToAssignSeconds: 300, medianToOnSiteSeconds: 1800, medianToDoneSeconds: 3000 }, housekeeping: { count: 1, cancelled: 1 }, repair: { count: 1, open: 1 } },
    });
    expect(stats.deviceTests).toMatchObject({ devices: 2, tests: 2, devicesTested: 2, policyDays: 7 });
    expect(stats.devices).toMatchObject({ total: 3, neverHeard: 1 }); // the band never reported
    expect(stats.residents).toMatchObject({ total: 1, oldestOld: 1, byCategory: { lives_alone: 1, low_income: 1 }, byAgeBand: { '80_89': 1, '70_79': 0 } });
  });
});

/**
 * On simulated time (a demo, a simulated run, a soak) the scheduled jobs
 * follow the gateway's clock: the 06:00 device health report and the 09:00
 * button-test reminder come when that clock says so, once each.
 */
describe('scheduled jobs on the gateway clock', () => {
  const clock = new ManualClock(Date.UTC(2026, 2, 1, 0, 30)); // 1 March 2026, 08:30 Shanghai
  let gw: TestGateway;
  afterAll(() => gw?.stop());

  it('runs the device health report at 06:00 and the button-test reminder at 09:00 of the simulated day, once each', async () => {
    gw = await startGateway({ clock, alarms: { tickMs: 0 }, jobs: 'onClock' });
    const ids = await gw.seedResident();
    await gw.onboardDevice('carebell-sos-pendant', ids.residentId, 'pendant-clock');
    expect(gw.app.jobs.nextRuns()).toMatchObject({ 'device-tests': '2026-03-01T01:00:00.000Z', 'device-health': '2026-03-01T22:00:00.000Z' });
    const reminders = async () => ((await gw.api('GET', `/api/v1/alarms?stationId=${ids.communityId}`)).body as Array<{ type: string; count: number }>).filter((a) => a.type === 'device_test_overdue');

    clock.set(Date.UTC(2026, 2, 2, 0, 0)); // 2 March 08:00: the health report ran at 06:00; a day-old pendant is not overdue
    await expect.poll(async () => (await gw.api('GET', '/api/v1/reports?kind=device_health')).body.length).toBe(1);
    clock.set(Date.UTC(2026, 2, 8, 1, 0, 1)); // 8 March 09:00:01: a week without a test
    await expect.poll(reminders).toEqual([expect.objectContaining({ count: 1 })]);
    expect(gw.app.jobs.nextRuns()['device-tests']).toBe('2026-03-09T01:00:00.000Z');
    clock.set(Date.UTC(2026, 2, 9, 1, 0, 1));
    await expect.poll(async () => (await reminders())[0]?.count).toBe(2);
    // The health report ran each time the clock passed 06:00: on the 2nd, once for the six days the clock jumped over, and on the 9th — not once per poll, nor per day skipped.
    expect((await gw.api('GET', '/api/v1/reports?kind=device_health')).body.length).toBe(3);
  });
});
