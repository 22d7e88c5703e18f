import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { defaultProfilesDir } from '../src/app.ts';
import { CarebellError } from '../src/core/errors.ts';
import { configSettings } from '../src/config/config.ts';
import { loadProfileDirectory } from '../src/profiles/registry.ts';
import type { FleetPlan } from './fleet.ts';
import { readRecording, recordTraffic } from './record.ts';
import type { Target } from './runner.ts';
import { loadScenario, scenarioSchema } from './scenario.ts';
import { freshPlan, runReplay, runScenario } from './simulate.ts';
import { runDemo } from './demo.ts';
import { runSoak, SoakInterrupted } from './soak/soak.ts';

/** `--name value` / `--name=value` / `--flag`; the rest are positional. Unknown options are errors that name them. */
export function parseArgs(argv: string[], known: Record<string, 'value' | 'flag'>): { options: Record<string, string | true>; positional: string[] } {
  const options: Record<string, string | true> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const kind = known[name];
    if (!kind) throw new CarebellError('validation_failed', `unknown option --${name}; known: ${Object.keys(known).map((k) => `--${k}`).join(', ')}`);
    if (kind === 'flag') options[name] = true;
    else {
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined) throw new CarebellError('validation_failed', `--${name} needs a value`);
      options[name] = value;
    }
  }
  return { options, positional };
}

const num = (v: string | true | undefined, name: string, fallback: number, min = Number.MIN_VALUE): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new CarebellError('validation_failed', `--${name} must be a number ≥ ${min === Number.MIN_VALUE ? 'above 0' : min} (got ${String(v)})`);
  return n;
};

/** A running gateway from --url (MQTT) and --api (HTTP) with an admin token (--token or CAREBELL_ADMIN_TOKEN); none = an embedded one. */
function targetFrom(options: Record<string, string | true>): Target | undefined {
  const url = options.url as string | undefined;
  const api = options.api as string | undefined;
  if (!url && !api) return undefined;
  if (!url || !api) throw new CarebellError('validation_failed', 'give both --url mqtt://host:1883 and --api http://host:8080, or neither for an embedded gateway');
  const token = (options.token as string | undefined) ?? process.env.CAREBELL_ADMIN_TOKEN;
  if (!token) throw new CarebellError('validation_failed', 'an admin token is needed: --token or CAREBELL_ADMIN_TOKEN');
  return { mqttUrl: url, apiUrl: api.replace(/\/+$/, ''), token };
}

const out = (line: string) => {
  if (line.startsWith('sim ') && process.stdout.isTTY) process.stdout.write(`\r${line}\u001b[K`);
  else process.stdout.write(`${process.stdout.isTTY ? '\r\u001b[K' : ''}${line}\n`);
};

const gatewayOptions = { url: 'value', api: 'value', token: 'value' } as const;

/**
 * Aborted by the first Ctrl-C or SIGTERM, so a command can stop cleanly (a second one kills at
 * once, as usual); `release()` takes the listeners off once the command is done with them.
 */
function stopOnSignals(): { signal: AbortSignal; release: () => void } {
  const stop = new AbortController();
  const abort = () => stop.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  return {
    signal: stop.signal,
    release: () => {
      process.off('SIGINT', abort);
      process.off('SIGTERM', abort);
    },
  };
}

/** carebell simulate --scenario FILE [--residents N] [--speed X] [--seed S] [--fleet FILE] [--url … --api … --token …] */
export async function simulateCommand(argv: string[]): Promise<number> {
  const { options } = parseArgs(argv, { scenario: 'value', residents: 'value', speed: 'value', seed: 'value', fleet: 'value', ...gatewayOptions });
  if (!options.scenario) throw new CarebellError('validation_failed', 'carebell simulate --scenario simulators/scenarios/<name>.json [--speed 60] [--seed 1]');
  let scenario = loadScenario(options.scenario as string);
  if (options.residents) scenario = scenarioSchema.parse({ ...scenario, residents: Math.round(num(options.residents, 'residents', scenario.residents)) });
  const fleetFile = options.fleet as string | undefined;
  const profiles = loadProfileDirectory(defaultProfilesDir);
  const seed = Math.round(num(options.seed, 'seed', 1));
  const plan: FleetPlan | undefined = fleetFile && existsSync(fleetFile) ? (JSON.parse(readFileSync(fleetFile, 'utf8')) as FleetPlan) : undefined;
  const target = targetFrom(options);
  out(`scenario ${scenario.name}: ${scenario.description} · ${scenario.residents} residents · ${scenario.durationMinutes} simulated minutes · speed ${num(options.speed, 'speed', 60)}×${target ? ` · gateway ${target.apiUrl}` : ' · embedded gateway'}`);
  const run = await runScenario({
    scenario,
    seed,
    speed: num(options.speed, 'speed', 60),
    profiles,
    out,
    ...(target ? { target } : {}),
    ...(fleetFile ? { fleetFile } : {}),
    ...(plan ? { plan } : {}),
  });
  out(`summary: ${run.stats.devices} devices, connected in ${run.stats.connectSeconds.toFixed(2)} s, ${run.stats.published} messages, ${run.stats.alarms} alarms raised, ${run.verification.rows.filter((r) => r.raised).length} checked: ${run.verification.ok ? 'PASS' : 'FAIL'}`);
  return run.verification.ok ? 0 : 1;
}

