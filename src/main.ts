#!/usr/bin/env node
import { buildApp } from './app.ts';
import { ScaledClock, systemClock } from './core/clock.ts';
import { envVars, flagFor, loadConfig } from './config/config.ts';
import { CarebellError, errorMessage } from './core/errors.ts';
import { createLogger } from './core/logger.ts';
import { newSecret } from './core/secrets.ts';
import { listen } from './listen.ts';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { openDatabase } from './store/database.ts';
import { isStorageUnavailable } from './store/storage-errors.ts';
import { diskSpace, formatBytes } from './store/storage-health.ts';
import { ApiTokenRepository } from './store/api-tokens.ts';
import { ProviderRepository, UserRepository } from './store/users.ts';
import { StationRepository } from './store/stations.ts';
import { SqliteClient } from './store/sql-client.ts';
import { ResidentRepository } from './store/residents.ts';
import { Accounts } from './accounts/accounts.ts';

const usage = `carebell: gateway and alarm platform for home-care devices

usage: carebell <command> [options]

commands:
  start          run the gateway (MQTT broker, ingest, API) — the default
  admin-token    revoke the bootstrap admin token and print a new one
  reset-password USER   give USER a new password and print it once (ends their logins)
  simulate       run a simulator scenario and verify the alarms (--scenario FILE [--speed X] [--seed S] [--residents N] [--fleet FILE] [--url --api --token])
  record         record a running gateway's device traffic (--api URL --token T --out FILE [--seconds N])
  replay         play a recording back (FILE --fleet FLEET [--speed X] [--scenario FILE] [--keep-time-of-day] [--url --api --token])
  demo           a gateway with ~50 simulated homes and a few incidents (--residents N --speed X)
  soak           days of homes, people on duty and faults on simulated time; KPIs at the end, exit 1 if one is missed
                 (--days D --residents N --speed X --seed S [--faults default|none|FILE] [--out DIR])

options (each also an environment variable):
${Object.keys(envVars)
  .map((name) => `  ${flagFor(name).padEnd(30)} ${name}`)
  .join('\n')}
`;

