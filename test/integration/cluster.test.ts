import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { ScaledClock } from '../../src/core/clock.ts';
import { policies } from '../../src/escalation/policies.ts';
import { startHaproxy } from '../helpers/haproxy.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { call as callApi, must, startNode, stopNodes, type NodeProcess } from '../helpers/nodes.ts';
import { exited } from '../helpers/processes.ts';
import { openStream } from '../helpers/sse.ts';
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts';

const TOKEN = 'cluster-test-admin-token-0123456789';
const SPEED = 10;
const PENDANTS = 180;

const call = (base: string, method: string, path: string, body?: unknown, token = TOKEN) => callApi(base, token, method, path, body);
/** Runs `work` over `items`, `width` at a time. */
const pool = async <T, R>(items: T[], width: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> => {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!, i);
    }
  }));
  return out;
};

/**
 * The test's waits, each bounded and named: on a loaded machine a wait that never ends must say which it was
 * and what came before it (the stages are printed with their times when the test fails).
 */
const stages: string[] = [];
const started = Date.now();
const stage = (name: string) => void stages.push(`${((Date.now() - started) / 1000).toFixed(1)} s  ${name}`);
const within = async <T>(ms: number, what: string, work: Promise<T>): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${ms / 1000} s for ${what}; stages:\n${stages.join('\n')}`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
    stage(what);
  }
};

/**
 * The cluster as it is deployed: three `carebell start` processes on one
 * PostgreSQL (Debian's package, its own data directory and port), Debian's
 * HAProxy with the shipped deploy/haproxy.cfg in front, a few hundred devices
 * that are real MQTT clients reconnecting as firmware does. One node is killed
 * with SIGKILL in the middle of a burst of SOS presses: every press is one
 * alarm, its devices are on the survivors within 10 s, their rule state goes
 * on (a heart-rate duration half-way, a fall's cancel window), the ladder the
 * dead node started escalates on time, every webhook arrives once by delivery
 * id, and the duty operator's live stream on another node saw every alarm.
 */
describe('three nodes behind HAProxy on PostgreSQL: one killed in a burst of SOS presses', () => {
  let pgServer: TestPostgres;
  let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let haproxy: Awaited<ReturnType<typeof startHaproxy>> | undefined;
  const nodes: NodeProcess[] = [];
  const clients: MqttClient[] = [];
  let db: pg.Client | undefined;
  const epoch = Date.now();
  const clock = new ScaledClock(SPEED, epoch);

  beforeAll(async () => {
    [pgServer, hooks] = await Promise.all([startPostgres(), startWebhookReceiver()]);
    // A node not heard for 3 s is taken for dead (15 s by default).
    const env = { CAREBELL_DATABASE_URL: pgServer.url, CAREBELL_ADMIN_TOKEN: TOKEN, CAREBELL_MODE: 'test', CAREBELL_SIM_SPEED: String(SPEED), CAREBELL_SIM_EPOCH: String(epoch), CAREBELL_NODE_TIMEOUT_SECONDS: '3' };
    const start = async (id: string) => void nodes.push(await startNode(id, env));
    // The first node migrates the database; the others find it migrated.
    await start('node1');
    await Promise.all([start('node2'), start('node3')]);
    stage('PostgreSQL and three nodes started');
    const hostPort = (url: string) => new URL(url).host;
    haproxy = await startHaproxy(nodes.map((n) => ({ mqtt: hostPort(n.proc.mqtt), http: hostPort(n.proc.http) })));
    db = new pg.Client({ connectionString: pgServer.url });
    await db.connect();
  }, 90_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    await db?.end().catch(() => {});
    await haproxy?.stop();
    await stopNodes(nodes);
    await hooks?.close();
    await pgServer?.stop();
  }, 60_000);

  it('loses no press, moves the dead node’s devices with their rule state, keeps its ladder going, and shows every alarm on another node', async () => {
    onTestFailed(() => console.error(`cluster test stages:\n${stages.join('\n')}`));
    stage('the test begins');
    const api = haproxy!.httpUrl;
    // Through HAProxy's HTTP port, as an administrator's browser would.
    const district = await must(call(api, 'POST', '/api/v1/stations', { name: '滨江区养老服务指导中心', level: 'district', webhookUrl: hooks.url('/district') }));
    const street = await must(call(api, 'POST', '/api/v1/stations', { name: '西兴街道居家养老服务中心', level: 'street', parentId: district.id, webhookUrl: hooks.url('/street') }));
    const community = await must(call(api, 'POST', '/api/v1/stations', { name: '江汉社区养老服务站', level: 'community', parentId: street.id, webhookUrl: hooks.url('/community') }));
    const register = async (i: number, profile: string, id: string) => {
      const resident = await must(call(api, 'POST', '/api/v1/residents', { name: `长者${i}`, address: `江汉路 ${i} 号`, stationId: community.id, livesAlone: false, capabilityLevel: 2, contacts: [] }));
      const device = await must(call(api, 'POST', '/api/v1/devices', { profile, residentId: resident.id, id }));
      return { id, residentId: resident.id as string, password: device.mqtt.password as string };
    };
    const pendants = await within(90_000, 'the pendants registered', pool(Array.from({ length: PENDANTS }, (_, i) => i), 8, (i) => register(i, 'carebell-sos-pendant', `sos-${String(i).padStart(4, '0')}`)));
    const band = await register(PENDANTS, 'carebell-vitals-band', 'band-0001');
    // Fall radars (heartbeat 60 s: silent for 180 s, one is offline): one on the node to be killed will not come back.
    const radars = await pool([0, 1, 2, 3, 4, 5], 3, (i) => register(PENDANTS + 1 + i, 'carebell-fall-radar', `radar-${i}`));
    const residentOf = new Map([...pendants, band].map((d) => [d.id, d.residentId]));

    // The duty operator of the community station logs in on a node and keeps the console open.
    const password = 'correct-horse-battery-staple-9';
    await must(call(api, 'POST', '/api/v1/users', { username: 'duty.jianghan', password, role: 'operator', stationId: community.id }));

    // Every device connects through HAProxy and reconnects as firmware does (a node that has not yet heard of a
    // device registered on another refuses it for a moment: it tries again).
    const connect = (d: { id: string; password: string }) =>
      new Promise<MqttClient>((resolve) => {
        const c = mqtt.connect(haproxy!.mqttUrl, { clientId: d.id, username: d.id, password: d.password, protocolVersion: 4, reconnectPeriod: 300, reconnectOnConnackError: true, connectTimeout: 5_000 });
        c.on('error', () => {});
        clients.push(c);
        c.once('connect', () => resolve(c));
      });
    const byId = new Map<string, MqttClient>();
    await within(60_000, 'every device connected', pool([...pendants, band, ...radars], 20, async (d) => byId.set(d.id, await connect(d))));
    const owners = async () => new Map((await db!.query<{ device_id: string; node_id: string }>('SELECT device_id, node_id FROM device_owners')).rows.map((r) => [r.device_id, r.node_id]));
    const before = await owners();
    expect(before.size).toBe(PENDANTS + 1 + radars.length);
    const perNode = nodes.map((n) => [...before.values()].filter((x) => x === n.id).length);
    expect(perNode.every((count) => count > 0), `devices per node: ${perNode.join(', ')}`).toBe(true);

    // The node to be killed is the band's; the operator's console is on another.
    const victim = nodes.find((n) => n.id === before.get(band.id))!;
    const survivors = nodes.filter((n) => n !== victim);
    const lost = radars.find((r) => before.get(r.id) === victim.id)!;
    expect(lost, 'a radar on the node to be killed').toBeDefined();
    const lostLastHeard = clock.now();
    await within(20_000, 'the lost radar’s last telemetry acknowledged', byId.get(lost.id)!.publishAsync(`devices/${lost.id}/telemetry`, JSON.stringify({ ts: lostLastHeard, presence: true, breath: 15, heart: 70 }), { qos: 1 }));
    byId.get(lost.id)!.options.reconnectPeriod = 0; // switched off with its node: it will not connect again
    const onVictim = pendants.filter((p) => before.get(p.id) === victim.id);
    const ladderPendant = onVictim[0]!;
    const login = await within(20_000, 'the operator logged in', must(call(survivors[0]!.proc.http, 'POST', '/api/v1/auth/login', { username: 'duty.jianghan', password }, '')));
    const stream = await within(20_000, 'the operator’s stream open', openStream(`${survivors[0]!.proc.http}/api/v1/stream`, login.token));
    const alarmOnStream = (what: string, ms: number, pred: (a: { id: string; type: string; deviceId: string }) => boolean) =>
      within(ms, `${what} on the operator’s stream`, stream.next((e) => e.event === 'alarm.raised' && pred(e.data as { id: string; type: string; deviceId: string })));

    const publish = (id: string, sub: 'event' | 'telemetry', payload: Record<string, unknown>, ms = 30_000) =>
      within(ms, `the ${sub} of ${id} acknowledged`, byId.get(id)!.publishAsync(`devices/${id}/${sub}`, JSON.stringify(payload), { qos: 1 }));

    // On the node to be killed: the band's heart rate high for 60 of the 120 s its rule needs, then a fall
    // (its 30 s cancel window open); a pendant's SOS whose ladder has begun (the station was told).
    const t0 = clock.now() - 60_000;
    await publish(band.id, 'telemetry', { ts: t0, hr: 131 });
    await publish(band.id, 'telemetry', { ts: t0 + 60_000, hr: 133 });
    await publish(band.id, 'event', { ts: t0 + 61_000, type: 'fall', seq: 1 });
    const fall = (await alarmOnStream('the band’s fall', 30_000, (a) => a.deviceId === band.id && a.type === 'fall')).data as { id: string };
    await publish(ladderPendant.id, 'event', { ts: clock.now(), type: 'sos', seq: 1 });
    const ladder = (await alarmOnStream('the first SOS', 30_000, (a) => a.deviceId === ladderPendant.id && a.type === 'sos')).data as { id: string };
    await within(30_000, 'the station’s webhook of the first SOS', hooks.next((w) => w.path === '/community' && w.body.alarm.id === ladder.id && w.body.event === 'alarm.raised'));

    // The burst: every other pendant presses, 20 at a time; the band's node is killed after the first 40.
    const burst = pendants.filter((p) => p !== ladderPendant);
    let killedAt = 0;
    const reconnected = new Map<string, Promise<number>>();
    for (let i = 0; i < burst.length; i += 20) {
      if (i === 40) {
        for (const d of [...onVictim, band, ...radars.filter((r) => r !== lost && before.get(r.id) === victim.id)]) reconnected.set(d.id, new Promise((resolve) => byId.get(d.id)!.once('connect', () => resolve(Date.now()))));
        killedAt = Date.now();
        victim.proc.child.kill('SIGKILL');
      }
      await Promise.all(burst.slice(i, i + 20).map((p) => publish(p.id, 'event', { ts: clock.now(), type: 'sos', seq: 1 }, 60_000)));
      stage(`presses ${i + 1}–${Math.min(i + 20, burst.length)} acknowledged`);
    }
    await within(10_000, 'the killed node gone', exited(victim.proc.child));

    // The dead node's devices are on the survivors within 10 s.
    const back = await within(30_000, 'the dead node’s devices reconnected', Promise.all(reconnected.values()));
    const slowest = Math.max(...back) - killedAt;
    expect(slowest, `the last device reconnected ${slowest} ms after the kill`).toBeLessThanOrEqual(10_000);
    await expect.poll(async () => {
      const now = await owners();
      return [...reconnected.keys()].filter((id) => !survivors.some((s) => s.id === now.get(id)));
    }, { timeout: 10_000 }).toEqual([]);
    stage('the dead node’s devices owned by survivors');

    // The band's rule state carried on: its cancel (20 s after the fall) cancels the fall, and 125 s of high heart
    // rate (60 s of them seen by the dead node) raise the alarm.
    await publish(band.id, 'event', { ts: t0 + 81_000, type: 'cancel', seq: 2 });
    await publish(band.id, 'telemetry', { ts: t0 + 125_000, hr: 132 });
    await alarmOnStream('the band’s heart-rate alarm', 30_000, (a) => a.deviceId === band.id && a.type === 'heart_rate_high');
    // Polled as the whole alarm, so a failure shows its timeline (who cancelled what, on which node).
    await expect.poll(async () => (await call(survivors[1]!.proc.http, 'GET', `/api/v1/alarms/${fall.id}`)).body, { timeout: 20_000 }).toMatchObject({ state: 'resolved' });
    const fallDetail = (await call(survivors[1]!.proc.http, 'GET', `/api/v1/alarms/${fall.id}`)).body;
    expect(fallDetail.outcome).toBe('false_alarm');
    stage('the fall cancelled');

    // Every press is one alarm, and the operator's stream on another node saw each.
    const sosAlarms: Array<{ id: string; deviceId: string; residentId: string; raisedAt: string }> = [];
    for (let offset = 0; ; offset += 500) {
      const page = (await within(20_000, 'a page of alarms', call(survivors[1]!.proc.http, 'GET', `/api/v1/alarms?limit=500&offset=${offset}`))).body as any[];
      sosAlarms.push(...page.filter((a) => a.type === 'sos'));
      if (page.length < 500) break;
    }
    expect(sosAlarms.map((a) => a.deviceId).sort()).toEqual(pendants.map((p) => p.id).sort());
    for (const a of sosAlarms) expect(a.residentId).toBe(residentOf.get(a.deviceId));
    await expect.poll(() => sosAlarms.filter((a) => !stream.events.some((e) => e.event === 'alarm.raised' && (e.data as { id: string }).id === a.id)).length, { timeout: 30_000 }).toBe(0);
    stage('every SOS on the operator’s stream');

    // The ladder the dead node started goes on: its next step is sent by a survivor, on time.
    const escalated = await within(60_000, 'the street centre’s webhook of the ladder’s step', hooks.next((w) => w.path === '/street' && w.body.alarm.id === ladder.id && w.body.event === 'alarm.escalated'));
    expect(escalated.body.step.level).toBe(1);
    const timeline = (await call(survivors[1]!.proc.http, 'GET', `/api/v1/alarms/${ladder.id}`)).body.timeline as Array<{ at: string; kind: string; detail: any }>;
    const raisedAt = Date.parse(timeline.find((t) => t.kind === 'raised')!.at);
    const stepAt = Date.parse(timeline.find((t) => t.kind === 'escalated' && t.detail.level === 1)!.at);
    // The street centre is told 60 s after the alarm.
    const dueAfter = policies.critical!.steps[1]!.afterSeconds * 1000;
    expect(stepAt - raisedAt, `the step is due ${dueAfter / 1000} s after the alarm`).toBeGreaterThanOrEqual(dueAfter);
    expect(stepAt - raisedAt, 'and fires within the engine’s tick of that, not after a lease or a restart').toBeLessThanOrEqual(dueAfter + 60_000);
    // The receiver answers before the sender records the delivery: the line is read once it is there.
    const sentBy = async () =>
      ((await call(survivors[1]!.proc.http, 'GET', `/api/v1/alarms/${ladder.id}`)).body.timeline as typeof timeline).find(
        (t) => t.kind === 'notified' && t.detail.channel === 'webhook' && t.detail.event === 'alarm.escalated' && t.detail.step === 1,
      )?.detail.node;
    await expect.poll(sentBy, { timeout: 10_000 }).toBeDefined();
    expect(survivors.map((s) => s.id)).toContain(await sentBy());

    // Every station webhook of every SOS arrived exactly once by delivery id: a redelivery carries the same id.
    // (one the dead node had claimed is sent by a survivor once its lease has run out).
    const stationTold = (id: string) => hooks.received.some((w) => w.path === '/community' && w.body.event === 'alarm.raised' && w.body.alarm.id === id);
    // (Bounded generously: at ten times real time a few hundred ladders make much work for two nodes on a loaded machine.)
    await expect.poll(() => sosAlarms.filter((a) => !stationTold(a.id)).map((a) => a.deviceId), { timeout: 30_000 }).toEqual([]);
    stage('every station webhook arrived');
    const deliveries = new Map<string, Set<string>>();
    for (const w of hooks.received) {
      const key = `${w.path} ${w.body.event} ${w.body.alarm.id} ${w.body.step?.level}`;
      deliveries.set(key, (deliveries.get(key) ?? new Set()).add(String(w.headers['x-carebell-delivery'])));
    }
    expect([...deliveries].filter(([, ids]) => ids.size !== 1)).toEqual([]);
    // The radar that did not come back: a survivor adopted it once the dead node missed its heartbeats,
    // and watches its silence, so its device_offline alarm comes 180 s (simulated) after it was last heard.
    await expect.poll(async () => survivors.map((n) => n.id).includes((await owners()).get(lost.id)!), { timeout: 10_000 }).toBe(true);
    const offline = (await alarmOnStream('the lost radar’s device_offline', 60_000, (a) => a.deviceId === lost.id && a.type === 'device_offline')).data as { id: string };
    const offlineDetail = (await call(survivors[1]!.proc.http, 'GET', `/api/v1/alarms/${offline.id}`)).body;
    expect(Date.parse(offlineDetail.raisedAt) - lostLastHeard).toBeGreaterThanOrEqual(180_000);
    await stream.close();
  }, 240_000);
});
