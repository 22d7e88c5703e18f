/**
 * What a node costs on PostgreSQL, and what three of them do together.
 *
 *   npm run bench:cluster -- [--background-devices 1000] [--background-rate 2000] [--paced 200] [--burst 300] [--nodes 3]
 *
 * 1. One node on the embedded SQLite file against one node on PostgreSQL, the
 *    same load in the same run (bench/alarm.ts, one after the other, each in a
 *    process of its own): telemetry msg/s stored, SOS PUBLISH → live stream
 *    p50/p99, the alarms a second a burst sustains; for PostgreSQL, the
 *    transactions and rows it wrote a second (pg_stat_database); then, on a
 *    database of its own, what it writes for one telemetry message and for
 *    one SOS (the figures to size a database by).
 * 2. The cluster as deployed: three `carebell start` processes on one
 *    PostgreSQL behind HAProxy (deploy/haproxy.cfg), devices connecting
 *    through it, the SOS latency read off one node's live stream (presses
 *    handled on the other two reach it through the database).
 *
 * Debian's PostgreSQL and HAProxy, started here on free ports of 127.0.0.1 and
 * stopped at the end. Everything shares this machine's cores: the figures say
 * what the software costs, not what separate machines would give.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pg from 'pg';
import { buildApp } from '../src/app.ts';
import { parseConfig } from '../src/config/config.ts';
import { silentLogger } from '../src/core/logger.ts';
import { listen } from '../src/listen.ts';
import { startWorker } from '../src/core/worker.ts';
import { startHaproxy } from '../test/helpers/haproxy.ts';
import { call, must, startNode, stopNodes, type NodeProcess } from '../test/helpers/nodes.ts';
import { startPostgres } from '../test/helpers/postgres.ts';
import { root } from '../test/helpers/processes.ts';
import { percentile } from '../src/jobs/statistics.ts';
import { numberArg } from './args.ts';

const BACKGROUND_DEVICES = numberArg('background-devices', 1000);
const BACKGROUND_RATE = numberArg('background-rate', 2000);
const PACED = numberArg('paced', 200);
const BURST = numberArg('burst', 300);
const NODES = 3;
const TOKEN = 'bench-admin-token-0123456789';

const pgServer = await startPostgres();
const admin = new pg.Client({ connectionString: pgServer.url });
await admin.connect();
/** A fresh database on the server for one part of the run. */
const database = async (name: string): Promise<string> => {
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(pgServer.url);
  url.pathname = `/${name}`;
  return url.toString();
};
interface Written {
  commits: number;
  rows: number;
}
const written = async (name: string): Promise<Written> => {
  // PostgreSQL 15 counts them per session and publishes them within a second (10 s for a session gone idle
  // within a second of its last count; a session that ends publishes at once): a long run hardly notices.
  const { rows } = await admin.query<{ xact_commit: string; tup_inserted: string; tup_updated: string; tup_deleted: string }>(
    'SELECT xact_commit, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = $1',
    [name],
  );
  const r = rows[0]!;
  return { commits: Number(r.xact_commit), rows: Number(r.tup_inserted) + Number(r.tup_updated) + Number(r.tup_deleted) };
};
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Runs bench/alarm.ts in a process of its own; its printed figures, and how long it ran. */
function alarmBench(extra: string[]): Promise<{ out: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const args = ['--import', 'tsx', 'bench/alarm.ts', '--background-devices', String(BACKGROUND_DEVICES), '--background-rate', String(BACKGROUND_RATE), '--paced', String(PACED), '--burst', String(BURST), ...extra];
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.once('exit', (code) => (code === 0 ? resolve({ out, seconds: (performance.now() - t0) / 1000 }) : reject(new Error(`bench/alarm.ts exited with ${code}\n${out}`))));
  });
}
const pick = (out: string, re: RegExp): string => re.exec(out)?.[1] ?? '?';
const summary = (out: string) => ({
  stored: pick(out, /([\d,]+) msg\/s stored/),
  p50: pick(out, /alarm\.raised on the SSE stream: p50 ([\d.]+) ms/),
  p99: pick(out, /alarm\.raised on the SSE stream: p50 [\d.]+ ms, p90 [\d.]+ ms, p99 ([\d.]+) ms/),
  burst: pick(out, /= ([\d,]+) alarms\/s/),
});

console.log(`cluster benchmark on ${availableParallelism()} cores: ${BACKGROUND_DEVICES} devices sending ${fmt(BACKGROUND_RATE)} telemetry msg/s, ${PACED} paced SOS presses (20/s), then a burst of ${BURST}\n`);

