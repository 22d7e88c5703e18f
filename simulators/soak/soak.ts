import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultProfilesDir } from '../../src/app.ts';
import { loadProfileDirectory } from '../../src/profiles/registry.ts';
import { ActionPlan } from '../behaviour.ts';
import { planFleet } from '../fleet.ts';
import { ApiClient, connectAll, play, provision, rateMeter, type RunStats } from '../runner.ts';
import { scenarioStart } from '../scenario.ts';
import type { SimAction } from '../behaviour.ts';
import { faultIncidents, faultTimeline, loadFaults, type FaultPlan } from './faults.ts';
import { GatewayProcess } from './gateway.ts';
import { Influxd } from '../influxd.ts';
import { soakScenario } from './plan.ts';
import { startReceivers, type Outage } from './receivers.ts';
import { Staff, type StaffAction } from './staff.ts';
import { chartFiles, charts, reportHtml, type Charts, type FleetSample } from './report.ts';
import { computeVerdict, kpiTable, type Kpis, type StationPaths } from './verdict.ts';

const MIN = 60_000;
/** The devices' actions are planned this much simulated time at a time. */
const PLAN_WINDOW = 60 * MIN;

export interface SoakOptions {
  days: number;
  residents: number;
  /** Simulated seconds per real second. */
  speed: number;
  seed: number;
  /** `default`, `none`, or a JSON file (faults.ts). */
  faults: string;
  /** Where kpis.json and report.html go; none: not written. */
  out?: string;
  /** Incidents this many times as often as the telecare rates (a short soak that must still see every kind). */
  rateScale?: number;
  /**
   * Routine reports every so many heartbeats: 2 by default, which halves the
   * messages of a long run without changing what a rule sees (see the
   * scenario's `routineEvery`); 1 sends every heartbeat.
   */
  routineEvery?: number;
  /**
   * Telemetry to a real InfluxDB (Debian's influxd, started for the run in a
   * temporary directory) instead of the embedded store; the default faults
   * then kill it once a day.
   */
  influx?: boolean;
  print?: (line: string) => void;
  /**
   * Stops the run early (Ctrl-C): the devices, the people, the gateway's
   * process and InfluxDB stop, their temporary data are removed, and runSoak
   * rejects with SoakInterrupted (no verdict on a run cut short).
   */
  signal?: AbortSignal;
}

/** Month, day and time of an instant in Shanghai, as the progress line shows it. */
const local = (t: number) => new Date(t + 8 * 3_600_000).toISOString().slice(5, 16).replace('T', ' ');

/** A soak stopped by its signal before its end: nothing to judge. */
export class SoakInterrupted extends Error {
  constructor(readonly at: number) {
    super(`soak stopped at ${local(at)} simulated time (Shanghai)`);
    this.name = 'SoakInterrupted';
  }
}

export interface SoakResult {
  kpis: Kpis;
  faults: FaultPlan;
  staff: StaffAction[];
  stats: RunStats;
  seconds: number;
  /** Times the gateway was killed (SIGKILL) and started again. */
  restarts: number;
  /** Times InfluxDB was killed and started again (with --influx). */
  influxRestarts: number;
}

/**
 * A soak: a gateway in a process of its own on simulated time, a fleet of homes whose every
 * device is a real MQTT client with its own credentials, incidents at telecare
 * rates, the people on duty acting through the API and the live stream, the
 * stations' webhook receivers, and faults on a schedule. The verdict is taken
 * from outside at the end (verdict.ts).
 */
