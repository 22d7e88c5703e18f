import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';

const DAY = 86_400_000;

/**
 * Visits to those at risk (探访关爱) over a simulated month: who is due, what is
 * overdue, visits recorded (and one that reached nobody), a station's own
 * plan, and the month's visit rate, computed by hand from what the test did.
 */
describe('care programme: visits', () => {
  const start = Date.UTC(2026, 2, 1, 1, 0); // 1 March 2026, 09:00 Shanghai
  const clock = new ManualClock(start);
  let gw: TestGateway;
  let communityId: string;
  let streetId: string;
  let alone: string;
  let emptyNest: string;
  let neither: string;

  beforeAll(async () => {
    gw = await startGateway({ clock, alarms: { tickMs: 0 } });
    const district = (await gw.api('POST', '/api/v1/stations', { name: '拱墅区养老服务指导中心', level: 'district' })).body;
    streetId = (await gw.api('POST', '/api/v1/stations', { name: '米市巷街道居家养老服务中心', level: 'street', parentId: district.id })).body.id;
    communityId = (await gw.api('POST', '/api/v1/stations', { name: '珠儿潭社区养老服务站', level: 'community', parentId: streetId })).body.id;
    const resident = async (body: object) => {
      const res = await gw.api('POST', '/api/v1/residents', { address: '珠儿潭 1 号', stationId: communityId, capabilityLevel: 2, contacts: [], ...body });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body;
    };
    const a = await resident({ name: '王秀兰', livesAlone: true, birthDate: '1940-05-01', capabilityAssessedAt: '2025-06-01' });
    const b = await resident({ name: '李国强', livesAlone: false, categories: ['empty_nest'], birthDate: '1950-01-01', capabilityAssessedAt: '2025-06-01' });
    const c = await resident({ name: '赵明', livesAlone: false });
    alone = a.id;
    emptyNest = b.id;
    neither = c.id;
  });
  afterAll(() => gw.stop());

  const due = async (withinDays = 1) => (await gw.api('GET', `/api/v1/visits/due?stationId=${streetId}&withinDays=${withinDays}`)).body as Array<{ residentId: string; kind: string; dueAt: string; overdue: boolean; lastVisitAt: string | null }>;
  const visit = (residentId: string, body: object) => gw.api('POST', `/api/v1/residents/${residentId}/visits`, body);
  const toDay = (day: number, hour = 10) => clock.set(Date.UTC(2026, 2, day, hour - 8)); // Shanghai time

  it('profiles a resident: age, the 80+, categories, and when the next capability assessment is due', async () => {
    const a = (await gw.api('GET', `/api/v1/residents/${alone}`)).body;
    expect(a).toMatchObject({ age: 85, oldestOld: true, categories: ['lives_alone'], livesAlone: true, capabilityAssessedAt: '2025-06-01', capabilityAssessmentDue: '2026-06-01' });
    const b = (await gw.api('GET', `/api/v1/residents/${emptyNest}`)).body;
    expect(b).toMatchObject({ age: 76, oldestOld: false, categories: ['empty_nest'], livesAlone: false, capabilityAssessmentDue: '2027-06-01' });
    // The category and the flag say the same thing, whichever is changed.
    const changed = (await gw.api('PATCH', `/api/v1/residents/${neither}`, { categories: ['lives_alone', 'low_income'] })).body;
    expect(changed).toMatchObject({ livesAlone: true, categories: ['lives_alone', 'low_income'] });
    const back = (await gw.api('PATCH', `/api/v1/residents/${neither}`, { livesAlone: false })).body;
    expect(back).toMatchObject({ livesAlone: false, categories: ['low_income'] });
    await gw.api('PATCH', `/api/v1/residents/${neither}`, { categories: [] });
    expect((await gw.api('PATCH', `/api/v1/residents/${neither}`, { birthDate: '1950-02-30' })).body.error).toMatchObject({ field: 'birthDate' });
    expect((await gw.api('PATCH', `/api/v1/residents/${neither}`, { categories: ['rich'] })).body.error.field).toBe('categories.0');
  });

  it('lists what falls due from enrolment, then what is overdue; a visit that reached nobody does not count', async () => {
    expect(await due()).toEqual([]); // day 0: the first phone greeting is a week away
    toDay(7); // within a day of the weekly greeting (due on the 8th at 09:00)
    expect((await due()).map((d) => [d.residentId, d.kind, d.overdue])).toEqual([[alone, 'phone', false]]);
    toDay(9);
    const [late] = await due(0);
    expect(late).toMatchObject({ residentId: alone, kind: 'phone', overdue: true, dueAt: new Date(start + 7 * DAY).toISOString(), lastVisitAt: null });
    expect((await visit(alone, { kind: 'phone', outcome: 'not_reached', note: '无人接听' })).status).toBe(201);
    expect((await due(0)).map((d) => d.residentId)).toEqual([alone]);
    clock.advance(20 * 60_000); // called again twenty minutes later
    expect((await visit(alone, { kind: 'phone', outcome: 'well' })).status).toBe(201);
    expect(await due(0)).toEqual([]);
    const history = (await gw.api('GET', `/api/v1/residents/${alone}/visits`)).body;
    expect(history.plan).toEqual([
      { kind: 'phone', everyDays: 7 },
      { kind: 'home', everyDays: 30 },
    ]);
    expect(history.visits.map((v: { outcome: string; by: string }) => [v.outcome, v.by])).toEqual([
      ['well', 'admin:admin'],
      ['not_reached', 'admin:admin'],
    ]);
  });

  it("a station's own plan for a category applies to its residents and those below it", async () => {
    const put = await gw.api('PUT', `/api/v1/stations/${streetId}/visit-plans`, { empty_nest: [{ kind: 'phone', everyDays: 3 }] });
    expect(put.status).toBe(200);
    const plans = (await gw.api('GET', `/api/v1/stations/${communityId}/visit-plans`)).body;
    expect(plans.own).toEqual({});
    expect(plans.effective.empty_nest).toEqual([{ kind: 'phone', everyDays: 3 }]); // inherited from the street
    expect(plans.effective.lives_alone).toEqual([
      { kind: 'home', everyDays: 30 },
      { kind: 'phone', everyDays: 7 },
    ]);
    expect((await due(0)).map((d) => [d.residentId, d.kind])).toEqual([[emptyNest, 'phone']]); // every 3 days: due since day 4
    expect((await gw.api('PUT', `/api/v1/stations/${streetId}/visit-plans`, { empty_nest: [{ kind: 'video', everyDays: 3 }] })).status).toBe(400);
  });

  it('reports the month\'s visit rate against the 100 % target, by category and kind, as recorded', async () => {
    // The rest of March: the weekly greetings and a home visit for Wang; two calls for Li, who was due every 3 days.
    toDay(12);
    await visit(emptyNest, { kind: 'phone', outcome: 'well' });
    for (const day of [16, 23, 30]) {
      toDay(day);
      await visit(alone, { kind: 'phone', outcome: day === 23 ? 'needs_follow_up' : 'well', observations: day === 23 ? '说膝盖疼' : undefined });
    }
    toDay(20);
    await visit(alone, { kind: 'home', outcome: 'well' });
    toDay(21);
    await visit(emptyNest, { kind: 'phone', outcome: 'well' });
    toDay(31, 23);
    const stats = (await gw.api('GET', `/api/v1/stations/${streetId}/statistics?from=2026-02-28T16:00:00Z&to=2026-03-31T16:00:00Z`)).body;
    // In the programme from 1 March 09:00 to 1 April: 30.6 days. Wang: home 1 due, 1 done; phone 4 due (7 days), 4 done (day 9,
    // 16, 23, 30; the home visit would do too). Li: phone every 3 days, 10 due, 2 done. Zhao has no category, so no plan.
    expect(stats.visits).toMatchObject({
      residents: 2,
      due: 15,
      done: 7,
      rate: 0.4667,
      target: 1,
      byCategory: { lives_alone: { due: 5, done: 5, rate: 1 }, empty_nest: { due: 10, done: 2, rate: 0.2 } },
      byKind: { home: { due: 1, done: 1 }, phone: { due: 14, done: 6 } },
    });
  });

  it('takes the profile from a spreadsheet, in Chinese words, and names a bad date or category by line', async () => {
    const header = 'name,address,station,lives_alone,capability_level,contact_name,contact_relation,contact_phone,contact2_name,contact2_relation,contact2_phone,devices,notes,birth_date,categories,capability_assessed_at';
    const post = (csv: string, dryRun: boolean) =>
      fetch(`${gw.urls.httpUrl}/api/v1/residents/import?dryRun=${dryRun}`, { method: 'POST', headers: { authorization: 'Bearer test-admin-token-0123456789abcdef', 'content-type': 'text/csv' }, body: csv }).then(async (r) => (await r.json()) as any);
    const bad = await post([header, '周桂英,珠儿潭 3 号,珠儿潭社区养老服务站,是,3,,,,,,,carebell-door-contact,,1939-13-01,独居、富裕,2026-01-10'].join('\n'), true);
    expect(bad.errors.map((e: { line: number; field: string; code: string }) => [e.line, e.field, e.code])).toEqual([
      [2, 'birth_date', 'date'],
      [2, 'categories', 'category'],
    ]);
    const good = await post([header, '周桂英,珠儿潭 3 号,珠儿潭社区养老服务站,是,3,,,,,,,carebell-door-contact,,1939-12-31,独居、低保,2026-01-10'].join('\n'), false);
    const created = (await gw.api('GET', `/api/v1/residents/${good.created[0].residentId}`)).body;
    expect(created).toMatchObject({ birthDate: '1939-12-31', age: 86, oldestOld: true, categories: ['lives_alone', 'low_income'], capabilityAssessmentDue: '2027-01-10' });
  });

  it('refuses a visit in the future, an unknown kind, a resident out of scope, and a family member', async () => {
    expect((await visit(alone, { kind: 'video', outcome: 'well' })).body.error).toMatchObject({ field: 'kind' });
    expect((await visit(alone, { kind: 'home', outcome: 'well', at: new Date(clock.now() + 3_600_000).toISOString() })).body.error).toMatchObject({ field: 'at' });
    const other = (await gw.api('POST', '/api/v1/stations', { name: '另一个社区', level: 'community', parentId: streetId })).body;
    await gw.api('POST', '/api/v1/users', { username: 'op.other', password: 'other password 123', role: 'operator', stationId: other.id });
    const token = (await gw.api('POST', '/api/v1/auth/login', { username: 'op.other', password: 'other password 123' }, null)).body.token as string;
    expect((await gw.api('POST', `/api/v1/residents/${alone}/visits`, { kind: 'phone', outcome: 'well' }, token)).status).toBe(404);
    expect(await gw.api('GET', `/api/v1/visits/due?stationId=${communityId}`, undefined, token)).toMatchObject({ status: 404 });
    expect((await gw.api('GET', '/api/v1/visits/due', undefined, token)).body).toEqual([]);
    await gw.api('POST', '/api/v1/users', { username: 'wang.family', password: 'family password 123', role: 'family', residentId: alone, relation: 'son' });
    const family = (await gw.api('POST', '/api/v1/auth/login', { username: 'wang.family', password: 'family password 123' }, null)).body.token as string;
    expect((await gw.api('POST', `/api/v1/residents/${alone}/visits`, { kind: 'phone', outcome: 'well' }, family)).status).toBe(403);
  });

  it('someone who left the programme is no longer due', async () => {
    toDay(31, 23);
    clock.advance(40 * DAY);
    expect((await due(0)).map((d) => d.residentId)).toContain(emptyNest);
    await gw.api('POST', `/api/v1/residents/${emptyNest}/deactivate`, { reason: 'moved_to_care_home' });
    expect((await due(0)).map((d) => d.residentId)).not.toContain(emptyNest);
    expect((await visit(emptyNest, { kind: 'phone', outcome: 'well' })).status).toBe(409);
  });
});