// 1. One node, SQLite against PostgreSQL.
console.log('1. one node: embedded SQLite against PostgreSQL (bench/alarm.ts, one after the other)');
const sqlite = summary((await alarmBench([])).out);
const singleUrl = await database('bench_single');
const before = await written('bench_single');
const single = await alarmBench(['--database-url', singleUrl]);
const after = await written('bench_single');
const onPg = summary(single.out);
const commitsPerSecond = (after.commits - before.commits) / single.seconds;
const rowsPerSecond = (after.rows - before.rows) / single.seconds;
console.log(`   SQLite:     ${sqlite.stored} telemetry msg/s stored; SOS → live stream p50 ${sqlite.p50} ms, p99 ${sqlite.p99} ms; burst ${sqlite.burst} alarms/s`);
console.log(`   PostgreSQL: ${onPg.stored} telemetry msg/s stored; SOS → live stream p50 ${onPg.p50} ms, p99 ${onPg.p99} ms; burst ${onPg.burst} alarms/s`);
console.log(
  `   PostgreSQL wrote ${fmt(commitsPerSecond)} transactions/s and ${fmt(rowsPerSecond)} rows/s over the run (${single.seconds.toFixed(0)} s, onboarding included: ${fmt(after.commits - before.commits)} transactions, ${fmt(after.rows - before.rows)} rows)`,
);

// What PostgreSQL writes for one alarm, and for one telemetry message (the sizing figures): one node in this
// process, a database of its own, the counters before and after each phase.
{
  const url = await database('bench_unit');
  const dataDir = mkdtempSync(join(tmpdir(), 'carebell-bench-cluster-'));
  const app = await buildApp({ config: parseConfig({ dataDir, mqttHost: '127.0.0.1', mqttPort: 0, httpHost: '127.0.0.1', httpPort: 0, adminToken: TOKEN, logLevel: 'silent', deviceRate: 100_000, deviceBurst: 1_000_000, databaseUrl: url }), log: silentLogger });
  const urls = await listen(app);
  const district = await app.onboarding.createStation({ name: 'D', level: 'district' });
  const street = await app.onboarding.createStation({ name: 'S', level: 'street', parentId: district.id });
  const community = await app.onboarding.createStation({ name: 'C', level: 'community', parentId: street.id });
  const UNIT_ALARMS = 100;
  const devices = [];
  for (let i = 0; i < UNIT_ALARMS; i++) {
    const r = await app.onboarding.createResident({ name: `R${i}`, address: 'A', stationId: community.id, livesAlone: false, capabilityLevel: 1, contacts: [] });
    const c = await app.onboarding.createDevice({ profile: 'carebell-vitals-band', residentId: r.id, id: `unit-${i}` });
    devices.push(await mqtt.connectAsync(urls.mqttUrl, { clientId: c.id, username: c.id, password: c.mqtt.password, protocolVersion: 4, reconnectPeriod: 0 }));
  }
  // Device state written (each second), and every session's counters published: PostgreSQL 15 publishes a
  // session's counts at most once a second, and one that went idle within that second only 10 s later
  // (PGSTAT_IDLE_INTERVAL): telemetry written every second was counted in the next phase with a shorter wait.
  const settle = async () => {
    await new Promise((r) => setTimeout(r, 11_000));
    return written('bench_unit');
  };
  const t0 = await settle();
  for (let i = 0; i < 20; i++) await Promise.all(devices.map((c, j) => c.publishAsync(`devices/unit-${j}/telemetry`, JSON.stringify({ ts: Date.now(), hr: 60 + (i % 30), spo2: 97, battery: 80 }), { qos: 1 })));
  const t1 = await settle();
  const raised = new Promise<void>((resolve) => {
    let n = 0;
    app.bus.on('alarm.raised', () => ++n === UNIT_ALARMS && resolve());
  });
  await Promise.all(devices.map((c, j) => c.publishAsync(`devices/unit-${j}/event`, JSON.stringify({ ts: Date.now(), type: 'sos', seq: 1 }), { qos: 1 })));
  await raised;
  await app.outbox.idle();
  const t2 = await settle();
  const messages = 20 * UNIT_ALARMS;
  console.log(`   per telemetry message: ${((t1.commits - t0.commits) / messages).toFixed(2)} transactions, ${((t1.rows - t0.rows) / messages).toFixed(2)} rows (${messages} messages from ${UNIT_ALARMS} wristbands; their live state included)`);
  console.log(`   per SOS, raised and its first notifications delivered: ${((t2.commits - t1.commits) / UNIT_ALARMS).toFixed(1)} transactions, ${((t2.rows - t1.rows) / UNIT_ALARMS).toFixed(1)} rows (${UNIT_ALARMS} alarms)`);
  await Promise.all(devices.map((c) => c.endAsync(true)));
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
}

