/**
 * Alarm latency under load: while background devices publish telemetry, SOS
 * presses travel pendant → MQTT → ingest → rules → alarm (SQLite transaction
 * with its ladder and outbox) → live stream. Prints PUBLISH → `alarm.raised`
 * SSE latency (p50/p99) and the alarms per second a burst sustains.
 *
 *   npm run bench:alarm -- [--background-devices 1000] [--background-rate 5000] [--paced 200] [--burst 500] [--warmup-seconds 5] [--database-url postgres://…]
 *
 * The presses start once the pendants are connected and the background has
 * run for `--warmup-seconds` (its first seconds grow the heap and compile the
 * hot paths: a gateway that has been running a while does neither); GC, event
 * loop and CPU figures are taken over the presses only. `--warmup-seconds 0`
 * measures from a cold start.
 *
 * With `--database-url` the gateway keeps its state in that PostgreSQL
 * database (as a cluster node does) instead of the embedded SQLite file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.ts';
import { parseConfig } from '../src/config/config.ts';
import { silentLogger } from '../src/core/logger.ts';
import { startWorker } from '../src/core/worker.ts';
import { percentile } from '../src/jobs/statistics.ts';
import { listen } from '../src/listen.ts';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { numberArg, stringArg } from './args.ts';
import { sharedNow } from './sos-client.ts';

const BACKGROUND_DEVICES = numberArg('background-devices', 1000);
const BACKGROUND_RATE = numberArg('background-rate', 5000);
const PACED = numberArg('paced', 200);
const PACED_PER_SECOND = numberArg('paced-per-second', 20);
const BURST = numberArg('burst', 500);
const TICK_MS = numberArg('background-tick-ms', 10);
const WARMUP_SECONDS = numberArg('warmup-seconds', 5);
const TOKEN = 'bench-admin-token-0123456789';
const DATABASE_URL = stringArg('database-url');

const dataDir = mkdtempSync(join(tmpdir(), 'carebell-bench-alarm-'));
const app = await buildApp({
  // Per-device rate limits off: the load generator is not a device; the alarm path is what is measured.
  config: parseConfig({ dataDir, mqttHost: '127.0.0.1', mqttPort: 0, httpHost: '127.0.0.1', httpPort: 0, adminToken: TOKEN, logLevel: 'silent', deviceRate: 100_000, deviceBurst: 1_000_000, ...(DATABASE_URL ? { databaseUrl: DATABASE_URL } : {}) }),
  log: silentLogger,
});
const urls = await listen(app);

const district = await app.onboarding.createStation({ name: 'D', level: 'district' });
const street = await app.onboarding.createStation({ name: 'S', level: 'street', parentId: district.id });
const community = await app.onboarding.createStation({ name: 'C', level: 'community', parentId: street.id });
const onboard = async (profile: string, n: number, prefix: string) => {
  const out: Array<{ id: string; password: string; topic: string }> = [];
  for (let i = 0; i < n; i += 50) {
    out.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(50, n - i) }, async (_, j) => {
          const r = await app.onboarding.createResident({ name: `${prefix}${i + j}`, address: 'A', stationId: community.id, livesAlone: false, capabilityLevel: 1, contacts: [] });
          const c = await app.onboarding.createDevice({ profile, residentId: r.id, id: `${prefix}${i + j}` });
          return { id: c.id, password: c.mqtt.password, topic: c.mqtt.topics.publish[0]! };
        }),
      )),
    );
  }
  return out;
};
const bands = await onboard('carebell-vitals-band', BACKGROUND_DEVICES, 'band-');
const pendants = await onboard('carebell-sos-pendant', PACED + BURST, 'sos-');

console.log(`alarm benchmark (${DATABASE_URL ? 'PostgreSQL' : 'embedded SQLite'}): ${BACKGROUND_DEVICES} devices sending ${BACKGROUND_RATE} telemetry msg/s in the background; after ${WARMUP_SECONDS} s of it, ${PACED} SOS presses at ${PACED_PER_SECOND}/s, then a burst of ${BURST}`);
const background = startWorker(new URL('./background-load.ts', import.meta.url), { port: urls.mqttPort, devices: bands, ratePerSecond: BACKGROUND_RATE, tickMs: TICK_MS });
await new Promise<void>((resolve) => background.once('message', () => resolve()));
const backgroundStarted = performance.now();
const storedBefore = app.telemetry.stored;
// Inside the gateway: from ingest taking an SOS message to its alarm going out on the live stream.
// Instants on the clock the measuring thread shares (sharedNow).
const handleStart = new Map<string, number>();
const raisedAt = new Map<string, number>();
const inGateway: number[] = [];
const handle = app.ingest.handle.bind(app.ingest);
app.ingest.handle = (msg) => {
  if (msg.device.id.startsWith('sos-')) handleStart.set(msg.device.id, sharedNow());
  return handle(msg);
};
app.bus.on('alarm.raised', ({ alarm }) => {
  const t = alarm.deviceId === null ? undefined : handleStart.get(alarm.deviceId);
  if (t === undefined || inGateway.length >= PACED) return;
  const now = sharedNow();
  raisedAt.set(alarm.deviceId!, now);
  inGateway.push(now - t);
});
const sos = startWorker(new URL('./sos-client.ts', import.meta.url), {
  mqttUrl: urls.mqttUrl,
  streamUrl: `${urls.httpUrl}/api/v1/stream`,
  token: TOKEN,
  pendants: pendants.map(({ id, password }) => ({ id, password })),
  paced: PACED,
  pacedPerSecond: PACED_PER_SECOND,
});
await new Promise<void>((resolve) => sos.once('message', () => resolve())); // its pendants connected
const warmedAt = backgroundStarted + WARMUP_SECONDS * 1000;
if (performance.now() < warmedAt) await new Promise((resolve) => setTimeout(resolve, warmedAt - performance.now()));
const t0 = performance.now();
// Where a tail could come from: the gateway's event loop stalling, and garbage collection.
const elu0 = performance.eventLoopUtilization();
const cpu0 = process.cpuUsage();
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
const gcPauses: number[] = [];
const gcKinds = new Map<string, { n: number; ms: number; max: number }>();
const gcKindNames: Record<number, string> = { 1: 'scavenge', 2: 'mark-sweep-compact', 4: 'incremental marking', 8: 'weak callbacks' };
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcPauses.push(e.duration);
    const kind = gcKindNames[((e as unknown as { detail?: { kind?: number } }).detail)?.kind ?? 0] ?? 'other';
    const k = gcKinds.get(kind) ?? { n: 0, ms: 0, max: 0 };
    k.n++;
    k.ms += e.duration;
    k.max = Math.max(k.max, e.duration);
    gcKinds.set(kind, k);
  }
});
gcObserver.observe({ entryTypes: ['gc'] });
sos.postMessage('go');

const result = await new Promise<{ latencies: number[]; burst: number; burstMs: number; paced: Array<{ id: string; sentAt: number; seenAt: number }>; error?: string }>((resolve) => sos.once('message', resolve));
if (result.error) throw new Error(result.error);
background.postMessage('stop');
const { sent } = await new Promise<{ sent: number }>((resolve) => background.once('message', resolve));
const elapsed = (performance.now() - t0) / 1000;
const backgroundElapsed = (performance.now() - backgroundStarted) / 1000;
loopDelay.disable();
gcObserver.disconnect();
const elu = performance.eventLoopUtilization(elu0).utilization;
const cpu = process.cpuUsage(cpu0);
await app.telemetry.flush();

const sorted = [...result.latencies].sort((a, b) => a - b);
const pct = (p: number) => percentile(sorted, p)!.toFixed(1);
const open = (await app.repos.alarms.list({ state: 'open', limit: 10_000 })).length;
console.log(`background: ${Math.round(sent / backgroundElapsed).toLocaleString('en-US')} telemetry msg/s sent, ${Math.round((app.telemetry.stored - storedBefore) / 3 / backgroundElapsed).toLocaleString('en-US')} msg/s stored`);
console.log(`SOS PUBLISH → alarm.raised on the SSE stream: p50 ${pct(50)} ms, p90 ${pct(90)} ms, p99 ${pct(99)} ms, max ${sorted.at(-1)!.toFixed(1)} ms (${sorted.length} presses)`);
inGateway.sort((a, b) => a - b);
const gpct = (p: number) => percentile(inGateway, p)!.toFixed(2);
console.log(`inside the gateway, ingest → alarm.raised on the bus: p50 ${gpct(50)} ms, p99 ${gpct(99)} ms, max ${inGateway.at(-1)!.toFixed(2)} ms`);
// Where the tail is: the same paced presses cut in three at the gateway's ingest and its bus.
const segments: Array<[string, (p: { id: string; sentAt: number; seenAt: number }) => number]> = [
  ['PUBLISH → ingest (TCP, MQTT parsing, waiting for the event loop)', (p) => handleStart.get(p.id)! - p.sentAt],
  ['ingest → alarm.raised (the alarm transaction)', (p) => raisedAt.get(p.id)! - handleStart.get(p.id)!],
  ['alarm.raised → read off the SSE stream', (p) => p.seenAt - raisedAt.get(p.id)!],
];
for (const [label, of] of segments) {
  const xs = result.paced.filter((p) => raisedAt.has(p.id)).map(of).sort((a, b) => a - b);
  const at = (p: number) => percentile(xs, p)!.toFixed(2);
  console.log(`  ${label}: p50 ${at(50)} ms, p90 ${at(90)} ms, p99 ${at(99)} ms`);
}
const ms = (ns: number) => (ns / 1e6).toFixed(1);
console.log(`CPU: the gateway's event loop busy ${(elu * 100).toFixed(0)} % of the time; the whole process (gateway, load generators, telemetry writer) used ${((cpu.user + cpu.system) / 1e4 / elapsed).toFixed(0)} % of one core, on ${availableParallelism()} cores`);
console.log(`gateway event loop delay: p50 ${ms(loopDelay.percentile(50))} ms, p99 ${ms(loopDelay.percentile(99))} ms, max ${ms(loopDelay.max)} ms`);
gcPauses.sort((a, b) => a - b);
console.log(`GC: ${gcPauses.length} pauses, ${gcPauses.reduce((a, b) => a + b, 0).toFixed(0)} ms in all, p99 ${(percentile(gcPauses, 99) ?? 0).toFixed(1)} ms, max ${(gcPauses.at(-1) ?? 0).toFixed(1)} ms (${[...gcKinds].map(([kind, k]) => `${kind} ${k.n}× ${k.ms.toFixed(0)} ms, max ${k.max.toFixed(1)}`).join('; ')})`);
console.log(`burst: ${result.burst} alarms raised and streamed in ${result.burstMs.toFixed(0)} ms = ${Math.round(result.burst / (result.burstMs / 1000)).toLocaleString('en-US')} alarms/s`);
console.log(`open alarms at the end: ${open} (expected ${PACED + BURST})`);
await Promise.all([background.terminate(), sos.terminate()]);
await app.close();
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