/**
 * A community volunteer's round (visitor role) and the visits the programme
 * asks for beyond the plan: a phone greeting nobody answered, a visit that
 * needs following up, and a wellbeing check from the rules (no activity).
 */
describe('care programme: visitors and visit tasks', () => {
  const start = Date.UTC(2026, 4, 4, 1, 0); // 4 May 2026, 09:00 Shanghai
  const clock = new ManualClock(start);
  let gw: TestGateway;
  let communityId: string;
  let otherCommunityId: string;
  let alone: string;
  let elsewhere: string;
  const PASSWORD = 'volunteer password 123';
  const visitor = async () => (await gw.api('POST', '/api/v1/auth/login', { username: 'li.volunteer', password: PASSWORD }, null)).body.token as string;

  beforeAll(async () => {
    gw = await startGateway({ clock, alarms: { tickMs: 0 } });
    const district = (await gw.api('POST', '/api/v1/stations', { name: '西湖区养老服务指导中心', level: 'district' })).body;
    const street = (await gw.api('POST', '/api/v1/stations', { name: '北山街道居家养老服务中心', level: 'street', parentId: district.id })).body;
    communityId = (await gw.api('POST', '/api/v1/stations', { name: '保俶社区养老服务站', level: 'community', parentId: street.id })).body.id;
    otherCommunityId = (await gw.api('POST', '/api/v1/stations', { name: '宝石社区养老服务站', level: 'community', parentId: street.id })).body.id;
    const resident = async (body: object) => (await gw.api('POST', '/api/v1/residents', { address: '保俶路 8 号', capabilityLevel: 2, contacts: [], livesAlone: true, ...body })).body.id as string;
    alone = await resident({ name: '孙玉兰', stationId: communityId, phone: '0571-8888 1234' });
    elsewhere = await resident({ name: '周福生', stationId: otherCommunityId });
    const created = await gw.api('POST', '/api/v1/users', { username: 'li.volunteer', password: PASSWORD, role: 'visitor', stationId: communityId, displayName: '志愿者李' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  });
  afterAll(() => gw.stop());

  it("a visitor sees their grid's visits due with the phone to call, records one, and sees nothing else", async () => {
    clock.set(start + 8 * DAY);
    const token = await visitor();
    const due = (await gw.api('GET', '/api/v1/visits/due', undefined, token)).body;
    expect(due.map((d: { residentId: string; kind: string; phone: string }) => [d.residentId, d.kind, d.phone])).toEqual([[alone, 'phone', '0571-8888 1234']]);
    const made = await gw.api('POST', `/api/v1/residents/${alone}/visits`, { kind: 'phone', outcome: 'well', note: '身体不错' }, token);
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body.by).toBe('visitor:li.volunteer');
    // Their round: the visits they recorded; a station sees whose they were.
    expect((await gw.api('GET', '/api/v1/visits', undefined, token)).body.map((v: { residentName: string; by: string }) => [v.residentName, v.by])).toEqual([['孙玉兰', 'visitor:li.volunteer']]);
    expect((await gw.api('GET', '/api/v1/visits?by=visitor:li.volunteer')).body).toHaveLength(1);
    // Out of their grid, and everything that is not visits.
    expect((await gw.api('POST', `/api/v1/residents/${elsewhere}/visits`, { kind: 'phone', outcome: 'well' }, token)).status).toBe(404);
    for (const [method, path] of [['GET', '/api/v1/alarms'], ['GET', `/api/v1/residents/${alone}`], ['GET', '/api/v1/devices'], ['GET', '/api/v1/stream'], ['GET', '/api/v1/service-requests']] as const) {
      expect((await gw.api(method, path, undefined, token)).status, path).toBe(403);
    }
  });

  it('a phone greeting nobody answered asks for a home visit within a day; the home visit does it', async () => {
    clock.set(start + 15 * DAY + 2 * 3_600_000);
    await gw.api('POST', `/api/v1/residents/${alone}/visits`, { kind: 'phone', outcome: 'not_reached', note: '无人接听' }, await visitor());
    const [task] = (await gw.api('GET', '/api/v1/visits/due?withinDays=1', undefined, await visitor())).body.filter((d: { task?: object }) => d.task);
    expect(task).toMatchObject({ residentId: alone, kind: 'home', everyDays: null, task: { reason: 'phone_not_reached' }, dueAt: new Date(clock.now() + DAY).toISOString(), overdue: false });
    clock.advance(2 * DAY);
    expect((await gw.api('GET', '/api/v1/visits/due?withinDays=0', undefined, await visitor())).body.find((d: { task?: object }) => d.task)).toMatchObject({ overdue: true });
    await gw.api('POST', `/api/v1/residents/${alone}/visits`, { kind: 'home', outcome: 'needs_follow_up', observations: '腿肿，需要社区医生看看' }, await visitor());
    // The home visit did the first task, and asks for a follow-up within three days.
    const tasks = (await gw.api('GET', '/api/v1/visits/due?withinDays=3', undefined, await visitor())).body.filter((d: { task?: object }) => d.task);
    expect(tasks.map((d: { task: { reason: string } }) => d.task.reason)).toEqual(['needs_follow_up']);
    await gw.api('POST', `/api/v1/residents/${alone}/visits`, { kind: 'home', outcome: 'well', note: '医生已看过' }, await visitor());
    expect((await gw.api('GET', '/api/v1/visits/due?withinDays=3', undefined, await visitor())).body.filter((d: { task?: object }) => d.task)).toEqual([]);
  });

  it('a wellbeing check from the rules: no activity raises its alarm and asks for a home visit today', async () => {
    await gw.api('PUT', `/api/v1/residents/${alone}/settings`, { inactivity: { hours: 2 } });
    const pir = await gw.onboardDevice('carebell-pir-motion', alone, 'pir-visit');
    const client = await gw.connect(pir);
    clock.set(start + 20 * DAY + 1 * 3_600_000); // 10:00 local
    await client.publishAsync('devices/pir-visit/event', JSON.stringify({ ts: clock.now(), type: 'motion', seq: 1 }), { qos: 1 });
    clock.advance(3 * 3_600_000);
    const raised = gw.waitFor('alarm.raised', (e) => e.alarm.type === 'no_activity');
    await gw.app.engine.runDue();
    const { alarm } = await raised;
    await expect
      .poll(async () => (await gw.api('GET', `/api/v1/visits/due?stationId=${communityId}&withinDays=0`)).body.find((d: { task?: { reason: string } }) => d.task?.reason === 'no_activity'))
      .toMatchObject({ residentId: alone, kind: 'home', task: { sourceId: alarm.id }, dueAt: new Date(clock.now()).toISOString() });
    // The month's figures count the tasks: three asked for, two done.
    const stats = (await gw.api('GET', `/api/v1/stations/${communityId}/statistics?from=${new Date(start).toISOString()}&to=${new Date(clock.now() + 1).toISOString()}`)).body;
    expect(stats.visits.tasks).toEqual({ opened: 3, done: 2, byReason: { phone_not_reached: 1, needs_follow_up: 1, no_activity: 1 } });
  });
});
