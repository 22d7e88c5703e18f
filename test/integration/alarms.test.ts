import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { signBody } from '../../src/notify/channels/webhook.ts';
import { ADMIN_TOKEN, startGateway, type DeviceCredentials, type TestGateway } from '../helpers/gateway.ts';
import { mosquittoPub } from '../helpers/processes.ts';
import { openStream } from '../helpers/sse.ts';
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts';

/**
 * The alarm path end to end: mosquitto_pub → real broker → ingest → rules →
 * alarm → SSE, and the escalation ladder delivering signed webhooks to a real
 * HTTP server, driven by a manual clock.
 */
describe('alarms end to end', () => {
  const clock = new ManualClock(Date.now());
  let gw: TestGateway;
  let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let pendant: DeviceCredentials;
  let radar: DeviceCredentials;
  let residentId: string;
  let stream: Awaited<ReturnType<typeof openStream>>;

  beforeAll(async () => {
    hooks = await startWebhookReceiver();
    gw = await startGateway({ clock, alarms: { tickMs: 0, retry: { maxAttempts: 3, baseMs: 1_000, maxMs: 10_000, webhookForMs: 24 * 3_600_000 } } });
    const post = async (path: string, body: unknown) => {
      const r = await gw.api('POST', path, body);
      if (r.status !== 201) throw new Error(JSON.stringify(r.body));
      return r.body;
    };
    const district = await post('/api/v1/stations', { name: '区指导中心', level: 'district', webhookUrl: hooks.url('/district') });
    const street = await post('/api/v1/stations', { name: '街道中心', level: 'street', parentId: district.id, webhookUrl: hooks.url('/street') });
    const community = await post('/api/v1/stations', { name: '社区站', level: 'community', parentId: street.id, webhookUrl: hooks.url('/community') });
    const resident = await post('/api/v1/residents', {
      name: '陈阿姨',
      address: '幸福路 1 号',
      stationId: community.id,
      livesAlone: false,
      capabilityLevel: 2,
      contacts: [
        { name: '陈一', relation: 'daughter', phone: '13800000001', priority: 1, webhookUrl: hooks.url('/daughter') },
        { name: '陈二', relation: 'son', phone: '13800000002', priority: 2, webhookUrl: hooks.url('/son') },
      ],
    });
    residentId = resident.id;
    pendant = await gw.onboardDevice('carebell-sos-pendant', residentId, 'sos-e2e');
    radar = await gw.onboardDevice('carebell-fall-radar', residentId, 'radar-e2e');
    stream = await openStream(`${gw.urls.httpUrl}/api/v1/stream`, ADMIN_TOKEN);
  });
  afterAll(async () => {
    await stream?.close();
    await gw?.stop();
    await hooks?.close();
  });

  const sos = (seq: number) =>
    mosquittoPub({ port: gw.urls.mqttPort, id: pendant.id, password: pendant.mqtt.password, topic: `devices/${pendant.id}/event`, message: JSON.stringify({ ts: clock.now(), type: 'sos', seq }) });
  const openAlarms = async () => (await gw.api('GET', '/api/v1/alarms?state=open')).body as any[];
  const paths = () => hooks.received.map((w) => `${w.path}:${w.body.event}`);

  it('raises one critical SOS alarm from mosquitto_pub, seen on the live stream, even when the message is redelivered', async () => {
    const raised = stream.next((e) => e.event === 'alarm.raised' && e.data.type === 'sos');
    expect((await sos(101)).code).toBe(0);
    const event = await raised;
    expect(event.data).toMatchObject({ type: 'sos', severity: 'critical', state: 'open', residentId, deviceId: 'sos-e2e', escalationLevel: 0, count: 1 });
    expect((await sos(101)).code).toBe(0); // the same (device, seq): a QoS 1 redelivery
    const open = await openAlarms();
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ type: 'sos', count: 1 });
    const metrics = (await gw.api('GET', '/metrics', undefined, null)).body as string;
    expect(metrics).toContain('carebell_open_alarms{severity="critical"} 1');
    expect(metrics).toMatch(/carebell_outbox_pending \d+/);
    expect(metrics).toContain('carebell_alarms_raised_total{type="sos",severity="critical"} 1');
    const ruleSeconds = Number(/carebell_rule_evaluation_seconds_total\{trigger="message"\} (\S+)/.exec(metrics)?.[1]);
    const ruleRuns = Number(/carebell_rule_evaluations_total\{trigger="message"\} (\S+)/.exec(metrics)?.[1]);
    expect(ruleRuns).toBeGreaterThanOrEqual(1); // the redelivery is dropped before the rules
    expect(ruleSeconds).toBeGreaterThan(0);
  });

  it('walks the ladder with signed webhooks: station at once, street and primary contact at 60 s, district and every contact at 180 s', async () => {
    const [alarm] = await openAlarms();
    await gw.app.engine.runDue();
    expect(paths()).toEqual(['/community:alarm.raised']);
    const first = hooks.received[0]!;
    expect(first.headers['x-carebell-signature']).toBe(signBody(gw.app.webhookSecret, first.raw));
    expect(first.body).toMatchObject({ event: 'alarm.raised', alarm: { id: alarm.id, type: 'sos', severity: 'critical' }, resident: { id: residentId, name: '陈阿姨' }, step: { level: 0 } });

    clock.advance(59_000);
    await gw.app.engine.runDue();
    expect(paths()).toHaveLength(1); // not a second early

    clock.advance(1_000);
    await gw.app.engine.runDue();
    expect(paths().slice(1).sort()).toEqual(['/daughter:alarm.escalated', '/street:alarm.escalated']);

    clock.advance(120_000);
    await gw.app.engine.runDue();
    expect(paths().slice(3).sort()).toEqual(['/daughter:alarm.escalated', '/district:alarm.escalated', '/son:alarm.escalated']);
    const detail = (await gw.api('GET', `/api/v1/alarms/${alarm.id}`)).body;
    expect(detail.escalationLevel).toBe(2);
    expect(detail.timeline.filter((t: any) => t.kind === 'escalated').map((t: any) => t.detail.level)).toEqual([1, 2]);
    expect(detail.timeline.filter((t: any) => t.kind === 'notified' && t.detail.channel === 'webhook')).toHaveLength(6);
  });

  it('reminds until acknowledged, then stops and tells those already notified', async () => {
    const [alarm] = await openAlarms();
    clock.advance(120_000); // 300 s: the first reminder
    await gw.app.engine.runDue();
    expect(paths().filter((p) => p.endsWith('alarm.reminder')).sort()).toEqual(['/community:alarm.reminder', '/district:alarm.reminder', '/street:alarm.reminder']);

    const updated = stream.next((e) => e.event === 'alarm.updated' && e.data.id === alarm.id && e.data.state === 'acknowledged');
    const ack = await gw.api('POST', `/api/v1/alarms/${alarm.id}/ack`, { note: '已电话联系, 上门中' });
    expect(ack.body).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'admin' });
    await updated;
    await gw.app.engine.runDue();
    const told = hooks.received.filter((w) => w.body.event === 'alarm.acknowledged').map((w) => w.path).sort();
    expect(told).toEqual(['/community', '/daughter', '/district', '/son', '/street']);
    expect(hooks.received.find((w) => w.path === '/daughter' && w.body.event === 'alarm.acknowledged')!.body.alarm).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'admin' });

    const before = hooks.received.length;
    clock.advance(3_600_000);
    await gw.app.engine.runDue();
    // The SOS ladder stopped. (An hour of silence from the pendant is an alarm of its own.)
    expect(hooks.received.slice(before).filter((w) => w.body.alarm.id === alarm.id)).toEqual([]);
    expect(hooks.received.slice(before).map((w) => `${w.path}:${w.body.event}:${w.body.alarm.type}`)).toEqual(['/community:alarm.raised:device_offline']);

    const again = await gw.api('POST', `/api/v1/alarms/${alarm.id}/ack`, {});
    expect(again.status).toBe(409);
    const resolved = await gw.api('POST', `/api/v1/alarms/${alarm.id}/resolve`, { outcome: 'visited', note: '摔倒无外伤' });
    expect(resolved.body).toMatchObject({ state: 'resolved', outcome: 'visited', resolvedBy: 'admin' });
    const detail = (await gw.api('GET', `/api/v1/alarms/${alarm.id}`)).body;
    expect(detail.timeline.map((t: any) => t.kind)).toEqual(expect.arrayContaining(['raised', 'escalated', 'reminder', 'acknowledged', 'resolved']));
    expect(detail.timeline.find((t: any) => t.kind === 'acknowledged')).toMatchObject({ actor: 'admin', detail: { note: '已电话联系, 上门中' } });
  });

  it('resolves a fall as a false alarm when the resident cancels at 29 s, before the family is called', async () => {
    hooks.received.length = 0;
    const client = await gw.connect(radar);
    const t0 = clock.now();
    await client.publishAsync('devices/radar-e2e/event', JSON.stringify({ ts: t0, type: 'fall', seq: 1 }), { qos: 1 });
    await gw.app.engine.runDue();
    clock.advance(29_000);
    await client.publishAsync('devices/radar-e2e/event', JSON.stringify({ ts: clock.now(), type: 'fall_cancelled', seq: 2 }), { qos: 1 });
    const [fall] = (await gw.api('GET', '/api/v1/alarms?state=resolved')).body.filter((a: any) => a.type === 'fall');
    expect(fall).toMatchObject({ outcome: 'false_alarm', resolvedBy: 'resident' });
    clock.advance(300_000);
    await gw.app.engine.runDue();
    expect(paths().filter((p) => p.startsWith('/daughter') || p.startsWith('/son'))).toEqual([]);
    expect(paths()).toEqual(expect.arrayContaining(['/community:alarm.raised', '/community:alarm.resolved']));
    await client.endAsync();
  });

  it('keeps a fall open when the cancel comes at 31 s, and says so on the timeline', async () => {
    const client = await gw.connect(radar);
    await client.publishAsync('devices/radar-e2e/event', JSON.stringify({ ts: clock.now(), type: 'fall', seq: 3 }), { qos: 1 });
    clock.advance(31_000);
    await client.publishAsync('devices/radar-e2e/event', JSON.stringify({ ts: clock.now(), type: 'fall_cancelled', seq: 4 }), { qos: 1 });
    const [fall] = (await openAlarms()).filter((a: any) => a.type === 'fall');
    expect(fall).toMatchObject({ state: 'open' });
    const detail = (await gw.api('GET', `/api/v1/alarms/${fall.id}`)).body;
    expect(detail.timeline.find((t: any) => t.kind === 'cancel_too_late').detail).toMatchObject({ afterSeconds: 31, windowSeconds: 30 });
    await gw.api('POST', `/api/v1/alarms/${fall.id}/resolve`, { outcome: 'handled_remotely' });
    await client.endAsync();
  });

  it('switches on the station siren and tells the resident\'s pendant that help is coming, over MQTT', async () => {
    const [community] = ((await gw.api('GET', '/api/v1/stations')).body as any[]).filter((s) => s.level === 'community');
    const siren = (await gw.api('POST', '/api/v1/devices', { profile: 'carebell-station-siren', stationId: community.id, id: 'siren-e2e' })).body;
    const sirenClient = await gw.connect(siren);
    await sirenClient.subscribeAsync('devices/siren-e2e/command', { qos: 1 });
    const pendantClient = await gw.connect(pendant);
    await pendantClient.subscribeAsync('devices/sos-e2e/command', { qos: 1 });
    const sirenCommand = new Promise<any>((resolve) => sirenClient.once('message', (_t, p) => resolve(JSON.parse(p.toString()))));
    const pendantCommand = new Promise<any>((resolve) => pendantClient.once('message', (_t, p) => resolve(JSON.parse(p.toString()))));

    for (const a of await openAlarms()) await gw.api('POST', `/api/v1/alarms/${a.id}/resolve`, { outcome: 'other' });
    await pendantClient.publishAsync('devices/sos-e2e/event', JSON.stringify({ ts: clock.now(), type: 'sos', seq: 150 }), { qos: 1 });
    await gw.app.engine.runDue();
    const [alarm] = (await openAlarms()).filter((a) => a.type === 'sos');
    expect(await sirenCommand).toEqual({ cmd: 'siren', action: 'on', alarmId: alarm.id, alarmType: 'sos', severity: 'critical' });
    expect(await pendantCommand).toEqual({ cmd: 'alarm_received', alarmId: alarm.id, alarmType: 'sos', message: 'help is coming' });
    const timeline = (await gw.api('GET', `/api/v1/alarms/${alarm.id}`)).body.timeline;
    expect(timeline.filter((t: any) => t.kind === 'notified' && t.detail.channel === 'mqtt').map((t: any) => t.detail.target).sort()).toEqual(['device sos-e2e', 'siren siren-e2e']);
    const sirenOff = new Promise<any>((resolve) => sirenClient.once('message', (_t, p) => resolve(JSON.parse(p.toString()))));
    await gw.api('POST', `/api/v1/alarms/${alarm.id}/ack`, {});
    await gw.app.engine.runDue();
    expect(await sirenOff).toMatchObject({ cmd: 'siren', action: 'off', alarmId: alarm.id });
    await gw.api('POST', `/api/v1/alarms/${alarm.id}/resolve`, { outcome: 'handled_remotely' });
    await sirenClient.endAsync();
    await pendantClient.endAsync();
  });

  it('replays missed events to a stream that reconnects with Last-Event-ID', async () => {
    const lastId = stream.events.at(-1)!.id!;
    const published = await sos(202);
    expect(published.stderr).toBe('');
    const resumed = await openStream(`${gw.urls.httpUrl}/api/v1/stream`, ADMIN_TOKEN, lastId);
    const replayed = await resumed.next((e) => e.event === 'alarm.raised' && e.data.type === 'sos');
    expect(replayed.id).toBeGreaterThan(lastId);
    expect(resumed.events.every((e) => e.id! > lastId)).toBe(true);
    await resumed.close();
  });
});

