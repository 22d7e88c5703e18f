import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InfluxDB } from 'influx';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { OPERATION_MEASUREMENTS } from '../../src/telemetry/operations.ts';
import type { SpoolingRemoteSink } from '../../src/telemetry/remote-sink.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { Influxd } from '../helpers/influxd.ts';
import { root } from '../helpers/processes.ts';

interface Target {
  refId: string;
  query: string;
  rawQuery?: boolean;
  datasource?: { uid: string };
}
interface Panel {
  id: number;
  title: string;
  type: string;
  datasource?: { uid: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  query: string;
  includeAll?: boolean;
  allValue?: string;
  datasource?: { uid: string };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}
interface RawSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

const dashboardsDir = join(root, 'grafana/dashboards');
const dashboards: Array<{ file: string; dashboard: Dashboard }> = readdirSync(dashboardsDir)
  .filter((f) => f.endsWith('.json'))
  .map((file) => ({ file, dashboard: JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')) as Dashboard }));
const panelsOf = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...panelsOf(p.panels ?? [])]);
const datasourceFile = readFileSync(join(root, 'grafana/provisioning/datasources/carebell.yml'), 'utf8');

/**
 * Every panel and template variable of the provisioned Grafana dashboards,
 * run against the real influxd holding what the gateway wrote while devices
 * published readings, raised and acknowledged alarms, and sent bad payloads.
 */
describe('Grafana dashboards on InfluxDB', () => {
  let influxd: Influxd;
  let gw: TestGateway;
  let influx: InfluxDB;
  // Ten minutes ago, so the whole run (about two simulated minutes) lies in the past for `now()`.
  const clock = new ManualClock(Date.now() - 600_000);
  const t0 = clock.now();
  const clients: MqttClient[] = [];
  const ids = { residentA: '', residentB: '', stationA: '江汉社区养老服务站', stationB: '闻涛社区养老服务站' };

  const raiseSos = async (client: MqttClient, deviceId: string, seq: number): Promise<string> => {
    const raised = gw.waitFor('alarm.raised', (p) => p.alarm.deviceId === deviceId && p.alarm.type === 'sos');
    await client.publishAsync(`devices/${deviceId}/event`, JSON.stringify({ ts: clock.now(), type: 'sos', seq }), { qos: 1 });
    const { alarm } = await raised;
    await gw.app.engine.runDue();
    return alarm.id;
  };
  const act = async (path: string, body: unknown) => {
    const r = await gw.api('POST', path, body);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  };

  beforeAll(async () => {
    influxd = await Influxd.create();
    await influxd.start();
    gw = await startGateway({ clock, config: { influxUrl: influxd.url('carebell') }, alarms: { tickMs: 0 }, dataDir: join(influxd.dir, 'gateway') });
    influx = new InfluxDB({ host: '127.0.0.1', port: influxd.port, database: 'carebell' });

    const seeded = await gw.seedResident();
    ids.residentA = seeded.residentId;
    const stationB = await gw.api('POST', '/api/v1/stations', { name: ids.stationB, level: 'community', parentId: seeded.streetId });
    const residentB = await gw.api('POST', '/api/v1/residents', {
      name: '张桂兰',
      address: '闻涛路 8 号 1 单元 301',
      stationId: stationB.body.id,
      livesAlone: false,
      capabilityLevel: 1,
      contacts: [{ name: '张伟', relation: 'daughter', phone: '+86 139 0000 0002', priority: 1 }],
    });
    ids.residentB = residentB.body.id;

    const band = await gw.onboardDevice('carebell-vitals-band', ids.residentA, 'band-a');
    const pendantA = await gw.onboardDevice('carebell-sos-pendant', ids.residentA, 'pendant-a');
    const pendantB = await gw.onboardDevice('carebell-sos-pendant', ids.residentB, 'pendant-b');
    const [bandClient, pendantAClient, pendantBClient] = await Promise.all([band, pendantA, pendantB].map((d) => gw.connect(d)));
    clients.push(bandClient!, pendantAClient!, pendantBClient!);

    for (let i = 0; i < 5; i++) {
      await bandClient!.publishAsync('devices/band-a/telemetry', JSON.stringify({ ts: clock.now(), hr: 70 + i, spo2: 96, bp: { sys: 128, dia: 82 }, temp: 36.6, battery: 64 }), { qos: 1 });
      clock.advance(1_000);
    }
    await pendantBClient!.publishAsync('devices/pendant-b/telemetry', JSON.stringify({ ts: clock.now(), battery: 12, rssi: -70 }), { qos: 1 });
    for (const bad of ['{"ts": 1, "hr": "fast"', 'not json at all', JSON.stringify({ ts: clock.now(), hr: 900 })]) {
      await bandClient!.publishAsync('devices/band-a/telemetry', bad, { qos: 1 });
    }

    // Station A answers in 30 s; station B's alarm escalates at 60 s and is answered at 90 s.
    const alarmA = await raiseSos(pendantAClient!, 'pendant-a', 1);
    clock.advance(30_000);
    await act(`/api/v1/alarms/${alarmA}/ack`, {});
    const alarmB = await raiseSos(pendantBClient!, 'pendant-b', 1);
    clock.advance(61_000);
    await gw.app.engine.runDue();
    clock.advance(29_000);
    await act(`/api/v1/alarms/${alarmB}/ack`, { note: '已联系家属' });
    await act(`/api/v1/alarms/${alarmA}/resolve`, { outcome: 'visited' });
    await act(`/api/v1/alarms/${alarmB}/resolve`, { outcome: 'handled_remotely' });
    await gw.app.engine.runDue();

    gw.app.operations!.snapshot();
    await gw.app.operations!.flush();
    await gw.app.telemetry.flush();
    await (gw.app.sink as SpoolingRemoteSink).drained();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    await gw?.stop();
    await influxd?.destroy();
  });

  const timeFilter = () => `time >= ${t0 - 3_600_000}ms and time <= ${Date.now()}ms`;
  const raw = async (query: string): Promise<RawSeries[]> => {
    const res = (await influx.queryRaw(query, { precision: 'ms' })) as { results: Array<{ series?: RawSeries[]; error?: string }> };
    const result = res.results[0]!;
    if (result.error) throw new Error(`${result.error}\n${query}`);
    return result.series ?? [];
  };
  /** A template variable's values, from its own query. */
  const variableValues = async (v: Variable): Promise<string[]> => (await raw(v.query)).flatMap((s) => s.values.map((row) => String(row[s.columns.indexOf('value')])));
  /** Grafana's substitution: $timeFilter, $__interval, and each variable (All = its allValue, else the given or first value). */
  const fill = async (d: Dashboard, query: string, choose: Record<string, string> = {}): Promise<string> => {
    let q = query.replaceAll('$timeFilter', timeFilter()).replaceAll('$__interval', '1m');
    for (const v of d.templating.list) {
      const value = choose[v.name] ?? (v.includeAll ? v.allValue! : (await variableValues(v))[0]!);
      q = q.replaceAll(`$${v.name}`, value);
    }
    return q;
  };
  const hasData = (series: RawSeries[]) => series.some((s) => s.values.some((row) => row.slice(1).some((v) => v !== null)));
  const dashboard = (uid: string) => dashboards.find((d) => d.dashboard.uid === uid)!.dashboard;
  const panel = (uid: string, title: string) => panelsOf(dashboard(uid).panels).find((p) => p.title === title)!;

  it('ships the three dashboards, every panel on the provisioned InfluxDB datasource with a raw InfluxQL query', () => {
    expect(dashboards.map((d) => d.dashboard.uid).sort()).toEqual(['carebell-alarms', 'carebell-fleet', 'carebell-vitals']);
    expect(datasourceFile).toMatch(/uid: carebell-influxdb\s[\s\S]*dbName: carebell/);
    for (const { file, dashboard: d } of dashboards) {
      const panels = panelsOf(d.panels).filter((p) => p.type !== 'row');
      expect(panels.length, file).toBeGreaterThan(0);
      expect(new Set(panels.map((p) => p.id)).size, `${file}: panel ids are unique`).toBe(panels.length);
      for (const p of panels) {
        expect(p.datasource?.uid, `${file} / ${p.title}`).toBe('carebell-influxdb');
        expect(p.targets?.length, `${file} / ${p.title}`).toBeGreaterThan(0);
        for (const t of p.targets!) expect(t.rawQuery && t.query.length > 0, `${file} / ${p.title} / ${t.refId}`).toBe(true);
      }
      for (const v of d.templating.list) expect(v.datasource?.uid, `${file} / $${v.name}`).toBe('carebell-influxdb');
    }
  });

  it('every template variable query returns values', async () => {
    for (const { file, dashboard: d } of dashboards) {
      for (const v of d.templating.list) expect(await variableValues(v), `${file} / $${v.name}`).not.toEqual([]);
    }
    expect(await variableValues(dashboard('carebell-vitals').templating.list[0]!)).toEqual([ids.residentA]);
    expect((await variableValues(dashboard('carebell-alarms').templating.list.find((v) => v.name === 'station')!)).sort()).toEqual([ids.stationA, ids.stationB].sort());
  });

  it('every panel query, with its variables filled in, runs and returns series', async () => {
    const empty: string[] = [];
    for (const { file, dashboard: d } of dashboards) {
      for (const p of panelsOf(d.panels)) {
        for (const t of p.targets ?? []) {
          if (!hasData(await raw(await fill(d, t.query)))) empty.push(`${file} / ${p.title} / ${t.refId}`);
        }
      }
    }
    expect(empty).toEqual([]);
  });

  it('fleet health counts the devices online and on low battery, and the dead letters per profile', async () => {
    const d = dashboard('carebell-fleet');
    const value = async (title: string) => (await raw(await fill(d, panel('carebell-fleet', title).targets![0]!.query)))[0]!.values[0]![1];
    expect(await value('Online now')).toBe(3);
    expect(await value('Silent now')).toBe(0);
    expect(await value('Battery below 20 %')).toBe(1);
    const perProfile = await raw(await fill(d, panel('carebell-fleet', 'Dead letters per profile').targets![0]!.query));
    const total = (s: RawSeries) => s.values.reduce((n, row) => n + Number(row[1] ?? 0), 0);
    expect(Object.fromEntries(perProfile.map((s) => [s.tags!.profile, total(s)]))).toEqual({ 'carebell-vitals-band': 3 });
  });

  it('alarms and response: time to acknowledge, the share answered within 60 s and 180 s per station, escalations', async () => {
    const d = dashboard('carebell-alarms');
    const rows = async (title: string) => raw(await fill(d, panel('carebell-alarms', title).targets![0]!.query));
    const byStation = async (title: string) => Object.fromEntries((await rows(title)).map((s) => [s.tags!.station_name, s.values[0]![1]]));
    expect(await byStation('Acknowledged within 60 s, per station')).toEqual({ [ids.stationA]: 100, [ids.stationB]: 0 });
    expect(await byStation('Acknowledged within 180 s, per station')).toEqual({ [ids.stationA]: 100, [ids.stationB]: 100 });

    const acks = await raw(`SELECT "ack_seconds" FROM "${OPERATION_MEASUREMENTS.alarm}" WHERE "event" = 'acknowledged' AND ${timeFilter()}`);
    expect(acks[0]!.values.map((r) => r[1]).sort((a, b) => Number(a) - Number(b))).toEqual([30, 90]);
    const percentiles = (await rows('Time to acknowledge (p50, p90, p99)'))[0]!;
    expect(percentiles.columns).toEqual(['time', 'p50', 'p90', 'p99']);

    const escalations = await rows('Escalations');
    expect(escalations.map((s) => s.tags!.severity)).toEqual(['critical']);
    const outcomes = (await rows('Resolutions by outcome')).map((s) => s.tags!.outcome).sort();
    expect(outcomes).toEqual(['handled_remotely', 'visited']);
  });

  it('resident vitals chart the chosen resident only', async () => {
    const d = dashboard('carebell-vitals');
    const hr = await raw(await fill(d, panel('carebell-vitals', 'Heart rate').targets![0]!.query));
    expect(hr.map((s) => s.tags!.device)).toEqual(['band-a']);
    const values = hr[0]!.values.map((r) => r[1]).filter((v) => v !== null) as number[];
    expect(Math.min(...values)).toBeGreaterThanOrEqual(70);
    expect(Math.max(...values)).toBeLessThanOrEqual(74);
    const other = await raw(await fill(d, panel('carebell-vitals', 'Heart rate').targets![0]!.query, { resident: ids.residentB }));
    expect(other).toEqual([]);
  });

  it('keeps operational series out of a device\'s readings', async () => {
    const kinds = new Set((await gw.app.sink.query({ deviceId: 'pendant-a', from: 0, to: Date.now() })).map((r) => r.kind));
    expect([...kinds].sort()).toEqual([]);
    const bandKinds = new Set((await gw.app.sink.query({ deviceId: 'band-a', from: 0, to: Date.now() })).map((r) => r.kind));
    expect([...bandKinds].sort()).toEqual(['battery', 'body_temperature', 'diastolic_bp', 'heart_rate', 'spo2', 'systolic_bp']);
  });
});
