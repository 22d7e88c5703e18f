import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, defaultProfilesDir, type CarebellApp } from '../src/app.ts';
import { parseConfig } from '../src/config/config.ts';
import type { Clock } from '../src/core/clock.ts';
import { silentLogger, type Logger } from '../src/core/logger.ts';
import { newSecret } from '../src/core/secrets.ts';
import { listen } from '../src/listen.ts';
import { loadProfileDirectory, type ProfileRegistry } from '../src/profiles/registry.ts';
import { careTally, generateActions, type CareTally } from './behaviour.ts';
import { planFleet, type FleetPlan } from './fleet.ts';
import { ApiClient, connectAll, play, provision, rateMeter, verify, verificationTable, type RunStats, type Target, type Verification } from './runner.ts';
import { replayActions, type RecordedMessage } from './record.ts';
import type { SimAction } from './behaviour.ts';
import { scenarioSchema, scenarioStart, type Scenario } from './scenario.ts';

/**
 * The embedded gateway's clock: just before `start` while the fleet is set up
 * (however long that takes, at real speed and never reaching `start`), then,
 * from `begin()`, `start` onwards at `speed` times real time.
 *
 * It never runs ahead of the simulated devices: while a run plays, it stops at
 * the time of the earliest message not yet acknowledged by the gateway (see
 * `holdAt`). At 600× a machine busy for 1.5 s would otherwise be 15 simulated
 * minutes of silence, and the gateway would rightly call devices offline that
 * the simulator had simply not yet had the CPU to play.
 */
