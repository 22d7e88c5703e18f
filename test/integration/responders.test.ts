import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { mosquittoPub } from '../helpers/processes.ts';
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts';

const PASSWORD = 'a-long-test-password';

/**
 * A relative's "I am going" is an answer, not the station's acknowledgement:
 * the ladder keeps running until staff acknowledge, and the statistics count
 * staff answers only. A responder reaching the home is the on-site time.
 */
describe('contacts answering an alarm, responders on site', () => {
  const clock = new ManualClock(Date.parse('2026-11-20T03:00:00+08:00'));
  let gw: TestGateway;
  let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let communityId: string;
  let residentId: string;
  let pendant: { id: string; mqtt: { password: string } };
  const as = async (username: string) => (await gw.api('POST', '/api/v1/auth/login', { username, password: PASSWORD }, null)).body.token as string;

  beforeAll(async () => {
    hooks = await startWebhookReceiver();
    gw = await startGateway({ clock, alarms: { tickMs: 0 } });
    const post = async (path: string, body: unknown) => {
      const r = await gw.api('POST', path, body);
      if (r.status !== 201) throw new Error(JSON.stringify(r.body));
      return r.body;
    };
    const district = await post('/api/v1/stations', { name: '区指导中心', level: 'district', webhookUrl: hooks.url('/district') });
    const street = await post('/api/v1/stations', { name: '街道中心', level: 'street', parentId: district.id, webhookUrl: hooks.url('/street') });
    communityId = (await post('/api/v1/stations', { name: '社区站', level: 'community', parentId: street.id, webhookUrl: hooks.url('/community') })).id;
    residentId = (
      await post('/api/v1/residents', {
        name: '王秀英',
        address: '江汉路 12 号',
        stationId: communityId,
        livesAlone: true,
        capabilityLevel: 2,
        contacts: [{ name: '李明', relation: 'son', phone: '+86 138 0000 0001', priority: 1, webhookUrl: hooks.url('/son') }],
      })
    ).id;
    pendant = await post('/api/v1/devices', { profile: 'carebell-sos-pendant', residentId, id: 'sos-responders' });
    await post('/api/v1/users', { username: 'li.ming', password: PASSWORD, role: 'family', residentId, displayName: '李明', relation: 'son' });
    await post('/api/v1/users', { username: 'nurse.zhang', password: PASSWORD, role: 'operator', stationId: communityId, displayName: '张护士' });
  });
  afterAll(async () => {
    await gw?.stop();
    await hooks?.close();
  });

  it('the son says he is going: the alarm stays open, the street centre is paged at 60 s, and only the nurse\'s acknowledgement stops the ladder', async () => {
    const raisedAt = clock.now();
    const pub = await mosquittoPub({ port: gw.urls.mqttPort, id: pendant.id, password: pendant.mqtt.password, topic: `devices/${pendant.id}/event`, message: JSON.stringify({ ts: raisedAt, type: 'sos', seq: 1 }) });
    expect(pub.code, pub.stderr).toBe(0);
    await gw.app.engine.runDue();
    const [alarm] = (await gw.api('GET', '/api/v1/alarms?state=open')).body;
    expect(alarm).toMatchObject({ type: 'sos', severity: 'critical', state: 'open' });

    const son = await as('li.ming');
    clock.advance(20_000);
    expect((await gw.api('POST', `/api/v1/alarms/${alarm.id}/ack`, {}, son)).status).toBe(403); // not the station's acknowledgement
    const answered = await gw.api('POST', `/api/v1/alarms/${alarm.id}/respond`, { going: true, etaMinutes: 20 }, son);
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ state: 'open', acknowledgedAt: null, responses: [{ name: '李明', relation: 'son', going: true, etaMinutes: 20, recordedBy: 'family:li.ming' }] });

    clock.advance(40_000); // 60 s after the alarm: the street centre and the primary contact
    await gw.app.engine.runDue();
    expect(hooks.at('/street').map((w) => w.body.event)).toContain('alarm.escalated');
    expect((await gw.api('GET', `/api/v1/alarms/${alarm.id}`)).body).toMatchObject({ state: 'open', escalationLevel: 1 });

    const nurse = await as('nurse.zhang');
    clock.advance(30_000);
    const acked = await gw.api('POST', `/api/v1/alarms/${alarm.id}/ack`, { note: '已联系儿子，正在赶来' }, nurse);
    expect(acked.body).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'operator:nurse.zhang' });
    clock.advance(600_000);
    await gw.app.engine.runDue();
    expect(hooks.at('/district').filter((w) => w.body.event === 'alarm.escalated')).toEqual([]); // the ladder stopped at the nurse

    clock.advance(raisedAt + 17 * 60_000 - clock.now()); // the son arrives 17 minutes after the alarm
    const onSite = await gw.api('POST', `/api/v1/alarms/${alarm.id}/on-site`, { who: '儿子 李明' }, nurse);
    expect(onSite.body).toMatchObject({ onSiteBy: '儿子 李明', onSiteAt: new Date(raisedAt + 17 * 60_000).toISOString() });
    const timeline = (await gw.api('GET', `/api/v1/alarms/${alarm.id}`)).body.timeline as Array<{ kind: string; actor: string; detail: any }>;
    expect(timeline.filter((e) => ['responded', 'acknowledged', 'on_site'].includes(e.kind)).map((e) => `${e.kind}:${e.actor}`)).toEqual(['responded:family:li.ming', 'acknowledged:operator:nurse.zhang', 'on_site:operator:nurse.zhang']);
    await gw.api('POST', `/api/v1/alarms/${alarm.id}/resolve`, { outcome: 'visited' }, nurse);

    // Statistics: answered by the nurse at 90 s (not by the son at 20 s), on site after 17 minutes (within the 18).
    const stats = (await gw.api('GET', `/api/v1/stations/${communityId}/statistics?from=${new Date(raisedAt - 1000).toISOString()}&to=${new Date(clock.now() + 1000).toISOString()}`)).body;
    expect(stats.response.critical).toMatchObject({ answered: 1, secondsToAnswer: { p50: 90 } });
    expect(stats.onSite).toEqual({ count: 1, minutesToOnSite: { p50: 17, p90: 17 }, withinTarget: { minutes: 18, share: 1 } });
  });

  it('staff record a contact\'s answer they took by phone, and every call, on the timeline', async () => {
    const pub = await mosquittoPub({ port: gw.urls.mqttPort, id: pendant.id, password: pendant.mqtt.password, topic: `devices/${pendant.id}/event`, message: JSON.stringify({ ts: clock.now(), type: 'sos', seq: 2 }) });
    expect(pub.code, pub.stderr).toBe(0);
    const [alarm] = (await gw.api('GET', '/api/v1/alarms?state=open')).body;
    const nurse = await as('nurse.zhang');
    expect((await gw.api('POST', `/api/v1/alarms/${alarm.id}/calls`, { contact: '李明', outcome: 'no_answer' }, nurse)).status).toBe(200);
    expect((await gw.api('POST', `/api/v1/alarms/${alarm.id}/calls`, { contact: '李明', outcome: 'reached', note: '在开会，派邻居去' }, nurse)).status).toBe(200);
    const cannot = await gw.api('POST', `/api/v1/alarms/${alarm.id}/respond`, { going: false, contact: '李明' }, nurse);
    expect(cannot.body.responses).toMatchObject([{ name: '李明', relation: 'son', going: false, etaMinutes: null, recordedBy: 'operator:nurse.zhang' }]);
    const unknown = await gw.api('POST', `/api/v1/alarms/${alarm.id}/respond`, { going: true, contact: '王二' }, nurse);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ field: 'contact', message: 'contact: 王二 is not a contact of this alarm\'s resident' });
    const timeline = (await gw.api('GET', `/api/v1/alarms/${alarm.id}`)).body.timeline as Array<{ kind: string; detail: any }>;
    expect(timeline.filter((e) => e.kind === 'call').map((e) => `${e.detail.contact}:${e.detail.phone}:${e.detail.outcome}`)).toEqual(['李明:+86 138 0000 0001:no_answer', '李明:+86 138 0000 0001:reached']);
    expect((await gw.api('GET', `/api/v1/alarms/${alarm.id}`)).body.state).toBe('open');
  });
});