describe('a webhook target that is down, then up', () => {
  const clock = new ManualClock(Date.now());
  let gw: TestGateway;
  let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;

  beforeAll(async () => {
    // The community station's gateway answers 503 twice, then accepts.
    hooks = await startWebhookReceiver((path, nth) => (path === '/flaky' && nth <= 2 ? 503 : 200));
    gw = await startGateway({ clock, alarms: { tickMs: 0, retry: { maxAttempts: 5, baseMs: 2_000, maxMs: 60_000, webhookForMs: 24 * 3_600_000 } } });
  });
  afterAll(async () => {
    await gw?.stop();
    await hooks?.close();
  });

  it('is retried with backoff, delivered once, and its attempts are one line on the timeline', async () => {
    const d = (await gw.api('POST', '/api/v1/stations', { name: 'D', level: 'district' })).body;
    const s = (await gw.api('POST', '/api/v1/stations', { name: 'S', level: 'street', parentId: d.id })).body;
    const c = (await gw.api('POST', '/api/v1/stations', { name: 'C', level: 'community', parentId: s.id, webhookUrl: hooks.url('/flaky') })).body;
    const r = (await gw.api('POST', '/api/v1/residents', { name: 'R', address: 'A', stationId: c.id, livesAlone: true, capabilityLevel: 1 })).body;
    const smoke = await gw.onboardDevice('anxin-smoke-sd3', r.id, 'smoke-flaky');
    const client = await gw.connect(smoke);
    await client.publishAsync('devices/smoke-flaky/raw', Buffer.from('a50112015c00e7fc', 'hex'), { qos: 1 });
    const [alarm] = (await gw.api('GET', '/api/v1/alarms?state=open')).body;
    expect(alarm).toMatchObject({ type: 'smoke', severity: 'critical', policy: 'critical-lives-alone' });

    await gw.app.engine.runDue(); // attempt 1: 503
    clock.advance(1_000);
    await gw.app.engine.runDue(); // not due yet (backoff ≥ 1.6 s)
    expect(hooks.attempts.get('/flaky')).toBe(1);
    clock.advance(2_000);
    await gw.app.engine.runDue(); // attempt 2: 503
    clock.advance(5_000);
    await gw.app.engine.runDue(); // attempt 3: delivered
    clock.advance(60_000);
    await gw.app.engine.runDue();
    expect(hooks.at('/flaky').filter((w) => w.body.event === 'alarm.raised')).toHaveLength(1);
    expect(hooks.attempts.get('/flaky')).toBeGreaterThanOrEqual(3);

    const timeline = (await gw.api('GET', `/api/v1/alarms/${alarm.id}`)).body.timeline.filter((t: any) => t.detail?.channel === 'webhook' && t.detail?.event === 'alarm.raised');
    expect(timeline.map((t: any) => `${t.kind}#${t.detail.attempts ?? t.detail.attempt}${t.detail.error ? ':' + t.detail.error : ''}${t.detail.deliveredAt ? ' then delivered' : ''}`)).toEqual([
      'notify_failed#2:HTTP 503 then delivered',
      'notified#3',
    ]);
    const allFailures = (await gw.api('GET', `/api/v1/alarms/${alarm.id}`)).body.timeline.filter((t: any) => t.kind === 'notify_failed').length;
    const metrics = (await gw.api('GET', '/metrics', undefined, null)).body as string;
    expect(Number(/carebell_notification_failures_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(allFailures);
    await client.endAsync();
  });
});

describe('a webhook target down for ten minutes while the alarm is open', () => {
  const clock = new ManualClock(Date.parse('2026-11-20T10:00:00+08:00'));
  let gw: TestGateway;
  let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let up = false;

  beforeAll(async () => {
    hooks = await startWebhookReceiver((path) => (path === '/down' && !up ? 503 : 200));
    gw = await startGateway({ clock, alarms: { tickMs: 0 } }); // the default retry policy
  });
  afterAll(async () => {
    await gw?.stop();
    await hooks?.close();
  });

  it('is not given up on: retried until it answers, as one timeline line counting the attempts', async () => {
    const d = (await gw.api('POST', '/api/v1/stations', { name: 'D', level: 'district' })).body;
    const s = (await gw.api('POST', '/api/v1/stations', { name: 'S', level: 'street', parentId: d.id })).body;
    const c = (await gw.api('POST', '/api/v1/stations', { name: 'C', level: 'community', parentId: s.id, webhookUrl: hooks.url('/down') })).body;
    const r = (await gw.api('POST', '/api/v1/residents', { name: 'R', address: 'A', stationId: c.id, livesAlone: true, capabilityLevel: 1 })).body;
    const pendant = await gw.onboardDevice('carebell-sos-pendant', r.id, 'sos-down');
    const client = await gw.connect(pendant);
    await client.publishAsync('devices/sos-down/event', JSON.stringify({ ts: clock.now(), type: 'sos', seq: 1 }), { qos: 1 });
    const [alarm] = (await gw.api('GET', '/api/v1/alarms?state=open')).body;
    for (let step = 0; step < 120; step++) {
      await gw.app.engine.runDue();
      clock.advance(5_000); // ten minutes in 5 s steps: each retry runs within 5 s of when it is due
    }
    await gw.app.engine.runDue();
    const raisedTries = () => hooks.attempts.get('/down') ?? 0;
    expect(raisedTries()).toBeGreaterThan(8); // more than the old limit of 8 attempts (about 4 minutes)
    const lines = async () => (await gw.api('GET', `/api/v1/alarms/${alarm.id}`)).body.timeline.filter((t: any) => t.detail?.channel === 'webhook' && t.detail?.event === 'alarm.raised');
    const [failing] = await lines();
    expect((await lines()).map((t: any) => t.kind)).toEqual(['notify_failed']);
    expect(failing.detail).toMatchObject({ error: 'HTTP 503', firstFailedAt: new Date(Date.parse('2026-11-20T10:00:00+08:00')).toISOString() });
    expect(failing.detail.attempts).toBeGreaterThan(8);
    expect(Date.parse(failing.detail.retryAt) - clock.now()).toBeLessThanOrEqual(72_000); // backoff capped at a minute (+20 % jitter)

    up = true;
    clock.advance(72_000);
    await gw.app.engine.runDue();
    expect(hooks.at('/down').filter((w) => w.body.event === 'alarm.raised')).toHaveLength(1);
    expect((await lines()).map((t: any) => t.kind)).toEqual(['notify_failed', 'notified']);
    expect((await lines())[0].detail.deliveredAt).toBeDefined();
    await client.endAsync();
  });
});

describe('a slow notification target', () => {
  const clock = new ManualClock(Date.now());
  let gw: TestGateway;
  let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const hangingResponses: Array<import('node:http').ServerResponse> = [];
  let hanging: import('node:http').Server | undefined;

  beforeAll(async () => {
    gw = await startGateway({ clock, alarms: { tickMs: 0 } });
  });
  afterAll(async () => {
    for (const res of hangingResponses) res.writeHead(200).end();
    hanging?.close();
    await gw?.stop();
    await hooks?.close();
  });

  it('never delays the others: the street centre is told while the son\'s gateway hangs, at the same step', async () => {
    const { createServer } = await import('node:http');
    let hangingStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => (hangingStarted = resolve));
    hanging = createServer((req, res) => {
      req.resume();
      hangingResponses.push(res); // never answered until the test ends
      hangingStarted();
    });
    await new Promise<void>((r) => hanging!.listen(0, '127.0.0.1', () => r()));
    hooks = await startWebhookReceiver();
    const d = (await gw.api('POST', '/api/v1/stations', { name: 'D', level: 'district' })).body;
    const s = (await gw.api('POST', '/api/v1/stations', { name: 'S', level: 'street', parentId: d.id, webhookUrl: hooks.url('/street') })).body;
    const c = (await gw.api('POST', '/api/v1/stations', { name: 'C', level: 'community', parentId: s.id })).body;
    const son = { name: 'F', relation: 'son', phone: '13800000009', priority: 1, webhookUrl: `http://127.0.0.1:${(hanging.address() as { port: number }).port}/hang` };
    const r = (await gw.api('POST', '/api/v1/residents', { name: 'R', address: 'A', stationId: c.id, livesAlone: false, capabilityLevel: 1, contacts: [son] })).body;
    const pendant = await gw.onboardDevice('carebell-sos-pendant', r.id, 'sos-slow');
    const client = await gw.connect(pendant);
    await client.publishAsync('devices/sos-slow/event', JSON.stringify({ ts: clock.now(), type: 'sos', seq: 1 }), { qos: 1 });
    await gw.app.engine.runDue();

    clock.advance(60_000); // step 1: the street centre and the son, due together
    gw.app.engine.kick();
    await started; // the son's request is under way and hangs
    const street = await hooks.next((w) => w.path === '/street' && w.body.event === 'alarm.escalated');
    expect(street.body.step.level).toBe(1);
    const webhooks = async () => (await gw.app.repos.outbox.forAlarm(street.body.alarm.id)).filter((o) => o.delivery.channel === 'webhook' && o.step === 1);
    const streetRecorded = async () => (await webhooks()).some((o) => o.delivery.channel === 'webhook' && o.delivery.url.endsWith('/street') && o.status === 'delivered');
    await expect.poll(streetRecorded).toBe(true);
    // The street centre's delivery is done and on record while the son's is still waiting for an answer.
    expect((await webhooks()).map((o) => `${(o.delivery as { url: string }).url.split('/').pop()}:${o.status}:${o.attempts}`).sort()).toEqual(['hang:pending:0', 'street:delivered:1']);
    expect(hangingResponses).toHaveLength(1);
    await client.endAsync();
  });
});