/** carebell record --api http://… [--token T] --out traffic.jsonl [--seconds N] */
export async function recordCommand(argv: string[]): Promise<number> {
  const { options } = parseArgs(argv, { api: 'value', token: 'value', out: 'value', seconds: 'value' });
  const api = (options.api as string | undefined)?.replace(/\/+$/, '');
  const token = (options.token as string | undefined) ?? process.env.CAREBELL_ADMIN_TOKEN;
  if (!api || !token || !options.out) throw new CarebellError('validation_failed', 'carebell record --api http://host:8080 --token <admin token> --out traffic.jsonl [--seconds 600]');
  const file = createWriteStream(options.out as string, { flags: 'a' });
  const stop = stopOnSignals();
  const signal = options.seconds ? AbortSignal.any([stop.signal, AbortSignal.timeout(num(options.seconds, 'seconds', 0) * 1000)]) : stop.signal;
  let n = 0;
  try {
    await recordTraffic({
      apiUrl: api,
      token,
      signal,
      onReady: () => out(`recording ${api} to ${String(options.out)} (Ctrl-C to stop)`),
      onMessage: (m) => {
        file.write(JSON.stringify(m) + '\n');
        if (++n % 100 === 0) out(`sim ${n} messages recorded`);
      },
    });
  } finally {
    stop.release();
  }
  await new Promise<void>((resolve) => file.end(resolve));
  out(`${n} messages recorded`);
  return 0;
}

/** carebell replay FILE --fleet FLEET [--speed X] [--scenario FILE to check its alarms] [--keep-time-of-day] [--url … --api … --token …] */
export async function replayCommand(argv: string[]): Promise<number> {
  const { options, positional } = parseArgs(argv, { fleet: 'value', speed: 'value', scenario: 'value', 'keep-time-of-day': 'flag', ...gatewayOptions });
  const file = positional[0];
  if (!file || !options.fleet) throw new CarebellError('validation_failed', 'carebell replay traffic.jsonl --fleet fleet.json [--speed 10] [--scenario FILE] [--keep-time-of-day]');
  const recording = readRecording(file);
  const plan = JSON.parse(readFileSync(options.fleet as string, 'utf8')) as FleetPlan;
  const target = targetFrom(options);
  out(`replaying ${recording.length} messages from ${file} at ${num(options.speed, 'speed', 10)}×`);
  const run = await runReplay({
    recording,
    // Into an embedded gateway the fleet is provisioned afresh; a running one must already know it (same fleet file).
    plan: target ? plan : freshPlan(plan),
    speed: num(options.speed, 'speed', 10),
    out,
    keepTimeOfDay: options['keep-time-of-day'] === true,
    ...(target ? { target } : {}),
    ...(options.scenario ? { expect: loadScenario(options.scenario as string) } : {}),
  });
  return !options.scenario || run.verification.ok ? 0 : 1;
}

export async function demoCommand(argv: string[]): Promise<number> {
  // The demo's own options; every other flag and every CAREBELL_* variable is a gateway setting, as for `start`.
  const own = ['--residents', '--speed'];
  const settings = configSettings(process.env, argv, own);
  const { options } = parseArgs(
    argv.filter((a, i) => own.includes(a) || own.includes(argv[i - 1] ?? '')),
    { residents: 'value', speed: 'value' },
  );
  await runDemo({
    residents: Math.round(num(options.residents, 'residents', 50)),
    speed: num(options.speed, 'speed', 1),
    settings,
    out,
  });
  return 0;
}

/** carebell soak --days D --residents N --speed X --seed S [--faults default|none|FILE] [--out DIR] [--routine-every 1|2] */
export async function soakCommand(argv: string[]): Promise<number> {
  const { options } = parseArgs(argv, { days: 'value', residents: 'value', speed: 'value', seed: 'value', faults: 'value', out: 'value', 'rate-scale': 'value', 'routine-every': 'value', influx: 'flag' });
  const days = Math.round(num(options.days, 'days', 3, 1));
  const routineEvery = num(options['routine-every'], 'routine-every', 2, 1);
  if (routineEvery > 2) throw new CarebellError('validation_failed', `--routine-every must be 1 or 2: the silence rule speaks after 3 heartbeats without a report (got ${routineEvery})`);
  // Ctrl-C (or SIGTERM) stops the run cleanly: the gateway's process and the run's temporary data do not outlive it.
  const stop = stopOnSignals();
  const result = await runSoak({
    signal: stop.signal,
    days,
    residents: Math.round(num(options.residents, 'residents', 100, 1)),
    // Fast enough that a month passes in well under an hour by default.
    speed: num(options.speed, 'speed', 1000),
    seed: Math.round(num(options.seed, 'seed', 1, 0)),
    faults: (options.faults as string | undefined) ?? 'default',
    rateScale: num(options['rate-scale'], 'rate-scale', 1),
    routineEvery,
    influx: options.influx === true,
    ...(options.out ? { out: options.out as string } : {}),
    print: (line) => out(line.startsWith('soak day') ? `sim ${line.slice(5)}` : line),
  })
    .catch((err: unknown) => {
      if (!(err instanceof SoakInterrupted)) throw err;
      out(`${err.message}: no verdict; the gateway's process and the run's temporary data are gone`);
      return undefined;
    })
    .finally(stop.release);
  if (!result) return 130;
  if (options.out) out(`KPIs in ${String(options.out)}/kpis.json`);
  return result.kpis.ok ? 0 : 1;
}