export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const print = o.print ?? (() => {});
  const began = performance.now();
  const scenario = soakScenario({ days: o.days, residents: o.residents, seed: o.seed, ...(o.rateScale ? { rateScale: o.rateScale } : {}), routineEvery: o.routineEvery ?? 2 });
  const faults = loadFaults(o.faults, o.days, o.seed, { influx: o.influx === true });
  if (faults.influxOutages.length > 0 && !o.influx) throw new Error('influxOutages need --influx (a soak without InfluxDB has none to stop)');
  scenario.incidents.push(...faultIncidents(faults, o.residents, o.seed));
  scenario.incidents.sort((a, b) => a.atMinutes - b.atMinutes);
  const profiles = loadProfileDirectory(defaultProfilesDir);
  const plan = planFleet(scenario, o.seed, profiles, `soak-${o.seed}`);
  const start = scenarioStart(scenario);
  const end = start + scenario.durationMinutes * MIN;
  const influxd = o.influx ? await Influxd.create() : undefined;
  await influxd?.start();
  const gateway = await GatewayProcess.start(o.speed, start, influxd ? { influxUrl: influxd.url('carebell_soak') } : {});
  const clock = gateway.clock;
  const outages: Outage[] = faults.webhookOutages.map((x) => ({ path: `/${x.receiver}`, from: start + x.atMinutes * MIN, to: start + (x.atMinutes + x.minutes) * MIN }));
  let staff: Staff | undefined;
  // A family's phone (a contact's webhook) tells the family member, who may answer on the family page.
  const receivers = await startReceivers(() => clock.now(), outages, (w) => staff?.onWebhook(w));
  const api = new ApiClient(gateway.target);
  staff = new Staff(api, () => clock.now(), o.seed);
  staff.onAlertSeen = (alarmId, stationId) => gateway.seen(alarmId, stationId);
  let sampler: NodeJS.Timeout | undefined;
  try {
    const setupStarted = performance.now();
    const took = () => `${((performance.now() - setupStarted) / 1000).toFixed(0)} s`;
    await provision(plan, api, undefined, { district: receivers.url('/district'), street: receivers.url('/street'), community: (i) => receivers.url(`/community-${i}`), contact: (i) => receivers.url(`/family-${i}`) });
    const stations: StationPaths = new Map();
    stations.set(plan.districtId!, { path: '/district', level: 'district' });
    stations.set(plan.streetId!, { path: '/street', level: 'street' });
    for (const [i, s] of plan.stations.entries()) stations.set(s.id!, { path: `/community-${i}`, level: 'community' });
    const provisioned = took();
    await staff.staff(
      [
        ...plan.stations.map((s, i) => ({ id: s.id!, name: s.name, level: 'community' as const, index: i })),
        { id: plan.streetId!, name: 'street', level: 'street' as const, index: 0 },
        { id: plan.districtId!, name: 'district', level: 'district' as const, index: 0 },
      ],
      `soak${o.seed}`,
    );
    staff.family(plan.residents.map((r) => ({ index: r.index, id: r.id!, name: r.contact.name, relation: r.contact.relation })), `soak${o.seed}`);
    const devices = plan.residents.reduce((n, r) => n + r.devices.length, 0);
    const accounts = took();
    const clients = await connectAll(plan, gateway.target.mqttUrl, 200);
    print(`soak: ${o.days} days, ${o.residents} homes (${devices} devices, ${plan.stations.length} community stations), ${scenario.incidents.length} incidents and faults, speed ${o.speed}×, seed ${o.seed}`);
    print(`set up in ${took()}: homes and devices provisioned at ${provisioned}, staff accounts made at ${accounts}, devices connected`);
    // The clock waits for the devices (play) and for the people on duty, whichever is behind.
    // (The gateway runs in its own process: its clock is held at the start until the devices play.)
    let devicesAt: (() => number) | undefined = () => start;
    // The devices' actions are made an hour at a time: a day of a thousand homes is two million
    // messages, more than a gigabyte of plan if made at once.
    const actionPlan = new ActionPlan(plan, scenario, start, profiles);
    const kills = gatewayKillActions(faults, plan, start);
    let planned = start;
    let malformedSent = 0;
    const nextHour = (): SimAction[] | undefined => {
      if (planned === Number.POSITIVE_INFINITY) return undefined;
      const from = planned;
      planned = from + PLAN_WINDOW < end ? from + PLAN_WINDOW : Number.POSITIVE_INFINITY;
      const hour = withGatewayKills(actionPlan.next(planned), kills.filter((k) => k.at >= from && k.at < planned));
      for (const a of hour) if (a.kind === 'publish' && a.what === 'malformed') malformedSent++;
      return hour;
    };
    const actions = nextHour()!;
    // Never past the run's end: the gateway's clock must not run on once the devices are done.
    gateway.holdAt(() => Math.min(devicesAt?.() ?? end, staff.hold(), end));
    gateway.begin();
    const influxOutages = influxd ? playInfluxOutages(influxd, faults, () => clock.now(), start) : undefined;
    staff.start(faults.unstaffed.map((u) => ({ station: u.station, from: start + u.atMinutes * MIN, to: start + (u.atMinutes + u.minutes) * MIN })));
    // The fleet as the API shows it, every three simulated hours, for the report.
    const fleet: FleetSample[] = [];
    let nextSample = start;
    sampler = setInterval(() => {
      if (clock.now() < nextSample) return;
      nextSample += 3 * 3_600_000;
      const at = clock.now();
      void api.call<Array<{ online: boolean; battery: number | null; id: string }>>('GET', '/api/v1/devices').then(
        (list) => {
          const ours = list.filter((d) => d.id.startsWith(plan.prefix));
          fleet.push({ at, online: ours.filter((d) => d.online).length, offline: ours.filter((d) => !d.online).length, lowBattery: ours.filter((d) => d.battery !== null && d.battery <= 20).length });
        },
        () => {},
      );
    }, 100);
    // The readings each device's acknowledged messages carry, as the gateway's own decoders read them:
    // every one must be stored (the verdict reads them back from the API).
    const pointsSent = new Map<string, number>();
    const profileOf = new Map(plan.residents.flatMap((r) => r.devices.map((d) => [d.id, profiles.get(d.profile)!] as const)));
    const rateOf = rateMeter();
    const killing = new Set<string>();
    const crash = new AbortController();
    gateway.onCrash = () => crash.abort();
    const stats = await play({
      plan,
      actions,
      moreActions: nextHour,
      clients,
      target: gateway.target,
      simNow: () => clock.now(),
      speed: o.speed,
      holdClock: (until) => void (devicesAt = until),
      // 20 ms of real time ahead, so the clock is not stopped at every message's time (see play), and at
      // most 30 simulated seconds: the gateway hears a device when it is sent, and a report sent too early
      // would leave a gap longer than the silence rule's three heartbeats (every 2nd of 60 s is sent).
      lookaheadMs: Math.min(o.speed * 20, 30_000),
      // As many messages awaiting their acknowledgement as there are devices: a message waits tens of
      // milliseconds for its telemetry batch to be written, and with 2,000 in flight a thousand homes'
      // run was held to about 5,000 messages a second by that wait alone (6,000–7,000 with 8,000, both
      // processes then busy: the gateway's about a core, the fleet's three quarters of one).
      maxInFlight: Math.max(2_000, devices),
      signal: o.signal ? AbortSignal.any([crash.signal, o.signal]) : crash.signal,
      onAcknowledged: (deviceId, topic, payload) => {
        const decoded = profileOf.get(deviceId)?.messageFor(deviceId, topic)?.decode(Buffer.isBuffer(payload) ? payload : Buffer.from(payload), clock.now());
        if (decoded?.ok && decoded.decoded.readings.length > 0) pointsSent.set(deviceId, (pointsSent.get(deviceId) ?? 0) + decoded.decoded.readings.length);
      },
      // A kill: the gateway dies first, then its devices see their links drop; they come back once it is up again.
      beforeAction: (a) => {
        if (a.what !== 'gateway_kill' || a.kind === 'publish' || a.kind === 'visit' || killing.has(`${a.kind} ${a.at}`)) return undefined;
        killing.add(`${a.kind} ${a.at}`);
        if (a.kind === 'disconnect') {
          staff.gatewayDown(true);
          return gateway.kill();
        }
        return gateway.restart().then(() => staff.gatewayDown(false));
      },
      progress: (st, now) => {
        const rate = rateOf(st.published);
        const day = Math.min(o.days, Math.floor((now - start) / 86_400_000) + 1);
        print(`soak day ${day}/${o.days} ${local(now)} · devices ${st.connected}/${st.devices} · messages ${st.published} (${Math.round(rate)}/s) · alarms ${st.alarms} · answers ${staff.log.filter((a) => a.action === 'ack').length} · restarts ${gateway.restarts} · ${Math.round((performance.now() - began) / 1000)} s`);
      },
    });
    if (o.signal?.aborted) throw new SoakInterrupted(clock.now());
    if (gateway.crashed) throw new Error(gateway.crashed);
    while (clock.now() < end && !gateway.crashed) await new Promise((r) => setTimeout(r, Math.min(200, Math.max(5, (end - clock.now()) / o.speed))));
    // The run is over: time stops at its end (its devices are gone; the gateway must not go on raising
    // alarms about them while the verdict is read), and the people finish what they were doing.
    if (gateway.crashed) throw new Error(gateway.crashed);
    gateway.holdAt(() => end);
    await influxOutages?.stop();
    await staff.stop();
    clearInterval(sampler);
    await gateway.flush();
    const { kpis, points } = await computeVerdict({ api, plan, scenario, start, end, received: receivers.received, refused: receivers.refused(), stations, stats, pointsSent, malformedSent });
    const seconds = Math.round((performance.now() - began) / 100) / 10;
    const result: SoakResult = { kpis, faults, staff: staff.log, stats, seconds, restarts: gateway.restarts, influxRestarts: influxOutages?.restarts ?? 0 };
    print(`\n${kpiTable(kpis)}\n\n${kpis.alarms.total} alarms (${kpis.alarms.critical} critical) from ${kpis.incidents} incidents; answer p50/p99 ${kpis.answer.p50}/${kpis.answer.p99} s; first notification p50/p99 ${kpis.firstNotification.p50}/${kpis.firstNotification.p99} s; webhooks ${kpis.deliveries.made}/${kpis.deliveries.owed} (${kpis.deliveries.refusedWhileDown} refused while down); ${seconds} s\n${kpis.ok ? 'every KPI met' : 'a KPI was missed'}`);
    if (o.out) {
      mkdirSync(o.out, { recursive: true });
      const timeline = faultTimeline(faults, start);
      const run = { days: o.days, residents: o.residents, speed: o.speed, seed: o.seed, seconds };
      writeFileSync(join(o.out, 'kpis.json'), JSON.stringify({ ...kpis, run: { ...run, faults: timeline.map((f) => ({ ...f, from: new Date(f.from).toISOString(), to: new Date(f.to).toISOString() })) } }, null, 2) + '\n');
      const input = { kpis, points, faults: timeline, fleet, run };
      const drawn = await charts(input);
      mkdirSync(join(o.out, 'charts'), { recursive: true });
      for (const [name, file] of Object.entries(chartFiles)) writeFileSync(join(o.out, 'charts', file), drawn[name as keyof Charts]);
      writeFileSync(join(o.out, 'report.html'), await reportHtml(input, drawn));
    }
    return result;
  } finally {
    clearInterval(sampler);
    await staff.stop();
    await gateway.close();
    await receivers.close();
    await influxd?.destroy();
  }
}