export class RunClock implements Clock {
  readonly speed: number;
  readonly start: number;
  readonly #created = performance.now();
  #begun: { real: number; sim: number } | undefined;
  #hold: (() => number) | undefined;
  #last = Number.NEGATIVE_INFINITY;
  constructor(speed: number, start: number) {
    this.speed = speed;
    this.start = start;
  }
  now(): number {
    if (!this.#begun) return (this.#last = Math.max(this.#last, Math.min(this.start - 1, this.start - 60_000 + Math.round(performance.now() - this.#created))));
    const scaled = Math.round(this.#begun.sim + (performance.now() - this.#begun.real) * this.speed);
    // Never backwards: a hold set behind the time already shown stops the clock there.
    this.#last = Math.max(this.#last, this.#hold ? Math.min(scaled, this.#hold()) : scaled);
    return this.#last;
  }
  /** While set, time stops at what `until` returns (the simulated devices' progress); unset, it runs freely. */
  holdAt(until: (() => number) | undefined): void {
    this.#hold = until;
  }
  /**
   * Time starts running: now, or as from `at` (a wall-clock instant in ms since
   * the epoch, and the simulated time then), so that a clock in another
   * process (a soak's gateway) shows the same time as this one.
   */
  begin(at?: { epochMs: number; sim: number }): void {
    this.now(); // the time shown so far: a hold cannot take the clock back before it
    this.#begun ??= at ? { real: at.epochMs - performance.timeOrigin, sim: at.sim } : { real: performance.now(), sim: this.start };
  }
  /** When time started running, as `begin` takes it (undefined before). */
  get begun(): { epochMs: number; sim: number } | undefined {
    return this.#begun && { epochMs: performance.timeOrigin + this.#begun.real, sim: this.#begun.sim };
  }
}

export interface EmbeddedGateway {
  app: CarebellApp;
  target: Target;
  clock: RunClock;
  httpUrl: string;
  close(): Promise<void>;
}

/**
 * A gateway in this process, on simulated time, for runs without --url: in
 * test mode, on free ports, with its data in a temporary directory. Its clock
 * waits just before `start` until the fleet is provisioned and connected.
 */
export async function startEmbeddedGateway(opts: {
  speed: number;
  start: number;
  dataDir?: string;
  log?: Logger;
  httpPort?: number;
  mqttPort?: number;
  host?: string;
  mode?: 'test' | 'demo';
  /** Gateway settings given by the user (configSettings): they win over the options above. */
  settings?: Record<string, string>;
  /** The clock to run on (a soak's gateway process mirrors the soak's); by default a new one at `speed` from `start`. */
  clock?: RunClock;
}): Promise<EmbeddedGateway> {
  const given = opts.settings ?? {};
  const dataDir = given.dataDir ?? opts.dataDir ?? mkdtempSync(join(tmpdir(), 'carebell-sim-'));
  const token = given.adminToken ?? newSecret();
  const clock = opts.clock ?? new RunClock(opts.speed, opts.start);
  const host = opts.host ?? '127.0.0.1';
  const config = parseConfig({ mqttHost: host, mqttPort: opts.mqttPort ?? 0, httpHost: host, httpPort: opts.httpPort ?? 0, logLevel: 'silent', telemetryFlushMs: 200, ...given, dataDir, adminToken: token, mode: opts.mode ?? 'test' });
  // Its scheduled jobs run on the simulated clock too: a month's daily reminders and reports in a month of simulated time.
  const app = await buildApp({ config, clock, log: opts.log ?? silentLogger, alarms: { tickMs: Math.max(20, Math.round(1000 / opts.speed)) }, jobs: 'onClock' });
  const urls = await listen(app);
  return {
    app,
    clock,
    httpUrl: urls.httpUrl,
    target: { apiUrl: urls.httpUrl, mqttUrl: urls.mqttUrl, token },
    async close() {
      await app.close();
      if (!opts.dataDir && !given.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ScenarioRun {
  plan: FleetPlan;
  stats: RunStats;
  verification: Verification;
  /** What the run did for the care programmes (service presses, button tests, visits). */
  did: CareTally;
  start: number;
  end: number;
}

export interface RunScenarioOptions {
  scenario: Scenario;
  seed: number;
  speed: number;
  /** A running gateway; absent = an embedded one for this run. */
  target?: Target;
  profiles?: ProfileRegistry;
  /** Where to write the fleet (ids and credentials) after provisioning, for record and replay. */
  fleetFile?: string;
  plan?: FleetPlan;
  out?: (line: string) => void;
  /** Called once the fleet is connected, before the first action (e.g. to start recording). */
  beforePlay?: (target: Target) => Promise<void>;
  /** Called once the run is verified, while the gateway still runs (e.g. to read its statistics). */
  afterRun?: (target: Target, run: ScenarioRun) => Promise<void>;
}

const hhmm = (t: number) => new Date(t + 8 * 3_600_000).toISOString().slice(11, 16);

interface Session {
  plan: FleetPlan;
  speed: number;
  target: Target | undefined;
  /** For an embedded gateway: the simulated time its run starts at. */
  embeddedStart: number;
  profiles: ProfileRegistry;
  settings: Record<string, unknown> | undefined;
  fleetFile: string | undefined;
  out: (line: string) => void;
  beforePlay: ((target: Target) => Promise<void>) | undefined;
  afterRun?: ((target: Target, run: ScenarioRun) => Promise<void>) | undefined;
  actions: (start: number) => SimAction[];
  durationMs: number;
  expectations: Scenario;
}

/** Provision (or reuse) the fleet on the gateway, connect it, play the actions in simulated time, check the alarms. */
async function runSession(s: Session): Promise<ScenarioRun> {
  const { plan, speed, out } = s;
  const devices = plan.residents.reduce((n, r) => n + r.devices.length, 0);
  let embedded: EmbeddedGateway | undefined;
  let target = s.target;
  let simNow: () => number;
  let start = NaN;
  if (!target) {
    start = s.embeddedStart;
    embedded = await startEmbeddedGateway({ speed, start });
    target = embedded.target;
    simNow = () => embedded!.clock.now();
  } else {
    const info = (await (await fetch(`${target.apiUrl}/api`)).json()) as { clock: { now: string; speed: number } };
    if (info.clock.speed !== speed) out(`note: the gateway runs at speed ${info.clock.speed}; following its clock`);
    const base = Date.parse(info.clock.now);
    const at = performance.now();
    simNow = () => Math.round(base + (performance.now() - at) * info.clock.speed);
  }
  const api = new ApiClient(target);
  try {
    const t0 = performance.now();
    await provision(plan, api, s.settings);
    out(`provisioned ${plan.residents.length} residents, ${devices} devices in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    if (s.fleetFile) writeFileSync(s.fleetFile, JSON.stringify(plan, null, 2) + '\n', { mode: 0o600 });
    const t1 = performance.now();
    const clients = await connectAll(plan, target.mqttUrl, 200);
    const connectSeconds = (performance.now() - t1) / 1000;
    out(`connected ${clients.size} devices in ${connectSeconds.toFixed(2)} s (${Math.round(clients.size / Math.max(connectSeconds, 1e-3))}/s)`);
    if (Number.isNaN(start)) {
      // A running gateway's clock does not wait: start one second from its now.
      start = Math.ceil((simNow() + 1000) / 1000) * 1000;
      out(`on the gateway's simulated time: the run starts at ${hhmm(start)} local`);
    }
    embedded?.clock.begin();
    const actions = s.actions(start);
    const end = start + s.durationMs;
    await s.beforePlay?.(target);
    const rateOf = rateMeter();
    const stats = await play({
      plan,
      actions,
      clients,
      target,
      simNow,
      speed,
      ...(embedded ? { holdClock: (until: (() => number) | undefined) => embedded!.clock.holdAt(until) } : {}),
      progress: (st, now) => {
        const rate = rateOf(st.published);
        out(`sim ${hhmm(now)} · devices ${st.connected}/${st.devices} · messages ${st.published} (${Math.round(rate)}/s) · failed ${st.failed} · alarms raised ${st.alarms}`);
      },
    });
    stats.connectSeconds = connectSeconds;
    out(`published ${stats.published} messages (${stats.failed} failed, ${stats.retried} sent again after a dropped link, ${stats.abandoned} abandoned by devices gone silent); ${stats.alarms} alarms raised on the live stream${stats.visits > 0 ? `; ${stats.visits} visits recorded` : ''}`);
    // Let the simulated clock reach the end, so time-driven rules (silence, bed exit, inactivity) have their say.
    while (simNow() < end) await new Promise((r) => setTimeout(r, Math.min(500, Math.max(5, (end - simNow()) / speed))));
    if (embedded) {
      await embedded.app.telemetry.flush();
      await embedded.app.engine.runDue();
    } else await new Promise((r) => setTimeout(r, 1_500));
    const verification = await verify(plan, s.expectations, api, start, end);
    out(verificationTable(verification));
    const run = { plan, stats, verification, start, end, did: careTally(actions) };
    if (run.did.servicePresses + run.did.buttonTests + run.did.visits.phone + run.did.visits.home > 0) {
      out(`care programmes: ${run.did.servicePresses} service button presses (${run.did.serviceRequests} requests), ${run.did.buttonTests} button tests, ${run.did.visits.phone} phone greetings and ${run.did.visits.home} home visits recorded (${run.did.visits.reached} reached the resident)`);
    }
    await s.afterRun?.(target, run);
    return run;
  } finally {
    await embedded?.close();
  }
}

/** Provisions (or reuses) a fleet, plays the scenario in simulated time, then checks the alarms against its expectations. */
export function runScenario(opts: RunScenarioOptions): Promise<ScenarioRun> {
  const profiles = opts.profiles ?? loadProfileDirectory(defaultProfilesDir);
  const plan = opts.plan ?? planFleet(opts.scenario, opts.seed, profiles);
  return runSession({
    plan,
    speed: opts.speed,
    target: opts.target,
    embeddedStart: scenarioStart(opts.scenario),
    profiles,
    settings: opts.scenario.settings,
    fleetFile: opts.fleetFile,
    out: opts.out ?? (() => {}),
    beforePlay: opts.beforePlay,
    afterRun: opts.afterRun,
    actions: (start) => generateActions(plan, opts.scenario, start, profiles),
    durationMs: opts.scenario.durationMinutes * 60_000,
    expectations: opts.scenario,
  });
}

/** A fleet file's plan, without what belonged to the gateway it was provisioned on: to provision it again elsewhere. */
export function freshPlan(plan: FleetPlan): FleetPlan {
  const copy = structuredClone(plan);
  delete copy.districtId;
  delete copy.streetId;
  for (const st of copy.stations) delete st.id;
  for (const r of copy.residents) {
    delete r.id;
    for (const d of r.devices) delete d.password;
  }
  return copy;
}

export interface RunReplayOptions {
  recording: RecordedMessage[];
  /** The fleet the recording came from (its fleet file). */
  plan: FleetPlan;
  speed: number;
  target?: Target;
  /** Keep the local time of day (for night rules): shift by whole days instead of to now. */
  keepTimeOfDay?: boolean;
  /** What "now" is for the shift (epoch ms); the wall clock when absent. Tests pin it. */
  now?: number;
  /** Alarms to check for (e.g. the scenario the recording came from). */
  expect?: Scenario;
  profiles?: ProfileRegistry;
  out?: (line: string) => void;
}

/** Plays a recording back, timestamps shifted to now (or to today at the same time of day), and checks the alarms. */
export function runReplay(opts: RunReplayOptions): Promise<ScenarioRun> {
  const profiles = opts.profiles ?? loadProfileDirectory(defaultProfilesDir);
  const now = opts.now ?? Date.now();
  const first = opts.recording[0]?.at ?? now;
  const last = opts.recording[opts.recording.length - 1]?.at ?? first;
  const days = Math.floor((now - first) / 86_400_000);
  const embeddedStart = opts.keepTimeOfDay ? first + days * 86_400_000 : Math.ceil(now / 1000) * 1000;
  const expectations = opts.expect ?? scenarioSchemaFor(opts.plan);
  return runSession({
    plan: opts.plan,
    speed: opts.speed,
    target: opts.target,
    embeddedStart,
    profiles,
    settings: expectations.settings,
    fleetFile: undefined,
    out: opts.out ?? (() => {}),
    beforePlay: undefined,
    actions: (start) => replayActions(opts.recording, start, profiles),
    durationMs: last - first + 60_000,
    expectations,
  });
}

/** With nothing to compare against, a replay reports every alarm it raised as unexpected: the table is the finding. */
const scenarioSchemaFor = (plan: FleetPlan): Scenario =>
  scenarioSchema.parse({ name: 'replay', description: 'a replay without expectations', residents: plan.residents.length, stations: plan.stations.length, durationMinutes: 1 });