// 2. Three nodes behind HAProxy.
console.log(`\n2. ${NODES} nodes on one PostgreSQL behind HAProxy (deploy/haproxy.cfg), devices connecting through it`);
const clusterUrl = await database('bench_cluster');
const nodes: NodeProcess[] = [];
let haproxy: Awaited<ReturnType<typeof startHaproxy>> | undefined;
// Whatever happens, the nodes, HAProxy and PostgreSQL do not outlive the bench.
try {
  const env = { CAREBELL_DATABASE_URL: clusterUrl, CAREBELL_ADMIN_TOKEN: TOKEN, CAREBELL_DEVICE_RATE: '100000', CAREBELL_DEVICE_BURST: '1000000' };
  nodes.push(await startNode('node1', env));
  for (let i = 2; i <= NODES; i++) nodes.push(await startNode(`node${i}`, env));
  haproxy = await startHaproxy(nodes.map((n) => ({ mqtt: new URL(n.proc.mqtt).host, http: new URL(n.proc.http).host })));
  const api = haproxy.httpUrl;
  const district = await must(call(api, TOKEN, 'POST', '/api/v1/stations', { name: 'D', level: 'district' }));
  const street = await must(call(api, TOKEN, 'POST', '/api/v1/stations', { name: 'S', level: 'street', parentId: district.id }));
  const community = await must(call(api, TOKEN, 'POST', '/api/v1/stations', { name: 'C', level: 'community', parentId: street.id }));
  const onboard = async (profile: string, n: number, prefix: string) => {
    const out: Array<{ id: string; password: string; topic: string }> = new Array(n);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < n) {
          const i = next++;
          const r = await must(call(api, TOKEN, 'POST', '/api/v1/residents', { name: `${prefix}${i}`, address: 'A', stationId: community.id, livesAlone: false, capabilityLevel: 1, contacts: [] }));
          const d = await must(call(api, TOKEN, 'POST', '/api/v1/devices', { profile, residentId: r.id, id: `${prefix}${i}` }));
          out[i] = { id: d.id, password: d.mqtt.password, topic: d.mqtt.topics.publish[0] };
        }
      }),
    );
    return out;
  };
  const t0 = performance.now();
  const bands = await onboard('carebell-vitals-band', BACKGROUND_DEVICES, 'band-');
  const pendants = await onboard('carebell-sos-pendant', PACED + BURST, 'sos-');
  console.log(`   onboarded ${fmt(bands.length + pendants.length)} residents with a device each through the API in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const haproxyPort = Number(new URL(haproxy.mqttUrl).port);
  const background = startWorker(new URL('./background-load.ts', import.meta.url), { port: haproxyPort, devices: bands, ratePerSecond: BACKGROUND_RATE, tickMs: 10 });
  await new Promise<void>((resolve) => background.once('message', () => resolve()));
  const clusterBefore = await written('bench_cluster');
  const t1 = performance.now();
  const sos = startWorker(new URL('./sos-client.ts', import.meta.url), {
    mqttUrl: haproxy.mqttUrl,
    streamUrl: `${nodes[0]!.proc.http}/api/v1/stream`,
    token: TOKEN,
    pendants: pendants.map(({ id, password }) => ({ id, password })),
    paced: PACED,
    pacedPerSecond: 20,
  });
  // Its pendants connected (through HAProxy), it presses when told.
  const ready = await new Promise<{ ready?: true; error?: string }>((resolve) => sos.once('message', resolve));
  if (ready.error) throw new Error(ready.error);
  const finished = new Promise<{ latencies: number[]; burst: number; burstMs: number; error?: string }>((resolve) => sos.once('message', resolve));
  sos.postMessage('go');
  const result = await finished;
  if (result.error) throw new Error(result.error);
  background.postMessage('stop');
  const { sent } = await new Promise<{ sent: number }>((resolve) => background.once('message', resolve));
  const seconds = (performance.now() - t1) / 1000;
  const clusterAfter = await written('bench_cluster');
  const clusterDb = new pg.Client({ connectionString: clusterUrl });
  await clusterDb.connect();
  const owners = await clusterDb.query<{ node_id: string; n: string }>('SELECT node_id, count(*) AS n FROM device_owners GROUP BY node_id ORDER BY node_id');
  await clusterDb.end();
  const sorted = [...result.latencies].sort((a, b) => a - b);
  const q = (p: number) => percentile(sorted, p)!.toFixed(1);
  console.log(`   devices per node: ${owners.rows.map((r) => `${r.node_id} ${r.n}`).join(', ')}`);
  console.log(`   background: ${fmt(sent / seconds)} telemetry msg/s sent through HAProxy`);
  console.log(`   SOS PUBLISH → alarm.raised on node1's live stream: p50 ${q(50)} ms, p90 ${q(90)} ms, p99 ${q(99)} ms, max ${sorted.at(-1)!.toFixed(1)} ms (${sorted.length} presses, two in three handled on another node)`);
  console.log(`   burst: ${result.burst} alarms raised across the nodes and read off node1's stream in ${result.burstMs.toFixed(0)} ms = ${fmt(result.burst / (result.burstMs / 1000))} alarms/s`);
  console.log(`   PostgreSQL wrote ${fmt((clusterAfter.commits - clusterBefore.commits) / seconds)} transactions/s and ${fmt((clusterAfter.rows - clusterBefore.rows) / seconds)} rows/s while under this load`);
  await Promise.all([background.terminate(), sos.terminate()]);
} finally {
  await haproxy?.stop();
  await stopNodes(nodes);
  await admin.end();
  await pgServer.stop();
}
process.exit(0);