/**
 * InfluxDB killed (SIGKILL) at each outage's simulated start and started
 * again at its end (influxd takes about a second to start: at high speed the
 * outage lasts longer than planned). The gateway spools to disk meanwhile
 * and replays it when InfluxDB is back; the verdict reads every point back.
 */
function playInfluxOutages(influxd: Influxd, faults: FaultPlan, now: () => number, start: number): { stop(): Promise<void>; readonly restarts: number } {
  const outages = [...faults.influxOutages].sort((a, b) => a.atMinutes - b.atMinutes);
  let next = 0;
  let busy: Promise<void> | undefined;
  let down = false;
  let failed: unknown;
  const act = (p: Promise<void>, after: () => void) =>
    (busy = p.then(after, (err: unknown) => {
      failed = err;
      next = outages.length;
    }).finally(() => (busy = undefined)));
  const timer = setInterval(() => {
    if (busy || next >= outages.length) return;
    const o = outages[next]!;
    if (!down && now() >= start + o.atMinutes * MIN) act(influxd.stop('SIGKILL'), () => (down = true));
    else if (down && now() >= start + (o.atMinutes + o.minutes) * MIN) {
      act(influxd.start(), () => {
        down = false;
        next++;
      });
    }
  }, 2);
  return {
    get restarts() {
      return next;
    },
    async stop() {
      clearInterval(timer);
      await busy;
      if (failed) throw failed;
      if (down) await influxd.start();
      down = false;
    },
  };
}

