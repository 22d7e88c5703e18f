import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';

/** Reports from real alarms and devices, with time moved by a manual clock. */
describe('scheduled reports', () => {
  const clock = new ManualClock(Date.UTC(2026, 4, 10, 2, 0)); // 10 May, 10:00 Shanghai
  let gw: TestGateway;
  let ids: Awaited<ReturnType<TestGateway['seedResident']>>;

  beforeAll(async () => {
    gw = await startGateway({ clock, alarms: { tickMs: 0 } });
    ids = await gw.seedResident();
  });
  afterAll(() => gw.stop());

  const sos = (deviceId: string, seq: number) =>
    gw.app.ingest.handle({ device: gw.app.directory.get(deviceId)!, topic: `devices/${deviceId}/event`, payload: Buffer.from(JSON.stringify({ ts: clock.now(), type: 'sos', seq })), receivedAt: clock.now() });

  it('reports the month\'s time to answer per station against the telecare targets', async () => {
    await gw.onboardDevice('carebell-sos-pendant', ids.residentId, 'sos-rpt');
    for (const [i, answerAfter] of [20, 40, 50, 150, 400].entries()) {
      await sos('sos-rpt', i + 1);
      const [alarm] = (await gw.api('GET', '/api/v1/alarms?state=open')).body;
      clock.advance(answerAfter * 1000);
      await gw.api('POST', `/api/v1/alarms/${alarm.id}/ack`, {});
      await gw.api('POST', `/api/v1/alarms/${alarm.id}/resolve`, { outcome: 'handled_remotely' });
      clock.advance(3_600_000);
    }
    clock.set(Date.UTC(2026, 4, 31, 16, 0, 1)); // 1 June, 00:00:01 Shanghai
    const run = await gw.api('POST', '/api/v1/reports/run', { kind: 'station_monthly' });
    expect(run.status).toBe(201);
    const community = run.body.find((r: any) => r.subject === ids.communityId);
    const report = (await gw.api('GET', `/api/v1/reports/${community.id}`)).body;
    expect(report).toMatchObject({ kind: 'station_monthly', periodStart: '2026-04-30T16:00:00.000Z', periodEnd: '2026-05-31T16:00:00.000Z' });
    expect(report.body).toMatchObject({ month: '2026-05', alarms: 5, byType: { sos: 5 }, bySeverity: { critical: 5 } });
    expect(report.body.response.critical.secondsToAnswer).toEqual({ p50: 50, p90: 400, p99: 400 });
    expect(report.body.response.critical.within.map((w: any) => [w.withinSeconds, w.share, w.meetsTarget])).toEqual([
      [60, 0.6, false],
      [180, 0.8, false],
    ]);
    // The district sees its whole subtree; the listing finds the stored reports.
    const district = run.body.find((r: any) => r.subject === ids.districtId);
    expect((await gw.api('GET', `/api/v1/reports/${district.id}`)).body.body.alarms).toBe(5);
    expect((await gw.api('GET', `/api/v1/reports?kind=station_monthly&subject=${ids.streetId}`)).body).toHaveLength(1);
  });

  it('reports each provider\'s devices that need a visit', async () => {
    await gw.onboardDevice('carebell-pir-motion', ids.residentId, 'pir-rpt');
    await gw.onboardDevice('carebell-door-contact', ids.residentId, 'door-rpt');
    const send = (id: string, topic: string, body: object) =>
      gw.app.ingest.handle({ device: gw.app.directory.get(id)!, topic, payload: Buffer.from(JSON.stringify({ ts: clock.now(), ...body })), receivedAt: clock.now() });
    await send('pir-rpt', 'devices/pir-rpt/telemetry', { motion: 1, battery: 9 });
    await send('pir-rpt', 'devices/pir-rpt/telemetry', { motion: 'yes' }); // dead-lettered
    clock.advance(2 * 3_600_000); // PIR heartbeat 30 min: silent after 90 min
    const run = await gw.api('POST', '/api/v1/reports/run', { kind: 'device_health' });
    const report = (await gw.api('GET', `/api/v1/reports/${run.body[0].id}`)).body.body;
    expect(report.totals).toMatchObject({ devices: 3, neverHeard: 1, lowBattery: 1, deadLetters24h: 1 });
    const pirProblem = report.problems.find((p: any) => p.deviceId === 'pir-rpt');
    expect(pirProblem.issues).toEqual(['silent for 2 h', 'battery 9 %', '1 rejected messages in 24 h']);
    expect(pirProblem.codes).toEqual([{ code: 'silent', value: 2 }, { code: 'low_battery', value: 9 }, { code: 'rejected', value: 1 }]);
    expect(report.problems.find((p: any) => p.deviceId === 'door-rpt').issues).toEqual(['never heard since onboarding']);
  });

  it('says whose home a device needing a visit is in, and where', async () => {
    const run = await gw.api('POST', '/api/v1/reports/run', { kind: 'device_health' });
    const report = (await gw.api('GET', `/api/v1/reports/${run.body[0].id}`)).body.body;
    const door = report.problems.find((p: any) => p.deviceId === 'door-rpt');
    const resident = (await gw.api('GET', `/api/v1/residents/${ids.residentId}`)).body;
    expect(door).toMatchObject({ residentId: ids.residentId, residentName: resident.name, address: resident.address, stationName: '江汉社区养老服务站' });
    expect(resident.name.length).toBeGreaterThan(0);
  });

  it('runs a station\'s month on request, the current one up to now, and names a bad request\'s field', async () => {
    clock.set(Date.UTC(2026, 5, 10, 2, 0)); // 10 June
    await gw.onboardDevice('carebell-sos-pendant', ids.residentId, 'sos-june');
    await sos('sos-june', 1);
    const [alarm] = (await gw.api('GET', '/api/v1/alarms?state=open')).body;
    clock.advance(30_000);
    await gw.api('POST', `/api/v1/alarms/${alarm.id}/ack`, {});
    const run = await gw.api('POST', '/api/v1/reports/run', { kind: 'station_monthly', month: '2026-06' });
    expect(run.status).toBe(201);
    const report = (await gw.api('GET', `/api/v1/reports/${run.body.find((r: any) => r.subject === ids.communityId).id}`)).body;
    expect(report).toMatchObject({ periodStart: '2026-05-31T16:00:00.000Z', periodEnd: new Date(clock.now()).toISOString() });
    expect(report.body).toMatchObject({ month: '2026-06', inProgress: true, byType: { sos: 1 } });
    expect(report.body.response.critical.secondsToAnswer.p50).toBe(30);
    const future = await gw.api('POST', '/api/v1/reports/run', { kind: 'station_monthly', month: '2026-07' });
    expect(future.status).toBe(400);
    expect(future.body.error).toMatchObject({ field: 'month', message: expect.stringContaining('has not begun') });
    const wrongKind = await gw.api('POST', '/api/v1/reports/run', { kind: 'device_health', month: '2026-06' });
    expect(wrongKind.status).toBe(400);
    expect(JSON.stringify(wrongKind.body)).toContain('month');
  });

  it('shows a station\'s month in progress with its answer times and the stations below it, and device health now, each in the caller\'s scope', async () => {
    // Continues the tests above: in June (Shanghai) the PIR's low battery and one SOS answered after 30 s, neither resolved; four devices in the home.
    const district = (await gw.api('GET', '/api/v1/reports/station-month')).body;
    expect(district).toMatchObject({ station: { id: ids.districtId, level: 'district' }, month: '2026-06', inProgress: true, alarms: 2, byType: { sos: 1, low_battery: 1 }, byOutcome: { open: 2 } });
    expect(district.answerTimes).toEqual({ buckets: [15, 30, 60, 120, 180, 300, null].map((upTo) => ({ upTo, count: upTo === 30 ? 1 : 0 })), unanswered: 0 });
    expect(district.below).toHaveLength(1);
    expect(district.below[0]).toMatchObject({ station: { id: ids.streetId }, alarms: 2, critical: { answerable: 1, answered: 1 } });
    expect(district.devices.total).toBe(4);
    // Drill down to the street, then the community; May is a closed month with five alarms, all resolved.
    const street = (await gw.api('GET', `/api/v1/reports/station-month?station=${ids.streetId}`)).body;
    expect(street.below.map((b: any) => b.station.id)).toEqual([ids.communityId]);
    const may = (await gw.api('GET', `/api/v1/reports/station-month?station=${ids.communityId}&month=2026-05`)).body;
    expect(may).toMatchObject({ inProgress: false, alarms: 5, byOutcome: { handled_remotely: 5 }, below: [] });
    expect(may.answerTimes.buckets.map((b: any) => b.count)).toEqual([0, 1, 2, 0, 1, 0, 1]);
    expect((await gw.api('GET', '/api/v1/reports/station-month?month=2026-13')).body.error.field).toBe('month');

    // An operator of another community sees neither this station's month nor these devices.
    const other = (await gw.api('POST', '/api/v1/stations', { name: '另一社区', level: 'community', parentId: ids.streetId })).body;
    await gw.api('POST', '/api/v1/users', { username: 'op.other', password: 'other password 123', role: 'operator', stationId: other.id });
    const token = (await gw.api('POST', '/api/v1/auth/login', { username: 'op.other', password: 'other password 123' }, null)).body.token as string;
    expect((await gw.api('GET', `/api/v1/reports/station-month?station=${ids.communityId}`, undefined, token)).status).toBe(404);
    expect((await gw.api('GET', '/api/v1/reports/station-month', undefined, token)).body).toMatchObject({ station: { id: other.id }, alarms: 0, devices: { total: 0 } });
    expect((await gw.api('GET', '/api/v1/reports/device-health', undefined, token)).body).toEqual([]);

    const health = (await gw.api('GET', `/api/v1/reports/device-health?station=${ids.communityId}`)).body;
    expect(health).toHaveLength(1);
    expect(health[0].totals.devices).toBe(4);
    const resident = (await gw.api('GET', `/api/v1/residents/${ids.residentId}`)).body;
    expect(health[0].problems.find((p: any) => p.deviceId === 'door-rpt')).toMatchObject({ residentName: resident.name, address: resident.address, issues: ['never heard since onboarding'] });
    expect((await gw.api('GET', `/api/v1/reports/device-health?station=${other.id}`)).body).toEqual([]);
  });

  it('schedules the jobs in the organisation\'s time zone', async () => {
    const app = gw.app;
    const { Jobs } = await import('../../src/jobs/jobs.ts');
    const jobs = new Jobs({ alarms: app.repos.alarms, alarmService: app.alarms, visits: app.visits, serviceRequests: app.care.serviceRequests, deviceTests: app.care.deviceTests, directory: app.directory, stations: app.repos.stations, residents: app.repos.residents, reports: app.repos.reports, deadLetters: app.repos.deadLetters, sink: app.sink, clock, log: app.log, timeZone: 'Asia/Shanghai', telemetryRetentionDays: 90, deadLetterRetentionDays: 30 });
    jobs.start();
    const next = jobs.nextRuns();
    await jobs.stop();
    const local = (iso: string) => new Date(Date.parse(iso) + 8 * 3_600_000).toISOString().slice(11, 16);
    expect(local(next['device-health']!)).toBe('06:00');
    expect(local(next['device-tests']!)).toBe('09:00');
    expect(local(next['station-monthly']!)).toBe('01:00');
    expect(new Date(Date.parse(next['station-monthly']!) + 8 * 3_600_000).getUTCDate()).toBe(1);
    expect(local(next['retention']!).slice(3)).toBe('17');
  });
});