async function start(argv: string[]): Promise<void> {
  const config = loadConfig(process.env, argv);
  const log = createLogger(config.logLevel, config.nodeId);
  const epoch = config.simEpoch ?? Date.now();
  const clock = config.simSpeed !== undefined || config.simStart !== undefined ? new ScaledClock(config.simSpeed ?? 1, epoch, config.simStart ?? epoch) : undefined;
  if (clock) log.warn({ mode: config.mode, speed: clock.speed, epoch: new Date(clock.epoch).toISOString(), start: new Date(clock.start).toISOString() }, 'running on simulated time');
  const app = await buildApp({
    config,
    log,
    // On simulated time the scheduled jobs (device health, button-test reminders, monthly reports) follow that clock too.
    ...(clock ? { clock, alarms: { tickMs: Math.max(20, Math.round(1000 / clock.speed)) }, jobs: 'onClock' as const } : {}),
  }).catch((err: unknown) => {
    throw isStorageUnavailable(err) ? dataDirUnwritable(config.dataDir, err) : err;
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: closing connections and flushing telemetry');
    const force = setTimeout(() => {
      log.error('clean stop took longer than 20 s; exiting');
      process.exit(1);
    }, 20_000);
    force.unref();
    try {
      await app.close();
      log.info('stopped cleanly');
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'error while stopping');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  const where = await listen(app);
  // Only now, with the ports taken: a start that failed to listen has created no login nobody saw.
  const { firstAdmin, bootstrapAdminToken } = await app.firstStart();
  log.info({ ...where, dataDir: config.dataDir, telemetry: app.sink.name, profiles: app.profiles.size }, 'carebell started');

  const lines = [
    '',
    `  carebell is running`,
    `  console          ${where.httpUrl}/   (API docs ${where.httpUrl}/docs)`,
    `  HTTP API         ${where.httpUrl}/api/v1   (live stream /api/v1/stream, health /healthz, metrics /metrics)`,
    `  MQTT             ${where.mqttUrl}   (and ${where.wsUrl}${where.mqttsUrl ? `, ${where.mqttsUrl}` : ''})`,
    `  data             ${config.dataDir}   telemetry: ${app.sink.name}`,
  ];
  if (firstAdmin) {
    lines.push(
      '',
      '  First start: an admin account was created. Its password is shown only now; change it after logging in (your name, top right of the console).',
      `  login            ${firstAdmin.username} / ${firstAdmin.password}   (POST /api/v1/auth/login, or the console at ${where.httpUrl}/)`,
    );
  }
  if (bootstrapAdminToken) {
    lines.push(
      '',
      '  First start: an admin token was created. It is shown only now; keep it safe.',
      `  Authorization: Bearer ${bootstrapAdminToken}`,
      '  (a new one: `carebell admin-token`; or set CAREBELL_ADMIN_TOKEN)',
    );
  }
  process.stdout.write(lines.join('\n') + '\n\n');
}

/** A start that cannot write its data directory says where, how much room is left, and what to do. */
function dataDirUnwritable(dataDir: string, err: unknown): CarebellError {
  const path = resolve(dataDir);
  mkdirSync(path, { recursive: true });
  const { free, total } = diskSpace(path);
  return new CarebellError(
    'unavailable',
    `cannot write the data directory ${path} (${errorMessage(err)}): ${formatBytes(free)} free of ${formatBytes(total)}. Free some space there (or set CAREBELL_DATA_DIR to another disk) and start again.`,
  );
}

/** `carebell reset-password USER`: for an administrator locked out, or a user who forgot; the gateway may be running. */
async function resetPassword(argv: string[]): Promise<void> {
  const username = argv.find((a) => !a.startsWith('--'));
  if (!username) throw new CarebellError('validation_failed', 'usage: carebell reset-password USER');
  const config = loadConfig(process.env, argv.filter((a) => a !== username));
  const db = openDatabase(config.dataDir);
  try {
    const sql = new SqliteClient(db);
    const stations = new StationRepository(sql);
    const providers = new ProviderRepository(sql);
    const residents = new ResidentRepository(sql);
    await Promise.all([stations.load(), providers.load(), residents.load()]);
    const accounts = new Accounts({ users: new UserRepository(sql), providers, tokens: new ApiTokenRepository(sql), stations, residents, clock: systemClock, loginTtlMs: 0 });
    const password = await accounts.resetPassword(username);
    process.stdout.write(`New password for ${username} (shown only now; their other logins have ended):\n  login            ${username} / ${password}\n`);
  } finally {
    db.close();
  }
}

async function adminToken(argv: string[]): Promise<void> {
  const config = loadConfig(process.env, argv);
  const db = openDatabase(config.dataDir);
  const token = newSecret();
  try {
    await new SqliteClient(db).transaction(async (tx) => {
      const tokens = new ApiTokenRepository(tx);
      await tokens.revokeAll('bootstrap-admin', Date.now());
      await tokens.insert(token, 'bootstrap-admin', 'admin', Date.now());
    });
  } finally {
    db.close();
  }
  process.stdout.write(`Authorization: Bearer ${token}\n`);
}

/** The simulators live beside src/ in a source checkout (run through tsx); the container image does not ship them. */
type SimulatorCommand = (argv: string[]) => Promise<number>;
async function simulators(): Promise<Record<'simulateCommand' | 'recordCommand' | 'replayCommand' | 'demoCommand' | 'soakCommand', SimulatorCommand>> {
  const entry = new URL('../simulators/cli.ts', import.meta.url);
  try {
    return (await import(entry.href)) as Record<'simulateCommand' | 'recordCommand' | 'replayCommand' | 'demoCommand' | 'soakCommand', SimulatorCommand>;
  } catch (err) {
    throw new CarebellError('validation_failed', `the simulators run from a source checkout: npx carebell <command> (${errorMessage(err)})`);
  }
}

async function main(): Promise<void> {
  const [command = 'start', ...rest] = process.argv.slice(2);
  if (command === '--help' || command === '-h' || command === 'help') return void process.stdout.write(usage);
  switch (command) {
    case 'start':
      return start(rest);
    case 'admin-token':
      return adminToken(rest);
    case 'reset-password':
      return resetPassword(rest);
    case 'simulate':
    case 'record':
    case 'replay':
    case 'demo':
    case 'soak': {
      const exit = await simulators().then((m) => m[`${command}Command` as 'simulateCommand'](rest));
      process.exitCode = exit;
      return;
    }
    default:
      if (command.startsWith('--')) return start(process.argv.slice(2));
      throw new CarebellError('validation_failed', `unknown command "${command}"; try carebell --help`);
  }
}

main().catch((err) => {
  process.stderr.write(`carebell: ${errorMessage(err)}\n`);
  process.exit(err instanceof CarebellError ? 2 : 1);
});