/**
 * The gateway kills as device actions, in time order: at each kill every
 * device's link drops (after the gateway is gone: see beforeAction in
 * runSoak), and when the gateway is back every device reconnects and
 * redelivers what it kept.
 */
function gatewayKillActions(faults: FaultPlan, plan: { residents: Array<{ devices: Array<{ id: string }> }> }, start: number): SimAction[] {
  const devices = plan.residents.flatMap((r) => r.devices.map((d) => d.id));
  const kills: SimAction[] = [];
  for (const k of faults.gatewayKills) {
    const at = start + k.atMinutes * MIN;
    for (const deviceId of devices) kills.push({ at, kind: 'disconnect', deviceId, what: 'gateway_kill' });
    for (const deviceId of devices) kills.push({ at: at + k.downSeconds * 1000, kind: 'reconnect', deviceId, what: 'gateway_kill' });
  }
  return kills.sort((a, b) => a.at - b.at);
}

/** Merged in time order; at the same instant a kill's actions come after the devices' own. */
function withGatewayKills(actions: SimAction[], kills: SimAction[]): SimAction[] {
  if (kills.length === 0) return actions;
  const out: SimAction[] = [];
  let i = 0;
  for (const a of actions) {
    while (i < kills.length && kills[i]!.at < a.at) out.push(kills[i++]!);
    out.push(a);
  }
  while (i < kills.length) out.push(kills[i++]!);
  return out;
}
